//! `Problem`: one thing wrong with the input, at a JSON path, with a hint.
//!
//! Parsing stops at the first problem (the JSON can't be read past it);
//! render checks collect every problem so that one run shows them all.

use std::fmt;

/// A JSON path into the spec, written the way a reader finds the place:
/// `apps.web.objects[2].spec.replicas`; keys that are not plain words are
/// quoted: `labels["app.kubernetes.io/name"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JsonPath(String);

impl JsonPath {
    pub fn root() -> Self {
        JsonPath(String::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let plain = !key.is_empty()
            && key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
            && !key.as_bytes()[0].is_ascii_digit();
        let mut s = self.0.clone();
        if plain {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(key);
        } else {
            s.push('[');
            s.push_str(&serde_json::Value::String(key.to_owned()).to_string());
            s.push(']');
        }
        JsonPath(s)
    }

    pub fn index(&self, i: usize) -> Self {
        JsonPath(format!("{}[{i}]", self.0))
    }

    /// A path already written in this notation (e.g. joined from two paths).
    pub fn raw(s: String) -> Self {
        JsonPath(s)
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The path as written (empty at the root, which `Display` calls `(top level)`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(top level)")
        } else {
            f.write_str(&self.0)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: JsonPath,
    /// Line and column in the input file, when the parser knows them.
    pub position: Option<(usize, usize)>,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(path: JsonPath, message: impl Into<String>) -> Self {
        Problem { path, position: None, message: message.into(), hint: None }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_root(), self.position) {
            (true, Some((line, column))) => write!(f, "at line {line}, column {column}")?,
            (false, Some((line, column))) => write!(f, "at `{}` (line {line}, column {column})", self.path)?,
            (_, None) => write!(f, "at `{}`", self.path)?,
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything wrong with one input. Never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems {
    /// The input's name as the user gave it (a file path, or `-`).
    pub source_name: String,
    pub problems: Vec<Problem>,
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid spec `{}`: {one}", self.source_name),
            many => write!(f, "invalid spec `{}`: {} problems", self.source_name, many.len()),
        }
    }
}

/// How a JSON value's type reads in a message (`a string`, `an object`).
pub fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The nearest of `candidates` to `word` if it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (word.len().max(c.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_that_are_not_words() {
        let p = JsonPath::root().key("apps").key("web").key("labels").key("app.kubernetes.io/name");
        assert_eq!(p.to_string(), r#"apps.web.labels["app.kubernetes.io/name"]"#);
        assert_eq!(JsonPath::root().key("objects").index(2).key("kind").to_string(), "objects[2].kind");
        assert_eq!(JsonPath::root().to_string(), "(top level)");
    }
}
