//! CRD schema validation end to end: the typed Flux kinds accept every
//! field of the upstream schemas, every Flux object nixflux renders passes
//! them, and bad objects (against Flux's, Traefik's, cert-manager's and
//! CloudNativePG's CRDs) are refused naming the field and what is right.
//! Tests that need `../shared/crds` skip with a message when it is absent.

mod maximal;

use std::path::PathBuf;

use nixflux::crd::{CrdError, Crds};
use nixflux::object::kinds::type_raw;
use nixflux::spec::{JsonPath, Problem};
use serde_json::{json, Value};

use super::common::{nixflux, root, skip};

/// `../shared/crds/<sub>`, or `None` (after a skip message) when absent.
pub fn shared_crds(sub: &str) -> Option<PathBuf> {
    let dir = root().join("../shared/crds").join(sub);
    if dir.is_dir() {
        Some(dir)
    } else {
        skip(&format!("{} is absent (the upstream CRDs live in ../shared)", dir.display()));
        None
    }
}

fn flux() -> Option<Crds> {
    shared_crds("fluxcd").map(|d| Crds::load_dir(&d).expect("the upstream Flux CRDs load"))
}

/// The five kinds nixflux types, each with the file and version of its CRD.
const FLUX_KINDS: &[(&str, &str, &str)] = &[
    ("source.toolkit.fluxcd.io_buckets.yaml", "source.toolkit.fluxcd.io/v1", "Bucket"),
    ("kustomize.toolkit.fluxcd.io_kustomizations.yaml", "kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("notification.toolkit.fluxcd.io_receivers.yaml", "notification.toolkit.fluxcd.io/v1", "Receiver"),
    ("notification.toolkit.fluxcd.io_providers.yaml", "notification.toolkit.fluxcd.io/v1beta3", "Provider"),
    ("notification.toolkit.fluxcd.io_alerts.yaml", "notification.toolkit.fluxcd.io/v1beta3", "Alert"),
];

fn messages(ps: &[Problem]) -> String {
    ps.iter().map(|p| format!("{p} (hint: {})", p.hint.as_deref().unwrap_or("-"))).collect::<Vec<_>>().join("\n")
}

/// The version's `openAPIV3Schema` from the CRD file, compiled.
fn upstream_schema(dir: &std::path::Path, file: &str, api_version: &str) -> nixflux::crd::Schema {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    let crd: Value = serde_norway::from_str(&text).unwrap();
    let version = api_version.rsplit('/').next().unwrap();
    let v = crd["spec"]["versions"].as_array().unwrap().iter().find(|v| v["name"] == version).unwrap();
    nixflux::crd::Schema::compile(&v["schema"]["openAPIV3Schema"]).unwrap()
}

#[test]
fn typed_flux_kinds_round_trip_a_maximal_instance_of_the_upstream_schema() {
    let Some(dir) = shared_crds("fluxcd") else { return };
    let crds = Crds::load_dir(&dir).unwrap();
    let mut failures = Vec::new();
    for (file, api_version, kind) in FLUX_KINDS {
        let schema = upstream_schema(&dir, file, api_version);
        let mut object = json!({
            "apiVersion": api_version, "kind": kind,
            "metadata": { "name": "home", "namespace": "flux-system" },
        });
        for part in ["spec", "status"] {
            let Some(s) = schema.properties.get(part) else { continue };
            object[part] = maximal::maximal(s, &format!("{kind}.{part}")).unwrap_or_else(|e| panic!("{e}"));
        }
        let map = object.as_object().unwrap();
        match type_raw(map, &JsonPath::root()) {
            None => failures.push(format!("{kind}: not a typed kind")),
            Some(Err(ps)) => failures.push(format!("{kind}:\n{}", messages(&ps))),
            Some(Ok(body)) => {
                let back = body.to_json();
                if back != object {
                    failures.push(format!(
                        "{kind}: changed by the round trip\n--- in\n{object:#}\n--- out\n{back:#}"
                    ));
                }
            }
        }
        // Every value of every enum is accepted and given back.
        let mut all = Vec::new();
        maximal::enums(&schema, "", &mut all);
        for (pointer, values) in all.iter().filter(|(p, _)| !p.starts_with("/metadata")) {
            for v in values {
                let mut variant = object.clone();
                let Some(slot) = variant.pointer_mut(pointer) else { continue };
                *slot = v.clone();
                let back = type_raw(variant.as_object().unwrap(), &JsonPath::root()).map(|r| r.map(|b| b.to_json()));
                if !matches!(&back, Some(Ok(b)) if *b == variant) {
                    failures.push(format!("{kind}: `{pointer}` = {v} is not accepted unchanged: {back:?}"));
                }
            }
        }
        // The instance is valid for the schema as this crate reads it.
        let problems = crds.validate(&object);
        if !problems.is_empty() {
            failures.push(format!("{kind}: the maximal instance fails its schema:\n{}", messages(&problems)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
