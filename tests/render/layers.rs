//! Layered renders: one ordinary bundle per layer under `BUNDLE/<layer>/`
//! and `layers.json`; `kubectl kustomize` of each layer builds exactly that
//! layer's objects; checks that span the spec see every layer.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{layered_spec, nixflux, run_ok, yaml_documents};

fn write_spec(dir: &Path, spec: &Value) -> std::path::PathBuf {
    let path = dir.join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    path
}

fn ids(index: &Value) -> Vec<String> {
    let mut v: Vec<String> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["objects"].as_array().unwrap().iter().map(|o| o["id"].as_str().unwrap().to_owned()))
        .collect();
    v.sort();
    v
}

fn kustomize(dir: &Path) -> Vec<Value> {
    let built = Command::new("kubectl").arg("kustomize").arg(dir).output().expect("kubectl is needed");
    assert!(built.status.success(), "kubectl kustomize {}: {}", dir.display(), String::from_utf8_lossy(&built.stderr));
    yaml_documents(&String::from_utf8(built.stdout).unwrap())
}

fn id_of(doc: &Value) -> String {
    let api = doc["apiVersion"].as_str().unwrap();
    let group = api.rsplit_once('/').map_or("", |(g, _)| g);
    format!(
        "{}_{}_{}_{}",
        doc["metadata"]["namespace"].as_str().unwrap_or_default(),
        doc["metadata"]["name"].as_str().unwrap(),
        group,
        doc["kind"].as_str().unwrap()
    )
}

#[test]
fn layered_render_writes_one_bundle_per_layer_that_kustomize_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let spec = write_spec(tmp.path(), &layered_spec(1, true));
    let out = tmp.path().join("bundle");
    run_ok(nixflux().arg("render").arg(&spec).arg("--out").arg(&out));

    let mut root: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    root.sort();
    assert_eq!(root, ["apps", "crds", "infra", "layers.json"]);
    let layers: Value = serde_json::from_str(&std::fs::read_to_string(out.join("layers.json")).unwrap()).unwrap();
    let names: Vec<&str> = layers["layers"].as_array().unwrap().iter().map(|l| l["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["crds", "infra", "apps"], "layers.json keeps the spec's order");

    let mut all = Vec::new();
    for (i, layer) in names.iter().enumerate() {
        let dir = out.join(layer);
        let index: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("bundle.json")).unwrap()).unwrap();
        assert_eq!(index["digest"], layers["layers"][i]["digest"], "layers.json names each layer's bundle digest");
        let mut built: Vec<String> = kustomize(&dir).iter().map(id_of).collect();
        built.sort();
        assert_eq!(built, ids(&index), "layer {layer}: kustomize builds exactly its objects");
        all.extend(built);
    }
    let crds = ids(&serde_json::from_str(&std::fs::read_to_string(out.join("crds/bundle.json")).unwrap()).unwrap());
    assert_eq!(crds, ["_widgets.example.com_apiextensions.k8s.io_CustomResourceDefinition"]);
    let infra = ids(&serde_json::from_str(&std::fs::read_to_string(out.join("infra/bundle.json")).unwrap()).unwrap());
    assert_eq!(infra, ["default_infra-config__ConfigMap"]);
    let apps = ids(&serde_json::from_str(&std::fs::read_to_string(out.join("apps/bundle.json")).unwrap()).unwrap());
    assert!(apps.contains(&"web_w1_example.com_Widget".to_owned()), "{apps:?}");
    assert!(apps.contains(&"default_shared__ConfigMap".to_owned()), "top-level objects are in the last layer");
    assert!(apps.contains(&"extra_extra_apps_Deployment".to_owned()), "an app without `layer` is in the last");

    // The stdout stream holds every layer's objects, once each.
    let stream = run_ok(nixflux().arg("render").arg(&spec));
    let mut streamed: Vec<String> =
        yaml_documents(&String::from_utf8(stream.stdout).unwrap()).iter().map(id_of).collect();
    streamed.sort();
    all.sort();
    assert_eq!(streamed, all);
}

#[test]
fn layered_and_unlayered_bundles_replace_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle");
    let layered = write_spec(tmp.path(), &layered_spec(1, false));
    run_ok(nixflux().arg("render").arg(&layered).arg("--out").arg(&out));
    // Rendered again over itself, and over by an unlayered bundle.
    run_ok(nixflux().arg("render").arg(&layered).arg("--out").arg(&out));
    let mut plain = layered_spec(1, false);
    plain.as_object_mut().unwrap().remove("layers");
    plain["apps"]["web"].as_object_mut().unwrap().remove("layer");
    let plain_path = tmp.path().join("plain.json");
    std::fs::write(&plain_path, plain.to_string()).unwrap();
    run_ok(nixflux().arg("render").arg(&plain_path).arg("--out").arg(&out));
    assert!(out.join("bundle.json").is_file() && !out.join("layers.json").exists());
    run_ok(nixflux().arg("render").arg(&layered).arg("--out").arg(&out));
    assert!(out.join("layers.json").is_file() && !out.join("bundle.json").exists());
    // A stray file in a layer makes the directory no bundle: refused.
    std::fs::write(out.join("apps/notes.txt"), "mine").unwrap();
    let refused = nixflux().arg("render").arg(&layered).arg("--out").arg(&out).output().unwrap();
    assert!(!refused.status.success());
    assert!(out.join("apps/notes.txt").is_file(), "nothing replaced");
}

fn refused(spec: &Value) -> (Option<i32>, Value) {
    let tmp = tempfile::tempdir().unwrap();
    let path = write_spec(tmp.path(), spec);
    let out = nixflux().arg("render").arg(&path).arg("--output").arg("json").output().unwrap();
    (out.status.code(), serde_json::from_slice(&out.stdout).expect("JSON problems on stdout"))
}

#[test]
fn an_object_in_two_layers_is_a_duplicate() {
    let mut spec = layered_spec(1, false);
    let crd = spec["layers"][0]["objects"][0].clone();
    spec["objects"].as_array_mut().unwrap().push(crd);
    let (code, problems) = refused(&spec);
    assert_eq!(code, Some(2));
    let p = &problems["problems"][0];
    assert_eq!(p["path"], "objects[1]", "{problems}");
    assert!(p["message"].as_str().unwrap().contains("`layers[0].objects[0]`"), "{problems}");
}

#[test]
fn an_unknown_layer_is_refused_with_the_nearest_name() {
    let mut spec = layered_spec(1, false);
    spec["apps"]["web"]["layer"] = "app".into();
    let (code, problems) = refused(&spec);
    assert_eq!(code, Some(2));
    let p = &problems["problems"][0];
    assert_eq!(p["path"], "apps.web.layer");
    assert_eq!(p["message"], "unknown layer `app`");
    assert_eq!(p["hint"], "did you mean `apps`?");

    // No layers declared at all: `layer` has nothing to name.
    let mut spec = layered_spec(1, false);
    spec.as_object_mut().unwrap().remove("layers");
    let (code, problems) = refused(&spec);
    assert_eq!(code, Some(2));
    assert_eq!(problems["problems"][0]["path"], "apps.web.layer");
}

#[test]
fn layer_names_are_checked() {
    for (name, why) in [("objects", "reserved"), ("Apps", "not a DNS label"), ("a/b", "a path")] {
        let mut spec = layered_spec(1, false);
        spec["layers"][2]["name"] = name.into();
        spec["apps"]["web"].as_object_mut().unwrap().remove("layer");
        let (code, problems) = refused(&spec);
        assert_eq!(code, Some(2), "{name} ({why})");
        assert_eq!(problems["problems"][0]["path"], "layers[2].name", "{name}: {problems}");
    }
    let mut spec = layered_spec(1, false);
    spec["layers"][1]["name"] = "crds".into();
    let (code, problems) = refused(&spec);
    assert_eq!(code, Some(2));
    assert_eq!(problems["problems"][0]["path"], "layers[1].name", "{problems}");
    let mut spec = layered_spec(1, false);
    let many: Vec<Value> = (0..11).map(|i| serde_json::json!({ "name": format!("l{i}") })).collect();
    spec["layers"] = many.into();
    spec["apps"]["web"]["layer"] = "l10".into();
    let (code, problems) = refused(&spec);
    assert_eq!(code, Some(2));
    assert_eq!(problems["problems"][0]["path"], "layers", "{problems}");
}
