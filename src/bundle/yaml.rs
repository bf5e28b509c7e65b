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
            write_scalar(out, scalar, 0);
            out.push('\n');
        }
    }
}

pub fn to_string(value: &Value) -> String {
    let mut s = String::new();
    write_document(&mut s, value);
    s
}

fn indent(out: &mut String, n: usize) {
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
fn write_scalar(out: &mut String, v: &Value, col: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, col, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

fn write_string(out: &mut String, s: &str, col: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && is_block_safe(s) {
        write_literal_block(out, s, col);
    } else {
        // A JSON string is a valid YAML double-quoted scalar.
        out.push_str(&Value::String(s.to_owned()).to_string());
    }
}

/// Words that some YAML version reads as a boolean or null.
const KEYWORDS: &[&str] = &["y", "n", "yes", "no", "true", "false", "on", "off", "null"];

/// Plain (unquoted) only when no YAML 1.1 or 1.2 reader can take it for
/// anything but this string.
pub fn is_plain_safe(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&first) = b.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'/') {
        return false;
    }
    let last = b[b.len() - 1];
    if last == b' ' || last == b':' {
        return false;
    }
    let alphabet_ok = b.iter().all(|c| {
        c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'/' | b'-' | b':' | b'@' | b'=' | b'+' | b',' | b' ')
    });
    alphabet_ok
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.contains("  ")
        && !KEYWORDS.iter().any(|k| s.eq_ignore_ascii_case(k))
}

/// Multi-line text that a literal block (`|`) keeps exactly.
fn is_block_safe(s: &str) -> bool {
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && s.chars().all(|c| {
            c == '\n'
                || c == '\t'
                || !(c.is_control() || c == '\u{feff}' || c == '\u{2028}' || c == '\u{2029}' || c == '\u{85}')
        })
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
