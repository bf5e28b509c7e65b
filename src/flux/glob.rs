//! Go's `path/filepath.Match` on Unix, byte for byte: the shell pattern
//! language Flux's ignore rules use for each path element.
//!
//! The grammar: `*` any run of non-`/` bytes, `?` one character (a UTF-8
//! rune, or one byte that is not valid UTF-8), `[...]` / `[^...]` a class of
//! runes with `lo-hi` ranges, `\c` a literal `c` (also inside classes);
//! anything else matches itself. A malformed pattern (`[` unclosed, `[]`,
//! `[a-]`, a trailing `\`) is an error whatever the name, as in Go since
//! 1.16, and the gitignore matcher then treats the pattern as matching
//! nothing. The algorithm is Go's (leftmost match of each star-free chunk,
//! trying later starts one byte at a time), so that even names with
//! multi-byte characters match exactly as source-controller matches them.

/// The pattern is malformed (Go's `ErrBadPattern`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadPattern;

const SEPARATOR: u8 = b'/';
const RUNE_ERROR: u32 = 0xFFFD;

/// Whether all of `name` matches `pattern`.
pub fn matches(pattern: &[u8], name: &[u8]) -> Result<bool, BadPattern> {
    let (mut pattern, mut name) = (pattern, name);
    'pattern: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            // A trailing star takes the rest of the name, unless it holds a `/`.
            return Ok(!name.contains(&SEPARATOR));
        }
        // The chunk at the current position; the last chunk must end the name.
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            // Later starts, one byte further each time, never past a `/`.
            let mut i = 0;
            while i < name.len() && name[i] != SEPARATOR {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok && (t.is_empty() || !pattern.is_empty()) {
                    name = t;
                    continue 'pattern;
                }
                i += 1;
            }
        }
        // No match: the rest of the pattern must still be well formed.
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

/// The next chunk: leading stars (whether there were any), then everything
/// up to the next star outside a class.
fn scan_chunk(pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let stars = pattern.iter().take_while(|&&b| b == b'*').count();
    let pattern = &pattern[stars..];
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            // The escaped byte is skipped; a trailing `\` is caught by match_chunk.
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (stars > 0, &pattern[..i], &pattern[i..])
}

/// Whether `chunk` (no stars) matches the start of `s`, and what is left of
/// `s`. After a mismatch the chunk is still parsed, so a malformed chunk is
/// an error whatever `s` is.
fn match_chunk<'s>(mut chunk: &[u8], mut s: &'s [u8]) -> Result<(&'s [u8], bool), BadPattern> {
    let mut failed = false;
    while let Some(&c) = chunk.first() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match c {
            b'[' => {
                let mut r = 0;
                if !failed {
                    let (rune, n) = decode_rune(s);
                    r = rune;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let negated = chunk.first() == Some(&b'^');
                if negated {
                    chunk = &chunk[1..];
                }
                let (mut matched, mut ranges) = (false, 0);
                loop {
                    if chunk.first() == Some(&b']') && ranges > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = class_char(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = class_char(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    ranges += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == SEPARATOR {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            _ => {
                if c == b'\\' {
                    chunk = &chunk[1..];
                    if chunk.is_empty() {
                        return Err(BadPattern);
                    }
                }
                if !failed {
                    if chunk[0] != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    Ok(if failed { (b"", false) } else { (s, true) })
}

/// One character of a class (`c` or `\c`) and what follows it; the class
/// must go on after it (a `]` at least).
fn class_char(chunk: &[u8]) -> Result<(u32, &[u8]), BadPattern> {
    let mut chunk = chunk;
    match chunk.first() {
        None | Some(b'-') | Some(b']') => return Err(BadPattern),
        Some(b'\\') => {
            chunk = &chunk[1..];
            if chunk.is_empty() {
                return Err(BadPattern);
            }
        }
        Some(_) => {}
    }
    let (r, n) = decode_rune(chunk);
    let rest = &chunk[n..];
    if (r == RUNE_ERROR && n == 1) || rest.is_empty() {
        return Err(BadPattern);
    }
    Ok((r, rest))
}

/// The first rune of `s` and its width, as Go's `utf8.DecodeRune`: an
/// invalid or truncated sequence is `U+FFFD` of width 1. `s` is not empty.
fn decode_rune(s: &[u8]) -> (u32, usize) {
    let width = match s[0] {
        0x00..=0x7F => return (u32::from(s[0]), 1),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    match s.get(..width).map(std::str::from_utf8) {
        Some(Ok(text)) => (text.chars().next().map_or(RUNE_ERROR, u32::from), width),
        _ => (RUNE_ERROR, 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> Result<bool, BadPattern> {
        matches(p.as_bytes(), n.as_bytes())
    }

    /// Cases from Go's documented grammar (and its `match_test.go` table,
    /// rewritten): pattern, name, expected.
    #[test]
    fn go_match_table() {
        let ok: &[(&str, &str, bool)] = &[
            ("abc", "abc", true),
            ("*", "abc", true),
            ("*c", "abc", true),
            ("a*", "a", true),
            ("a*", "abc", true),
            ("a*", "ab/c", false),
            ("a*/b", "abc/b", true),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
            ("a*b?c*x", "abxbbxdbxebxczzx", true),
            ("a*b?c*x", "abxbbxdbxebxczzy", false),
            ("ab[c]", "abc", true),
            ("ab[b-d]", "abc", true),
            ("ab[e-g]", "abc", false),
            ("ab[^c]", "abc", false),
            ("ab[^b-d]", "abc", false),
            ("ab[^e-g]", "abc", true),
            ("a\\*b", "a*b", true),
            ("a\\*b", "ab", false),
            ("a?b", "a☺b", true),
            ("a[^a]b", "a☺b", true),
            ("a???b", "a☺b", false),
            ("a[^a][^a][^a]b", "a☺b", false),
            ("[a-ζ]*", "α", true),
            ("*[a-ζ]", "A", false),
            ("a?b", "a/b", false),
            ("a*b", "a/b", false),
            ("[\\]a]", "]", true),
            ("[\\-]", "-", true),
            ("[x\\-]", "x", true),
            ("[x\\-]", "-", true),
            ("[x\\-]", "z", false),
            ("[\\-x]", "x", true),
            ("*x", "xxx", true),
            ("", "", true),
            ("", "a", false),
        ];
        for &(p, n, want) in ok {
            assert_eq!(m(p, n), Ok(want), "Match({p:?}, {n:?})");
        }
    }

    #[test]
    fn malformed_patterns_are_errors_whatever_the_name() {
        for p in ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "a\\", "*[", "a*["] {
            for n in ["", "a", "x", "-", "abc", "zzz"] {
                assert_eq!(m(p, n), Err(BadPattern), "Match({p:?}, {n:?})");
            }
        }
        // Go validates the rest of the pattern after a mismatch too.
        assert_eq!(m("a[", "b"), Err(BadPattern));
        assert_eq!(m("x*[", "abc"), Err(BadPattern));
    }

    /// Go tries later starts byte by byte, so `?` can take a lone
    /// continuation byte: `*??` matches the one three-byte character `日`.
    #[test]
    fn star_restarts_inside_a_multibyte_character_as_go_does() {
        assert_eq!(m("*??", "日"), Ok(true));
        assert_eq!(m("??", "日"), Ok(false));
        assert_eq!(m("*?", "日"), Ok(true));
        // No suffix of the three bytes reads as exactly three characters.
        assert_eq!(m("*???", "日"), Ok(false));
    }

    #[test]
    fn decode_rune_is_gos() {
        assert_eq!(decode_rune(b"a"), (0x61, 1));
        assert_eq!(decode_rune("é".as_bytes()), (0xE9, 2));
        assert_eq!(decode_rune(&"日".as_bytes()[1..]), (RUNE_ERROR, 1));
        assert_eq!(decode_rune(b"\xE6\x97"), (RUNE_ERROR, 1));
        assert_eq!(decode_rune(b"\xC0\x80"), (RUNE_ERROR, 1));
        assert_eq!(decode_rune(b"\xED\xA0\x80"), (RUNE_ERROR, 1)); // a surrogate
    }
}
