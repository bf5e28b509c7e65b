//! The input model: the spec that the NixOS module writes and `render` reads.
//!
//! `parse` is strict: unknown fields, wrong types, missing fields and invalid
//! names are errors that name the JSON path, the line and, for misspelt
//! fields, the nearest known one. A key written twice in any object is an
//! error too (`duplicates`), where serde_json would keep the last.

pub mod cidr;
pub mod duplicates;
pub mod helm;
pub mod model;
pub mod names;
pub mod pod;
pub mod problem;
pub mod quantity;
pub mod resources;
pub mod schedule;
pub mod secrets_db;
pub mod traefik;

pub use cidr::Cidr;
pub use model::*;
pub use names::LayerName;
pub use problem::{JsonPath, Problem, Problems};

use serde_path_to_error::Segment;

/// Reads a spec from JSON text. `source_name` is how errors name the input.
pub fn parse(text: &str, source_name: &str) -> Result<Spec, Problems> {
    let fail = |problem| Problems { source_name: source_name.to_owned(), problems: vec![problem] };
    duplicates::check(text).map_err(fail)?;
    // Tracking the path costs a string per key; only a spec that fails
    // needs it, so a good one is read without and a bad one read again.
    if let Ok(spec) = serde_json::from_str::<Spec>(text) {
        return Ok(spec);
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let spec: Spec =
        serde_path_to_error::deserialize(&mut de).map_err(|e| fail(problem_from(json_path(e.path()), e.inner())))?;
    de.end().map_err(|e| fail(problem_from(JsonPath::root(), &e)))?;
    Ok(spec)
}

/// Converts serde_path_to_error's path into ours.
pub fn json_path(at: &serde_path_to_error::Path) -> JsonPath {
    at.iter().fold(JsonPath::root(), |path, segment| match segment {
        Segment::Seq { index } => path.index(*index),
        Segment::Map { key } => path.key(key),
        Segment::Enum { variant } => path.key(variant),
        Segment::Unknown => path.key("?"),
    })
}

fn problem_from(path: JsonPath, inner: &serde_json::Error) -> Problem {
    let position = (inner.line() > 0).then(|| (inner.line(), inner.column()));
    let full = inner.to_string();
    let message = match position {
        Some((l, c)) => full.strip_suffix(&format!(" at line {l} column {c}")).unwrap_or(&full).to_owned(),
        None => full,
    };
    if inner.is_syntax() || inner.is_eof() {
        // The path of a half-read document means little; the position is the place.
        return Problem {
            path: JsonPath::root(),
            position,
            message: format!("the file is not valid JSON: {message}"),
            hint: None,
        };
    }
    let hint = suggestion(&message);
    let mut message = humanize(&message);
    if hint.as_deref().is_some_and(|h| h.starts_with("did you mean")) {
        if let Some((head, _)) = message.split_once(", expected") {
            message = head.to_owned();
        }
    }
    let hint = hint.or_else(|| {
        (message == "missing field `apiVersion`")
            .then(|| format!("the first field of a spec is `\"apiVersion\": \"{API_VERSION}\"`"))
    });
    Problem { path, position, message, hint }
}

/// serde names Rust types in its messages; say what a JSON author would.
pub fn humanize(message: &str) -> String {
    let mut m = message.to_owned();
    for (rust, human) in [
        ("expected i32", "expected an integer"),
        ("expected i64", "expected an integer"),
        ("expected u16", "expected an integer"),
        ("expected u32", "expected an integer"),
        ("expected u64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected an object"),
    ] {
        if let Some(head) = m.strip_suffix(rust) {
            m = format!("{head}{human}");
        }
    }
    m
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" (and the same
/// for enum variants), the hint names the nearest expected word, or lists them.
pub fn suggestion(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `").or_else(|| message.strip_prefix("unknown variant `"))?;
    let (found, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    if expected.is_empty() {
        return Some("this object takes no fields".to_owned());
    }
    match problem::nearest(found, &expected) {
        Some(e) => Some(format!("did you mean `{e}`?")),
        _ => Some(format!(
            "expected one of {}",
            expected.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Problem {
        parse(text, "t.json").unwrap_err().problems.remove(0)
    }

    #[test]
    fn minimal_spec_parses() {
        let spec = parse(r#"{"apiVersion":"nixflux/v1alpha1"}"#, "t").unwrap();
        assert!(spec.apps.is_empty());
        assert_eq!(spec.defaults.network_policy_profile.as_str(), "web-app");
    }

    #[test]
    fn unknown_field_names_path_and_nearest() {
        let p = err(r#"{"apiVersion":"nixflux/v1alpha1","apps":{"web":{"image":"x","replicsa":2}}}"#);
        assert_eq!(p.path.to_string(), "apps.web.replicsa");
        assert!(p.message.starts_with("unknown field `replicsa`"), "{}", p.message);
        assert_eq!(p.hint.as_deref(), Some("did you mean `replicas`?"));
        assert_eq!(p.position, Some((1, 70)));
    }

    #[test]
    fn far_unknown_field_lists_known_ones() {
        let p = err(r#"{"apiVersion":"nixflux/v1alpha1","defaults":{"zzzzzzzzzz":1}}"#);
        assert!(p.hint.unwrap().starts_with("expected one of `ingressClassName`"));
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let p = err(r#"{"apiVersion":"nixflux/v1alpha1"} x"#);
        assert!(p.message.contains("not valid JSON"), "{}", p.message);
    }

    #[test]
    fn wrong_api_version() {
        let p = err(r#"{"apiVersion":"nixflux/v2"}"#);
        assert!(p.message.contains("unsupported apiVersion `nixflux/v2`"));
    }
}
