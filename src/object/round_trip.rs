//! The unknown-field check for typed kinds. k8s-openapi (like serde by
//! default) ignores fields its structs do not have, so a raw object is
//! deserialised and serialised again: any field present in the input and
//! absent after the round trip is one the type does not have, reported at
//! its path with the nearest sibling as a hint. Null values are skipped.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::problem::nearest;
use crate::spec::{json_path, JsonPath, Problem};

/// Deserialises `map` into `T` and back; any field the round trip drops is
/// one `T` does not have: reported as an unknown field at its path.
pub fn round_trip<T: DeserializeOwned + Serialize>(map: &Map<String, Value>, at: &JsonPath) -> Result<T, Vec<Problem>> {
    let typed: T = serde_path_to_error::deserialize(Value::Object(map.clone())).map_err(|e| {
        // Types that deny unknown fields (the CRD structs) say which they know.
        let message = e.inner().to_string();
        let problem = Problem::new(join(at, &json_path(e.path())), crate::spec::humanize(&message));
        vec![match crate::spec::suggestion(&message) {
            Some(hint) => {
                let head = message.split_once(", expected").map_or(message.as_str(), |(h, _)| h);
                Problem { message: head.to_owned(), ..problem }.with_hint(hint)
            }
            None => problem,
        }]
    })?;
    let back = serde_json::to_value(&typed).map_err(|e| vec![Problem::new(at.clone(), e.to_string())])?;
    let mut problems = Vec::new();
    dropped_fields(&Value::Object(map.clone()), &back, at, &mut problems);
    if problems.is_empty() {
        Ok(typed)
    } else {
        Err(problems)
    }
}

/// `base` followed by `rel` (a path relative to the object).
fn join(base: &JsonPath, rel: &JsonPath) -> JsonPath {
    if rel.is_root() {
        return base.clone();
    }
    let rel = rel.to_string();
    let sep = if rel.starts_with('[') { "" } else { "." };
    JsonPath::raw(format!("{base}{sep}{rel}"))
}

fn dropped_fields(original: &Value, back: &Value, at: &JsonPath, problems: &mut Vec<Problem>) {
    match (original, back) {
        (Value::Object(o), Value::Object(b)) => {
            for (key, value) in o {
                if value.is_null() {
                    continue;
                }
                match b.get(key) {
                    Some(bv) => dropped_fields(value, bv, &at.key(key), problems),
                    None => {
                        let known: Vec<&str> = b.keys().map(String::as_str).collect();
                        let mut p = Problem::new(at.key(key), format!("unknown field `{key}`"));
                        if let Some(near) = nearest(key, &known) {
                            p = p.with_hint(format!("did you mean `{near}`?"));
                        }
                        problems.push(p);
                    }
                }
            }
        }
        (Value::Array(o), Value::Array(b)) => {
            for (i, (ov, bv)) in o.iter().zip(b).enumerate() {
                dropped_fields(ov, bv, &at.index(i), problems);
            }
        }
        _ => {}
    }
}
