//! The notifier's Kubernetes watcher (`nixflux::notify::watch`) against
//! the fake API server: failures and recoveries of every kind, per-app
//! readiness from a Kustomization's Deployments, the source link, a
//! dropped watch (410) and the relist after it, the API going away and
//! coming back, a namespace scope, and kinds the cluster does not serve.

use std::time::Duration;

use nixflux::notify::watch::{self, FluxKind, SourceLink, WatchError, WatchOptions};
use nixflux::notify::{Observation, Readiness, Source};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::common::fake_kube::*;

const WAIT: Duration = Duration::from_secs(10);

fn options() -> WatchOptions {
    WatchOptions {
        backoff_initial: Duration::from_millis(20),
        backoff_max: Duration::from_millis(200),
        app_resync: Some(Duration::from_millis(100)),
        ..WatchOptions::default()
    }
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({ "type": type_, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": "2026-03-04T05:06:07Z", "observedGeneration": 1 })
}

fn ready(message: &str) -> Value {
    json!([condition("Ready", "True", "ReconciliationSucceeded", message)])
}

fn failing(reason: &str, message: &str) -> Value {
    json!([
        condition("Ready", "False", reason, message),
        condition("Reconciling", "True", "ProgressingWithRetry", "retrying"),
    ])
}

/// A Flux object; `status` may be just its conditions.
fn flux_object(api_version: &str, kind: &str, namespace: &str, name: &str, status: Value) -> Value {
    let status = if status.is_array() { json!({ "conditions": status }) } else { status };
    json!({
        "apiVersion": api_version, "kind": kind,
        "metadata": { "name": name, "namespace": namespace },
        "spec": { "interval": "10m" },
        "status": status,
    })
}

fn kustomization(conditions: Value) -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "apps", "namespace": "flux-system" },
        "spec": { "interval": "10m", "path": "./", "prune": true, "sourceRef": { "kind": "Bucket", "name": "home" } },
        "status": {
            "conditions": conditions,
            "lastAttemptedRevision": "sha256:abc",
            "inventory": { "entries": [
                { "id": "web_web_apps_Deployment", "v": "v1" },
                { "id": "web_web__Service", "v": "v1" },
                { "id": "db_config__ConfigMap", "v": "v1" },
            ] },
        },
    })
}

fn deployment(ready_replicas: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "web", "namespace": "web" },
        "spec": { "replicas": 2, "selector": {}, "template": {} },
        "status": deployment_status(ready_replicas),
    })
}

fn deployment_status(ready_replicas: i64) -> Value {
    json!({ "observedGeneration": 1, "replicas": 2, "readyReplicas": ready_replicas,
            "updatedReplicas": 2, "availableReplicas": ready_replicas })
}

/// The watcher running on its own task, and what it sends.
struct Watcher {
    rx: mpsc::Receiver<Observation>,
    links: mpsc::Receiver<SourceLink>,
    seen: Vec<Observation>,
    /// Received but not yet asked for.
    pending: Vec<Observation>,
    task: tokio::task::JoinHandle<Result<(), WatchError>>,
}

impl Watcher {
    async fn start(kube: &FakeKube, mut opts: WatchOptions) -> Watcher {
        let (tx, rx) = mpsc::channel(64);
        let (links_tx, links) = mpsc::channel(64);
        opts.links = Some(links_tx);
        let task = tokio::spawn(watch::run(kube.client().await, opts, tx));
        Watcher { rx, links, seen: Vec::new(), pending: Vec::new(), task }
    }

    /// The next observation of `subject` (its `Display`) that `matches`;
    /// observations of other subjects wait for their turn.
    async fn next(&mut self, subject: &str, matches: impl Fn(&Observation) -> bool) -> Observation {
        let wanted = |o: &Observation| o.subject.to_string() == subject && matches(o);
        if let Some(i) = self.pending.iter().position(wanted) {
            return self.pending.remove(i);
        }
        let found = tokio::time::timeout(WAIT, async {
            while let Some(o) = self.rx.recv().await {
                self.seen.push(o.clone());
                if wanted(&o) {
                    return Some(o);
                }
                self.pending.push(o);
            }
            None
        })
        .await;
        match found {
            Ok(Some(o)) => o,
            other => panic!("no matching observation of {subject} ({other:?}); seen: {:#?}", self.seen),
        }
    }

    async fn readiness(&mut self, subject: &str, readiness: Readiness) -> Observation {
        self.next(subject, |o| o.readiness == readiness).await
    }

    /// Everything sent within `quiet`, after what is pending.
    async fn drain(&mut self, quiet: Duration) -> Vec<Observation> {
        let mut got = std::mem::take(&mut self.pending);
        while let Ok(Some(o)) = tokio::time::timeout(quiet, self.rx.recv()).await {
            got.push(o);
        }
        got
    }
}

/// Waits (without blocking the watcher's runtime) until `done` holds.
async fn until(done: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

const APPS: &str = "Kustomization/flux-system/apps";
const WEB: &str = "Kustomization/flux-system/apps app web";

#[tokio::test]
async fn every_kind_fails_and_recovers_and_apps_follow_their_deployments() {
    let kube = FakeKube::start();
    kube.put(kustomization(ready("Applied revision: sha256:abc")));
    kube.put(deployment(2));
    kube.put(flux_object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "default",
        "podinfo",
        failing("InstallFailed", "install retries exhausted"),
    ));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        "flux-system",
        "repo",
        ready("stored artifact"),
    ));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "OCIRepository",
        "flux-system",
        "oci",
        ready("stored artifact"),
    ));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "HelmRepository",
        "flux-system",
        "charts",
        ready("stored artifact"),
    ));
    kube.put(flux_object("source.toolkit.fluxcd.io/v1", "Bucket", "flux-system", "home", json!({
        "conditions": ready("stored artifact for revision 'sha256:abc'"),
        "artifact": { "revision": "sha256:abc", "path": "", "url": "", "digest": "", "lastUpdateTime": "2026-03-04T05:06:07Z" },
    })));
    let mut w = Watcher::start(&kube, options()).await;

    let k = w.readiness(APPS, Readiness::Ready).await;
    assert_eq!(
        (k.reason.as_str(), k.revision.as_deref(), k.source),
        ("ReconciliationSucceeded", Some("sha256:abc"), Source::Watch)
    );
    let at: jiff::Timestamp = "2026-03-04T05:06:07Z".parse().unwrap();
    assert_eq!(k.at, std::time::SystemTime::from(at));
    let hr = w.readiness("HelmRelease/default/podinfo", Readiness::Failing).await;
    assert_eq!((hr.reason.as_str(), hr.message.as_str()), ("InstallFailed", "install retries exhausted"));
    let bucket = w.readiness("Bucket/flux-system/home", Readiness::Ready).await;
    assert_eq!(bucket.revision.as_deref(), Some("sha256:abc"));
    for s in ["GitRepository/flux-system/repo", "OCIRepository/flux-system/oci", "HelmRepository/flux-system/charts"] {
        w.readiness(s, Readiness::Ready).await;
    }
    let web = w.readiness(WEB, Readiness::Ready).await;
    assert_eq!(web.message, "1 of 1 Deployments ready");
    w.next("Kustomization/flux-system/apps app db", |o| {
        o.readiness == Readiness::Ready && o.message == "1 objects, no Deployment"
    })
    .await;
    let link = w.links.recv().await.unwrap();
    assert_eq!(
        (link.kustomization.to_string(), link.source.to_string()),
        (APPS.to_owned(), "Bucket/flux-system/home".to_owned())
    );

    // The Kustomization fails its health check: the Kustomization fails
    // (Reconciling=True ProgressingWithRetry is not progress), and its app
    // with the Deployment that is not ready.
    kube.patch_status(&DEPLOYMENT, "web", "web", &json!({ "status": deployment_status(1) }));
    let health = "health check failed after 2m: timeout waiting for: [Deployment/web/web status: 'InProgress']";
    kube.patch_status(
        &KUSTOMIZATION,
        "flux-system",
        "apps",
        &json!({ "status": { "conditions": failing("HealthCheckFailed", health) } }),
    );
    let k = w.readiness(APPS, Readiness::Failing).await;
    assert_eq!((k.reason.as_str(), k.message.as_str()), ("HealthCheckFailed", health));
    let web = w.readiness(WEB, Readiness::Failing).await;
    assert_eq!(
        (web.reason.as_str(), web.message.as_str()),
        ("DeploymentNotReady", "Deployment web/web not ready: 1/2 ready")
    );

    // Unchanged status, written again: nothing new is sent.
    kube.patch(&KUSTOMIZATION, "flux-system", "apps", &json!({ "metadata": { "annotations": { "x": "y" } } }));
    let quiet = w.drain(Duration::from_millis(400)).await;
    assert!(quiet.is_empty(), "{quiet:#?}");

    // Recovery: the Deployment becomes ready (read on the resync), then the Kustomization.
    kube.patch_status(&DEPLOYMENT, "web", "web", &json!({ "status": deployment_status(2) }));
    w.readiness(WEB, Readiness::Ready).await;
    kube.patch_status(
        &KUSTOMIZATION,
        "flux-system",
        "apps",
        &json!({ "status": { "conditions": ready("Applied revision: sha256:abc") } }),
    );
    w.readiness(APPS, Readiness::Ready).await;
    kube.patch_status(
        &HELM_RELEASE,
        "default",
        "podinfo",
        &json!({ "status": { "conditions": ready("Helm install succeeded") } }),
    );
    w.readiness("HelmRelease/default/podinfo", Readiness::Ready).await;
    // A reconcile in progress is neither.
    kube.patch_status(
        &GIT_REPOSITORY,
        "flux-system",
        "repo",
        &json!({ "status": { "conditions": [
        condition("Ready", "Unknown", "Progressing", "building artifact"),
        condition("Reconciling", "True", "Progressing", "building artifact"),
    ] } }),
    );
    w.readiness("GitRepository/flux-system/repo", Readiness::Progressing).await;

    // A deleted object recovers (a pending failure must not stay forever).
    kube.delete(&HELM_RELEASE, "default", "podinfo");
    let gone = w.readiness("HelmRelease/default/podinfo", Readiness::Ready).await;
    assert_eq!(gone.reason, "Deleted");

    // Dropping the receiver stops the watcher.
    drop(w.rx);
    let ended = tokio::time::timeout(WAIT, w.task).await.expect("the watcher stops").unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

#[tokio::test]
async fn a_dropped_watch_lists_again_and_sees_what_happened_meanwhile() {
    let kube = FakeKube::start();
    kube.put(kustomization(ready("applied")));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "Bucket",
        "flux-system",
        "home",
        json!({ "conditions": ready("stored") }),
    ));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "Bucket",
        "flux-system",
        "old",
        json!({ "conditions": failing("FetchFailed", "bucket gone") }),
    ));
    let opts = WatchOptions { kinds: vec![FluxKind::Kustomization, FluxKind::Bucket], app_resync: None, ..options() };
    let mut w = Watcher::start(&kube, opts).await;
    w.readiness(APPS, Readiness::Ready).await;
    w.readiness("Bucket/flux-system/old", Readiness::Failing).await;
    let lists = |kube: &FakeKube| {
        kube.requests().iter().filter(|r| r.path.ends_with("/buckets") && !r.is_watch() && r.status == 200).count()
    };
    assert_eq!(lists(&kube), 1);

    // The watch ends with 410 Expired (the real server's ERROR event): list again.
    kube.expire_watches();
    kube.patch_status(
        &BUCKET,
        "flux-system",
        "home",
        &json!({ "status": { "conditions": failing("BucketOperationFailed", "access denied") } }),
    );
    let home = w.readiness("Bucket/flux-system/home", Readiness::Failing).await;
    assert_eq!(home.reason, "BucketOperationFailed");
    assert!(until(|| lists(&kube) >= 2).await, "a relist after 410");

    // A watch that cannot resume (410 as an HTTP answer) while an object was
    // deleted meanwhile: the relist finds it gone.
    kube.set_expired_as_http(true);
    kube.set_down(true);
    assert!(until(|| kube.requests().iter().any(|r| r.status == 503)).await, "the open watch ended");
    kube.delete(&BUCKET, "flux-system", "old");
    kube.compact();
    kube.set_down(false);
    let old = w.readiness("Bucket/flux-system/old", Readiness::Ready).await;
    assert_eq!((old.reason.as_str(), old.message.as_str()), ("Deleted", "the object was deleted"));
    let relisted = kube.requests().iter().any(|r| r.is_watch() && r.status == 410);
    assert!(relisted, "the watch was refused with 410");
}

#[tokio::test]
async fn bookmarks_carry_the_version_forward_across_watches() {
    let kube = FakeKube::start();
    kube.set_bookmark_interval(Duration::from_millis(50));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1",
        "Bucket",
        "flux-system",
        "home",
        json!({ "conditions": ready("stored") }),
    ));
    let opts = WatchOptions { kinds: vec![FluxKind::Bucket], watch_timeout: 1, ..options() };
    let mut w = Watcher::start(&kube, opts).await;
    w.readiness("Bucket/flux-system/home", Readiness::Ready).await;
    let listed = kube.resource_version();
    // Writes elsewhere move the resourceVersion on; only bookmarks tell the watcher.
    for i in 0..3 {
        kube.put(json!({ "apiVersion": "v1", "kind": "Secret", "metadata": { "name": format!("s{i}"), "namespace": "default" } }));
    }
    let moved = kube.resource_version();
    assert!(moved > listed);
    // The server ends the watch after a second; the next one starts from the bookmark's version.
    let resumed = until(|| {
        kube.requests().iter().any(|r| {
            r.is_watch() && r.path.ends_with("/buckets") && r.query.get("resourceVersion") == Some(&moved.to_string())
        })
    })
    .await;
    let watches: Vec<_> = kube
        .requests()
        .iter()
        .filter(|r| r.is_watch())
        .map(|r| (r.query.get("resourceVersion").cloned(), r.query.get("allowWatchBookmarks").cloned()))
        .collect();
    assert!(resumed, "no watch resumed from {moved}: {watches:?}");
    assert!(watches.iter().all(|(_, b)| b.as_deref() == Some("true")), "{watches:?}");
    let lists = kube.requests().iter().filter(|r| r.path.ends_with("/buckets") && !r.is_watch()).count();
    assert_eq!(lists, 1, "a watch that timed out resumes without a list");
}

#[tokio::test]
async fn the_api_going_away_and_coming_back_loses_nothing() {
    let kube = FakeKube::start();
    kube.put(kustomization(ready("applied")));
    let opts = WatchOptions { kinds: vec![FluxKind::Kustomization], app_resync: None, ..options() };
    let mut w = Watcher::start(&kube, opts).await;
    w.readiness(APPS, Readiness::Ready).await;

    kube.set_down(true);
    // Changed while the API answers nothing (the store lives on, as etcd does).
    kube.patch_status(
        &KUSTOMIZATION,
        "flux-system",
        "apps",
        &json!({ "status": { "conditions": failing("BuildFailed", "kustomize build failed") } }),
    );
    let refused = until(|| kube.requests().iter().any(|r| r.status == 503)).await;
    assert!(refused, "the watcher tried while the API was away");
    tokio::time::sleep(Duration::from_millis(300)).await;
    kube.set_down(false);
    let k = w.readiness(APPS, Readiness::Failing).await;
    assert_eq!(k.reason, "BuildFailed");
    // Backoff (20 ms doubling to 200 ms): a few attempts, not a busy loop.
    let attempts = kube.requests().iter().filter(|r| r.status == 503).count();
    assert!((1..=25).contains(&attempts), "{attempts} attempts");
}

#[tokio::test]
async fn a_namespace_scope_watches_only_that_namespace() {
    let kube = FakeKube::start();
    kube.put(flux_object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "flux-system",
        "inside",
        failing("UpgradeFailed", "x"),
    ));
    kube.put(flux_object(
        "helm.toolkit.fluxcd.io/v2",
        "HelmRelease",
        "default",
        "outside",
        failing("UpgradeFailed", "y"),
    ));
    let opts =
        WatchOptions { kinds: vec![FluxKind::HelmRelease], namespaces: vec!["flux-system".to_owned()], ..options() };
    let mut w = Watcher::start(&kube, opts).await;
    w.readiness("HelmRelease/flux-system/inside", Readiness::Failing).await;
    kube.patch_status(&HELM_RELEASE, "default", "outside", &json!({ "status": { "conditions": ready("ok") } }));
    kube.patch_status(&HELM_RELEASE, "flux-system", "inside", &json!({ "status": { "conditions": ready("ok") } }));
    w.readiness("HelmRelease/flux-system/inside", Readiness::Ready).await;
    assert!(w.seen.iter().all(|o| o.subject.namespace == "flux-system"), "{:#?}", w.seen);
    let paths: Vec<String> =
        kube.requests().iter().filter(|r| r.path.contains("helmreleases")).map(|r| r.path.clone()).collect();
    assert!(
        paths.iter().all(|p| p == "/apis/helm.toolkit.fluxcd.io/v2/namespaces/flux-system/helmreleases"),
        "{paths:?}"
    );
}

#[tokio::test]
async fn kinds_the_cluster_does_not_serve_are_skipped() {
    let kube = FakeKube::start();
    kube.unserve(&HELM_RELEASE);
    kube.unserve(&OCI_REPOSITORY);
    kube.put(kustomization(ready("applied")));
    kube.put(flux_object(
        "source.toolkit.fluxcd.io/v1beta2",
        "OCIRepository",
        "flux-system",
        "oci",
        failing("OCIArtifactPullFailed", "manifest unknown"),
    ));
    let opts = WatchOptions { app_resync: None, ..options() };
    let mut w = Watcher::start(&kube, opts).await;
    w.readiness(APPS, Readiness::Ready).await;
    // OCIRepository falls back to v1beta2 (Flux before 2.6).
    let oci = w.readiness("OCIRepository/flux-system/oci", Readiness::Failing).await;
    assert_eq!(oci.reason, "OCIArtifactPullFailed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    // HelmRelease: asked once, then left alone.
    let asked = kube.requests().iter().filter(|r| r.path.contains("helmreleases")).count();
    assert_eq!(asked, 1);

    // Nothing served at all: the watcher says so.
    let (tx, _rx) = mpsc::channel(8);
    let opts = WatchOptions { kinds: vec![FluxKind::HelmRelease], ..options() };
    let ended = tokio::time::timeout(WAIT, watch::run(kube.client().await, opts, tx)).await.expect("ends");
    let error = ended.expect_err("nothing to watch");
    assert_eq!(
        error.to_string(),
        "the Kubernetes API serves none of the watched kinds (HelmRelease); is Flux installed?"
    );
}
