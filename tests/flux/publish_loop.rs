//! The Flux loop of `nixflux publish` end to end: a real `rclone serve s3`
//! holds the target, the fake API server and its scripted controllers play
//! Flux, and the nixflux binary talks to both through the real kube client.
//! The Bucket's revision is computed here from the bucket's own listing, by
//! the definition (not by nixflux), so `--wait` waits for what Flux would.

use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::fake_kube::*;
use super::common::s3::Server;
use super::common::{bundle, nixflux, spec_of};

const NS: &str = "flux-system";
const NAME: &str = "home";
const PREFIX: &str = "home/";
const WAIT: Duration = Duration::from_secs(10);

/// What the Bucket's default `ignore` leaves out of the revision.
pub fn ignored(key: &str) -> bool {
    key.split('/').any(|e| e == "generations") || key.ends_with("nixflux.lock") || key.contains(".nixflux-tmp-")
}

/// The revision source-controller computes from the bucket as it is now
/// (the prefix `home/`, the default `ignore`).
pub fn flux_revision(server: &Server) -> String {
    let lines: String =
        server.listing(PREFIX).iter().filter(|(k, _)| !ignored(k)).map(|(k, e)| format!("{k} {e}\n")).collect();
    format!("sha256:{}", nixflux::bundle::sha256_hex(lines.as_bytes()))
}

struct Setup {
    server: Arc<Server>,
    kube: FakeKube,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let kube = FakeKube::start();
        kube.put(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": { "name": NAME, "namespace": NS },
            "spec": { "bucketName": "flux", "endpoint": "127.0.0.1:9000", "provider": "generic", "interval": "10m", "prefix": PREFIX },
        }));
        kube.put(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": NAME, "namespace": NS },
            "spec": { "interval": "10m", "timeout": "2m", "path": "./home", "prune": true, "wait": true,
                      "sourceRef": { "kind": "Bucket", "name": NAME } },
        }));
        Setup { server: Arc::new(Server::start()), kube, dir: tempfile::tempdir().unwrap() }
    }

    /// A bucket controller that reports the revision of the real bucket.
    fn bucket_script(&self) -> BucketScript {
        let server = self.server.clone();
        BucketScript::new(NS, NAME, move || flux_revision(&server))
    }

    fn bundle(&self, name: &str, apps: &[&str], replicas: &[(&str, i64)]) -> std::path::PathBuf {
        bundle(self.dir.path(), name, &spec_of(apps, replicas))
    }

    fn publish(&self, bundle: &Path, extra: &[&str]) -> Output {
        let mut cmd = nixflux();
        cmd.arg("publish").arg(bundle).args(self.server.target_args(PREFIX));
        cmd.arg("--kubeconfig").arg(self.kube.kubeconfig());
        cmd.args(["--flux-bucket", "flux-system/home", "--output", "json"]).args(extra);
        cmd.env_remove("KUBECONFIG").output().unwrap()
    }
}

pub fn report(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn publish_asks_flux_to_reconcile_right_after_the_switch() {
    let s = Setup::new();
    let b = s.bundle("one", &["web", "api"], &[]);
    let started = Instant::now();
    let out = s.publish(&b, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["flux"]["requested"]["via"], "api");
    let token = r["flux"]["requested"]["token"].as_str().unwrap().to_owned();
    assert!(r["flux"]["requested"]["afterSwitchMs"].as_u64().unwrap() < 1000);
    // Both objects carry the request, the Bucket's before the generation could have been read again.
    for kind in [&BUCKET, &KUSTOMIZATION] {
        let o = s.kube.get(kind, NS, NAME).unwrap();
        assert_eq!(o["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"], token.as_str());
    }
    let patches: Vec<Request> = s.kube.requests().into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 2, "{patches:?}");
    assert!(patches.iter().all(|p| p.headers.get("content-type").is_some_and(|c| c == "application/merge-patch+json")));
    assert!(patches.iter().all(|p| p.at > started));
    // Each asks for the metadata alone back, not the inventory in the status.
    let metadata_only = |p: &Request| p.headers.get("accept").is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    assert!(patches.iter().all(metadata_only), "{patches:?}");
    // A no-op publish asks nothing.
    s.kube.clear_requests();
    let out = s.publish(&b, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(s.kube.requests().iter().all(|r| r.method != "PATCH"));
    assert!(report(&out)["flux"].get("requested").is_none());
}

#[test]
fn wait_succeeds_when_flux_applies_exactly_the_published_revision() {
    let s = Setup::new();
    let bucket = s.kube.start_bucket_controller(s.bucket_script().delay(Duration::from_millis(300)));
    let _k = s.kube.start_kustomization_controller(
        KustomizationScript::new(NS, NAME).inventory(&["web_web_apps_Deployment", "_web__Namespace"]),
    );
    let b = s.bundle("one", &["web"], &[]);
    // A stale watch mid-wait: the client must relist and still see the outcome.
    let out = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(150));
            s.kube.expire_watches();
        });
        s.publish(&b, &["--wait=20s"])
    });
    assert!(out.status.success(), "{}", stderr(&out));
    let r = report(&out);
    let rev = flux_revision(&s.server);
    assert_eq!(r["flux"]["wait"]["outcome"], "applied");
    assert_eq!(r["flux"]["wait"]["revision"], rev.as_str());
    assert_eq!(r["fluxRevision"], rev.as_str());
    let k = s.kube.get(&KUSTOMIZATION, NS, NAME).unwrap();
    assert_eq!(k["status"]["lastAppliedRevision"], rev.as_str());
    assert!(bucket.reconciles() >= 1);
}

#[test]
fn a_flux_failure_at_the_published_revision_exits_3_with_the_reason() {
    let s = Setup::new();
    let _b = s.kube.start_bucket_controller(s.bucket_script());
    let _k = s.kube.start_kustomization_controller(
        KustomizationScript::new(NS, NAME).always(Outcome::unhealthy(&["Deployment/web/web"])),
    );
    let b = s.bundle("one", &["web"], &[]);
    let out = s.publish(&b, &["--wait=20s"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["flux"]["wait"]["outcome"], "failed");
    assert_eq!(r["flux"]["wait"]["failure"]["reason"], "HealthCheckFailed");
    assert_eq!(r["flux"]["wait"]["failure"]["unhealthy"], json!(["Deployment/web/web"]));
    assert!(stderr(&out).contains("Flux failed to apply"), "{}", stderr(&out));
    // The generation is published all the same: the wait reports, it does not undo.
    assert_eq!(r["generationAfter"], 1);
}

#[test]
fn a_wait_that_flux_never_finishes_times_out_with_exit_4() {
    let s = Setup::new();
    let _b = s.kube.start_bucket_controller(s.bucket_script());
    let _k = s.kube.start_kustomization_controller(KustomizationScript::new(NS, NAME).always(Outcome::Stuck));
    let b = s.bundle("one", &["web"], &[]);
    let out = s.publish(&b, &["--wait=2s"]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let r = report(&out);
    assert_eq!(r["flux"]["wait"]["outcome"], "timedOut");
    assert!(r["flux"]["wait"]["waitingFor"].as_str().unwrap().contains("Kustomization flux-system/home"));
}

#[test]
fn a_transient_bucket_failure_that_flux_clears_does_not_fail_the_wait() {
    let s = Setup::new();
    let script = s.bucket_script().then(BucketOutcome::Failed {
        reason: "BucketOperationFailed".into(),
        message: "failed to get object 'home/kustomization.yaml': ETag cannot be empty".into(),
    });
    let _b = s.kube.start_bucket_controller(script.retry(Duration::from_millis(300)));
    let _k = s.kube.start_kustomization_controller(KustomizationScript::new(NS, NAME));
    let b = s.bundle("one", &["web"], &[]);
    let out = s.publish(&b, &["--wait=20s"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report(&out)["flux"]["wait"]["outcome"], "applied");
}

#[test]
fn a_publisher_without_api_access_triggers_through_the_receiver() {
    let s = Setup::new();
    let receiver = FakeReceiver::start(&s.kube);
    let url = receiver.add(Hook::hmac(NS, "nixflux", "s3cr3t-token", &[("Bucket", NAME)]));
    let token_file = s.dir.path().join("token");
    std::fs::write(&token_file, "s3cr3t-token\n").unwrap();
    let b = s.bundle("one", &["web"], &[]);
    let mut cmd = nixflux();
    cmd.arg("publish").arg(&b).args(s.server.target_args(PREFIX)).args(["--output", "json", "--receiver-url", &url]);
    let out = cmd.arg("--receiver-token-file").arg(&token_file).env_remove("KUBECONFIG").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report(&out)["flux"]["requested"]["via"], "receiver");
    let hit = receiver.wait_for_request(WAIT, |r| r.method == "POST").expect("the Receiver was called");
    assert_eq!(hit.status, 200, "the fake Receiver accepted the signature");
    assert!(s.kube.get(&BUCKET, NS, NAME).unwrap()["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"]
        .is_string());
    // The token is in no argument and no output.
    assert!(!stderr(&out).contains("s3cr3t") && !String::from_utf8_lossy(&out.stdout).contains("s3cr3t"));
    // A wrong token is refused by the Receiver, and publish says so (exit 1).
    std::fs::write(&token_file, "wrong").unwrap();
    let b2 = s.bundle("two", &["web"], &[("web", 2)]);
    let mut cmd = nixflux();
    cmd.arg("publish").arg(&b2).args(s.server.target_args(PREFIX)).args(["--receiver-url", &url]);
    let out = cmd.arg("--receiver-token-file").arg(&token_file).env_remove("KUBECONFIG").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("Receiver webhook"), "{}", stderr(&out));
}

#[test]
fn a_target_bound_to_one_cluster_refuses_another() {
    let s = Setup::new();
    let b = s.bundle("one", &["web"], &[]);
    let mut bind = nixflux();
    bind.args(["flux", "bind"]).args(s.server.target_args(PREFIX)).arg("--kubeconfig").arg(s.kube.kubeconfig());
    let out = bind.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&s.kube.namespace_uid("kube-system")));
    assert!(s.publish(&b, &[]).status.success());

    // Another cluster (another kube-system uid) with the same Flux objects.
    let other = Setup::new();
    let b2 = s.bundle("two", &["web"], &[("web", 3)]);
    let mut cmd = nixflux();
    cmd.arg("publish").arg(&b2).args(s.server.target_args(PREFIX)).arg("--kubeconfig").arg(other.kube.kubeconfig());
    let out = cmd.args(["--flux-bucket", "flux-system/home"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("wrong cluster"), "{}", stderr(&out));
    assert!(other.kube.requests().iter().all(|r| r.method != "PATCH"), "nothing was asked of the wrong cluster");
    let history: Value = serde_json::from_slice(
        &nixflux()
            .arg("history")
            .args(s.server.target_args(PREFIX))
            .args(["--output", "json"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert_eq!(history["live"], 1, "nothing was published: {history}");
    // Binding to the other cluster needs --rebind.
    let mut rebind = nixflux();
    rebind.args(["flux", "bind"]).args(s.server.target_args(PREFIX)).arg("--kubeconfig").arg(other.kube.kubeconfig());
    assert_eq!(rebind.output().unwrap().status.code(), Some(2));
}

#[test]
fn the_prune_gate_refuses_protected_kinds_flux_applied() {
    let s = Setup::new();
    let b = s.bundle("one", &["web"], &[]);
    assert!(s.publish(&b, &[]).status.success());
    // Flux's inventory holds a claim and a namespace the new generation does not have.
    s.kube.patch_status(
        &KUSTOMIZATION,
        NS,
        NAME,
        &json!({ "status": { "inventory": { "entries": [
            { "id": "web_web_apps_Deployment", "v": "v1" },
            { "id": "old_data__PersistentVolumeClaim", "v": "v1" },
            { "id": "_old__Namespace", "v": "v1" },
            { "id": "old_cfg__ConfigMap", "v": "v1" },
        ] } } }),
    );
    let b2 = s.bundle("two", &["web"], &[("web", 2)]);
    let dry = s.publish(&b2, &["--dry-run"]);
    assert!(dry.status.success(), "{}", stderr(&dry));
    let prune = &report(&dry)["flux"]["prune"];
    assert_eq!(prune["wouldPrune"].as_array().unwrap().len(), 3, "{prune}");
    assert_eq!(prune["refused"], json!(["_old__Namespace", "old_data__PersistentVolumeClaim"]));

    let mut diff = nixflux();
    diff.arg("diff").arg(&b2).args(s.server.target_args(PREFIX)).arg("--kubeconfig").arg(s.kube.kubeconfig());
    let out = diff.args(["--flux-bucket", "flux-system/home"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("flux would prune") && text.contains("ConfigMap `old/cfg`"), "{text}");

    let out = s.publish(&b2, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-prune-kind"), "{}", stderr(&out));
    let out = s.publish(&b2, &["--allow-prune-kind", "PersistentVolumeClaim"]);
    assert_eq!(out.status.code(), Some(2), "the Namespace is still refused: {}", stderr(&out));
    let out = s.publish(&b2, &["--allow-prune-kind", "PersistentVolumeClaim", "--allow-prune-kind", "Namespace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(report(&out)["generationAfter"], 2);
}

#[test]
fn flux_objects_that_do_not_exist_are_a_clear_error() {
    let s = Setup::new();
    let b = s.bundle("one", &["web"], &[]);
    let out = s.publish(&b, &["--flux-kustomization", "flux-system/missing"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Kustomization flux-system/missing does not exist"), "{}", stderr(&out));
}
