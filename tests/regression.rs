//! Regression tests, one per failure found by trying nixflux as an attacker
//! or a careless user would (the hardening issue), each named after what it
//! pins. The publish side runs on directory targets here; the S3 servers
//! have their own in `regression_s3.rs`, bad spec input in `regression_input.rs`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{nixflux, run_ok, spec_of};

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn check(spec: &serde_json::Value) -> Output {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    nixflux().arg("check").arg(&path).output().unwrap()
}

fn with_objects(objects: serde_json::Value) -> serde_json::Value {
    serde_json::json!({ "apiVersion": "nixflux/v1alpha1", "objects": objects })
}

fn publish(bundle: &Path, target: &Path, extra: &[&str]) -> Output {
    nixflux().arg("publish").arg(bundle).arg("--to").arg(target).args(extra).output().unwrap()
}

/// How many objects the example renders to (it grows with the features it shows).
fn example_objects() -> u64 {
    let out = run_ok(nixflux().args(["check", "--example", "--output", "json"]));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    summary["objects"].as_u64().unwrap()
}

/// A target holding the example as generation 1, and a small
/// bundle (2 apps) that would remove most of it.
fn example_target(tmp: &Path) -> (PathBuf, PathBuf) {
    let example = tmp.join("example");
    run_ok(nixflux().args(["render", "--example", "--quiet", "--out"]).arg(&example));
    let target = tmp.join("target");
    run_ok(nixflux().arg("publish").arg(&example).arg("--to").arg(&target).arg("--quiet"));
    let small = common::bundle(tmp, "small", &spec_of(&["app00", "app01"], &[]));
    (target, small)
}

fn record_path(target: &Path, generation: u64) -> PathBuf {
    target.join(format!("generations/{generation:08}.json"))
}

#[test]
fn list_wrapping_a_plaintext_secret_is_refused() {
    let out = check(&with_objects(serde_json::json!([{
        "apiVersion": "v1", "kind": "List", "metadata": { "name": "bag" },
        "items": [{ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": "s", "namespace": "default" }, "stringData": { "k": "v" } }]
    }])));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("a `List` wraps objects that kustomize would apply"), "{}", stderr(&out));
    assert!(stderr(&out).contains("put each item into `objects` on its own"), "{}", stderr(&out));
}

#[test]
fn any_star_list_kind_is_refused() {
    for kind in ["ConfigMapList", "DeploymentList", "SecretList"] {
        let out = check(&with_objects(serde_json::json!([{
            "apiVersion": "v1", "kind": kind, "metadata": { "name": "bag", "namespace": "default" }, "items": []
        }])));
        assert_eq!(out.status.code(), Some(2), "{kind}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("a `{kind}` wraps objects")), "{kind}: {}", stderr(&out));
    }
}

#[test]
fn kind_or_group_with_an_underscore_is_refused() {
    let out = check(&with_objects(serde_json::json!([
        { "apiVersion": "x_y.io/v1", "kind": "Thing", "metadata": { "name": "a", "namespace": "default" } },
        { "apiVersion": "example.io/v1", "kind": "My_Thing", "metadata": { "name": "b", "namespace": "default" } }
    ])));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("invalid API group `x_y.io`"), "{}", stderr(&out));
    assert!(stderr(&out).contains("`My_Thing` is not a kind"), "{}", stderr(&out));
}

#[test]
fn missing_live_record_does_not_switch_off_the_guard() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, small) = example_target(tmp.path());
    std::fs::remove_file(record_path(&target, 1)).unwrap();
    let out = publish(&small, &target, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let live = format!("of the {} live objects", example_objects());
    assert!(stderr(&out).contains(&live), "{}", stderr(&out));
    assert!(stderr(&out).contains("read back from the target"), "the warning is loud: {}", stderr(&out));
    // Asked for explicitly, it goes through.
    run_ok(
        nixflux().arg("publish").arg(&small).arg("--to").arg(&target).arg("--allow-prune").arg("--allow-data-removal"),
    );
}

#[test]
fn live_record_disagreeing_with_the_pointer_does_not_switch_off_the_guard() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, small) = example_target(tmp.path());
    // A record that names another bundle: that of a tiny generation.
    let other = tmp.path().join("other-target");
    run_ok(nixflux().arg("publish").arg(&small).arg("--to").arg(&other).arg("--quiet"));
    std::fs::copy(record_path(&other, 1), record_path(&target, 1)).unwrap();
    let out = publish(&small, &target, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let live = format!("of the {} live objects", example_objects());
    assert!(stderr(&out).contains(&live), "{}", stderr(&out));
}

#[test]
fn unreadable_live_objects_refuse_the_publish() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, small) = example_target(tmp.path());
    std::fs::remove_file(record_path(&target, 1)).unwrap();
    let object = std::fs::read_dir(target.join("objects")).unwrap().next().unwrap().unwrap().path();
    std::fs::remove_file(&object).unwrap();
    let out = publish(&small, &target, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot be known"), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-prune"), "{}", stderr(&out));
}

#[test]
fn bundle_claiming_objects_its_files_do_not_hold_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, forged) = example_target(tmp.path());
    // A bundle whose bundle.json lists fewer objects than its files hold:
    // its digest covers only the files, so it still matches them.
    let index_path = forged.join("bundle.json");
    let mut index: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&index_path).unwrap()).unwrap();
    for f in index["files"].as_array_mut().unwrap() {
        f["objects"].as_array_mut().unwrap().truncate(1);
    }
    std::fs::write(&index_path, index.to_string()).unwrap();
    for command in ["publish", "diff"] {
        let out = nixflux().arg(command).arg(&forged).arg("--to").arg(&target).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(stderr(&out).contains("not the ones `bundle.json` lists"), "{command}: {}", stderr(&out));
    }
}

#[test]
fn render_out_does_not_replace_a_directory_that_merely_holds_bundle_json() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("precious");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("bundle.json"), "{}").unwrap();
    std::fs::write(dir.join("thesis.tex"), "years of work").unwrap();
    let out = nixflux().args(["render", "--example", "--out"]).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("is not a nixflux bundle"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(dir.join("thesis.tex")).unwrap(), "years of work");
    // A real bundle is still replaced.
    let bundle = tmp.path().join("bundle");
    run_ok(nixflux().args(["render", "--example", "--quiet", "--out"]).arg(&bundle));
    run_ok(nixflux().args(["render", "--example", "--quiet", "--out"]).arg(&bundle));
}

#[test]
fn diff_does_not_read_local_files_a_record_names() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, small) = example_target(tmp.path());
    let secret = tmp.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-CONTENT\n").unwrap();
    let record = record_path(&target, 1);
    let mut r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    for (i, path) in [secret.display().to_string(), "../secret.txt".to_owned()].into_iter().enumerate() {
        r["files"][i]["path"] = serde_json::Value::String(path);
    }
    std::fs::write(&record, r.to_string()).unwrap();
    let out = nixflux().arg("diff").arg(&small).arg("--to").arg(&target).output().unwrap();
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!all.contains("TOP-SECRET-CONTENT"), "{all}");
    assert_eq!(out.status.code(), Some(1), "the diff still runs, from the pointer's files: {all}");
}

#[test]
fn symlinked_objects_dir_in_a_directory_target_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let target = tmp.path().join("target");
    std::fs::create_dir(&target).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("objects")).unwrap();
    let bundle = common::bundle(tmp.path(), "b", &spec_of(&["app00"], &[]));
    let out = publish(&bundle, &target, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("is a symlink"), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0, "nothing was written outside the target");
}

#[test]
fn dry_run_diff_and_history_create_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = common::bundle(tmp.path(), "b", &spec_of(&["app00"], &[]));
    let target = tmp.path().join("not-there");
    let out = publish(&bundle, &target, &["--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = nixflux().arg("diff").arg(&bundle).arg("--to").arg(&target).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = nixflux().arg("history").arg("--to").arg(&target).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!target.exists(), "a read-only command created the target");
}

#[test]
fn directory_target_files_follow_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let bundle = common::bundle(tmp.path(), "b", &spec_of(&["app00"], &[]));
    let target = tmp.path().join("target");
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 022 && exec \"$0\" publish \"$1\" --to \"$2\" --quiet")
        .arg(env!("CARGO_BIN_EXE_nixflux"))
        .arg(&bundle)
        .arg(&target)
        .status()
        .unwrap();
    assert!(status.success());
    let mut seen = 0;
    let mut stack = vec![target.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
            if entry.file_type().unwrap().is_dir() {
                assert_eq!(mode, 0o755, "{}", entry.path().display());
                stack.push(entry.path());
            } else {
                assert_eq!(mode, 0o644, "{}", entry.path().display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 3, "objects, record and pointer were written");
}

#[test]
fn rerun_after_a_crash_past_the_switch_clears_its_own_lease() {
    let tmp = tempfile::tempdir().unwrap();
    let bundle = common::bundle(tmp.path(), "b", &spec_of(&["app00"], &[]));
    let target = tmp.path().join("target");
    let out = nixflux()
        .arg("publish")
        .arg(&bundle)
        .arg("--to")
        .arg(&target)
        .env("NIXFLUX_FAILPOINT", "switch")
        .output()
        .unwrap();
    assert!(!out.status.success(), "the failpoint aborts");
    assert!(target.join("nixflux.lock").exists(), "the crash left its lease");
    let out = publish(&bundle, &target, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing to publish"), "{}", stderr(&out));
    assert!(!target.join("nixflux.lock").exists(), "the dead run's lease is gone");
}

#[test]
fn removing_objects_that_hold_data_is_refused_and_marked_in_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, _) = example_target(tmp.path());
    // The example without the apps of `monitoring`: `uptime`, whose raw
    // claim holds its data, and the `grafana` chart.
    let mut spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(common::example()).unwrap()).unwrap();
    for app in ["uptime", "grafana"] {
        spec["apps"].as_object_mut().unwrap().remove(app);
    }
    let without = common::bundle(tmp.path(), "without", &spec.to_string());
    let out = publish(&without, &target, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("removes objects that hold data"), "{err}");
    assert!(err.contains("PersistentVolumeClaim `monitoring/uptime-data`"), "{err}");
    assert!(err.contains("Namespace `monitoring`"), "{err}");
    assert!(err.contains("--allow-data-removal"), "{err}");
    let diff = nixflux().arg("diff").arg(&without).arg("--to").arg(&target).output().unwrap();
    let text = String::from_utf8_lossy(&diff.stdout);
    assert!(
        text.contains(
            "- PersistentVolumeClaim `monitoring/uptime-data` (holds data; protected: Flux leaves it in the cluster)"
        ),
        "{text}"
    );
    assert!(text.contains("- Deployment.apps `monitoring/uptime`\n"), "{text}");
    run_ok(nixflux().arg("publish").arg(&without).arg("--to").arg(&target).arg("--allow-data-removal").arg("--quiet"));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

    /// Any `*List` wrapper, at the top level or in an app, around any of
    /// the example's raw objects, is refused by check (never typed past).
    #[test]
    fn generated_list_wrappers_are_always_refused(
        prefix in "([A-Z][a-z]{0,8})?",
        in_app in proptest::bool::ANY,
        pick in 0usize..64,
        api_version in proptest::sample::select(vec!["v1", "apps/v1", "example.io/v1"]),
    ) {
        let mut spec: serde_json::Value = serde_json::from_str(include_str!("../docs/examples/homelab.json")).unwrap();
        let raw: Vec<serde_json::Value> = spec["apps"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|a| a["objects"].as_array().cloned().unwrap_or_default())
            .collect();
        let item = raw[pick % raw.len()].clone();
        let kind = format!("{prefix}List");
        let list = serde_json::json!({ "apiVersion": api_version, "kind": kind, "metadata": { "name": "bag", "namespace": "default" }, "items": [item] });
        if in_app {
            spec["apps"]["uptime"]["objects"].as_array_mut().unwrap().push(list);
        } else {
            spec["objects"] = serde_json::json!([list]);
        }
        let parsed = nixflux::spec::parse(&spec.to_string(), "generated").unwrap();
        let problems = nixflux::render::render(&parsed).expect_err("a List was accepted");
        let refused = problems.iter().any(|p| p.message.contains(&format!("a `{kind}` wraps objects")));
        proptest::prop_assert!(refused, "{:?}", problems);
    }
}

#[test]
fn missing_bundle_is_bad_input_for_publish_and_diff() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("target");
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (bundle, why) in [(tmp.path().join("nope"), "it does not exist"), (empty, "it has no `bundle.json`")] {
        for command in ["publish", "diff"] {
            let out = nixflux().arg(command).arg(&bundle).arg("--to").arg(&target).output().unwrap();
            assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
            assert!(stderr(&out).contains(&format!("is not a bundle: {why}")), "{command}: {}", stderr(&out));
        }
    }
    assert!(!target.exists());
}

#[test]
fn garbled_live_record_does_not_switch_off_the_guard() {
    let tmp = tempfile::tempdir().unwrap();
    let (target, small) = example_target(tmp.path());
    std::fs::write(record_path(&target, 1), b"{\"formatVersion\": 1, \"gener").unwrap();
    let out = publish(&small, &target, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let live = format!("of the {} live objects", example_objects());
    assert!(stderr(&out).contains(&live), "{}", stderr(&out));
    // History skips the unreadable record and still runs.
    let out = nixflux().arg("history").arg("--to").arg(&target).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}
