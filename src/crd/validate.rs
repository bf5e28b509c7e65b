//! Checks a JSON value against a compiled `Schema`, as the API server's
//! structural schema validation does, with one difference: the API server
//! prunes fields its schema does not declare without a word (Flux's
//! controllers then never see them), and here such a field is an error.
//! Null values follow the API server too: allowed where `nullable`,
//! otherwise dropped (so a null required field is missing). Every problem
//! names its JSON path and what would be right.

use serde_json::{Map, Value};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::schema::{Additional, Format, Schema, Type, MAX_DEPTH};
use crate::object::round_trip;
use crate::spec::problem::{json_type, nearest};
use crate::spec::{JsonPath, Problem};

/// How many field names an "unknown field" hint lists at most.
const LISTED_FIELDS: usize = 12;

/// The fields of a whole object that the API server itself owns.
const RESOURCE_KEYS: [&str; 3] = ["apiVersion", "kind", "metadata"];

impl Schema {
    /// Checks a whole object of the CRD's kind: `apiVersion`, `kind` and
    /// `metadata` (standard ObjectMeta, not the CRD's usually empty
    /// metadata schema) are the API server's; the rest is the schema's.
    pub fn validate_object(&self, value: &Value, at: &JsonPath) -> Vec<Problem> {
        let mut out = Vec::new();
        Walk { out: &mut out, strict: true }.resource(self, value, at, 0);
        out
    }

    /// Checks any value against this schema node.
    pub fn validate(&self, value: &Value, at: &JsonPath) -> Vec<Problem> {
        let mut out = Vec::new();
        Walk { out: &mut out, strict: true }.node(self, value, at, 0);
        out
    }

    fn value_problems(&self, value: &Value, at: &JsonPath, depth: usize) -> Vec<Problem> {
        let mut out = Vec::new();
        Walk { out: &mut out, strict: false }.node(self, value, at, depth);
        out
    }
}

struct Walk<'a> {
    out: &'a mut Vec<Problem>,
    /// Fields the schema does not declare are errors. Off inside
    /// `allOf`/`anyOf`/`oneOf`/`not`, whose branches only restrict values
    /// (a structural schema declares every field outside them).
    strict: bool,
}

impl Walk<'_> {
    fn push(&mut self, at: &JsonPath, message: String, hint: Option<String>) {
        let p = Problem::new(at.clone(), message);
        self.out.push(match hint {
            Some(h) => p.with_hint(h),
            None => p,
        });
    }

    /// An object with the API server's own `apiVersion`, `kind` and `metadata`.
    fn resource(&mut self, s: &Schema, value: &Value, at: &JsonPath, depth: usize) {
        let Value::Object(map) = value else {
            return self.push(at, format!("expected an object, found {}", json_type(value)), None);
        };
        for key in ["apiVersion", "kind"] {
            match map.get(key) {
                Some(Value::String(v)) if !v.is_empty() => {}
                Some(v) if !v.is_null() && !v.is_string() => {
                    // A schema that declares the field says so itself.
                    if !s.properties.contains_key(key) {
                        self.push(&at.key(key), format!("expected a string, found {}", json_type(v)), None)
                    }
                }
                _ => self.push(at, format!("missing required field `{key}`"), Some(format!("add `{key}` (a string)"))),
            }
        }
        match map.get("metadata") {
            None | Some(Value::Null) => {}
            Some(Value::Object(meta)) => {
                if let Err(problems) = round_trip::<ObjectMeta>(meta, &at.key("metadata")) {
                    self.out.extend(problems);
                }
            }
            Some(v) => self.push(&at.key("metadata"), format!("expected an object, found {}", json_type(v)), None),
        }
        self.node_of(s, value, at, depth, true);
    }

    fn node(&mut self, s: &Schema, value: &Value, at: &JsonPath, depth: usize) {
        self.node_of(s, value, at, depth, false)
    }

    /// `resource`: `value` is a whole object whose `apiVersion`, `kind`
    /// and `metadata` `resource` checked already.
    fn node_of(&mut self, s: &Schema, value: &Value, at: &JsonPath, depth: usize, resource: bool) {
        if depth > MAX_DEPTH {
            return self.push(at, format!("nested deeper than {MAX_DEPTH} levels"), None);
        }
        if s.embedded_resource && !resource {
            return self.resource(s, value, at, depth + 1);
        }
        if value.is_null() {
            if !s.nullable {
                let want = s.type_.map_or("a value", Type::noun);
                self.push(at, "null is not allowed here".into(), Some(format!("write {want}, or leave the field out")));
            }
            return;
        }
        if !self.type_matches(s, value, at) {
            return;
        }
        if !s.enum_.is_empty() && !s.enum_.contains(value) {
            self.enum_problem(s, value, at);
        }
        match value {
            Value::Object(map) => self.object(s, map, at, depth, resource),
            Value::Array(items) => self.array(s, items, at, depth),
            Value::String(text) => self.string(s, text, at),
            Value::Number(_) => self.number(s, value, at),
            _ => {}
        }
        self.combinators(s, value, at, depth);
    }

    fn type_matches(&mut self, s: &Schema, value: &Value, at: &JsonPath) -> bool {
        let ok = if s.int_or_string {
            value.is_string() || is_integer(value)
        } else {
            match s.type_ {
                None => true,
                Some(Type::Object) => value.is_object(),
                Some(Type::Array) => value.is_array(),
                Some(Type::String) => value.is_string(),
                Some(Type::Integer) => is_integer(value),
                Some(Type::Number) => value.is_number(),
                Some(Type::Boolean) => value.is_boolean(),
            }
        };
        if !ok {
            let want = if s.int_or_string { "an integer or a string" } else { s.type_.map_or("", Type::noun) };
            self.push(at, format!("expected {want}, found {}", json_type(value)), None);
        }
        ok
    }

    fn enum_problem(&mut self, s: &Schema, value: &Value, at: &JsonPath) {
        let allowed: Vec<String> = s.enum_.iter().map(show).collect();
        let mut hint = format!("allowed: {}", allowed.join(", "));
        if let Value::String(v) = value {
            let names: Vec<&str> = s.enum_.iter().filter_map(Value::as_str).collect();
            if let Some(near) = nearest(v, &names) {
                hint = format!("did you mean `{near}`? {hint}");
            }
        }
        self.push(at, format!("{} is not one of the allowed values", show(value)), Some(hint));
    }

    fn object(&mut self, s: &Schema, map: &Map<String, Value>, at: &JsonPath, depth: usize, resource: bool) {
        for (key, v) in map {
            if resource
                && (key == "metadata" || (RESOURCE_KEYS.contains(&key.as_str()) && !s.properties.contains_key(key)))
            {
                continue;
            }
            let here = at.key(key);
            match (s.properties.get(key), &s.additional) {
                (Some(p), _) if v.is_null() && !p.nullable => {}
                (Some(p), _) => self.node(p, v, &here, depth + 1),
                (None, Additional::Schema(a)) => self.node(a, v, &here, depth + 1),
                _ if v.is_null() => {}
                (None, Additional::Allowed(true)) => {}
                _ if s.preserve_unknown_fields || !self.strict => {}
                _ => self.unknown_field(s, key, &here),
            }
        }
        for name in s.required.iter().filter(|r| !resource || *r != "metadata") {
            let present =
                map.get(name).is_some_and(|v| !v.is_null() || s.properties.get(name).is_some_and(|p| p.nullable));
            let defaulted = s.properties.get(name).is_some_and(|p| p.has_default);
            if !present && !defaulted {
                let hint = match s.properties.get(name).and_then(|p| p.type_) {
                    Some(t) => format!("add `{name}` ({})", t.noun()),
                    None => format!("add `{name}`"),
                };
                self.push(at, format!("missing required field `{name}`"), Some(hint));
            }
        }
        let n = map.len() as u64;
        if let Some(min) = s.min_properties.filter(|m| n < *m) {
            self.push(at, format!("has {n} fields, fewer than the minimum {min}"), None);
        }
        if let Some(max) = s.max_properties.filter(|m| n > *m) {
            self.push(at, format!("has {n} fields, more than the maximum {max}"), None);
        }
    }

    fn unknown_field(&mut self, s: &Schema, key: &str, here: &JsonPath) {
        let known: Vec<&str> = s.properties.keys().map(String::as_str).collect();
        let hint = match nearest(key, &known) {
            Some(near) => Some(format!("did you mean `{near}`?")),
            None if known.is_empty() => Some("this object takes no fields".to_owned()),
            None if known.len() <= LISTED_FIELDS => Some(format!("the fields here are: {}", known.join(", "))),
            None => Some(format!(
                "the fields here are: {}, ... ({} in all)",
                known[..LISTED_FIELDS].join(", "),
                known.len()
            )),
        };
        self.push(here, format!("unknown field `{key}`"), hint);
    }

    fn array(&mut self, s: &Schema, items: &[Value], at: &JsonPath, depth: usize) {
        let n = items.len() as u64;
        if let Some(min) = s.min_items.filter(|m| n < *m) {
            self.push(at, format!("has {n} items, fewer than the minimum {min}"), None);
        }
        if let Some(max) = s.max_items.filter(|m| n > *m) {
            self.push(at, format!("has {n} items, more than the maximum {max}"), None);
        }
        if let Some(item) = &s.items {
            for (i, v) in items.iter().enumerate() {
                self.node(item, v, &at.index(i), depth + 1);
            }
        }
    }

    fn string(&mut self, s: &Schema, text: &str, at: &JsonPath) {
        // Lengths count characters, as the API server counts runes.
        let n = text.chars().count() as u64;
        if let Some(min) = s.min_length.filter(|m| n < *m) {
            self.push(at, format!("is {n} characters long, shorter than the minimum {min}"), None);
        }
        if let Some(max) = s.max_length.filter(|m| n > *m) {
            self.push(at, format!("is {n} characters long, longer than the maximum {max}"), None);
        }
        if let Some(p) = &s.pattern {
            if !p.regex.is_match(text) {
                self.push(
                    at,
                    format!("{} does not match the field's pattern", show_str(text)),
                    Some(format!("write a value matching `{}`", p.source)),
                );
            }
        }
        let (ok, what) = match s.format {
            Some(Format::DateTime) => {
                (text.parse::<jiff::Timestamp>().is_ok(), "an RFC 3339 date-time, like `2026-01-31T12:00:00Z`")
            }
            Some(Format::Date) => {
                (text.parse::<jiff::civil::Date>().is_ok() && text.len() == 10, "a date, like `2026-01-31`")
            }
            Some(Format::Byte) => (is_base64(text), "base64-encoded bytes"),
            _ => (true, ""),
        };
        if !ok {
            self.push(at, format!("{} is not {what}", show_str(text)), None);
        }
    }

    fn number(&mut self, s: &Schema, value: &Value, at: &JsonPath) {
        let Some(x) = value.as_f64() else { return };
        if let Some(min) = s.minimum {
            if x < min || (s.exclusive_minimum && x == min) {
                let rel = if s.exclusive_minimum { "more than" } else { "at least" };
                self.push(at, format!("{value} is below the minimum"), Some(format!("write a number {rel} {min}")));
            }
        }
        if let Some(max) = s.maximum {
            if x > max || (s.exclusive_maximum && x == max) {
                let rel = if s.exclusive_maximum { "less than" } else { "at most" };
                self.push(at, format!("{value} is above the maximum"), Some(format!("write a number {rel} {max}")));
            }
        }
        if s.format == Some(Format::Int32) && is_integer(value) && (x < f64::from(i32::MIN) || x > f64::from(i32::MAX))
        {
            self.push(at, format!("{value} does not fit in a 32-bit integer"), None);
        }
        if s.format == Some(Format::Int64) && is_integer(value) && value.as_i64().is_none() {
            self.push(at, format!("{value} does not fit in a 64-bit integer"), None);
        }
    }

    fn combinators(&mut self, s: &Schema, value: &Value, at: &JsonPath, depth: usize) {
        for branch in &s.all_of {
            self.out.extend(branch.value_problems(value, at, depth + 1));
        }
        if !s.any_of.is_empty() {
            let results: Vec<Vec<Problem>> = s.any_of.iter().map(|b| b.value_problems(value, at, depth + 1)).collect();
            if results.iter().all(|r| !r.is_empty()) {
                let first = results.into_iter().flatten().next();
                let why = first.map(|p| format!("e.g. at `{}`: {}", p.path, p.message));
                self.push(at, format!("matches none of the {} allowed shapes (anyOf)", s.any_of.len()), why);
            }
        }
        if !s.one_of.is_empty() {
            let matching = s.one_of.iter().filter(|b| b.value_problems(value, at, depth + 1).is_empty()).count();
            if matching != 1 {
                self.push(
                    at,
                    format!("matches {matching} of the {} shapes where exactly one must match (oneOf)", s.one_of.len()),
                    None,
                );
            }
        }
        if let Some(not) = &s.not {
            if not.value_problems(value, at, depth + 1).is_empty() {
                self.push(at, "matches a shape the schema forbids (not)".into(), None);
            }
        }
    }
}

fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
        _ => false,
    }
}

fn is_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - body.len() <= 2
        && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// A value as a message shows it: strings in backticks, cut when long.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => show_str(s),
        other => {
            let s = other.to_string();
            if s.chars().count() > 60 {
                format!("`{}...`", s.chars().take(60).collect::<String>())
            } else {
                format!("`{s}`")
            }
        }
    }
}

fn show_str(s: &str) -> String {
    if s.chars().count() > 60 {
        format!("`{}...`", s.chars().take(60).collect::<String>())
    } else {
        format!("`{s}`")
    }
}
