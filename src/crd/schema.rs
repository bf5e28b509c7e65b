//! A CRD version's `openAPIV3Schema`, compiled for validation: the parts of
//! a structural schema the API server checks values against (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`,
//! `pattern`, lengths, counts, bounds, `nullable`, `format`, the
//! `x-kubernetes-*` extensions, and the `allOf`/`anyOf`/`oneOf`/`not`
//! value validations). CEL rules (`x-kubernetes-validations`) cannot be
//! evaluated here and are skipped. Compiling reads any JSON without
//! panicking: a keyword of the wrong shape is a `SchemaError` naming its
//! place in the schema. Validation itself is in `validate.rs`.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

/// Nesting deeper than this is refused (when compiling) or reported (when
/// validating) rather than recursed into.
pub const MAX_DEPTH: usize = 64;

/// The JSON types of the `type` keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl Type {
    fn parse(s: &str) -> Option<Type> {
        Some(match s {
            "object" => Type::Object,
            "array" => Type::Array,
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            _ => return None,
        })
    }

    /// How the type reads in a message (`a string`).
    pub fn noun(self) -> &'static str {
        match self {
            Type::Object => "an object",
            Type::Array => "an array",
            Type::String => "a string",
            Type::Integer => "an integer",
            Type::Number => "a number",
            Type::Boolean => "a boolean",
        }
    }
}

/// `additionalProperties`: absent, a boolean, or a schema for every value.
#[derive(Debug, Clone, Default)]
pub enum Additional {
    #[default]
    Absent,
    Allowed(bool),
    Schema(Box<Schema>),
}

/// The formats checked (others are accepted as any string or number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Int32,
    Int64,
    DateTime,
    Date,
    Byte,
}

/// A `pattern`, as written and compiled.
#[derive(Debug, Clone)]
pub struct Pattern {
    pub source: String,
    pub regex: Regex,
}

/// One compiled schema node.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub type_: Option<Type>,
    pub nullable: bool,
    pub properties: BTreeMap<String, Schema>,
    pub required: Vec<String>,
    pub additional: Additional,
    pub items: Option<Box<Schema>>,
    pub enum_: Vec<Value>,
    pub pattern: Option<Pattern>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub format: Option<Format>,
    /// Has a `default`: the API server fills it in before checking `required`.
    pub has_default: bool,
    pub int_or_string: bool,
    pub preserve_unknown_fields: bool,
    pub embedded_resource: bool,
    pub all_of: Vec<Schema>,
    pub any_of: Vec<Schema>,
    pub one_of: Vec<Schema>,
    pub not: Option<Box<Schema>>,
}

/// A schema that cannot be used: where in the schema, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at `{path}` of the schema: {message}")]
pub struct SchemaError {
    pub path: String,
    pub message: String,
}

impl Schema {
    /// Compiles an `openAPIV3Schema` (or any node of one).
    pub fn compile(value: &Value) -> Result<Schema, SchemaError> {
        compile(value, "openAPIV3Schema", 0)
    }
}

fn err(path: &str, message: impl Into<String>) -> SchemaError {
    SchemaError { path: path.to_owned(), message: message.into() }
}

fn compile(value: &Value, path: &str, depth: usize) -> Result<Schema, SchemaError> {
    if depth > MAX_DEPTH {
        return Err(err(path, format!("nested deeper than {MAX_DEPTH} levels")));
    }
    let Value::Object(m) = value else {
        return Err(err(path, "a schema must be an object"));
    };
    let at = |key: &str| format!("{path}.{key}");
    let sub = |key: &str, v: &Value| compile(v, &at(key), depth + 1);
    let mut s = Schema {
        type_: match m.get("type") {
            None => None,
            Some(Value::String(t)) => Some(Type::parse(t).ok_or_else(|| {
                err(&at("type"), format!("unknown type `{t}` (object, array, string, integer, number, boolean)"))
            })?),
            Some(_) => return Err(err(&at("type"), "`type` must be a string")),
        },
        nullable: flag(m, "nullable", path)?,
        has_default: m.contains_key("default"),
        int_or_string: flag(m, "x-kubernetes-int-or-string", path)?,
        preserve_unknown_fields: flag(m, "x-kubernetes-preserve-unknown-fields", path)?,
        embedded_resource: flag(m, "x-kubernetes-embedded-resource", path)?,
        exclusive_minimum: flag(m, "exclusiveMinimum", path)?,
        exclusive_maximum: flag(m, "exclusiveMaximum", path)?,
        min_length: count(m, "minLength", path)?,
        max_length: count(m, "maxLength", path)?,
        min_items: count(m, "minItems", path)?,
        max_items: count(m, "maxItems", path)?,
        min_properties: count(m, "minProperties", path)?,
        max_properties: count(m, "maxProperties", path)?,
        minimum: bound(m, "minimum", path)?,
        maximum: bound(m, "maximum", path)?,
        format: match m.get("format") {
            None => None,
            Some(Value::String(f)) => match f.as_str() {
                "int32" => Some(Format::Int32),
                "int64" => Some(Format::Int64),
                "date-time" => Some(Format::DateTime),
                "date" => Some(Format::Date),
                "byte" => Some(Format::Byte),
                _ => None,
            },
            Some(_) => return Err(err(&at("format"), "`format` must be a string")),
        },
        ..Schema::default()
    };
    if let Some(p) = m.get("properties") {
        let Value::Object(props) = p else {
            return Err(err(&at("properties"), "`properties` must be an object"));
        };
        for (name, v) in props {
            s.properties.insert(name.clone(), compile(v, &format!("{path}.properties.{name}"), depth + 1)?);
        }
    }
    if let Some(r) = m.get("required") {
        let names = r.as_array().ok_or_else(|| err(&at("required"), "`required` must be a list of names"))?;
        for n in names {
            let n = n.as_str().ok_or_else(|| err(&at("required"), "`required` must be a list of names"))?;
            s.required.push(n.to_owned());
        }
    }
    s.additional = match m.get("additionalProperties") {
        None => Additional::Absent,
        Some(Value::Bool(b)) => Additional::Allowed(*b),
        Some(v) => Additional::Schema(Box::new(sub("additionalProperties", v)?)),
    };
    if let Some(v) = m.get("items") {
        s.items = Some(Box::new(sub("items", v)?));
    }
    if let Some(v) = m.get("not") {
        s.not = Some(Box::new(sub("not", v)?));
    }
    if let Some(e) = m.get("enum") {
        s.enum_ = e.as_array().ok_or_else(|| err(&at("enum"), "`enum` must be a list"))?.clone();
    }
    if let Some(p) = m.get("pattern") {
        let source = p.as_str().ok_or_else(|| err(&at("pattern"), "`pattern` must be a string"))?;
        // The regex crate matches in linear time like Go's RE2; the size
        // limit keeps a hostile pattern from taking long to compile.
        let regex = regex::RegexBuilder::new(source)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| err(&at("pattern"), format!("`{source}` is not a regular expression: {e}")))?;
        s.pattern = Some(Pattern { source: source.to_owned(), regex });
    }
    for (key, list) in [("allOf", &mut s.all_of), ("anyOf", &mut s.any_of), ("oneOf", &mut s.one_of)] {
        if let Some(v) = m.get(key) {
            let items = v.as_array().ok_or_else(|| err(&at(key), format!("`{key}` must be a list of schemas")))?;
            for (i, item) in items.iter().enumerate() {
                list.push(compile(item, &format!("{path}.{key}[{i}]"), depth + 1)?);
            }
        }
    }
    Ok(s)
}

fn flag(m: &Map<String, Value>, key: &str, path: &str) -> Result<bool, SchemaError> {
    match m.get(key) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(err(&format!("{path}.{key}"), format!("`{key}` must be a boolean"))),
    }
}

fn count(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<u64>, SchemaError> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| err(&format!("{path}.{key}"), format!("`{key}` must be a non-negative integer"))),
    }
}

fn bound(m: &Map<String, Value>, key: &str, path: &str) -> Result<Option<f64>, SchemaError> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => {
            v.as_f64().map(Some).ok_or_else(|| err(&format!("{path}.{key}"), format!("`{key}` must be a number")))
        }
    }
}
