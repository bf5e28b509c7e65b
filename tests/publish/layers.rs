//! Layered bundles published: each layer under `<prefix><layer>/` with its
//! own pointer and generations, read back as Flux does (download the whole
//! prefix, then `kubectl kustomize` of each layer's path); a crash in the
//! second layer leaves the first switched and the second whole.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use serde_json::Value;

use crate::common::s3::{build, expected, Server};
use crate::common::{layered_spec, nixflux, run_ok};

const PREFIX: &str = "home/";
const LAYERS: [&str; 3] = ["crds", "infra", "apps"];

fn render(dir: &Path, name: &str, spec: &Value) -> PathBuf {
    let spec_path = dir.join(format!("{name}.json"));
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = dir.join(name);
    run_ok(nixflux().arg("render").arg(&spec_path).arg("--out").arg(&out).arg("--quiet"));
    out
}

/// v2 changes every layer: the CRD's labels, the ConfigMap's data, the app's replicas.
fn v2() -> Value {
    let mut spec = layered_spec(3, false);
    spec["layers"][0]["objects"][0]["metadata"]["labels"] = serde_json::json!({ "version": "2" });
    spec["layers"][1]["objects"][0]["data"] = serde_json::json!({ "a": "changed" });
    spec
}

fn publish(bundle: &Path, args: &[String], env: Option<&str>) -> Output {
    let mut cmd = nixflux();
    cmd.arg("publish").arg(bundle).args(args).args(["--output", "json"]).stdin(Stdio::null());
    if let Some(point) = env {
        cmd.env("NIXFLUX_FAILPOINT", point);
    }
    cmd.output().unwrap()
}

fn ok(o: Output) -> Value {
    assert!(o.status.success(), "publish failed: {}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("JSON report")
}

/// What Flux builds for each layer: the prefix downloaded (the Bucket's
/// artifact), then each layer's path (its Kustomization's `path`).
fn views(target: &Target) -> Vec<Option<Vec<String>>> {
    let dest = tempfile::tempdir().unwrap();
    let root = match target {
        Target::Dir(p) => p.clone(),
        Target::S3(s) => {
            assert!(s.download(PREFIX, dest.path()), "rclone could not download the prefix");
            dest.path().to_owned()
        }
    };
    LAYERS.iter().map(|l| build(&root.join(l))).collect()
}

fn want(bundle: &Path) -> Vec<Option<Vec<String>>> {
    LAYERS.iter().map(|l| Some(expected(&bundle.join(l)))).collect()
}

enum Target {
    Dir(PathBuf),
    S3(Server),
}

impl Target {
    fn args(&self) -> Vec<String> {
        match self {
            Target::Dir(p) => vec!["--to".into(), p.display().to_string()],
            Target::S3(s) => s.target_args(PREFIX),
        }
    }
}

#[test]
fn layered_publish_puts_each_layer_under_its_own_prefix() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = render(tmp.path(), "v1", &layered_spec(1, false));
    let mut only_apps = layered_spec(2, false);
    only_apps["apps"]["web"]["replicas"] = 2.into();
    let v1b = render(tmp.path(), "v1b", &only_apps);
    for target in [Target::Dir(tmp.path().join("target")), Target::S3(Server::start())] {
        let args = target.args();
        let first = ok(publish(&v1, &args, None));
        let layers = first["layers"].as_array().unwrap();
        let names: Vec<&str> = layers.iter().map(|l| l["layer"].as_str().unwrap()).collect();
        assert_eq!(names, LAYERS);
        for l in layers {
            let layer_target = l["target"].as_str().unwrap().trim_end_matches('/');
            assert!(layer_target.ends_with(&format!("/{}", l["layer"].as_str().unwrap())), "{l}");
            assert!(l["fluxRevision"].is_null(), "only the whole prefix has a Flux revision: {l}");
            assert_eq!(l["generationAfter"], 1);
        }
        let revision = first["fluxRevision"].as_str().unwrap().to_owned();
        assert!(revision.starts_with("sha256:"), "{first}");
        assert_eq!(views(&target), want(&v1), "each layer's path builds exactly that layer");

        // Again: nothing changes anywhere.
        let again = ok(publish(&v1, &args, None));
        assert!(again["layers"].as_array().unwrap().iter().all(|l| l["unchanged"] == true), "{again}");
        assert!(again.get("fluxRevision").is_none());

        // Only the app changed: only the last layer gets a generation.
        let next = ok(publish(&v1b, &args, None));
        let gens: Vec<&Value> = next["layers"].as_array().unwrap().iter().map(|l| &l["generationAfter"]).collect();
        assert_eq!(gens, [&Value::from(1), &Value::from(1), &Value::from(2)]);
        assert_ne!(next["fluxRevision"].as_str().unwrap(), revision);
        assert_eq!(views(&target), want(&v1b));
    }
}

#[test]
fn a_crash_in_the_second_layer_leaves_the_first_switched_and_the_second_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let v1 = render(tmp.path(), "v1", &layered_spec(1, false));
    let v2 = render(tmp.path(), "v2", &v2());
    let (w1, w2) = (want(&v1), want(&v2));
    for point in ["upload:2", "record:2", "switch:2"] {
        for target in [Target::Dir(tmp.path().join(format!("target-{point}"))), Target::S3(Server::start())] {
            let args = target.args();
            ok(publish(&v1, &args, None));
            let crashed = publish(&v2, &args, Some(point));
            assert!(!crashed.status.success(), "{point}: the failpoint must abort the publish");
            let seen = views(&target);
            assert_eq!(seen[0], w2[0], "{point}: the first layer switched");
            let second = if point == "switch:2" { &w2[1] } else { &w1[1] };
            assert_eq!(&seen[1], second, "{point}: the second layer is one whole generation");
            assert_eq!(seen[2], w1[2], "{point}: the third layer is untouched");
            // The rerun finishes the job.
            let rerun = ok(publish(&v2, &args, None));
            assert_eq!(rerun["layers"][0]["unchanged"], true, "{rerun}");
            assert_eq!(views(&target), w2, "{point}: after the rerun every layer is v2");
        }
    }
}

#[test]
fn a_damaged_layered_bundle_is_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let b = render(tmp.path(), "v1", &layered_spec(1, false));
    let target = tmp.path().join("target");
    let args = vec!["--to".to_owned(), target.display().to_string()];
    // A layer whose bundle is not the one `layers.json` names.
    let index_path = b.join("layers.json");
    let good = std::fs::read_to_string(&index_path).unwrap();
    let mut index: Value = serde_json::from_str(&good).unwrap();
    index["layers"][1]["digest"] = index["layers"][0]["digest"].clone();
    std::fs::write(&index_path, index.to_string()).unwrap();
    let out = publish(&b, &args, None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is damaged"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!target.exists(), "nothing written");
    // A damaged file in the last layer: refused before the first layer switches.
    std::fs::write(&index_path, &good).unwrap();
    let object = std::fs::read_dir(b.join("apps/objects")).unwrap().next().unwrap().unwrap().path();
    std::fs::write(&object, "tampered").unwrap();
    let out = publish(&b, &args, None);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!target.exists(), "no layer was published");
    // The whole bundle is for `publish`; other commands take one layer.
    let diff = nixflux().arg("diff").arg(&b).args(&args).output().unwrap();
    assert_eq!(diff.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&diff.stderr).contains("layered bundle"),
        "{}",
        String::from_utf8_lossy(&diff.stderr)
    );
}
