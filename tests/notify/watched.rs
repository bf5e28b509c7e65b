//! The real `nixflux notify --config FILE` process with a `watch` source
//! against the fake Kubernetes API server: a Kustomization whose app's
//! Deployment breaks, the failure reaching in-test webhooks (one filtered
//! to the app), the watch dropped and refused with 410 Gone while the
//! cluster recovers, the relist finding the recovery, and `/metrics`
//! showing the per-app gauge throughout.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::common::fake_kube::*;
use super::common::nixflux;
use super::recorder::Recorder;

const WAIT: Duration = Duration::from_secs(20);

/// A `Ready` condition that changed now.
fn condition(status: &str, reason: &str, message: &str) -> Value {
    let now = jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    json!([{ "type": "Ready", "status": status, "reason": reason, "message": message,
             "lastTransitionTime": now, "observedGeneration": 1 }])
}

fn kustomization() -> Value {
    json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": { "name": "apps", "namespace": "flux-system" },
        "spec": { "interval": "10m", "path": "./", "prune": true, "sourceRef": { "kind": "Bucket", "name": "home" } },
        "status": {
            "conditions": condition("True", "ReconciliationSucceeded", "Applied revision: sha256:one"),
            "lastAttemptedRevision": "sha256:one",
            "inventory": { "entries": [
                { "id": "shop_front_apps_Deployment", "v": "v1" },
                { "id": "shop_front__Service", "v": "v1" },
                { "id": "db_config__ConfigMap", "v": "v1" },
            ] },
        },
    })
}

/// The Deployment of the app `web` (its label), in the namespace `shop`.
fn deployment(ready: i64) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": "front", "namespace": "shop", "labels": { "app.kubernetes.io/name": "web" } },
        "spec": { "replicas": 2, "selector": {}, "template": {} },
        "status": { "observedGeneration": 1, "replicas": 2, "readyReplicas": ready, "updatedReplicas": 2, "availableReplicas": ready },
    })
}

/// The daemon, killed if the test ends early (a failed assertion).
struct Daemon(std::process::Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).ok()?;
    let mut answer = String::new();
    s.read_to_string(&mut answer).ok()?;
    Some(answer)
}

/// Waits until `/metrics` holds `line`.
async fn metric(port: u16, line: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = get(port, "/metrics").unwrap_or_default();
        if text.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < deadline, "`{line}` never showed in /metrics:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The metric names docs/notify.md's table lists (`_retries_total` after a
/// `nixflux_notify_sink_` name is short for `nixflux_notify_sink_retries_total`).
fn documented_metrics() -> std::collections::BTreeSet<String> {
    let doc = std::fs::read_to_string(super::common::root().join("docs/notify.md")).unwrap();
    let mut names = std::collections::BTreeSet::new();
    for row in doc.lines().filter(|l| l.starts_with("| `nixflux_notify_") || l.starts_with("| `_")) {
        let first = row.split('|').nth(1).unwrap();
        for name in first.split(',').map(|n| n.trim().trim_matches('`')) {
            let full = if name.starts_with('_') { format!("nixflux_notify_sink{name}") } else { name.to_owned() };
            names.insert(full);
        }
    }
    names
}

fn summary(requests: &[super::recorder::Request]) -> Vec<(String, String, Value)> {
    let mut got: Vec<_> = requests
        .iter()
        .map(|r| r.json())
        .map(|j| (j["type"].as_str().unwrap().to_owned(), j["name"].as_str().unwrap().to_owned(), j["app"].clone()))
        .collect();
    got.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_watches_fails_per_app_relists_after_410_and_recovers() {
    let kube = FakeKube::start();
    kube.put(kustomization());
    kube.put(deployment(2));
    let (all, web) = (Recorder::start().await, Recorder::start().await);
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = dir.path().join("notify.json");
    let state = dir.path().join("state.json");
    let settings = json!({
        "state_file": state, "grace": "200ms", "cooldown": "0s", "reminder": "0s",
        "http": { "listen": format!("127.0.0.1:{port}") },
        "watch": { "kubeconfig": kube.kubeconfig(), "kinds": ["Kustomization"] },
        "sink": [
            { "name": "all", "kind": "webhook", "url": all.url("/") },
            { "name": "web", "kind": "webhook", "url": web.url("/"), "apps": ["web"] },
            // The program's output goes to the daemon's log, line by line.
            { "name": "say", "kind": "exec", "apps": ["web"], "argv": ["/bin/sh", "-c",
              "echo \"said $NIXFLUX_EVENT_TYPE of $NIXFLUX_EVENT_APP\"; echo 'and complained' >&2"] },
        ],
    });
    std::fs::write(&config, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
    let log = dir.path().join("daemon.log");
    let mut daemon = Daemon(
        nixflux()
            .args(["notify", "--config"])
            .arg(&config)
            .env("RUST_LOG", "nixflux=debug")
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let ready_line = |app: &str, v: u8| {
        let app = if app.is_empty() { String::new() } else { format!(",app=\"{app}\"") };
        format!("nixflux_notify_ready{{kind=\"Kustomization\",namespace=\"flux-system\",name=\"apps\"{app}}} {v}")
    };
    // Grouped by the Deployment's label: the Service in `shop` joins `web`;
    // the ConfigMap in `db` is its namespace's app.
    metric(port, &ready_line("", 1)).await;
    metric(port, &ready_line("web", 1)).await;
    metric(port, &ready_line("db", 1)).await;
    let text = get(port, "/metrics").unwrap();
    assert!(!text.contains("app=\"shop\""), "the Service went with its Deployment's app");
    // Every metric the docs name is served, and nothing else.
    let served: std::collections::BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(served, documented_metrics());
    assert!(text.contains("nixflux_notify_sink_queue_depth{sink=\"web\",kind=\"webhook\"} 0\n"), "{text}");

    // The app's Deployment breaks, and Flux's health check with it.
    kube.patch_status(&DEPLOYMENT, "shop", "front", &json!({ "status": deployment(1)["status"] }));
    let health = "health check failed after 2m: timeout waiting for: [Deployment/shop/front status: 'InProgress']";
    kube.patch_status(
        &KUSTOMIZATION,
        "flux-system",
        "apps",
        &json!({ "status": { "conditions": condition("False", "HealthCheckFailed", health), "lastAttemptedRevision": "sha256:two" } }),
    );
    let failures = all.wait_for(2, WAIT).await;
    assert_eq!(
        summary(&failures),
        [("failure".into(), "apps".into(), Value::Null), ("failure".into(), "apps".into(), json!("web"))]
    );
    let app_failure = failures.iter().map(|r| r.json()).find(|j| j["app"] == "web").unwrap();
    assert_eq!(app_failure["reason"], "DeploymentNotReady", "{app_failure}");
    assert_eq!(app_failure["message"], "Deployment shop/front not ready: 1/2 ready", "{app_failure}");
    assert_eq!(app_failure["revision"], "sha256:two", "{app_failure}");
    let only_web = web.wait_for(1, WAIT).await;
    assert_eq!(summary(&only_web), [("failure".into(), "apps".into(), json!("web"))]);
    metric(port, &ready_line("web", 0)).await;
    metric(port, &ready_line("", 0)).await;
    metric(port, "nixflux_notify_failing{state=\"alerted\"} 2").await;

    // The watch is dropped and cannot resume (410 Gone as an HTTP answer):
    // the cluster recovers meanwhile, and only a relist can see it.
    kube.set_expired_as_http(true);
    kube.set_down(true);
    let deadline = Instant::now() + WAIT;
    while !kube.requests().iter().any(|r| r.status == 503) {
        assert!(Instant::now() < deadline, "the open watch never ended");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kube.patch_status(&DEPLOYMENT, "shop", "front", &json!({ "status": deployment(2)["status"] }));
    kube.patch_status(
        &KUSTOMIZATION,
        "flux-system",
        "apps",
        &json!({ "status": { "conditions": condition("True", "ReconciliationSucceeded", "Applied revision: sha256:three"), "lastAttemptedRevision": "sha256:three" } }),
    );
    kube.compact();
    kube.set_down(false);
    let everything = all.wait_for(4, WAIT).await;
    let recoveries: Vec<_> = everything[2..].to_vec();
    assert_eq!(
        summary(&recoveries),
        [("recovery".into(), "apps".into(), Value::Null), ("recovery".into(), "apps".into(), json!("web"))]
    );
    let down: Vec<Value> = recoveries.iter().map(|r| r.json()["downFor"].clone()).collect();
    assert!(down.iter().all(|d| d.as_str().is_some_and(|d| d.ends_with("ms") || !d.contains(['h', 'm']))), "{down:?}");
    let web_all = web.wait_for(2, WAIT).await;
    assert_eq!(summary(&web_all[1..]), [("recovery".into(), "apps".into(), json!("web"))]);
    metric(port, &ready_line("web", 1)).await;
    metric(port, "nixflux_notify_failing{state=\"alerted\"} 0").await;
    let requests = kube.requests();
    assert!(requests.iter().any(|r| r.is_watch() && r.status == 410), "the watch was refused with 410");
    let lists = requests.iter().filter(|r| r.path.ends_with("/kustomizations") && !r.is_watch() && r.status == 200);
    assert!(lists.count() >= 2, "listed again after the 410");

    // Nothing more, and nothing twice.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!((all.len(), web.len()), (4, 2), "{:?}", summary(&all.taken()));
    // SAFETY: signalling the child we started.
    unsafe { libc::kill(daemon.0.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(daemon.0.wait().unwrap().code(), Some(0));
    // The exec sink ran for the app's failure and recovery; its output is in the log.
    let log = std::fs::read_to_string(&log).unwrap();
    for line in ["said failure of web", "said recovery of web", "and complained"] {
        let logged = log.lines().any(|l| l.contains(line) && l.contains("say"));
        assert!(logged, "`{line}` is not in the daemon's log:\n{log}");
    }
}
