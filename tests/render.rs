//! Rendering end to end through the binary: the example's golden bundle,
//! `kubectl kustomize` building every bundle to exactly its objects,
//! byte-identical output whatever the input's key order, locale or time,
//! and no partial output when a render fails.

mod common;
mod crds;
#[path = "render/layers.rs"]
mod layers;
#[path = "render/netpol.rs"]
mod netpol;
#[path = "render/reachability.rs"]
mod reachability;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{compare, example, nixflux, root, run_ok, yaml_documents};
use serde_json::Value;

/// Every file of a bundle directory, by relative path.
fn files(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for sub in ["", "objects"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() {
                let rel = path.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    out
}

fn render_to(spec: &Path, out: &Path) {
    run_ok(nixflux().arg("render").arg(spec).arg("--out").arg(out));
}

/// Renders `spec` and compares every file with `tests/golden/<name>`.
fn matches_golden(spec: &Path, name: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    render_to(spec, &out);
    let golden = root().join("tests/golden").join(name);
    let actual = files(&out);
    if common::blessing() {
        let _ = std::fs::remove_dir_all(&golden);
    }
    let mut failures: Vec<String> = actual.iter().filter_map(|(rel, text)| compare(&golden.join(rel), text)).collect();
    if !common::blessing() {
        for rel in files(&golden).keys() {
            if !actual.contains_key(rel) {
                failures.push(format!("golden file {rel} is no longer rendered"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn example_matches_golden_bundle() {
    matches_golden(&example(), "homelab");
}

/// Routes as IngressRoutes on two entrypoints, forward auth, public apps,
/// the wildcard certificate with its TLSStore and a per-host Certificate.
#[test]
fn traefik_spec_matches_golden_bundle() {
    matches_golden(&root().join("tests/specs/traefik.json"), "traefik");
}

/// Specs that must render: the example and the extra cases in tests/specs.
fn good_specs() -> Vec<PathBuf> {
    let mut specs = vec![example()];
    let mut more: Vec<_> = std::fs::read_dir(root().join("tests/specs")).unwrap().map(|e| e.unwrap().path()).collect();
    more.sort();
    specs.extend(more.into_iter().filter(|p| p.extension().is_some_and(|e| e == "json")));
    specs
}

fn sorted_json(mut docs: Vec<Value>) -> Vec<String> {
    let mut v: Vec<String> = docs.drain(..).map(|d| d.to_string()).collect();
    v.sort();
    v
}

#[test]
fn kubectl_kustomize_builds_exactly_the_rendered_objects() {
    let kubectl = Command::new("kubectl").arg("version").arg("--client").output();
    assert!(
        kubectl.is_ok_and(|o| o.status.success()),
        "kubectl is needed to build bundles with kustomize: install it (Debian: kubernetes-client, or the kubectl binary)"
    );
    for spec in good_specs() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("bundle");
        render_to(&spec, &out);
        let built = Command::new("kubectl").arg("kustomize").arg(&out).output().unwrap();
        assert!(
            built.status.success(),
            "{}: kubectl kustomize failed:\n{}",
            spec.display(),
            String::from_utf8_lossy(&built.stderr)
        );
        let built_docs = yaml_documents(&String::from_utf8(built.stdout).unwrap());

        let index: Value = serde_json::from_str(&std::fs::read_to_string(out.join("bundle.json")).unwrap()).unwrap();
        let mut ours = Vec::new();
        let mut ids = 0;
        for f in index["files"].as_array().unwrap() {
            let text = std::fs::read_to_string(out.join(f["path"].as_str().unwrap())).unwrap();
            ours.extend(yaml_documents(&text));
            ids += f["objects"].as_array().unwrap().len();
        }
        assert_eq!(ours.len(), ids, "{}: bundle.json lists {ids} objects, files hold {}", spec.display(), ours.len());
        assert_eq!(
            sorted_json(built_docs),
            sorted_json(ours),
            "{}: kustomize output differs from the bundle",
            spec.display()
        );
    }
}

#[test]
fn stdout_yaml_is_the_same_objects_as_the_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    render_to(&example(), &out);
    let stdout = run_ok(nixflux().arg("render").arg(example())).stdout;
    let from_stdout = yaml_documents(&String::from_utf8(stdout).unwrap());
    let from_files: Vec<Value> =
        files(&out).iter().filter(|(k, _)| k.starts_with("objects/")).flat_map(|(_, t)| yaml_documents(t)).collect();
    assert_eq!(sorted_json(from_stdout), sorted_json(from_files));
}

/// Writes JSON with every object's keys in reverse order and other spacing.
fn reversed_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push_str("{\n");
            let entries: Vec<_> = m.iter().rev().collect();
            for (i, (k, val)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push_str(" :  ");
                reversed_json(val, out);
            }
            out.push_str("\n}");
        }
        Value::Array(a) => {
            out.push('[');
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(" , ");
                }
                reversed_json(val, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[test]
fn output_is_byte_identical_whatever_key_order_locale_or_time() {
    let tmp = tempfile::tempdir().unwrap();
    let spec: Value = serde_json::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap();
    let mut text = String::new();
    reversed_json(&spec, &mut text);
    let reversed = tmp.path().join("reversed.json");
    std::fs::write(&reversed, &text).unwrap();

    let a = tmp.path().join("a");
    render_to(&example(), &a);
    let b = tmp.path().join("b");
    run_ok(
        nixflux()
            .arg("render")
            .arg(&reversed)
            .arg("--out")
            .arg(&b)
            .env("LC_ALL", "tr_TR.UTF-8")
            .env("LANG", "tr_TR.UTF-8")
            .env("TZ", "Pacific/Kiritimati")
            .env("SOURCE_DATE_EPOCH", "1"),
    );
    assert_eq!(files(&a), files(&b));
}

#[test]
fn failed_render_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = root().join("tests/cli/bad/several-problems.json");
    let out = tmp.path().join("bundle");
    let status = nixflux().arg("render").arg(&bad).arg("--out").arg(&out).output().unwrap().status;
    assert_eq!(status.code(), Some(2));
    assert!(!out.exists(), "a failed render created its output");
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "a failed render left files behind");

    // An earlier bundle survives a failed render untouched.
    render_to(&example(), &out);
    let before = files(&out);
    let status = nixflux().arg("render").arg(&bad).arg("--out").arg(&out).output().unwrap().status;
    assert_eq!(status.code(), Some(2));
    assert_eq!(files(&out), before);
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "stray files beside the bundle");
}

#[test]
fn render_replaces_an_earlier_bundle_but_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    render_to(&root().join("tests/specs/minimal.json"), &out);
    let minimal = files(&out);
    render_to(&example(), &out);
    let full = files(&out);
    assert_ne!(minimal, full);
    assert!(!full.keys().any(|k| minimal.contains_key(k) && k.starts_with("objects/") && !full.contains_key(k)));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1, "the old bundle was left beside the new one");

    let precious = tmp.path().join("precious");
    std::fs::create_dir(&precious).unwrap();
    std::fs::write(precious.join("notes.txt"), "keep me").unwrap();
    let out_cmd = nixflux().arg("render").arg(example()).arg("--out").arg(&precious).output().unwrap();
    assert_eq!(out_cmd.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out_cmd.stderr).unwrap(),
        format!(
            "error: refusing to replace `{}`: it exists and is not a nixflux bundle\nhint: choose a new directory, or remove this one\n",
            precious.display()
        )
    );
    assert_eq!(std::fs::read_to_string(precious.join("notes.txt")).unwrap(), "keep me");
}

#[test]
fn disabled_apps_render_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    render_to(&example(), &out);
    let all: String = files(&out).values().cloned().collect();
    assert!(all.contains("name: vaultwarden"));
    assert!(!all.contains("nextcloud"), "the disabled app `nextcloud` was rendered");
}
