//! The generation behind a failing revision: real bundles published to a
//! directory target (the middle one from the Nix store); a failure of the
//! Kustomization that reads it names the generation, its publisher, store
//! path and bundle, at the live revision and at an older retained one
//! (from the revision note each publish leaves beside its record).

use std::process::Command;
use std::time::Duration;

use super::common::{bundle, nixflux, spec_of};
use super::harness::{client, event, post, start, Running};
use super::recorder::Recorder;

fn publish(bundle: &std::path::Path, to: &std::path::Path) -> serde_json::Value {
    publish_with(bundle, to, &[])
}

fn publish_with(bundle: &std::path::Path, to: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let out = nixflux()
        .arg("publish")
        .arg(bundle)
        .arg("--to")
        .arg(to)
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The notifier reading the target at `target` as `flux-system/nixflux-home`,
/// with a webhook sink.
async fn notifier(dir: &std::path::Path, target: &std::path::Path) -> (Recorder, Running) {
    let hook = Recorder::start().await;
    let rest = format!(
        "grace = \"50ms\"\n[targets.home]\nto = \"{}\"\nbucket = \"flux-system/nixflux-home\"\n\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        target.display(),
        hook.url("/")
    );
    let n = start(dir, "", &rest).await;
    (hook, n)
}

/// `dir` added to the Nix store (`nix-store --add`), so a publish records its store path.
fn in_store(dir: &std::path::Path) -> String {
    let out = Command::new("nix-store")
        .arg("--add")
        .arg(dir)
        .output()
        .expect("`nix-store` is needed (Debian: apt-get install nix-bin)");
    assert!(out.status.success(), "nix-store --add: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_failure_at_a_retained_revision_names_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bucket/home");
    let a = bundle(dir.path(), "a", &spec_of(&["web"], &[]));
    let b = in_store(&bundle(dir.path(), "b", &spec_of(&["web"], &[("web", 3)])));
    let c = bundle(dir.path(), "c", &spec_of(&["web"], &[("web", 4)]));
    let reports = [publish(&a, &target), publish(std::path::Path::new(&b), &target), publish(&c, &target)];
    let revisions: Vec<&str> = reports.iter().map(|r| r["fluxRevision"].as_str().unwrap()).collect();
    assert!(revisions[0] != revisions[1] && revisions[1] != revisions[2], "{revisions:?}");
    let (hook, n) = notifier(dir.path(), &target).await;
    let c = client();
    let failing = |kind: &str, name: &str, revision: &str| event(kind, name, "error", "HealthCheckFailed", revision);
    // The live one (3), then an older one (2: Flux still on it, or back on it).
    post(&c, n.addr(), "/flux", &failing("Kustomization", "nixflux-home", revisions[2]), None).await;
    post(&c, n.addr(), "/flux", &failing("Bucket", "nixflux-home", revisions[1]), None).await;
    // An object that does not read the target, and a revision no generation went live as.
    post(&c, n.addr(), "/flux", &failing("Kustomization", "other", revisions[2]), None).await;
    post(&c, n.addr(), "/flux", &failing("HelmRelease", "nixflux-home", revisions[1]), None).await;
    let got: Vec<_> = hook.wait_for(4, Duration::from_secs(10)).await.iter().map(|r| r.json()).collect();
    let by = |kind: &str, name: &str| got.iter().find(|g| g["kind"] == kind && g["name"] == name).unwrap().clone();
    let live = by("Kustomization", "nixflux-home");
    assert_eq!(live["generation"]["number"], 3, "{live}");
    assert_eq!(live["generation"]["bundle"], reports[2]["bundleDigest"], "{live}");
    assert!(live["generation"]["storePath"].is_null(), "{live}");
    let older = by("Bucket", "nixflux-home");
    let generation = &older["generation"];
    assert_eq!((generation["target"].as_str(), generation["number"].as_u64()), (Some("home"), Some(2)), "{older}");
    assert_eq!(generation["bundle"], reports[1]["bundleDigest"], "{older}");
    assert_eq!(generation["storePath"].as_str(), Some(b.as_str()), "{older}");
    assert!(generation["publisher"].as_str().unwrap().contains('@'), "{older}");
    assert!(by("Kustomization", "other")["generation"].is_null());
    assert!(by("HelmRelease", "nixflux-home")["generation"].is_null());
}

#[tokio::test]
async fn a_revision_garbage_collected_with_its_generation_names_none() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bucket/home");
    let mut revisions = Vec::new();
    for (i, replicas) in [1, 2, 3].into_iter().enumerate() {
        let b = bundle(dir.path(), &format!("b{i}"), &spec_of(&["web"], &[("web", replicas)]));
        let report = publish_with(&b, &target, &["--keep", "2"]);
        revisions.push(report["fluxRevision"].as_str().unwrap().to_owned());
    }
    let notes: Vec<String> = std::fs::read_dir(target.join("generations"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".revision.json"))
        .collect();
    let mut notes = notes;
    notes.sort();
    assert_eq!(notes, ["00000002.revision.json", "00000003.revision.json"], "the first note goes with its record");
    let (hook, n) = notifier(dir.path(), &target).await;
    let c = client();
    post(&c, n.addr(), "/flux", &event("Bucket", "nixflux-home", "error", "X", &revisions[0]), None).await;
    post(&c, n.addr(), "/flux", &event("Kustomization", "nixflux-home", "error", "X", &revisions[1]), None).await;
    let got: Vec<_> = hook.wait_for(2, Duration::from_secs(10)).await.iter().map(|r| r.json()).collect();
    let of = |kind: &str| got.iter().find(|g| g["kind"] == kind).unwrap()["generation"].clone();
    assert!(of("Bucket").is_null(), "{got:?}");
    assert_eq!(of("Kustomization")["number"], 2, "{got:?}");
}
