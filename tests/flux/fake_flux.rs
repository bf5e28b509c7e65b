//! Self-tests of the scripted Flux controllers and the fake Receiver: the
//! status they write has Flux's shape and order, so waits written against
//! them hold against the real controllers.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use serde_json::{json, Value};

use super::common::fake_kube::controller::REQUESTED_AT;
use super::common::fake_kube::receiver::{sign, webhook_path};
use super::common::fake_kube::*;
use super::fake_api::{bucket, kustomization, request};

const WAIT: Duration = Duration::from_secs(10);
const REV1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn condition<'a>(object: &'a Value, kind: &str) -> &'a Value {
    let conditions = object["status"]["conditions"].as_array();
    conditions.and_then(|cs| cs.iter().find(|c| c["type"] == kind)).unwrap_or(&Value::Null)
}

fn ready(object: &Value) -> (String, String) {
    let c = condition(object, "Ready");
    (c["status"].as_str().unwrap_or_default().to_owned(), c["reason"].as_str().unwrap_or_default().to_owned())
}

/// A Kustomization done with `revision` the way `--wait` checks it.
fn applied(k: &Value, revision: &str) -> bool {
    k["status"]["lastAppliedRevision"] == revision
        && ready(k) == ("True".into(), "ReconciliationSucceeded".into())
        && k["status"]["observedGeneration"] == k["metadata"]["generation"]
}

/// A source whose revision the test changes, as a publish would.
fn revisions() -> (Arc<std::sync::Mutex<String>>, impl Fn() -> String + Send + Sync + 'static) {
    let current = Arc::new(std::sync::Mutex::new(REV1.to_owned()));
    let c = current.clone();
    (current, move || c.lock().unwrap().clone())
}

#[tokio::test]
async fn requested_reconcile_reaches_the_applied_revision() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("home", "home"));
    let (_current, revision) = revisions();
    let source = kube.start_bucket_controller(BucketScript::new("flux-system", "home", revision));
    let apply = kube.start_kustomization_controller(
        KustomizationScript::new("flux-system", "home").inventory(&["apps_web_apps_Deployment", "_apps__Namespace"]),
    );
    let client = kube.client().await;

    let at = "2026-12-02T01:00:00.123456789Z";
    api(&client, &BUCKET, Some("flux-system"))
        .patch("home", &PatchParams::default(), &Patch::Merge(request(at)))
        .await
        .unwrap();
    let b =
        kube.wait_for(&BUCKET, "flux-system", "home", WAIT, |b| b["status"]["lastHandledReconcileAt"] == at).unwrap();
    assert_eq!(b["status"]["artifact"]["revision"], REV1);
    assert_eq!(ready(&b), ("True".into(), "Succeeded".into()));
    assert_eq!(condition(&b, "Ready")["message"], format!("stored artifact: revision '{REV1}'"));
    assert_eq!(condition(&b, "ArtifactInStorage")["status"], "True");
    assert_eq!(b["status"]["observedGeneration"], 1);
    assert!(condition(&b, "Reconciling").is_null());
    for c in b["status"]["conditions"].as_array().unwrap() {
        for field in ["type", "status", "reason", "message", "lastTransitionTime", "observedGeneration"] {
            assert!(!c[field].is_null(), "condition {c} lacks {field}");
        }
    }

    // The Kustomization follows the new artifact without being asked.
    let k = kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| applied(k, REV1)).unwrap();
    assert_eq!(k["status"]["lastAttemptedRevision"], REV1);
    assert_eq!(condition(&k, "Ready")["message"], format!("Applied revision: {REV1}"));
    assert_eq!(condition(&k, "Healthy")["status"], "True", "wait: true runs health checks");
    let ids: Vec<&str> =
        k["status"]["inventory"]["entries"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["apps_web_apps_Deployment", "_apps__Namespace"]);
    assert!(k["status"].get("lastHandledReconcileAt").is_none(), "nobody asked the Kustomization");
    assert!(source.wait_reconciles(1, WAIT) && apply.wait_reconciles(1, WAIT));

    // Asking the Kustomization itself is handled too; a spec change moves observedGeneration.
    let ks = api(&client, &KUSTOMIZATION, Some("flux-system"));
    ks.patch(
        "home",
        &PatchParams::default(),
        &Patch::Merge(json!({ "metadata": { "annotations": { REQUESTED_AT: "k1" } }, "spec": { "timeout": "3m" } })),
    )
    .await
    .unwrap();
    let k = kube
        .wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| k["status"]["lastHandledReconcileAt"] == "k1")
        .unwrap();
    assert_eq!((k["metadata"]["generation"].as_i64(), k["status"]["observedGeneration"].as_i64()), (Some(2), Some(2)));
}

#[tokio::test]
async fn progress_is_written_before_the_outcome() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("home", "home"));
    let (current, revision) = revisions();
    kube.start_bucket_controller(
        BucketScript::new("flux-system", "home", revision).duration(Duration::from_millis(200)),
    );
    kube.start_kustomization_controller(
        KustomizationScript::new("flux-system", "home").duration(Duration::from_millis(200)),
    );
    kube.patch(&BUCKET, "flux-system", "home", &request("r1"));
    kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| applied(k, REV1)).unwrap();

    let rev2 = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    *current.lock().unwrap() = rev2.to_owned();
    kube.patch(&BUCKET, "flux-system", "home", &request("r2"));
    let b = kube
        .wait_for(&BUCKET, "flux-system", "home", WAIT, |b| condition(b, "ArtifactOutdated")["status"] == "True")
        .unwrap();
    assert_eq!(condition(&b, "ArtifactOutdated")["message"], format!("new upstream revision '{rev2}'"));
    assert_eq!(condition(&b, "Reconciling")["message"], format!("building artifact: new upstream revision '{rev2}'"));
    assert_eq!(b["status"]["artifact"]["revision"], REV1, "the old artifact stays until the new one is stored");
    assert_eq!(b["status"]["lastHandledReconcileAt"], "r1", "lastHandledReconcileAt is written at the end");

    let k = kube
        .wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| k["status"]["lastAttemptedRevision"] == rev2)
        .unwrap();
    assert_eq!(k["status"]["lastAppliedRevision"], REV1, "attempted first, applied after");
    assert_eq!(condition(&k, "Ready")["status"], "Unknown");
    assert!(condition(&k, "Reconciling")["message"]
        .as_str()
        .unwrap()
        .starts_with(&format!("Building manifests for revision {rev2} with a timeout of 2m0s")));
    kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| applied(k, rev2)).unwrap();
}

#[tokio::test]
async fn failures_have_flux_reasons_and_transient_ones_clear() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("home", "home"));
    let (_current, revision) = revisions();
    let denied = BucketOutcome::Failed {
        reason: "AuthenticationFailed".into(),
        message: "failed to get secret 'flux-system/s3': secrets \"s3\" not found".into(),
    };
    kube.start_bucket_controller(
        BucketScript::new("flux-system", "home", revision).then(denied).retry(Duration::from_millis(300)),
    );
    let script = KustomizationScript::new("flux-system", "home")
        .then(Outcome::duplicate_id("objects/a.yaml", "Deployment.v1.apps/web.apps"))
        .then(Outcome::unhealthy(&["Deployment/apps/web"]))
        .retry(Duration::from_millis(300));
    let apply = kube.start_kustomization_controller(script);

    kube.patch(&BUCKET, "flux-system", "home", &request("f1"));
    let b = kube.wait_for(&BUCKET, "flux-system", "home", WAIT, |b| ready(b).0 == "False").unwrap();
    assert_eq!(ready(&b).1, "AuthenticationFailed");
    assert_eq!(condition(&b, "FetchFailed")["status"], "True");
    assert_eq!(condition(&b, "Reconciling")["reason"], "ProgressingWithRetry");
    assert_eq!(b["status"]["lastHandledReconcileAt"], "f1");
    assert!(b["status"].get("observedGeneration").is_none(), "observedGeneration moves only on success");

    let k = kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| ready(k).1 == "BuildFailed").unwrap();
    assert!(condition(&k, "Ready")["message"]
        .as_str()
        .unwrap()
        .contains("may not add resource with an already registered id"));
    assert_eq!(k["status"]["lastAttemptedRevision"], REV1);
    assert!(k["status"].get("lastAppliedRevision").is_none());
    let k = kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| ready(k).1 == "HealthCheckFailed").unwrap();
    assert_eq!(condition(&k, "Healthy")["status"], "False");
    assert!(condition(&k, "Ready")["message"]
        .as_str()
        .unwrap()
        .ends_with("timeout waiting for: [Deployment/apps/web status: 'InProgress']"));
    kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| applied(k, REV1)).expect("the retry succeeds");
    assert!(apply.wait_reconciles(3, WAIT));
    assert_eq!(apply.reconciles(), 3, "build failure, health failure, success");
}

#[tokio::test]
async fn missing_source_artifact_fails_the_kustomization() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("home", "home"));
    kube.start_kustomization_controller(KustomizationScript::new("flux-system", "home").reconcile_on_start());
    let k = kube.wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| ready(k).0 == "False").unwrap();
    assert_eq!(ready(&k).1, "ArtifactFailed");
    assert_eq!(condition(&k, "Ready")["message"], "Source artifact not found, retrying in 30s");
}

#[tokio::test]
async fn receiver_checks_path_and_signature_then_triggers() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    kube.start_bucket_controller(BucketScript::new_async("flux-system", "home", move || {
        c.fetch_add(1, Ordering::SeqCst);
        async { REV1.to_owned() }
    }));
    let receiver = FakeReceiver::start(&kube);
    let url = receiver.add(Hook::hmac("flux-system", "home", "s3cr3t", &[("Bucket", "home")]));
    let path = webhook_path("s3cr3t", "home", "flux-system");
    assert_eq!(url, format!("http://127.0.0.1:{}{path}", receiver.port()));
    let r = kube.get(&RECEIVER, "flux-system", "home").unwrap();
    assert_eq!(r["status"]["webhookPath"], path);

    let body = br#"{"published":"sha256:..."}"#;
    let post = |path: &str, signature: &str| {
        http_request(
            receiver.port(),
            "POST",
            path,
            &[("X-Signature", signature), ("Content-Type", "application/json")],
            body,
        )
        .0
    };
    assert_eq!(post(&path, &sign(b"other body", "s3cr3t")), 400);
    assert_eq!(post(&path, "sha256=zz"), 400);
    assert_eq!(post(&path, ""), 400);
    assert_eq!(post(&webhook_path("wrong", "home", "flux-system"), &sign(body, "s3cr3t")), 404);
    assert!(kube.get(&BUCKET, "flux-system", "home").unwrap()["metadata"].get("annotations").is_none());
    assert_eq!(post(&path, &sign(body, "s3cr3t")), 200);

    let b =
        kube.wait_for(&BUCKET, "flux-system", "home", WAIT, |b| b["status"]["artifact"]["revision"] == REV1).unwrap();
    let requested = b["metadata"]["annotations"][REQUESTED_AT].as_str().unwrap();
    assert_eq!(b["status"]["lastHandledReconcileAt"], requested);
    assert!(requested.contains(" +0000 UTC m=+"), "notification-controller writes Go's time.String(): {requested}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let seen = receiver.requests();
    assert_eq!(seen.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 400, 400, 404, 200]);
    assert_eq!(seen[4].body, body);

    kube.patch(&RECEIVER, "flux-system", "home", &json!({ "spec": { "suspend": true } }));
    assert_eq!(post(&path, &sign(body, "s3cr3t")), 503);
}

#[tokio::test]
async fn a_layer_waits_for_the_layer_it_depends_on() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    kube.put(kustomization("crds", "home"));
    let mut apps = kustomization("apps", "home");
    apps["spec"]["dependsOn"] = json!([{ "name": "crds" }]);
    kube.put(apps);
    let (_current, revision) = revisions();
    kube.start_bucket_controller(BucketScript::new("flux-system", "home", revision));
    let crds =
        KustomizationScript::new("flux-system", "crds").then(Outcome::BuildFailed("kustomize build failed: x".into()));
    kube.start_kustomization_controller(crds.retry(Duration::from_millis(300)));
    kube.start_kustomization_controller(
        KustomizationScript::new("flux-system", "apps").retry(Duration::from_millis(100)),
    );
    kube.patch(&BUCKET, "flux-system", "home", &request("l1"));

    let k = kube.wait_for(&KUSTOMIZATION, "flux-system", "apps", WAIT, |k| ready(k).1 == "DependencyNotReady").unwrap();
    assert_eq!(condition(&k, "Ready")["message"], "dependency 'flux-system/crds' is not ready");
    kube.wait_for(&KUSTOMIZATION, "flux-system", "apps", WAIT, |k| applied(k, REV1)).expect("applied after crds");
    let crds = kube.get(&KUSTOMIZATION, "flux-system", "crds").unwrap();
    assert!(applied(&crds, REV1));
}

#[tokio::test]
async fn the_interval_picks_up_a_new_revision_without_a_request() {
    let kube = FakeKube::start();
    kube.put(bucket("home"));
    let (current, revision) = revisions();
    kube.start_bucket_controller(BucketScript::new("flux-system", "home", revision).every(Duration::from_millis(50)));
    kube.wait_for(&BUCKET, "flux-system", "home", WAIT, |b| b["status"]["artifact"]["revision"] == REV1).unwrap();
    let rev2 = "sha256:3333333333333333333333333333333333333333333333333333333333333333";
    *current.lock().unwrap() = rev2.to_owned();
    let b =
        kube.wait_for(&BUCKET, "flux-system", "home", WAIT, |b| b["status"]["artifact"]["revision"] == rev2).unwrap();
    assert!(b["status"].get("lastHandledReconcileAt").is_none(), "nobody asked");
}

#[tokio::test]
async fn latency_delays_answers() {
    let kube = FakeKube::start();
    kube.set_latency(Duration::from_millis(200));
    let client = kube.client().await;
    let start = std::time::Instant::now();
    api(&client, &NAMESPACE, None).get("kube-system").await.unwrap();
    assert!(start.elapsed() >= Duration::from_millis(200));
    let r = kube.wait_for_request(WAIT, |r| r.path == "/api/v1/namespaces/kube-system").unwrap();
    assert!(r.at >= start, "the arrival time is taken before the wait");
}
