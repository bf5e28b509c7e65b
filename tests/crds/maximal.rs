//! A maximal instance of a compiled schema: every property present, each
//! with a value valid for its type, enum, pattern, format and bounds. Used
//! to prove that a typed CRD struct accepts (and gives back unchanged)
//! every field of the upstream schema.

use nixflux::crd::schema::{Additional, Format, Schema, Type};
use serde_json::{json, Map, Value};

/// Strings tried, in order, for a string field with a pattern or bounds.
const CANDIDATES: &[&str] = &[
    "x1",
    "1m",
    "30s",
    "https://example.com",
    "oci://example.com/charts",
    "example.com",
    "v1",
    "1",
    "a",
    "example-name",
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
];

/// The maximal instance, or where no valid value could be found.
pub fn maximal(s: &Schema, path: &str) -> Result<Value, String> {
    if let Some(first) = s.enum_.first() {
        return Ok(first.clone());
    }
    if s.int_or_string {
        return Ok(json!(1));
    }
    match s.type_ {
        Some(Type::Object) | None if !s.properties.is_empty() => {
            let mut m = Map::new();
            for (name, p) in &s.properties {
                m.insert(name.clone(), maximal(p, &format!("{path}.{name}"))?);
            }
            Ok(Value::Object(m))
        }
        Some(Type::Object) => match &s.additional {
            Additional::Schema(a) => Ok(json!({ "key": maximal(a, &format!("{path}.key"))? })),
            _ if s.preserve_unknown_fields => Ok(json!({ "any": "thing" })),
            _ => Ok(json!({})),
        },
        Some(Type::Array) => {
            let item = match &s.items {
                Some(i) => maximal(i, &format!("{path}[0]"))?,
                None => json!("x1"),
            };
            let n = s.min_items.unwrap_or(1).max(1) as usize;
            Ok(Value::Array(vec![item; n]))
        }
        Some(Type::Boolean) => Ok(json!(true)),
        Some(Type::Integer) => Ok(json!(s.minimum.map_or(1, |m| m.ceil() as i64 + i64::from(s.exclusive_minimum)))),
        Some(Type::Number) => Ok(json!(s.minimum.map_or(1.5, |m| m + 1.0))),
        Some(Type::String) => string(s).ok_or_else(|| format!("{path}: no candidate string fits the schema")),
        // Untyped and open (a HelmRelease's `values`): an object, as controllers read it.
        None if s.preserve_unknown_fields => Ok(json!({ "any": "thing" })),
        None => Ok(json!("x1")),
    }
}

fn string(s: &Schema) -> Option<Value> {
    match s.format {
        Some(Format::DateTime) => return Some(json!("2026-01-31T12:00:00Z")),
        Some(Format::Date) => return Some(json!("2026-01-31")),
        Some(Format::Byte) => return Some(json!("eDE=")),
        _ => {}
    }
    CANDIDATES
        .iter()
        .find(|c| {
            let n = c.chars().count() as u64;
            s.pattern.as_ref().is_none_or(|p| p.regex.is_match(c))
                && s.min_length.is_none_or(|m| n >= m)
                && s.max_length.is_none_or(|m| n <= m)
        })
        .map(|c| json!(c))
}

/// JSON pointers (into a maximal instance) of every field with an `enum`,
/// with its values.
pub fn enums(s: &Schema, pointer: &str, out: &mut Vec<(String, Vec<Value>)>) {
    if !s.enum_.is_empty() {
        out.push((pointer.to_owned(), s.enum_.clone()));
    }
    for (name, p) in &s.properties {
        enums(p, &format!("{pointer}/{name}"), out);
    }
    if let Some(i) = &s.items {
        enums(i, &format!("{pointer}/0"), out);
    }
    if let (Additional::Schema(a), true) = (&s.additional, s.properties.is_empty()) {
        enums(a, &format!("{pointer}/key"), out);
    }
}
