//! The generation behind a failing revision: a real bundle published to a
//! directory target; a failure of the Kustomization that reads it, at the
//! revision Flux computes, names the generation, its publisher and bundle.

use std::time::Duration;

use super::common::{bundle, nixflux, spec_of};
use super::harness::{client, event, post, start};
use super::recorder::Recorder;

fn publish(bundle: &std::path::Path, to: &std::path::Path) -> serde_json::Value {
    let out = nixflux().arg("publish").arg(bundle).arg("--to").arg(to).args(["--output", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn a_failure_at_the_live_revision_names_its_generation() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("bucket/home");
    let a = bundle(dir.path(), "a", &spec_of(&["web"], &[]));
    let b = bundle(dir.path(), "b", &spec_of(&["web"], &[("web", 3)]));
    let first = publish(&a, &target);
    let second = publish(&b, &target);
    let (old, live) = (first["fluxRevision"].as_str().unwrap(), second["fluxRevision"].as_str().unwrap());
    assert_ne!(old, live);
    let hook = Recorder::start().await;
    let rest = format!(
        "grace = \"50ms\"\n[targets.home]\nto = \"{}\"\nbucket = \"flux-system/nixflux-home\"\n\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
        target.display(),
        hook.url("/")
    );
    let n = start(dir.path(), "", &rest).await;
    let c = client();
    let failing = |name: &str, revision: &str| event("Kustomization", name, "error", "HealthCheckFailed", revision);
    post(&c, n.addr(), "/flux", &failing("nixflux-home", live), None).await;
    let got = hook.wait_for(1, Duration::from_secs(10)).await[0].json();
    let generation = &got["generation"];
    assert_eq!((generation["target"].as_str(), generation["number"].as_u64()), (Some("home"), Some(2)), "{got}");
    assert!(generation["bundle"].as_str().unwrap().starts_with("sha256:"), "{got}");
    assert_eq!(generation["bundle"], second["bundleDigest"], "{got} / {second}");
    assert!(generation["publisher"].as_str().unwrap().contains('@'), "{got}");
    // An older revision, or an object that does not read the target: no generation.
    post(&c, n.addr(), "/flux", &failing("other", live), None).await;
    let bucket_failing = event("Bucket", "nixflux-home", "error", "BucketOperationFailed", old);
    post(&c, n.addr(), "/flux", &bucket_failing, None).await;
    let got = hook.wait_for(3, Duration::from_secs(10)).await;
    assert!(
        got[1..].iter().all(|r| r.json()["generation"].is_null()),
        "{:?}",
        got.iter().map(|r| r.json()).collect::<Vec<_>>()
    );
}
