//! Helm charts (`apps.<name>.helm`) end to end through the binary: the
//! golden bundle of `tests/specs/helm.json` (a HelmRepository chart with
//! image values, an OCI chart by OCIRepository, an OCI HelmRepository),
//! every rendered Flux object against the upstream CRDs (skipped without
//! `../shared`), images in values listed in `bundle.json`, version ranges
//! only when allowed. `kubectl kustomize` of the bundle is in
//! `tests/render.rs` (every spec under `tests/specs`); the refusals are
//! transcripts in `tests/cli/bad/helm-*`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{compare, nixflux, root, run_ok, skip, yaml_documents};
use serde_json::{json, Value};

fn spec() -> std::path::PathBuf {
    root().join("tests/specs/helm.json")
}

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

fn rendered_objects(spec: &str) -> Vec<Value> {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("spec.json");
    std::fs::write(&path, spec).unwrap();
    yaml_documents(&String::from_utf8(run_ok(nixflux().arg("render").arg(&path)).stdout).unwrap())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

#[test]
fn helm_spec_matches_golden_bundle() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    run_ok(nixflux().arg("render").arg(spec()).arg("--out").arg(&out));
    let golden = root().join("tests/golden/helm");
    if common::blessing() {
        let _ = std::fs::remove_dir_all(&golden);
    }
    let actual = files(&out);
    let mut failures: Vec<String> = actual.iter().filter_map(|(rel, text)| compare(&golden.join(rel), text)).collect();
    if !common::blessing() {
        failures.extend(
            files(&golden).keys().filter(|k| !actual.contains_key(*k)).map(|k| format!("{k} no longer rendered")),
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn rendered_helm_objects_pass_the_upstream_flux_crds() {
    let dir = root().join("../shared/crds/fluxcd");
    if !dir.is_dir() {
        return skip(&format!("{} is absent (the upstream CRDs live in ../shared)", dir.display()));
    }
    let crds = nixflux::crd::Crds::load_dir(&dir).unwrap();
    let text = std::fs::read_to_string(spec()).unwrap();
    let mut ranged: Value = serde_json::from_str(&text).unwrap();
    for app in ["grafana", "podinfo"] {
        ranged["apps"][app]["helm"]["version"] = json!(">=6.0.0 <7.0.0");
        ranged["apps"][app]["helm"]["allowVersionRange"] = json!(true);
    }
    let mut checked = BTreeMap::new();
    for spec in [text, ranged.to_string()] {
        for o in
            rendered_objects(&spec).iter().filter(|o| o["apiVersion"].as_str().unwrap().contains("toolkit.fluxcd.io"))
        {
            let (api_version, kind) = (o["apiVersion"].as_str().unwrap(), o["kind"].as_str().unwrap());
            assert!(crds.covers(api_version, kind), "no upstream CRD serves {api_version} {kind}");
            let problems = crds.validate(o);
            assert!(problems.is_empty(), "{kind} {}: {problems:?}", o["metadata"]["name"]);
            *checked.entry(kind.to_owned()).or_insert(0) += 1;
        }
    }
    assert_eq!(
        checked,
        BTreeMap::from([("HelmRelease".into(), 6), ("HelmRepository".into(), 4), ("OCIRepository".into(), 2)])
    );
}

#[test]
fn chart_sources_follow_the_repository_scheme() {
    let objects = rendered_objects(&std::fs::read_to_string(spec()).unwrap());
    // https: a HelmRepository, the chart and its exact version in the release.
    let grafana = find(&objects, "HelmRepository", "grafana");
    assert_eq!(grafana["spec"]["url"], "https://grafana.github.io/helm-charts");
    assert!(grafana["spec"].get("type").is_none());
    let release = find(&objects, "HelmRelease", "grafana");
    assert_eq!(release["metadata"]["namespace"], "monitoring");
    assert_eq!(
        release["spec"]["chart"]["spec"],
        json!({ "chart": "grafana", "version": "8.6.4", "sourceRef": { "kind": "HelmRepository", "name": "grafana" } })
    );
    // oci: an OCIRepository of the chart's artifact at the version's tag.
    let podinfo = find(&objects, "OCIRepository", "podinfo");
    assert_eq!(podinfo["spec"]["url"], "oci://ghcr.io/stefanprodan/charts/podinfo");
    assert_eq!(podinfo["spec"]["ref"], json!({ "tag": "6.7.1" }));
    assert_eq!(podinfo["spec"]["layerSelector"]["operation"], "copy");
    let release = find(&objects, "HelmRelease", "podinfo");
    assert_eq!(release["spec"]["chartRef"], json!({ "kind": "OCIRepository", "name": "podinfo" }));
    assert!(release["spec"].get("chart").is_none());
    // oci with `sourceKind: HelmRepository`: an OCI-type HelmRepository.
    assert_eq!(find(&objects, "HelmRepository", "cert-manager")["spec"]["type"], "oci");
}

#[test]
fn image_values_come_from_the_images_map_in_each_form() {
    let objects = rendered_objects(&std::fs::read_to_string(spec()).unwrap());
    let values = &find(&objects, "HelmRelease", "grafana")["spec"]["values"];
    assert_eq!(
        values["image"],
        json!({
            "pullPolicy": "IfNotPresent", "registry": "docker.io", "repository": "grafana/grafana",
            "tag": "11.3.1@sha256:0b1f3c5a7e9d2b4f6a8c0e1d3f5b7a9c2e4d6f8a0b1c3e5f7a9b2d4c6e8f0a1b",
        })
    );
    // A nix-snapshotter image split for a chart that joins `registry/repository:tag`.
    let sidecar = &values["sidecar"]["image"];
    let joined = format!(
        "{}/{}:{}",
        sidecar["registry"].as_str().unwrap(),
        sidecar["repository"].as_str().unwrap(),
        sidecar["tag"].as_str().unwrap()
    );
    assert_eq!(joined, "nix:0/nix/store/3kq5x4a8m1n9p2r6s0v7w4y1z5b8c2d6-nix-image-k8s-sidecar.tar:latest");
    assert_eq!(values["persistence"], json!({ "enabled": true, "size": "2Gi" }), "the user's values are kept");

    // The whole reference at the path, and the digest under its own key.
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(spec()).unwrap()).unwrap();
    spec["apps"]["podinfo"]["helm"]["imageValues"] = json!([
        { "path": "image", "image": "podinfo", "form": "reference" },
        { "path": "sidecar", "image": "grafana", "digestKey": "digest" },
    ]);
    let objects = rendered_objects(&spec.to_string());
    let values = &find(&objects, "HelmRelease", "podinfo")["spec"]["values"];
    assert_eq!(values["image"], spec["images"]["podinfo"]);
    assert_eq!(
        values["sidecar"],
        json!({
            "repository": "docker.io/grafana/grafana", "tag": "11.3.1",
            "digest": "sha256:0b1f3c5a7e9d2b4f6a8c0e1d3f5b7a9c2e4d6f8a0b1c3e5f7a9b2d4c6e8f0a1b",
        })
    );
}

#[test]
fn images_in_values_are_listed_in_the_bundle_index() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    run_ok(nixflux().arg("render").arg(spec()).arg("--out").arg(&out));
    let index = std::fs::read_to_string(out.join("bundle.json")).unwrap();
    for want in [
        "/nix/store/3kq5x4a8m1n9p2r6s0v7w4y1z5b8c2d6-nix-image-k8s-sidecar.tar",
        "values.sidecar.image",
        "ghcr.io/stefanprodan/podinfo:6.7.1@sha256:",
    ] {
        assert!(index.contains(want), "bundle.json lacks {want}:\n{index}");
    }
}

#[test]
fn version_ranges_render_only_when_allowed() {
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(spec()).unwrap()).unwrap();
    spec["apps"]["podinfo"]["helm"]["version"] = json!("6.x");
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let refused = nixflux().arg("check").arg(&path).output().unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("at `apps.podinfo.helm.version`"));

    spec["apps"]["podinfo"]["helm"]["allowVersionRange"] = json!(true);
    let objects = rendered_objects(&spec.to_string());
    assert_eq!(find(&objects, "OCIRepository", "podinfo")["spec"]["ref"], json!({ "semver": "6.x" }));
    // An exact version stays a tag even with ranges allowed.
    spec["apps"]["podinfo"]["helm"]["version"] = json!("6.7.1");
    let objects = rendered_objects(&spec.to_string());
    assert_eq!(find(&objects, "OCIRepository", "podinfo")["spec"]["ref"], json!({ "tag": "6.7.1" }));
}

#[test]
fn image_value_keys_that_clash_with_the_split_are_refused() {
    let mut spec: Value = serde_json::from_str(&std::fs::read_to_string(spec()).unwrap()).unwrap();
    spec["apps"]["podinfo"]["helm"]["imageValues"] = json!([
        { "path": "image", "image": "podinfo", "registryKey": "tag" },
        { "path": "ui", "image": "podinfo", "form": "reference", "digestKey": "digest" },
        { "path": "ui.message", "image": "podinfo" },
        { "path": "a..b", "image": "podinfo" },
    ]);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let out = nixflux().arg("check").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    for want in [
        "at `apps.podinfo.helm.imageValues[0].registryKey`: `tag` cannot be the `registryKey`",
        "at `apps.podinfo.helm.imageValues[1].digestKey`: `digestKey` applies to the `split` form only",
        "at `apps.podinfo.helm.values.ui.message`: `values.ui.message` is a string, not an object",
        "at `apps.podinfo.helm.imageValues[3].path`: `a..b` is not a value path",
    ] {
        assert!(stderr.contains(want), "missing {want:?} in\n{stderr}");
    }
}
