//! The typed External Secrets and CloudNativePG kinds against their
//! upstream CRDs: a maximal instance of each schema round-trips unchanged,
//! every enum value is accepted, and a misspelled field is refused at its
//! path (skipped when `../shared/crds` is absent).

use nixflux::crd::Crds;
use nixflux::object::kinds::type_raw;
use nixflux::spec::JsonPath;
use serde_json::json;

use super::{maximal, messages, round_trip_failures, shared_crds, upstream_schema};

const KINDS: &[(&str, &str, &str, &str)] = &[
    ("external-secrets", "external-secrets.io_externalsecrets.yaml", "external-secrets.io/v1", "ExternalSecret"),
    ("external-secrets", "external-secrets.io_secretstores.yaml", "external-secrets.io/v1", "SecretStore"),
    (
        "external-secrets",
        "external-secrets.io_clustersecretstores.yaml",
        "external-secrets.io/v1",
        "ClusterSecretStore",
    ),
    ("cloudnative-pg", "postgresql.cnpg.io_clusters.yaml", "postgresql.cnpg.io/v1", "Cluster"),
    ("cloudnative-pg", "postgresql.cnpg.io_databases.yaml", "postgresql.cnpg.io/v1", "Database"),
];

/// A maximal instance, or where the generator cannot satisfy a pattern
/// (cron schedules, e-mail forms), the object with that property left out.
fn best(s: &nixflux::crd::Schema, path: &str) -> serde_json::Value {
    match maximal::maximal(s, path) {
        Ok(v) => v,
        Err(e) if !s.properties.is_empty() => {
            eprintln!("partly left out: {e}");
            let fields = s.properties.iter().map(|(name, p)| (name.clone(), best(p, &format!("{path}.{name}"))));
            let fields: serde_json::Map<String, serde_json::Value> = fields.filter(|(_, v)| !v.is_null()).collect();
            if s.required.iter().all(|r| fields.contains_key(r)) {
                serde_json::Value::Object(fields)
            } else {
                serde_json::Value::Null
            }
        }
        Err(e) => {
            eprintln!("left out: {e}");
            serde_json::Value::Null
        }
    }
}

#[test]
fn typed_secret_and_database_kinds_round_trip_a_maximal_instance_of_the_upstream_schema() {
    let mut failures = Vec::new();
    for (sub, file, api_version, kind) in KINDS {
        let Some(dir) = shared_crds(sub) else { return };
        let crds = Crds::load_dir(&dir).unwrap();
        let schema = upstream_schema(&dir, file, api_version);
        let mut object = json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": "home" } });
        if *kind != "ClusterSecretStore" {
            object["metadata"]["namespace"] = json!("apps");
        }
        for part in ["spec", "status"] {
            let Some(s) = schema.properties.get(part) else { continue };
            object[part] = best(s, &format!("{kind}.{part}"));
        }
        round_trip_failures(kind, &object, &schema, &mut failures);
        // `maxProperties: 1` unions (one of `storeRef` or `generatorRef`)
        // cannot be maximal; everything else must pass.
        let mut problems = crds.validate(&object);
        problems.retain(|p| !p.message.contains("more than the maximum 1"));
        if !problems.is_empty() {
            failures.push(format!("{kind}: the maximal instance fails its schema:\n{}", messages(&problems)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_misspelled_field_is_an_unknown_field_at_its_path_with_the_right_name() {
    let cases = [
        (
            json!({ "secretStorRef": { "kind": "ClusterSecretStore", "name": "vault" } }),
            "spec.secretStorRef",
            "secretStoreRef",
        ),
        (
            json!({ "data": [{ "secretKey": "t", "remoteRef": { "key": "web", "propery": "t" } }] }),
            "spec.data[0].remoteRef.propery",
            "property",
        ),
        (json!({ "target": { "nmae": "web" } }), "spec.target.nmae", "name"),
    ];
    for (spec, path, right) in cases {
        let es = json!({ "apiVersion": "external-secrets.io/v1", "kind": "ExternalSecret", "metadata": { "name": "web" }, "spec": spec });
        let ps = type_raw(es.as_object().unwrap(), &JsonPath::root().key("objects").index(0)).unwrap().unwrap_err();
        let text = messages(&ps);
        assert!(text.contains(&format!("at `objects[0].{path}`")), "{text}");
        assert!(text.contains(&format!("did you mean `{right}`?")), "{text}");
    }
    let cluster = json!({ "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": { "name": "pg" },
        "spec": { "instances": 1, "storage": { "sise": "1Gi" } } });
    let ps = type_raw(cluster.as_object().unwrap(), &JsonPath::root()).unwrap().unwrap_err();
    assert!(messages(&ps).contains("spec.storage.sise"), "{}", messages(&ps));
}
