//! No input may make nixflux panic. Three generators feed the spec parser
//! and the renderer: arbitrary JSON, arbitrary text, and mutations of the
//! example spec (fields removed, retyped, renamed, values swapped), which
//! reach far deeper into rendering than random JSON does. The YAML emitter
//! is checked to round-trip whatever it is given.

use nixflux::bundle::{self, yaml, Bundle};
use nixflux::render::render;
use nixflux::spec;
use proptest::prelude::*;
use serde_json::{Map, Value};

const EXAMPLE: &str = include_str!("../docs/examples/homelab.json");

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "nixflux/v1alpha1",
            "apps/v1",
            "v1",
            "Deployment",
            "Service",
            "Secret",
            "web",
            "80",
            "/x",
            "${A}",
            "$${A:=b}",
            "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-x.tar"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(5, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-zA-Z]{1,10}",
                    prop::sample::select(vec![
                        "apiVersion",
                        "apps",
                        "image",
                        "port",
                        "objects",
                        "kind",
                        "metadata",
                        "name",
                        "spec",
                        "ingress",
                        "host",
                        "volumes",
                        "routes",
                        "service",
                        "vars",
                        "external",
                        "secrets"
                    ])
                    .prop_map(str::to_owned),
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Parses, renders and bundles; returns whether it rendered. Never panics.
fn run_all(text: &str) -> bool {
    let Ok(spec) = spec::parse(text, "fuzz.json") else { return false };
    match render(&spec) {
        Ok(rendered) => {
            let value: Value = serde_json::from_str(text).unwrap();
            let b = Bundle::build(&rendered, bundle::spec_digest(&value));
            assert!(!b.index.digest.as_str().is_empty());
            true
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            false
        }
    }
}

/// One random edit somewhere in the tree.
#[derive(Debug, Clone)]
enum Mutation {
    Remove,
    Replace(Value),
    Rename(String),
}

fn mutate(v: &mut Value, choice: usize, m: &Mutation) -> bool {
    let mut counter = choice;
    mutate_at(v, &mut counter, m)
}

fn mutate_at(v: &mut Value, counter: &mut usize, m: &Mutation) -> bool {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for k in keys {
                if *counter == 0 {
                    match m {
                        Mutation::Remove => {
                            map.remove(&k);
                        }
                        Mutation::Replace(new) => {
                            map.insert(k, new.clone());
                        }
                        Mutation::Rename(name) => {
                            if let Some(old) = map.remove(&k) {
                                map.insert(name.clone(), old);
                            }
                        }
                    }
                    return true;
                }
                *counter -= 1;
                if let Some(child) = map.get_mut(&k) {
                    if mutate_at(child, counter, m) {
                        return true;
                    }
                }
            }
            false
        }
        Value::Array(a) => {
            for i in 0..a.len() {
                if *counter == 0 {
                    match m {
                        Mutation::Remove => {
                            a.remove(i);
                        }
                        Mutation::Replace(new) => a[i] = new.clone(),
                        Mutation::Rename(_) => a.push(a[i].clone()),
                    }
                    return true;
                }
                *counter -= 1;
                if mutate_at(&mut a[i], counter, m) {
                    return true;
                }
            }
            false
        }
        _ => false,
    }
}

/// Writes `v` as JSON text with the `choice`-th key (counting every key of
/// every object, depth first) written twice, the copy carrying `value`.
/// Returns `None` if there are fewer keys.
fn with_duplicate_key(v: &Value, choice: usize, value: &Value) -> Option<String> {
    fn write(v: &Value, counter: &mut Option<usize>, value: &Value, out: &mut String) {
        match v {
            Value::Object(map) => {
                out.push('{');
                for (i, (k, child)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    let key = Value::String(k.clone()).to_string();
                    out.push_str(&format!("{key}:"));
                    write(child, counter, value, out);
                    if *counter == Some(0) {
                        out.push_str(&format!(",{key}:{value}"));
                    }
                    *counter = counter.and_then(|c| c.checked_sub(1));
                }
                out.push('}');
            }
            Value::Array(a) => {
                out.push('[');
                for (i, child) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(child, counter, value, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut counter = Some(choice);
    let mut out = String::new();
    write(v, &mut counter, value, &mut out);
    counter.is_none().then_some(out)
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Remove),
        json_value().prop_map(Mutation::Replace),
        prop::sample::select(vec![
            "image",
            "port",
            "namespace",
            "name",
            "host",
            "objects",
            "kind",
            "spec",
            "replicas",
            "x"
        ])
        .prop_map(|s| Mutation::Rename(s.to_owned())),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_json_never_panics(v in json_value()) {
        run_all(&v.to_string());
        // The same value wrapped as a spec reaches past the apiVersion check.
        let mut spec = Map::new();
        spec.insert("apiVersion".into(), Value::String("nixflux/v1alpha1".into()));
        spec.insert("apps".into(), Value::Object(Map::from_iter([("web".to_owned(), v.clone())])));
        run_all(&Value::Object(spec).to_string());
        let mut spec = Map::new();
        spec.insert("apiVersion".into(), Value::String("nixflux/v1alpha1".into()));
        spec.insert("objects".into(), Value::Array(vec![v]));
        run_all(&Value::Object(spec).to_string());
    }

    #[test]
    fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
        run_all(&s);
    }

    #[test]
    fn mutated_example_never_panics(edits in prop::collection::vec((0usize..2000, mutation()), 1..4)) {
        let mut v: Value = serde_json::from_str(EXAMPLE).unwrap();
        for (at, m) in &edits {
            mutate(&mut v, *at, m);
        }
        run_all(&v.to_string());
    }

    #[test]
    fn duplicated_keys_are_always_refused(at in 0usize..2000, value in json_value()) {
        let v: Value = serde_json::from_str(EXAMPLE).unwrap();
        let keys = EXAMPLE.matches("\":").count();
        prop_assert!(with_duplicate_key(&v, 0, &value).is_some());
        if let Some(text) = with_duplicate_key(&v, at % keys, &value) {
            let problems = spec::parse(&text, "fuzz.json").expect_err("a duplicate key was accepted");
            prop_assert_eq!(problems.problems.len(), 1);
            let p = &problems.problems[0];
            prop_assert!(p.message.starts_with("duplicate key `"), "{}", p.message);
            prop_assert!(p.position.is_some());
            prop_assert!(!run_all(&text));
        }
    }

    #[test]
    fn yaml_emitter_round_trips(v in json_value()) {
        let text = yaml::to_string(&v);
        let back: Value = serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        // YAML has one number type per value; compare numbers by value.
        prop_assert_eq!(normalize(&back), normalize(&v), "{}", text);
    }
}

fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => Value::from(n.as_f64().unwrap_or(0.0)),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

#[test]
fn the_example_renders() {
    assert!(run_all(EXAMPLE));
}

mod references {
    use nixflux::image::ImageRef;
    use nixflux::nix::{base32, StorePath};
    use proptest::prelude::*;

    const B32: &str = "[0123456789abcdfghijklmnpqrsvwxyz]{32}";

    fn store_path() -> impl Strategy<Value = String> {
        (B32, "[A-Za-z0-9+_?=-][A-Za-z0-9+._?=-]{0,40}").prop_map(|(h, n)| format!("/nix/store/{h}-{n}"))
    }

    fn registry_ref() -> impl Strategy<Value = String> {
        let domain = prop::option::of("[a-z][a-z0-9]{0,8}\\.[a-z]{2,4}(:[0-9]{1,5})?");
        let path = prop::collection::vec("[a-z0-9]{1,6}([._-][a-z0-9]{1,6}){0,2}", 1..4).prop_map(|c| c.join("/"));
        let tag = prop::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}");
        let digest = prop::option::of("[0-9a-f]{64}");
        (domain, path, tag, digest).prop_map(|(d, p, t, g)| {
            // Without a host, a first component with `.` would read as one
            // (the Docker grammar's rule): keep it plain.
            let p = if d.is_none() { p.replacen('.', "-", 1) } else { p };
            let p =
                if d.is_none() && p.split('/').next().is_some_and(|c| c.contains('.')) { format!("x/{p}") } else { p };
            let mut s = d.map(|d| format!("{d}/")).unwrap_or_default();
            s.push_str(&p);
            if let Some(t) = t {
                s.push(':');
                s.push_str(&t);
            }
            if let Some(g) = g {
                s.push_str("@sha256:");
                s.push_str(&g);
            }
            s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn parsers_never_panic(s in "\\PC{0,120}") {
            let _ = s.parse::<StorePath>();
            let _ = s.parse::<ImageRef>();
            let _ = base32::decode(&s);
            let _ = format!("nix:0{s}").parse::<ImageRef>();
            let _ = format!("/nix/store/{s}").parse::<StorePath>();
        }

        #[test]
        fn store_paths_round_trip(p in store_path()) {
            let parsed: StorePath = p.parse().unwrap();
            prop_assert_eq!(parsed.to_string(), p.clone());
            prop_assert_eq!(parsed.to_string().parse::<StorePath>().unwrap(), parsed);
            let nix = format!("nix:0{p}");
            let r: ImageRef = nix.parse().unwrap();
            prop_assert!(r.is_pinned());
            prop_assert_eq!(r.to_string().parse::<ImageRef>().unwrap(), r);
        }

        #[test]
        fn registry_refs_round_trip(s in registry_ref()) {
            let r: ImageRef = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
            prop_assert_eq!(r.to_string(), s.clone());
            prop_assert_eq!(r.to_string().parse::<ImageRef>().unwrap(), r.clone());
            prop_assert_eq!(r.is_pinned(), s.contains("@sha256:"));
        }

        #[test]
        fn base32_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32::decode(&base32::encode(&bytes)).unwrap(), bytes);
        }
    }
}

/// CRD schema validation never panics, on any schema and any object.
mod crd_schemas {
    use nixflux::crd::{Crds, Schema};
    use nixflux::spec::JsonPath;
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    const NAMES: &[&str] = &["a", "b", "spec", "metadata", "kind", "apiVersion", "name"];

    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(NAMES).prop_map(str::to_owned)
    }

    /// Values of the kinds schema keywords take, and of the kinds they should not.
    fn scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-3i64..5).prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            prop::sample::select(vec![
                "object",
                "array",
                "string",
                "integer",
                "number",
                "boolean",
                "int32",
                "int64",
                "date-time",
                "date",
                "byte",
                "^[a-z]+$",
                "(",
                "a{2,}",
                "\\d",
                "x1",
                "",
                "2026-01-31T12:00:00Z",
                "eDE=",
            ])
            .prop_map(|s| Value::String(s.to_owned())),
            ".{0,8}".prop_map(Value::String),
        ]
    }

    fn object_value() -> impl Strategy<Value = Value> {
        scalar().prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(name(), inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// One schema keyword with a value: mostly of the shape it takes, sometimes anything.
    fn keyword() -> impl Strategy<Value = (String, Value)> {
        let count = || (0u64..4).prop_map(Value::from);
        let flag = || any::<bool>().prop_map(Value::Bool);
        let types = ["object", "array", "string", "integer", "number", "boolean"];
        let patterns = ["^[a-z]+$", "[0-9]", "^(a|b)*$", "(", "\\d+", ""];
        let formats = ["int32", "int64", "date-time", "date", "byte", "uuid"];
        let k = |name: &'static str, v: BoxedStrategy<Value>| v.prop_map(move |v| (name.to_owned(), v)).boxed();
        prop_oneof![
            3 => k("type", prop::sample::select(types.to_vec()).prop_map(|t| Value::String(t.into())).boxed()),
            1 => k("nullable", flag().boxed()),
            1 => k("x-kubernetes-int-or-string", flag().boxed()),
            1 => k("x-kubernetes-preserve-unknown-fields", flag().boxed()),
            1 => k("x-kubernetes-embedded-resource", flag().boxed()),
            1 => k("exclusiveMinimum", flag().boxed()),
            1 => k("pattern", prop::sample::select(patterns.to_vec()).prop_map(|p| Value::String(p.into())).boxed()),
            1 => k("format", prop::sample::select(formats.to_vec()).prop_map(|p| Value::String(p.into())).boxed()),
            1 => k("enum", prop::collection::vec(scalar(), 0..3).prop_map(Value::Array).boxed()),
            1 => k("minLength", count().boxed()),
            1 => k("maxItems", count().boxed()),
            1 => k("minProperties", count().boxed()),
            1 => k("minimum", (-2i64..3).prop_map(Value::from).boxed()),
            1 => k("maximum", any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from).boxed()),
            1 => k("default", scalar().boxed()),
            1 => (prop::sample::select(vec!["type", "required", "minLength", "pattern", "enum", "nullable"]), scalar())
                .prop_map(|(k, v)| (k.to_owned(), v)),
        ]
    }

    fn schema() -> impl Strategy<Value = Value> {
        let leaf = prop::collection::vec(keyword(), 0..4).prop_map(|kv| Value::Object(kv.into_iter().collect()));
        leaf.prop_recursive(4, 40, 5, |inner| {
            let props = prop::collection::btree_map(name(), inner.clone(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect()));
            (
                prop::collection::vec(keyword(), 0..4),
                prop::option::of(props),
                prop::option::of(inner.clone()),
                prop::option::of(inner.clone()),
                prop::option::of(prop::collection::vec(inner.clone(), 0..3)),
                prop::option::of(prop::collection::vec(name().prop_map(Value::String), 0..3)),
                prop::sample::select(vec!["items", "additionalProperties", "not", "anyOf", "oneOf", "allOf"]),
            )
                .prop_map(|(base, props, items, extra, branches, required, which)| {
                    let mut m: Map<String, Value> = base.into_iter().collect();
                    if let Some(p) = props {
                        m.insert("properties".into(), p);
                    }
                    if let Some(i) = items {
                        m.insert("items".into(), i);
                    }
                    if let Some(e) = extra {
                        let key = if which == "anyOf" || which == "oneOf" || which == "allOf" { "not" } else { which };
                        m.insert(key.into(), e);
                    }
                    if let Some(b) = branches {
                        m.insert(which.into(), Value::Array(b));
                    }
                    if let Some(r) = required {
                        m.insert("required".into(), Value::Array(r));
                    }
                    Value::Object(m)
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn any_schema_and_object_never_panic(s in schema(), v in object_value(), spec in object_value()) {
            if let Ok(compiled) = Schema::compile(&s) {
                let _ = compiled.validate(&v, &JsonPath::root());
                let object = json!({ "apiVersion": "x.io/v1", "kind": "X", "metadata": v, "spec": spec });
                let _ = compiled.validate_object(&object, &JsonPath::root());
                let _ = compiled.validate_object(&v, &JsonPath::root().key("objects").index(0));
            }
            // The same schema inside a CRD document (JSON is YAML).
            let crd = json!({
                "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": { "name": "xs.x.io" },
                "spec": { "group": "x.io", "names": { "kind": "X" }, "scope": "Namespaced",
                          "versions": [{ "name": "v1", "served": true, "schema": { "openAPIV3Schema": s } }] },
            });
            if let Ok(crds) = Crds::from_yaml(&crd.to_string(), "fuzz.yaml") {
                let _ = crds.validate(&json!({ "apiVersion": "x.io/v1", "kind": "X", "metadata": {}, "spec": spec }));
                let _ = crds.validate(&json!({ "apiVersion": "x.io/v2", "kind": "X" }));
            }
        }

        #[test]
        fn any_crd_file_text_never_panics(s in "\\PC{0,200}") {
            let _ = Crds::from_yaml(&s, "fuzz.yaml");
            let _ = Crds::from_yaml(&format!("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n{s}"), "fuzz.yaml");
        }
    }

    /// The generator reaches validation: a good share of its schemas compile,
    /// and many of those find problems in the generated objects.
    #[test]
    fn generated_schemas_often_compile_and_find_problems() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let (mut compiled, mut with_problems) = (0, 0);
        for _ in 0..300 {
            let s = schema().new_tree(&mut runner).unwrap().current();
            let v = object_value().new_tree(&mut runner).unwrap().current();
            if let Ok(c) = Schema::compile(&s) {
                compiled += 1;
                if !c.validate(&v, &JsonPath::root()).is_empty() {
                    with_problems += 1;
                }
            }
        }
        assert!(compiled > 100, "only {compiled} of 300 generated schemas compile");
        assert!(with_problems > 30, "only {with_problems} of {compiled} find a problem");
    }

    #[test]
    fn deep_nesting_is_refused_when_compiling_and_bounds_validation() {
        let nest = |levels: usize| {
            let mut schema = json!({ "type": "object", "x-kubernetes-preserve-unknown-fields": true });
            for _ in 0..levels {
                schema = json!({ "type": "object", "additionalProperties": schema });
            }
            schema
        };
        let err = Schema::compile(&nest(300)).unwrap_err();
        assert!(err.message.contains("nested deeper than"), "{err}");
        // Validation follows the schema, so its depth is the schema's.
        let schema = Schema::compile(&nest(60)).unwrap();
        let mut value = json!(1);
        for _ in 0..300 {
            value = json!({ "a": value });
        }
        assert!(schema.validate(&value, &JsonPath::root()).is_empty());
    }
}

/// Flux's ignore rules and Bucket revision: any pattern text and any key.
mod flux_ignore {
    use nixflux::flux::glob;
    use nixflux::flux::ignore::Ignore;
    use nixflux::flux::revision::{bucket_ignore, bucket_revision};
    use nixflux::publish::target::ObjectInfo;
    use proptest::prelude::*;

    /// Bytes the pattern language gives meaning to, a few plain ones, and
    /// the pieces of a three-byte UTF-8 character (`日`) to split it.
    fn meaningful() -> impl Strategy<Value = Vec<u8>> {
        let bytes = b"*?[]^-\\/!# \r\nab.".to_vec();
        let alphabet: Vec<u8> = bytes.into_iter().chain([0xE6, 0x97, 0xA5]).collect();
        prop::collection::vec(prop::sample::select(alphabet), 0..24)
    }

    fn key() -> impl Strategy<Value = String> {
        prop::collection::vec(prop_oneof!["[a-b.*?\\[\\]\\\\ -]{0,4}", "\\PC{0,4}", Just("日".to_owned())], 1..5)
            .prop_map(|elements| elements.join("/"))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn glob_never_panics(p in meaningful(), n in meaningful(), q in prop::collection::vec(any::<u8>(), 0..16)) {
            let _ = glob::matches(&p, &n);
            let _ = glob::matches(&q, &n);
            let _ = glob::matches(&p, &q);
        }

        #[test]
        fn matcher_never_panics(rules in meaningful(), more in "\\PC{0,60}", k in key(), raw in meaningful()) {
            let ignore = Ignore::parse(&rules).then(Ignore::parse(more.as_bytes()));
            let _ = ignore.is_ignored_key(&k);
            let path: Vec<&[u8]> = raw.split(|&b| b == b'/').collect();
            let _ = ignore.is_ignored(&path, false);
            let _ = ignore.is_ignored(&path, true);
            let _ = ignore.is_ignored(&[], false);
        }

        /// A name matches itself once every byte is escaped, and a plain
        /// name (no `*?[\`) matches itself as it is.
        #[test]
        fn names_match_themselves(name in "[^/]{0,12}") {
            let escaped: Vec<u8> = name.bytes().flat_map(|b| [b'\\', b]).collect();
            prop_assert_eq!(glob::matches(&escaped, name.as_bytes()), Ok(true));
            if !name.contains(['*', '?', '[', '\\']) {
                prop_assert_eq!(glob::matches(name.as_bytes(), name.as_bytes()), Ok(true));
            }
        }

        /// The revision depends on the set of (key, ETag) pairs, never on
        /// the listing's order.
        #[test]
        fn revision_ignores_listing_order(
            keys in prop::collection::btree_map(key(), "[0-9a-f]{32}", 0..12),
            rules in meaningful(),
            shift in 0usize..12,
        ) {
            let mut listing: Vec<ObjectInfo> =
                keys.into_iter().map(|(key, etag)| ObjectInfo { key, etag, size: 0 }).collect();
            let ignore = bucket_ignore(Some(&rules), Some("generations/"));
            let before = bucket_revision("home/", &listing, &ignore);
            if !listing.is_empty() {
                let n = shift % listing.len();
                listing.rotate_left(n);
                listing.reverse();
            }
            prop_assert_eq!(bucket_revision("home/", &listing, &ignore), before);
        }
    }
}
