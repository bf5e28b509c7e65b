//! CRD schema validation end to end: the typed Flux kinds accept every
//! field of the upstream schemas, every Flux object nixflux renders passes
//! them, and bad objects (against Flux's, Traefik's, cert-manager's and
//! CloudNativePG's CRDs) are refused naming the field and what is right.
//! Tests that need `../shared/crds` skip with a message when it is absent.

mod example;
mod maximal;
mod secrets_db;
mod traefik;

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

/// The Flux kinds nixflux types, each with the file and version of its CRD.
const FLUX_KINDS: &[(&str, &str, &str)] = &[
    ("source.toolkit.fluxcd.io_buckets.yaml", "source.toolkit.fluxcd.io/v1", "Bucket"),
    ("kustomize.toolkit.fluxcd.io_kustomizations.yaml", "kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("notification.toolkit.fluxcd.io_receivers.yaml", "notification.toolkit.fluxcd.io/v1", "Receiver"),
    ("notification.toolkit.fluxcd.io_providers.yaml", "notification.toolkit.fluxcd.io/v1beta3", "Provider"),
    ("notification.toolkit.fluxcd.io_alerts.yaml", "notification.toolkit.fluxcd.io/v1beta3", "Alert"),
    ("source.toolkit.fluxcd.io_helmrepositories.yaml", "source.toolkit.fluxcd.io/v1", "HelmRepository"),
    ("source.toolkit.fluxcd.io_ocirepositories.yaml", "source.toolkit.fluxcd.io/v1", "OCIRepository"),
    ("helm.toolkit.fluxcd.io_helmreleases.yaml", "helm.toolkit.fluxcd.io/v2", "HelmRelease"),
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
        round_trip_failures(kind, &object, &schema, &mut failures);
        // The instance is valid for the schema as this crate reads it.
        let problems = crds.validate(&object);
        if !problems.is_empty() {
            failures.push(format!("{kind}: the maximal instance fails its schema:\n{}", messages(&problems)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// What goes wrong when `object` (an instance of `schema`) goes through its
/// typed struct and back: not a typed kind, refused, or changed; and every
/// value of every enum, each put in its place, accepted and given back.
fn round_trip_failures(kind: &str, object: &Value, schema: &nixflux::crd::Schema, failures: &mut Vec<String>) {
    let map = object.as_object().unwrap();
    match type_raw(map, &JsonPath::root()) {
        None => failures.push(format!("{kind}: not a typed kind")),
        Some(Err(ps)) => failures.push(format!("{kind}:\n{}", messages(&ps))),
        Some(Ok(body)) => {
            let back = body.to_json();
            if back != *object {
                failures.push(format!("{kind}: changed by the round trip\n--- in\n{object:#}\n--- out\n{back:#}"));
            }
        }
    }
    // Every value of every enum is accepted and given back.
    let mut all = Vec::new();
    maximal::enums(schema, "", &mut all);
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
}

fn bucket() -> Value {
    json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
        "metadata": { "name": "home", "namespace": "flux-system" },
        "spec": {
            "bucketName": "flux", "endpoint": "s3.lan:9000", "provider": "generic", "region": "us-east-1",
            "prefix": "home/", "interval": "1m", "timeout": "60s", "secretRef": { "name": "home-s3" },
        },
    })
}

fn kustomization() -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "home", "namespace": "flux-system" },
        "spec": {
            "sourceRef": { "kind": "Bucket", "name": "home" }, "path": "./home", "prune": true, "wait": true,
            "interval": "10m", "retryInterval": "1m", "timeout": "5m",
            "decryption": { "provider": "sops", "secretRef": { "name": "sops-age" } },
        },
    })
}

/// One object of each Flux kind nixflux types, as a spec carries them.
fn flux_objects() -> Vec<Value> {
    vec![
        bucket(),
        kustomization(),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": { "name": "home", "namespace": "flux-system" },
            "spec": {
                "type": "generic-hmac", "secretRef": { "name": "home-webhook" },
                "resources": [{ "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket", "name": "home" }],
            },
        }),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": { "name": "notifier", "namespace": "flux-system" },
            "spec": { "type": "generic-hmac", "address": "http://notifier.flux-system:8080/", "secretRef": { "name": "notifier" } },
        }),
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": { "name": "home", "namespace": "flux-system" },
            "spec": {
                "providerRef": { "name": "notifier" }, "eventSeverity": "error",
                "eventSources": [{ "kind": "Kustomization", "name": "home" }, { "kind": "Bucket", "name": "*" }],
            },
        }),
    ]
}

/// The problems of `objects` against the upstream Flux CRDs, one line each
/// (empty when all pass), or `None` when `../shared` is absent. For tests
/// of other Flux objects nixflux writes (bootstrap).
pub fn flux_problems(objects: &[Value]) -> Option<Vec<String>> {
    let crds = flux()?;
    Some(
        objects
            .iter()
            .flat_map(|o| {
                let id = format!("{} {}", o["kind"], o["metadata"]["name"]);
                let uncovered = (!crds
                    .covers(o["apiVersion"].as_str().unwrap_or_default(), o["kind"].as_str().unwrap_or_default()))
                .then(|| format!("{id}: no upstream CRD for this kind"));
                uncovered.into_iter().chain(crds.validate(o).into_iter().map(move |p| format!("{id}: {p}")))
            })
            .collect(),
    )
}

fn spec_with(objects: Vec<Value>) -> String {
    json!({ "apiVersion": "nixflux/v1alpha1", "apps": {}, "objects": objects }).to_string()
}

#[test]
fn every_flux_object_nixflux_renders_passes_the_upstream_schemas() {
    let Some(crds) = flux() else { return };
    let spec = nixflux::spec::parse(&spec_with(flux_objects()), "spec.json").unwrap();
    let rendered = nixflux::render::render(&spec).unwrap();
    let mut rendered_flux = Vec::new();
    for m in rendered.groups.iter().flat_map(|g| &g.manifests) {
        assert!(!matches!(m.body, nixflux::object::Body::Dynamic(_)), "{} is not typed", m.body.kind());
        rendered_flux.push(m.body.to_json());
    }
    assert_eq!(rendered_flux.len(), 5);
    assert_eq!(flux_problems(&rendered_flux).unwrap(), Vec::<String>::new());
    // The same through the render's own `--crds` path.
    assert!(nixflux::render::render_with(&spec, Some(&crds)).is_ok());
}

/// The problems of one object against the Flux CRDs, as `path: message (hint)`.
fn flux_check(object: Value) -> Option<Vec<String>> {
    let crds = flux()?;
    Some(
        crds.validate_at(&object, &JsonPath::root().key("objects").index(0))
            .iter()
            .map(|p| format!("{}: {} ({})", p.path, p.message, p.hint.as_deref().unwrap_or("-")))
            .collect(),
    )
}

#[test]
fn attacker_objects_are_refused_naming_the_field_and_what_is_right() {
    let mut b = bucket();
    b["spec"]["provider"] = json!("s3");
    let Some(got) = flux_check(b) else { return };
    assert_eq!(
        got,
        ["objects[0].spec.provider: `s3` is not one of the allowed values (allowed: `generic`, `aws`, `gcp`, `azure`)"]
    );

    let mut b = bucket();
    let name = b["spec"].as_object_mut().unwrap().remove("bucketName").unwrap();
    b["spec"]["bucketNmae"] = name;
    assert_eq!(
        flux_check(b).unwrap(),
        [
            "objects[0].spec.bucketNmae: unknown field `bucketNmae` (did you mean `bucketName`?)",
            "objects[0].spec: missing required field `bucketName` (add `bucketName` (a string))",
        ]
    );

    let mut b = bucket();
    b["spec"]["suspend"] = json!("yes");
    b["spec"]["secretRef"] = json!("home-s3");
    assert_eq!(
        flux_check(b).unwrap(),
        [
            "objects[0].spec.secretRef: expected an object, found a string (-)",
            "objects[0].spec.suspend: expected a boolean, found a string (-)",
        ]
    );

    let mut k = kustomization();
    k["spec"].as_object_mut().unwrap().remove("prune");
    assert_eq!(flux_check(k).unwrap(), ["objects[0].spec: missing required field `prune` (add `prune` (a boolean))"]);

    let mut b = bucket();
    b["spec"]["interval"] = json!("5 minutes");
    assert_eq!(
        flux_check(b).unwrap(),
        [
            r"objects[0].spec.interval: `5 minutes` does not match the field's pattern (write a value matching `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`)"
        ]
    );

    // Metadata is checked as ObjectMeta, whatever the CRD's metadata schema says.
    let mut b = bucket();
    b["metadata"]["lables"] = json!({ "a": "b" });
    assert_eq!(flux_check(b).unwrap(), ["objects[0].metadata.lables: unknown field `lables` (-)"]);

    // A version the CRD does not serve.
    let mut b = bucket();
    b["apiVersion"] = json!("source.toolkit.fluxcd.io/v1beta2");
    let got = flux_check(b).unwrap();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].starts_with(
            "objects[0].apiVersion: `source.toolkit.fluxcd.io/v1beta2` is not a served version of `Bucket`"
        ),
        "{got:?}"
    );
    assert!(got[0].ends_with("(served: `source.toolkit.fluxcd.io/v1`)"), "{got:?}");
}

#[test]
fn typed_round_trip_refuses_the_same_objects_without_crds() {
    // No `--crds` needed for the five typed kinds: the round trip refuses
    // an enum value, an unknown field and a missing required field.
    let check = |o: Value| match type_raw(o.as_object().unwrap(), &JsonPath::root().key("objects").index(0)) {
        Some(Err(ps)) => ps.iter().map(|p| format!("{}: {}", p.path, p.message)).collect::<Vec<_>>(),
        other => panic!("not refused: {other:?}"),
    };
    let mut b = bucket();
    b["spec"]["provider"] = json!("s3");
    let got = check(b);
    assert!(got[0].starts_with("objects[0].spec.provider: unknown variant `s3`"), "{got:?}");
    let mut k = kustomization();
    k["spec"]["prnue"] = json!(true);
    assert_eq!(check(k), ["objects[0].spec.prnue: unknown field `prnue`"]);
    let mut k = kustomization();
    k["spec"].as_object_mut().unwrap().remove("prune");
    let got = check(k);
    assert!(got[0].contains("missing field `prune`"), "{got:?}");
}

fn check_with_crds(spec: &str, crds: &std::path::Path) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec).unwrap();
    let out = nixflux().arg("check").arg(&path).arg("--crds").arg(crds).output().unwrap();
    assert!(out.stdout.is_empty() || out.status.success());
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn a_list_wrapping_a_bad_flux_object_is_refused_at_the_list() {
    let Some(dir) = shared_crds("fluxcd") else { return };
    let mut b = bucket();
    b["spec"]["provider"] = json!("s3");
    let list = json!({ "apiVersion": "v1", "kind": "List", "metadata": { "name": "wrapped" }, "items": [b] });
    let (code, stderr) = check_with_crds(&spec_with(vec![list]), &dir);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("at `objects[0]`: a `List` wraps objects that kustomize would apply"), "{stderr}");
}

#[test]
fn crd_files_that_are_not_yaml_are_named_with_their_document() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "apiVersion: v1\nkind: ConfigMap\n---\nkey: [unclosed\n").unwrap();
    match Crds::load_dir(dir.path()) {
        Err(CrdError::Document { file: f, index: 2, message }) => {
            assert_eq!(f, file.display().to_string());
            assert!(message.starts_with("not YAML: "), "{message}");
        }
        other => panic!("{other:?}"),
    }
    std::fs::write(&file, "just some text\n").unwrap();
    assert!(matches!(Crds::load_dir(dir.path()), Err(CrdError::Document { index: 1, .. })));
    let (code, stderr) = check_with_crds(&spec_with(vec![]), dir.path());
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "error: CRD file `{}`, document 1: not a Kubernetes object but a string\nhint: ",
            file.display()
        )),
        "{stderr}"
    );
    let (code, stderr) = check_with_crds(&spec_with(vec![]), &dir.path().join("absent"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
}

#[test]
fn check_crds_validates_traefik_cert_manager_and_cloudnative_pg_objects() {
    let Some(dir) = shared_crds("") else { return };
    let good = vec![
        json!({ "apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": { "name": "h", "namespace": "web" },
                "spec": { "headers": { "customRequestHeaders": { "X-Forwarded-Proto": "https" } } } }),
        json!({ "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": { "name": "c", "namespace": "web" },
                "spec": { "secretName": "c-tls", "dnsNames": ["web.lan"], "issuerRef": { "name": "lan", "kind": "ClusterIssuer" } } }),
        json!({ "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": { "name": "db", "namespace": "web" },
                "spec": { "instances": 2, "storage": { "size": "1Gi" } } }),
    ];
    // The Certificate's issuer is declared (created outside the bundle).
    let spec = |objects: Vec<Value>| {
        let mut s: Value = serde_json::from_str(&spec_with(objects)).unwrap();
        s["defaults"] = json!({ "tls": { "issuers": { "lan": { "kind": "ClusterIssuer" } } } });
        s.to_string()
    };
    let (code, stderr) = check_with_crds(&spec(good.clone()), &dir);
    assert_eq!(code, Some(0), "{stderr}");

    // Middleware and Certificate are typed: a misspelt field is refused by
    // the round trip; a value outside an enum by the schema.
    let mut bad = good;
    bad[0]["spec"]["headers"]["customRequestHeadrs"] = json!({ "X": "y" });
    bad[1]["spec"]["privateKey"] = json!({ "rotationPolicy": "Sometimes" });
    bad[2]["spec"]["instances"] = json!(0);
    let (code, stderr) = check_with_crds(&spec(bad), &dir);
    assert_eq!(code, Some(2), "{stderr}");
    for want in [
        "at `objects[0].spec.headers.customRequestHeadrs`: unknown field `customRequestHeadrs`\n    hint: did you mean `customRequestHeaders`?",
        "at `objects[1].spec.privateKey.rotationPolicy`: `Sometimes` is not one of the allowed values",
        "at `objects[2].spec.instances`: 0 is below the minimum\n    hint: write a number at least 1",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in\n{stderr}");
    }
}

#[test]
fn render_with_crds_refuses_a_bad_object_and_writes_nothing() {
    let Some(dir) = shared_crds("fluxcd") else { return };
    let tmp = tempfile::tempdir().unwrap();
    let spec = tmp.path().join("spec.json");
    let mut b = bucket();
    b["spec"]["interval"] = json!("5 minutes");
    std::fs::write(&spec, spec_with(vec![b.clone()])).unwrap();
    let out = tmp.path().join("bundle");
    let run = nixflux().arg("render").arg(&spec).arg("--out").arg(&out).arg("--crds").arg(&dir).output().unwrap();
    assert_eq!(run.status.code(), Some(2), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stderr).contains("at `objects[0].spec.interval`"));
    assert!(!out.exists());
    // Fixed, it renders.
    b["spec"]["interval"] = json!("5m");
    std::fs::write(&spec, spec_with(vec![b])).unwrap();
    let run = nixflux().arg("render").arg(&spec).arg("--out").arg(&out).arg("--crds").arg(&dir).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(out.join("bundle.json").exists());
}

/// `nixflux flux bootstrap` renders Flux objects too: each mode's output
/// (Bucket, Kustomization, Receiver, the notifier's Provider and Alert) passes the upstream schemas, checked
/// by nixflux's own validator as well as by the CLI test's reader.
#[test]
fn every_flux_object_bootstrap_renders_passes_the_upstream_schemas() {
    const RCLONE: &str =
        "docker.io/rclone/rclone@sha256:0000000000000000000000000000000000000000000000000000000000000000";
    let cases: [&[&str]; 3] = [
        &[
            "--to",
            "s3://flux/home",
            "--rclone-image",
            RCLONE,
            "--receiver",
            "--sops-secret",
            "sops-age",
            "--notifier-url",
            "http://notify.lan:9293/flux",
        ],
        &[
            "--to",
            "s3://flux/a/b",
            "--mode",
            "hostpath",
            "--host-path",
            "/srv/b",
            "--node",
            "n1",
            "--rclone-image",
            RCLONE,
        ],
        &[
            "--to",
            "s3://flux/home",
            "--endpoint",
            "https://s3.lan:9000",
            "--cert-secret",
            "ca",
            "--service-account",
            "applier",
        ],
    ];
    for args in cases {
        let out = nixflux().args(["flux", "bootstrap"]).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let objects = super::common::yaml_documents(&String::from_utf8_lossy(&out.stdout));
        let flux: Vec<Value> = objects
            .into_iter()
            .filter(|o| o["apiVersion"].as_str().is_some_and(|v| v.contains("toolkit.fluxcd.io")))
            .collect();
        assert!(flux.len() >= 2, "{args:?}: a Bucket and a Kustomization at least");
        let Some(problems) = flux_problems(&flux) else { return };
        assert!(problems.is_empty(), "{args:?}: {problems:#?}");
    }
}
