//! The schema keywords one by one: what passes, what fails, and the path,
//! message and hint of each failure.

use serde_json::{json, Value};

use super::{CrdError, Crds, Schema};
use crate::spec::JsonPath;

/// `path: message (hint)` of every problem of `value` against `schema`.
fn check(schema: Value, value: Value) -> Vec<String> {
    let s = Schema::compile(&schema).unwrap_or_else(|e| panic!("{e}"));
    s.validate(&value, &JsonPath::root().key("x"))
        .iter()
        .map(|p| format!("{}: {} ({})", p.path, p.message, p.hint.as_deref().unwrap_or("-")))
        .collect()
}

#[test]
fn types() {
    for (t, good, bad, found) in [
        ("object", json!({}), json!([]), "an array"),
        ("array", json!([]), json!({}), "an object"),
        ("string", json!("s"), json!(1), "a number"),
        ("integer", json!(3), json!(1.5), "a number"),
        ("number", json!(1.5), json!("1"), "a string"),
        ("boolean", json!(true), json!("true"), "a string"),
    ] {
        assert!(check(json!({ "type": t }), good).is_empty(), "{t}");
        let got = check(json!({ "type": t }), bad);
        assert_eq!(got.len(), 1, "{t}: {got:?}");
        assert!(got[0].ends_with(&format!(", found {found} (-)")), "{t}: {got:?}");
    }
    assert!(check(json!({ "type": "integer" }), json!(3.0)).is_empty());
}

#[test]
fn properties_required_and_unknown_fields() {
    let s = json!({ "type": "object", "required": ["name", "size"],
                    "properties": { "name": { "type": "string" }, "size": { "type": "integer", "default": 1 }, "mode": { "type": "string" } } });
    assert!(check(s.clone(), json!({ "name": "a" })).is_empty(), "a defaulted field may be left out");
    assert_eq!(
        check(s.clone(), json!({ "mdoe": "x" })),
        [
            "x.mdoe: unknown field `mdoe` (did you mean `mode`?)",
            "x: missing required field `name` (add `name` (a string))"
        ]
    );
    assert_eq!(
        check(s.clone(), json!({ "name": "a", "zzzzzz": 1 })),
        ["x.zzzzzz: unknown field `zzzzzz` (the fields here are: mode, name, size)"]
    );
    // A null that is not nullable is dropped, as the API server prunes it.
    assert_eq!(check(s.clone(), json!({ "name": null })), ["x: missing required field `name` (add `name` (a string))"]);
    assert!(check(json!({ "type": "object" }), json!({})).is_empty());
    assert_eq!(
        check(json!({ "type": "object" }), json!({ "a": 1 })),
        ["x.a: unknown field `a` (this object takes no fields)"]
    );
}

#[test]
fn additional_properties_and_preserved_unknown_fields() {
    let map = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    assert!(check(map.clone(), json!({ "a": "b" })).is_empty());
    assert_eq!(check(map, json!({ "a": 1 })), ["x.a: expected a string, found a number (-)"]);
    assert!(check(json!({ "type": "object", "additionalProperties": true }), json!({ "a": 1 })).is_empty());
    assert_eq!(
        check(json!({ "type": "object", "additionalProperties": false }), json!({ "a": 1 })),
        ["x.a: unknown field `a` (this object takes no fields)"]
    );
    let preserve = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true,
                           "properties": { "known": { "type": "integer" } } });
    assert!(check(preserve.clone(), json!({ "anything": { "goes": [1] } })).is_empty());
    assert_eq!(check(preserve, json!({ "known": "1" })), ["x.known: expected an integer, found a string (-)"]);
}

#[test]
fn items_and_counts() {
    let s = json!({ "type": "array", "minItems": 1, "maxItems": 2, "items": { "type": "string", "minLength": 2, "maxLength": 3 } });
    assert!(check(s.clone(), json!(["ab", "abc"])).is_empty());
    assert_eq!(check(s.clone(), json!([])), ["x: has 0 items, fewer than the minimum 1 (-)"]);
    assert_eq!(
        check(s.clone(), json!(["a", "ab", "abcd"])),
        [
            "x: has 3 items, more than the maximum 2 (-)",
            "x[0]: is 1 characters long, shorter than the minimum 2 (-)",
            "x[2]: is 4 characters long, longer than the maximum 3 (-)",
        ]
    );
    assert!(check(json!({ "type": "string", "maxLength": 2 }), json!("äö")).is_empty(), "lengths count characters");
    assert_eq!(
        check(json!({ "type": "object", "maxProperties": 1, "additionalProperties": true }), json!({ "a": 1, "b": 2 })),
        ["x: has 2 fields, more than the maximum 1 (-)"]
    );
}

#[test]
fn enum_pattern_bounds_and_formats() {
    assert_eq!(
        check(json!({ "type": "string", "enum": ["Always", "Never"] }), json!("Alwyas")),
        ["x: `Alwyas` is not one of the allowed values (did you mean `Always`? allowed: `Always`, `Never`)"]
    );
    assert_eq!(
        check(json!({ "type": "string", "pattern": "^[a-z]+$" }), json!("A")),
        ["x: `A` does not match the field's pattern (write a value matching `^[a-z]+$`)"]
    );
    assert!(check(json!({ "type": "string", "pattern": "[a-z]" }), json!("A1b")).is_empty(), "patterns are unanchored");
    let port = json!({ "type": "integer", "minimum": 1, "maximum": 65535 });
    assert_eq!(check(port.clone(), json!(0)), ["x: 0 is below the minimum (write a number at least 1)"]);
    assert_eq!(check(port, json!(65536)), ["x: 65536 is above the maximum (write a number at most 65535)"]);
    assert_eq!(
        check(json!({ "type": "number", "minimum": 0, "exclusiveMinimum": true }), json!(0)),
        ["x: 0 is below the minimum (write a number more than 0)"]
    );
    assert_eq!(
        check(json!({ "type": "integer", "format": "int32" }), json!(3_000_000_000i64)),
        ["x: 3000000000 does not fit in a 32-bit integer (-)"]
    );
    let time = json!({ "type": "string", "format": "date-time" });
    assert!(check(time.clone(), json!("2026-01-31T12:00:00Z")).is_empty());
    assert_eq!(check(time, json!("yesterday")).len(), 1);
    assert_eq!(check(json!({ "type": "string", "format": "byte" }), json!("not base64!")).len(), 1);
    assert!(
        check(json!({ "type": "string", "format": "hostname" }), json!("anything")).is_empty(),
        "other formats pass"
    );
}

#[test]
fn nullable_int_or_string_and_embedded_resources() {
    assert!(check(json!({ "type": "string", "nullable": true }), json!(null)).is_empty());
    assert_eq!(
        check(json!({ "type": "array", "items": { "type": "string" } }), json!([null])),
        ["x[0]: null is not allowed here (write a string, or leave the field out)"]
    );
    let port = json!({ "x-kubernetes-int-or-string": true, "pattern": "^[a-z]+$" });
    assert!(check(port.clone(), json!(80)).is_empty());
    assert!(check(port.clone(), json!("http")).is_empty());
    assert_eq!(check(port.clone(), json!(true)), ["x: expected an integer or a string, found a boolean (-)"]);
    assert_eq!(check(port, json!("HTTP")).len(), 1);
    let embedded = json!({ "type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true });
    assert!(check(
        embedded.clone(),
        json!({ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "a" }, "data": {} })
    )
    .is_empty());
    assert_eq!(
        check(embedded.clone(), json!({ "apiVersion": "v1", "metadata": { "nmae": "a" } })),
        ["x: missing required field `kind` (add `kind` (a string))", "x.metadata.nmae: unknown field `nmae` (-)"]
    );
    assert_eq!(
        check(embedded, json!({ "apiVersion": "", "kind": 1 })),
        [
            "x: missing required field `apiVersion` (add `apiVersion` (a string))",
            "x.kind: expected a string, found a number (-)"
        ]
    );
}

#[test]
fn value_validations_any_one_all_not() {
    let any = json!({ "anyOf": [{ "type": "integer" }, { "type": "string" }] });
    assert!(check(any.clone(), json!("a")).is_empty());
    let got = check(any, json!(true));
    assert_eq!(got.len(), 1);
    assert!(got[0].starts_with("x: matches none of the 2 allowed shapes (anyOf)"), "{got:?}");
    // Fields named only in branches restrict values; they are declared
    // outside, so the branches check no unknown fields.
    let one = json!({ "type": "object", "properties": { "a": { "type": "string" }, "b": { "type": "string" } },
                      "oneOf": [{ "required": ["a"] }, { "required": ["b"] }] });
    assert!(check(one.clone(), json!({ "a": "x" })).is_empty());
    assert_eq!(
        check(one, json!({ "a": "x", "b": "y" })),
        ["x: matches 2 of the 2 shapes where exactly one must match (oneOf) (-)"]
    );
    let all = json!({ "allOf": [{ "minLength": 2 }, { "maxLength": 3 }] });
    assert_eq!(check(all, json!("abcd")), ["x: is 4 characters long, longer than the maximum 3 (-)"]);
    assert_eq!(
        check(json!({ "not": { "enum": ["root"] } }), json!("root")),
        ["x: matches a shape the schema forbids (not) (-)"]
    );
}

#[test]
fn bad_schemas_name_the_keyword() {
    for (schema, path) in [
        (json!({ "type": "strnig" }), "openAPIV3Schema.type"),
        (json!({ "properties": { "a": { "pattern": "(" } } }), "openAPIV3Schema.properties.a.pattern"),
        (json!({ "required": "a" }), "openAPIV3Schema.required"),
        (json!({ "minLength": -1 }), "openAPIV3Schema.minLength"),
        (json!({ "items": [1] }), "openAPIV3Schema.items"),
        (json!({ "anyOf": [{ "type": 1 }] }), "openAPIV3Schema.anyOf[0].type"),
    ] {
        let e = Schema::compile(&schema).unwrap_err();
        assert_eq!(e.path, path, "{schema}: {e}");
    }
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: { name: widgets.example.io }
spec:
  group: example.io
  names: { kind: Widget, plural: widgets }
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            apiVersion: { type: string }
            kind: { type: string }
            metadata: { type: object }
            spec:
              type: object
              required: [size]
              properties:
                size: { type: integer, minimum: 1 }
    - name: v0
      served: false
      schema: { openAPIV3Schema: { type: object } }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: ignored }
"#;

#[test]
fn crds_pick_the_served_version_and_check_metadata_as_object_meta() {
    let crds = Crds::from_yaml(CRD, "widgets.yaml").unwrap();
    assert_eq!(crds.len(), 1);
    assert!(crds.covers("example.io/v1", "Widget"));
    assert!(!crds.covers("example.io/v1", "Gadget"));
    let ok = json!({ "apiVersion": "example.io/v1", "kind": "Widget",
                     "metadata": { "name": "w", "labels": { "a": "b" } }, "spec": { "size": 2 } });
    assert_eq!(crds.validate(&ok), []);
    let mut bad = ok.clone();
    bad["spec"]["size"] = json!(0);
    bad["status"] = json!({});
    let paths: Vec<String> = crds.validate(&bad).iter().map(|p| p.path.to_string()).collect();
    assert_eq!(paths, ["spec.size", "status"]);
    let mut old = ok.clone();
    old["apiVersion"] = json!("example.io/v0");
    let p = &crds.validate(&old)[0];
    assert_eq!(p.path.to_string(), "apiVersion");
    assert_eq!(p.hint.as_deref(), Some("served: `example.io/v1`"));
    // Other kinds are not this check's business.
    assert_eq!(crds.validate(&json!({ "apiVersion": "v1", "kind": "ConfigMap", "bogus": 1 })), []);
}

#[test]
fn crd_files_with_a_bad_document_name_it() {
    let twice = format!("{CRD}\n---\n{CRD}");
    assert!(matches!(Crds::from_yaml(&twice, "w.yaml"), Err(CrdError::Duplicate { index: 3, .. })));
    let bad = CRD.replace("minimum: 1", "minimum: one");
    match Crds::from_yaml(&bad, "w.yaml") {
        Err(e @ CrdError::Schema { index: 1, .. }) => assert_eq!(
            e.to_string(),
            "CRD file `w.yaml`, document 1: at `spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.size.minimum` of the schema: `minimum` must be a number"
        ),
        other => panic!("{other:?}"),
    }
    let v1beta1 = CRD.replace("apiextensions.k8s.io/v1", "apiextensions.k8s.io/v1beta1");
    assert!(matches!(Crds::from_yaml(&v1beta1, "w.yaml"), Err(CrdError::Document { index: 1, .. })));
    assert!(matches!(Crds::from_yaml("- a\n- b\n", "w.yaml"), Err(CrdError::Document { index: 1, .. })));
    assert!(Crds::from_yaml("", "w.yaml").unwrap().is_empty());
}
