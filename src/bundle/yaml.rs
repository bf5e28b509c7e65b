//! A YAML emitter for JSON values, written for what reads our files:
//! kustomize (go-yaml, which still resolves YAML 1.1 forms such as `1_000`
//! and `2001-12-14`), Flux, kubectl and people reviewing a diff.
//!
//! Off-the-shelf serde YAML emitters follow YAML 1.2 and leave `1_000` or
//! `2001-12-14` unquoted, which kustomize then turns into a number or a
//! timestamp. Here a string is written plain only when it starts with a
//! letter or `/`, uses a small safe alphabet and is no YAML keyword; any
//! other string is written double-quoted (JSON escaping is valid YAML), and
//! multi-line text as a literal block. Keys come out in the map's order
//! (serde_json sorts them), so output is deterministic.

use serde_json::Value;

/// Appends `value` as one YAML document (no `---`), ending with a newline.
pub fn write_document(out: &mut String, value: &Value) {
    match value {
        Value::Object(m) if !m.is_empty() => write_map(out, m, 0, false),
        Value::Array(a) if !a.is_empty() => write_seq(out, a, 0, false),
        scalar => {
            // Indent block text so no line of it can read as `---`.
            write_scalar(out, scalar, 2);
            out.push('\n');
        }
    }
}

pub fn to_string(value: &Value) -> String {
    let mut s = String::new();
    write_document(&mut s, value);
    s
}

pub(super) fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes a map whose keys sit at column `col`. With `inline_first`, the
/// first key continues the current line (after `- `).
fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, col: usize, inline_first: bool) {
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, col);
        }
        write_string(out, k, col, true);
        out.push(':');
        write_value_after_key(out, v, col);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, col: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, col + 2, false);
        }
        // Sequences under a key start at the key's column, as kubectl writes them.
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, col, false);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, col + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], col: usize, inline_first: bool) {
    for (i, v) in a.iter().enumerate() {
        if i > 0 || !inline_first {
            indent(out, col);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, col + 2, true),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, col + 2, true),
            scalar => {
                write_scalar(out, scalar, col + 2);
                out.push('\n');
            }
        }
    }
}

/// A scalar (or empty collection); `col` is the indentation of block text.
pub(super) fn write_scalar(out: &mut String, v: &Value, col: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, col, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

pub(super) fn write_string(out: &mut String, s: &str, col: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && is_block_safe(s) {
        write_literal_block(out, s, col);
    } else {
        write_double_quoted(out, s);
    }
}

/// YAML's printable set (c-printable), less the characters some readers
/// treat as line breaks or byte-order marks.
fn is_printable(c: char) -> bool {
    matches!(c, '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A double-quoted scalar: `"` and `\` escaped, every character outside the
/// printable set as `\uXXXX` (or `\UXXXXXXXX`).
fn write_double_quoted(out: &mut String, s: &str) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
}

/// Words that some YAML version reads as a boolean or null.
const KEYWORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// Plain (unquoted) only when no YAML 1.1 or 1.2 reader can take it for
/// anything but this string.
pub fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else { return false };
    if !(first.is_ascii_alphabetic() || first == b'/') || last == b' ' || last == b':' {
        return false;
    }
    // One pass over the safe alphabet; a space may not follow `:` or another
    // space (`#` is outside the alphabet, so ` #` cannot occur).
    let mut prev = 0u8;
    for &c in b {
        let ok = c.is_ascii_alphanumeric()
            || matches!(c, b'.' | b'_' | b'/' | b'-' | b':' | b'@' | b'=' | b'+' | b',')
            || (c == b' ' && prev != b':' && prev != b' ');
        if !ok {
            return false;
        }
        prev = c;
    }
    b.len() > 5 || !KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
}

/// Multi-line text that a literal block (`|`) keeps exactly.
fn is_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && s.chars().all(|c| c == '\n' || c == '\t' || is_printable(c))
        && !s.lines().any(|l| l.ends_with([' ', '\t']))
}

fn write_literal_block(out: &mut String, s: &str, col: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    let body = s.trim_end_matches('\n');
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, col);
            out.push_str(line);
        }
    }
    // Keep-chomping: the extra newlines are part of the value.
    for _ in 1..trailing {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_what_yaml_1_1_would_misread() {
        for s in [
            "yes",
            "On",
            "n",
            "1_000",
            "2001-12-14",
            "0x1F",
            "1e3",
            "1:20",
            "~",
            "null",
            "",
            " x",
            "x ",
            "-",
            "a: b",
            "a #b",
            ".inf",
            "=",
            "1Gi",
            "*a",
        ] {
            assert!(!is_plain_safe(s), "{s}");
        }
        for s in ["web", "app.kubernetes.io/name", "/healthz", "nginx:1.27", "RuntimeDefault", "Hello world", "a=b"] {
            assert!(is_plain_safe(s), "{s}");
        }
    }

    #[test]
    fn layout_matches_kubectl() {
        let v = json!({"kind": "X", "spec": {"list": [{"a": 1, "b": [1, 2]}, "s", [3]], "empty": {}, "none": []}, "text": "l1\nl2\n"});
        assert_eq!(
            to_string(&v),
            "kind: X\nspec:\n  empty: {}\n  list:\n  - a: 1\n    b:\n    - 1\n    - 2\n  - s\n  - - 3\n  none: []\ntext: |\n  l1\n  l2\n"
        );
    }

    #[test]
    fn literal_block_chomping() {
        assert_eq!(to_string(&json!({"t": "a\n\nb"})), "t: |-\n  a\n\n  b\n");
        assert_eq!(to_string(&json!({"t": "a\n\n"})), "t: |+\n  a\n\n");
        assert_eq!(to_string(&json!({"t": " lead\nx"})), "t: \" lead\\nx\"\n");
    }
}
