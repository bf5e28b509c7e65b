//! Flux's ignore rules (`.sourceignore` and a Bucket's `spec.ignore`): the
//! gitignore dialect of fluxcd/pkg `sourceignore` and its `gitignore`
//! package (a copy of go-git's `plumbing/format/gitignore`), reproduced
//! exactly, including where it differs from git:
//!
//! - lines are read as Go's `bufio.Scanner` does: split at `\n`, a `\r`
//!   before it dropped; a line starting with `#` (first byte) and a line of
//!   only white space are skipped; reading stops at a line of 64 KiB or more;
//! - a pattern: a leading `!` negates; trailing spaces are cut unless the
//!   line ends in `\ `; one trailing `/` makes it match directories only;
//!   a pattern with no other `/` matches any path element (at any depth),
//!   one with a `/` is anchored at the root and matched element by element;
//!   empty elements (a leading `/`, `a//b`) are skipped; `**` alone as an
//!   element matches zero or more elements (first match wins, no
//!   backtracking: `a/**/b/c` does not match `a/b/x/b/c`, git's does); a
//!   trailing `/**` also matches the directory itself; `**` inside an
//!   element (`a**`) never matches, nor does `/**` alone;
//! - a pattern that matches a leading part of a path matches the path
//!   (everything below an ignored directory is ignored);
//! - each element is matched with Go's `filepath.Match` (`glob.rs`); a
//!   malformed element never matches;
//! - the last pattern that matches decides (a later `!` re-includes, even
//!   below an excluded directory, which git would not do).

use super::glob;

/// Go's `bufio.MaxScanTokenSize`: a line this long (with its end) stops reading.
const MAX_LINE: usize = 64 * 1024;

/// One parsed pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    elements: Vec<Vec<u8>>,
    negated: bool,
    dir_only: bool,
    /// The pattern held a `/` (other than one trailing): anchored, matched element by element.
    anchored: bool,
}

/// The outcome of one pattern on one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    NoMatch,
    Exclude,
    Include,
}

impl Pattern {
    /// Parses one line as go-git's `ParsePattern` does (no comment or
    /// blank-line handling: that is `Ignore::parse`'s).
    pub fn parse(line: &[u8]) -> Pattern {
        let mut p = line;
        let negated = p.first() == Some(&b'!');
        if negated {
            p = &p[1..];
        }
        if !p.ends_with(b"\\ ") {
            let keep = p.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
            p = &p[..keep];
        }
        let dir_only = p.last() == Some(&b'/');
        if dir_only {
            p = &p[..p.len() - 1];
        }
        let anchored = p.contains(&b'/');
        let elements = p.split(|&b| b == b'/').map(<[u8]>::to_vec).collect();
        Pattern { elements, negated, dir_only, anchored }
    }

    /// What this pattern says about `path` (its elements, root first).
    pub fn verdict(&self, path: &[&[u8]], is_dir: bool) -> Verdict {
        // Flux's Bucket patterns have no domain: only an empty path is out of it.
        if path.is_empty() {
            return Verdict::NoMatch;
        }
        let hit = if self.anchored { self.anchored_match(path, is_dir) } else { self.name_match(path, is_dir) };
        match (hit, self.negated) {
            (false, _) => Verdict::NoMatch,
            (true, false) => Verdict::Exclude,
            (true, true) => Verdict::Include,
        }
    }

    /// A pattern without `/`: the first element it matches decides.
    fn name_match(&self, path: &[&[u8]], is_dir: bool) -> bool {
        let pattern = &self.elements[0];
        for (i, name) in path.iter().enumerate() {
            match glob::matches(pattern, name) {
                Err(_) => return false,
                Ok(false) => continue,
                // A directory pattern does not match the file at the end of the path.
                Ok(true) => return !(self.dir_only && !is_dir && i == path.len() - 1),
            }
        }
        false
    }

    /// A pattern with `/`: element by element from the root, `**` taking
    /// path elements up to the first that matches the next element.
    fn anchored_match(&self, path: &[&[u8]], is_dir: bool) -> bool {
        let mut path = path;
        let mut matched = false;
        let mut traverse = false;
        for (i, element) in self.elements.iter().enumerate() {
            if element.is_empty() {
                traverse = false;
                continue;
            }
            if element == b"**" {
                if i == self.elements.len() - 1 {
                    break;
                }
                traverse = true;
                continue;
            }
            if element.windows(2).any(|w| w == b"**") {
                return false;
            }
            if path.is_empty() {
                return false;
            }
            if traverse {
                traverse = false;
                while let Some((first, rest)) = path.split_first() {
                    path = rest;
                    match glob::matches(element, first) {
                        Err(_) => return false,
                        Ok(true) => {
                            matched = true;
                            break;
                        }
                        Ok(false) if path.is_empty() => matched = false,
                        Ok(false) => {}
                    }
                }
            } else {
                match glob::matches(element, path[0]) {
                    Ok(true) => {}
                    _ => return false,
                }
                matched = true;
                path = &path[1..];
            }
        }
        // A directory pattern that used up the whole path names the file itself.
        matched && !(self.dir_only && !is_dir && path.is_empty())
    }
}

/// A list of patterns, lowest priority first: go-git's `Matcher`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ignore {
    patterns: Vec<Pattern>,
}

impl Ignore {
    /// The patterns of an ignore file's text, as `sourceignore.ReadPatterns`
    /// reads them (comments, blank lines, Windows line ends; see the module).
    pub fn parse(text: &[u8]) -> Ignore {
        let mut patterns = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let (line, next, ended) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..i], &rest[i + 1..], true),
                None => (rest, &rest[rest.len()..], false),
            };
            // The scanner's buffer holds the line and its end, or the last
            // line and the end of input; 64 KiB is too long either way.
            if line.len() + usize::from(ended) > MAX_LINE || (!ended && line.len() >= MAX_LINE) {
                break;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.starts_with(b"#") && !String::from_utf8_lossy(line).trim().is_empty() {
                patterns.push(Pattern::parse(line));
            }
            rest = next;
        }
        Ignore { patterns }
    }

    /// `self`'s patterns, then `higher`'s, which take precedence.
    pub fn then(mut self, higher: Ignore) -> Ignore {
        self.patterns.extend(higher.patterns);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` (its elements, root first) is ignored: the last
    /// pattern that matches decides; none matching keeps it.
    pub fn is_ignored(&self, path: &[&[u8]], is_dir: bool) -> bool {
        self.patterns.iter().rev().map(|p| p.verdict(path, is_dir)).find(|v| *v != Verdict::NoMatch)
            == Some(Verdict::Exclude)
    }

    /// Whether an object key is ignored, as source-controller asks for a
    /// Bucket's objects: split at every `/`, never a directory.
    pub fn is_ignored_key(&self, key: &str) -> bool {
        let path: Vec<&[u8]> = key.as_bytes().split(|&b| b == b'/').collect();
        self.is_ignored(&path, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(rules: &str, key: &str) -> bool {
        Ignore::parse(rules.as_bytes()).is_ignored_key(key)
    }

    #[test]
    fn comments_blank_lines_and_line_ends() {
        let i = Ignore::parse(b"# a comment\n\n   \n\t\r\n*.json\r\n #not a comment\n\\#literal");
        assert_eq!(i.patterns.len(), 3);
        assert!(i.is_ignored_key("home/generations/1.json"), "CRLF is cut");
        assert!(i.is_ignored_key(" #not a comment"), "only a `#` in the first column starts a comment");
        assert!(i.is_ignored_key("#literal"), "`\\#` is a literal `#`");
        assert!(!ignored("# *.json", "a.json"));
        assert!(Ignore::parse(b"").is_empty());
    }

    #[test]
    fn unanchored_names_match_at_any_depth() {
        assert!(ignored("nixflux.lock", "nixflux.lock"));
        assert!(ignored("nixflux.lock", "home/nixflux.lock"));
        assert!(ignored("*.json", "a/b/c.json"));
        assert!(!ignored("*.json", "a/b/c.yaml"));
        // A name pattern matching a directory element ignores what is below it.
        assert!(ignored("objects", "home/objects/x.yaml"));
        assert!(!ignored("obj", "home/objects/x.yaml"));
    }

    #[test]
    fn directory_patterns_match_below_the_directory_never_the_file() {
        assert!(ignored("generations/", "home/generations/1.json"));
        assert!(ignored("generations/", "generations/a/b"));
        assert!(!ignored("generations/", "home/generations"), "a file named like the directory stays");
        assert!(!ignored("a/b/", "a/b"));
        assert!(ignored("a/b/", "a/b/c"));
        let i = Ignore::parse(b"generations/");
        assert!(i.is_ignored(&[b"home", b"generations"], true), "a directory itself");
    }

    #[test]
    fn patterns_with_a_slash_are_anchored() {
        assert!(ignored("/generations/", "generations/1.json"));
        assert!(!ignored("/generations/", "home/generations/1.json"), "the key keeps the prefix");
        assert!(ignored("home/generations", "home/generations/1.json"));
        assert!(!ignored("generations/1.json", "home/generations/1.json"));
        assert!(ignored("home/*/1.json", "home/generations/1.json"));
        assert!(!ignored("home/*", "home"), "nothing left for the `*`");
        assert!(ignored("home//generations", "home/generations/1.json"), "empty elements are skipped");
        assert!(!ignored("/*.c", "mozilla-sha1/sha1.c"));
        assert!(ignored("/*.c", "cat-file.c"));
    }

    #[test]
    fn double_stars() {
        assert!(ignored("**/foo", "foo"));
        assert!(ignored("**/foo", "a/b/foo"));
        assert!(ignored("**/foo/bar", "x/foo/bar"));
        assert!(ignored("a/**/b", "a/b"));
        assert!(ignored("a/**/b", "a/x/y/b"));
        assert!(ignored("abc/**", "abc/x/y"));
        // go-git quirks, kept: the directory itself, no backtracking, `a**`, `/**`.
        assert!(ignored("abc/**", "abc"));
        assert!(!ignored("a/**/b/c", "a/b/x/b/c"));
        assert!(!ignored("a**/b", "ab/b"));
        assert!(!ignored("a/b**", "a/bc"));
        assert!(!ignored("/**", "anything"));
        assert!(ignored("**", "a/b"), "`**` without a slash is a name glob matching anything");
    }

    #[test]
    fn negation_and_priority() {
        let rules = "*.yaml\n!kustomization.yaml\n";
        assert!(ignored(rules, "home/objects/x.yaml"));
        assert!(!ignored(rules, "home/kustomization.yaml"));
        // The last match decides: a later exclusion wins again.
        assert!(ignored("!a\na", "a"));
        assert!(!ignored("a\n!a", "a"));
        // Unlike git, a file below an excluded directory can be re-included.
        assert!(!ignored("generations/\n!1.json", "home/generations/1.json"));
        // `.sourceignore` then `spec.ignore`: the spec's patterns take precedence.
        let i = Ignore::parse(b"!*.json").then(Ignore::parse(b"*.json"));
        assert!(i.is_ignored_key("x.json"));
        let i = Ignore::parse(b"*.json").then(Ignore::parse(b"!x.json"));
        assert!(!i.is_ignored_key("x.json"));
    }

    #[test]
    fn trailing_spaces_and_escapes() {
        assert!(ignored("a.json   ", "a.json"));
        assert!(ignored("a\\ ", "a "), "`\\ ` keeps the space");
        assert!(!ignored("a\\ ", "a"));
        assert!(ignored("\\!x", "!x"), "`\\!` is a literal `!`");
        assert!(ignored("a\\*", "a*"));
        assert!(!ignored("a\\*", "ab"));
        assert!(!ignored("a\\", "a"), "a trailing backslash is malformed: never matches");
        assert!(!ignored("[", "["));
        assert!(!ignored("x/[/y", "x/[/y"));
    }

    #[test]
    fn a_line_of_64_kib_stops_reading() {
        let long = "x".repeat(MAX_LINE - 1);
        assert_eq!(Ignore::parse(format!("a\n{long}\nb").as_bytes()).patterns.len(), 3);
        let too_long = "x".repeat(MAX_LINE);
        assert_eq!(Ignore::parse(format!("a\n{too_long}\nb").as_bytes()).patterns.len(), 1);
        assert_eq!(Ignore::parse(format!("a\n{too_long}").as_bytes()).patterns.len(), 1);
        assert_eq!(Ignore::parse(format!("a\n{long}").as_bytes()).patterns.len(), 2);
    }

    #[test]
    fn odd_patterns() {
        // `!` alone and `/` alone leave an empty name, which matches only an empty element.
        assert!(!ignored("!", "a"));
        assert!(!ignored("/", "a/b"));
        assert!(ignored("/", "a//b"));
        assert!(ignored("*", ""), "an empty key has one empty element, which `*` matches");
    }
}
