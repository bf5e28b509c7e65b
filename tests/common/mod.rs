//! Helpers shared by the integration tests: the built binary, a temporary
//! directory, expected-file comparison with a bless switch.

#![allow(dead_code)]

pub mod fake_kube;
pub mod fake_s3;
pub mod s3;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn nixflux() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nixflux"));
    // Never ask the EC2 instance metadata service (not a loopback address).
    cmd.env_remove("RUST_LOG").env("NO_COLOR", "1").env("AWS_EC2_METADATA_DISABLED", "true");
    cmd
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn example() -> PathBuf {
    root().join("docs/examples/homelab.json")
}

/// Set NIXFLUX_BLESS=1 to rewrite expected files from the actual output.
pub fn blessing() -> bool {
    std::env::var_os("NIXFLUX_BLESS").is_some_and(|v| v == "1")
}

/// Compares `actual` with the file at `expected`; with blessing, writes it.
/// Returns a description of the mismatch, if any.
pub fn compare(expected: &Path, actual: &str) -> Option<String> {
    if blessing() {
        std::fs::create_dir_all(expected.parent().expect("expected files live in a directory")).unwrap();
        std::fs::write(expected, actual).unwrap();
        return None;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_default();
    (want != actual).then(|| format!("{}:\n--- expected\n{want}\n--- actual\n{actual}", expected.display()))
}

/// Says that the running test is skipped and why, on stderr and, when
/// `NIXFLUX_SKIP_LOG` names a file, as a line appended to it, so that
/// `.ci/run` counts the test as skipped rather than passed.
pub fn skip(reason: &str) {
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    eprintln!("skipped: {test}: {reason}");
    if let Some(log) = std::env::var_os("NIXFLUX_SKIP_LOG") {
        use std::io::Write;
        let file = std::fs::OpenOptions::new().create(true).append(true).open(log);
        if let Ok(mut f) = file {
            let _ = writeln!(f, "{test}\t{reason}");
        }
    }
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run nixflux");
    assert!(out.status.success(), "nixflux failed ({:?}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    out
}

/// Parses a multi-document YAML stream into JSON values (empty documents dropped).
pub fn yaml_documents(text: &str) -> Vec<serde_json::Value> {
    use serde::Deserialize;
    serde_norway::Deserializer::from_str(text)
        .map(|doc| serde_json::Value::deserialize(doc).expect("valid YAML document"))
        .filter(|v| !v.is_null())
        .collect()
}

/// A spec of `apps` simple apps (named `app00`, ...), each with `replicas`
/// from the map (default 1), as JSON text.
pub fn spec_of(apps: &[&str], replicas: &[(&str, i64)]) -> String {
    let mut map = serde_json::Map::new();
    for name in apps {
        let r = replicas.iter().find(|(n, _)| n == name).map_or(1, |(_, r)| *r);
        map.insert(
            (*name).to_owned(),
            serde_json::json!({
                "image": "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-hello.tar",
                "port": 8080,
                "replicas": r,
            }),
        );
    }
    serde_json::json!({ "apiVersion": "nixflux/v1alpha1", "apps": map }).to_string()
}

/// Renders `spec` (JSON text) into `dir/name` and returns that path.
pub fn bundle(dir: &Path, name: &str, spec: &str) -> PathBuf {
    let spec_path = dir.join(format!("{name}.json"));
    std::fs::write(&spec_path, spec).unwrap();
    let out = dir.join(name);
    run_ok(nixflux().arg("render").arg(&spec_path).arg("--out").arg(&out).arg("--quiet"));
    out
}

/// A spec with layers `crds` (a CRD), `infra` (a ConfigMap) and `apps`
/// (the app `web`, with a custom resource of the CRD's kind, and the
/// top-level objects), as JSON. `extra_app` adds an app with no `layer`.
pub fn layered_spec(replicas: i64, extra_app: bool) -> serde_json::Value {
    let crd = serde_json::json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.com" },
        "spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": { "kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList" },
            "versions": [{ "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": { "type": "object", "x-kubernetes-preserve-unknown-fields": true } } }]
        }
    });
    let image = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-hello.tar";
    let mut apps = serde_json::json!({
        "web": {
            "image": image, "port": 8080, "replicas": replicas, "layer": "apps",
            "objects": [{ "apiVersion": "example.com/v1", "kind": "Widget", "metadata": { "name": "w1" }, "spec": { "size": 3 } }]
        }
    });
    if extra_app {
        apps["extra"] = serde_json::json!({ "image": image, "port": 8080 });
    }
    serde_json::json!({
        "apiVersion": "nixflux/v1alpha1",
        "layers": [
            { "name": "crds", "objects": [crd] },
            { "name": "infra", "objects": [{ "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": { "name": "infra-config", "namespace": "default" }, "data": { "a": "b" } }] },
            { "name": "apps" }
        ],
        "apps": apps,
        "objects": [{ "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": { "name": "shared", "namespace": "default" }, "data": { "c": "d" } }]
    })
}
