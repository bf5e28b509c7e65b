//! `yaml_ser` writes what `yaml::write_document` writes for the value's
//! `serde_json::Value`, byte for byte, whatever order the entries come in.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};

use super::yaml;
use super::yaml_ser::write_document;

fn direct<T: Serialize + ?Sized>(v: &T) -> String {
    let (mut out, mut entries) = (String::from("prefix\n"), Vec::new());
    write_document(&mut out, &mut entries, v).unwrap();
    assert!(entries.is_empty());
    out.split_off("prefix\n".len())
}

fn via_value<T: Serialize + ?Sized>(v: &T) -> String {
    yaml::to_string(&serde_json::to_value(v).unwrap())
}

/// A JSON value whose maps serialise in reverse key order, and with each
/// key first written once with a value that a later entry replaces.
struct Shuffled<'a>(&'a Value);

impl Serialize for Shuffled<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(None)?;
                for (k, v) in m.iter().rev() {
                    map.serialize_entry(k, "replaced")?;
                    map.serialize_entry(k, &Shuffled(v))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Shuffled(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

fn same(v: &Value) {
    let expected = yaml::to_string(v);
    assert_eq!(direct(v), expected, "{v}");
    assert_eq!(direct(&Shuffled(v)), expected, "{v} shuffled");
}

#[test]
fn layouts_match_the_value_path() {
    for v in [
        json!({"kind": "X", "spec": {"list": [{"a": 1, "b": [1, 2]}, "s", [3]], "empty": {}, "none": []}, "text": "l1\nl2\n"}),
        json!([[[1, {"z": 1, "a": [{}, [], {"q": "x"}]}]], {"b": {"c": [[{"d": 1}]]}}]),
        json!({"t": "a\n\nb", "u": "a\n\n", "v": " lead\nx", "w": "yes", "x": "1_000", "y": null, "z": true}),
        json!({"a b": 1, "a: b": 2, "": 3, "é": "ü", "key\nline": [1.5, -2, 1e300, 0.1]}),
        json!({"deep": [{"block": "one\ntwo\n", "list": ["x\ny", {"k": "v\nw\n"}]}]}),
        json!({}),
        json!([]),
        json!("top\nlevel\n"),
        json!(42),
        json!(null),
        json!([{}]),
        json!({"m": [[]]}),
    ] {
        same(&v);
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Unordered {
    zeta: u8,
    alpha: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    skipped: Option<u8>,
    mid_word: Vec<Inner>,
    #[serde(rename = "B")]
    upper: f32,
    #[serde(flatten)]
    rest: BTreeMap<String, Value>,
    choice: Choice,
    wrapped: Wrapped,
}

#[derive(Serialize)]
struct Inner {
    y: BTreeMap<u16, &'static str>,
    x: char,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
enum Choice {
    OneWay,
}

#[derive(Serialize)]
enum Wrapped {
    Inside(u64),
}

#[test]
fn typed_structs_match_the_value_path() {
    let v = Unordered {
        zeta: 1,
        alpha: None,
        skipped: None,
        mid_word: vec![Inner { y: BTreeMap::from([(10, "ten"), (9, "nine")]), x: 'é' }],
        upper: 0.1,
        rest: BTreeMap::from([("aardvark".into(), json!({"b": 1, "a": 2})), ("zeta".into(), json!("dup"))]),
        choice: Choice::OneWay,
        wrapped: Wrapped::Inside(7),
    };
    assert_eq!(direct(&v), via_value(&v));
}

#[test]
fn what_a_value_holds_otherwise_is_refused() {
    #[derive(Serialize)]
    enum Variant {
        Pair(u8, u8),
        Fields { a: u8 },
    }
    let (mut out, mut entries) = (String::new(), Vec::new());
    assert!(write_document(&mut out, &mut entries, &serde_bytes_like(&[1, 2])).is_err());
    assert!(write_document(&mut out, &mut entries, &Variant::Pair(1, 2)).is_err());
    assert!(write_document(&mut out, &mut entries, &Variant::Fields { a: 1 }).is_err());
    assert!(write_document(&mut out, &mut entries, &BTreeMap::from([(true, 1)])).is_err());
}

/// Bytes, as `serialize_bytes` gives them.
fn serde_bytes_like(b: &[u8]) -> impl Serialize + '_ {
    struct Bytes<'a>(&'a [u8]);
    impl Serialize for Bytes<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(self.0)
        }
    }
    Bytes(b)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z: #\\n-]{0,12}".prop_map(Value::String),
        prop::sample::select(vec!["yes", "1.0", "web", "a\nb\n", " x", "é", "~"]).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map("[a-zA-Z_ :]{0,6}", inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_value_in_any_order_matches(v in json_value()) {
        let expected = yaml::to_string(&v);
        prop_assert_eq!(direct(&v), expected.clone());
        prop_assert_eq!(direct(&Shuffled(&v)), expected);
    }
}
