//! `nixflux status` against a real `rclone serve s3` and the fake API
//! server: the bucket side (generation, bundle digest, the revision Flux
//! computes), the Flux objects in sync, behind and failed (with the
//! failure's age), per-app readiness from Deployment status the test
//! writes, no API access, missing objects, and `--watch` seeing a change.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::common::fake_kube::*;
use super::common::s3::Server;
use super::common::{bundle, nixflux, run_ok, spec_of};
use super::fake_api::{bucket, kustomization, request};

const WAIT: Duration = Duration::from_secs(20);
const IGNORE: &str = "generations/\nnixflux.lock\n.nixflux-tmp-*\n";

/// The revision source-controller computes for `home/`, from rclone's
/// listing (key and MD5 ETag), with the bootstrap's `ignore`; written here
/// independently of nixflux's own computation.
fn flux_revision(server: &Server) -> String {
    use sha2::Digest;
    let mut index = String::new();
    for (key, etag) in server.listing("home/") {
        let base = key.rsplit('/').next().unwrap_or_default();
        if key.split('/').any(|p| p == "generations") || base == "nixflux.lock" || base.starts_with(".nixflux-tmp-") {
            continue;
        }
        index.push_str(&format!("{key} {etag}\n"));
    }
    format!("sha256:{:x}", sha2::Sha256::digest(index.as_bytes()))
}

fn publish(server: &Server, bundle: &Path) {
    run_ok(nixflux().arg("publish").arg(bundle).args(server.target_args("home/")).arg("--quiet"));
}

/// The inventory ids of a rendered bundle, as Flux records them.
fn inventory_of(bundle: &Path) -> Vec<String> {
    let index: Value = serde_json::from_slice(&std::fs::read(bundle.join("bundle.json")).unwrap()).unwrap();
    let files = index["files"].as_array().unwrap();
    files.iter().flat_map(|f| f["objects"].as_array().unwrap()).map(|o| o["id"].as_str().unwrap().to_owned()).collect()
}

fn digest_of(bundle: &Path) -> String {
    let index: Value = serde_json::from_slice(&std::fs::read(bundle.join("bundle.json")).unwrap()).unwrap();
    index["digest"].as_str().unwrap().to_owned()
}

/// The Bucket and Kustomization `home` as bootstrap writes them.
fn flux_objects(kube: &FakeKube) {
    let mut b = bucket("home");
    b["spec"]["ignore"] = json!(IGNORE);
    kube.put(b);
    kube.put(kustomization("home", "home"));
}

fn deployment(ns: &str, name: &str, replicas: i64, ready: i64, progressing: (&str, &str)) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": { "name": name, "namespace": ns, "generation": 1 },
        "spec": { "replicas": replicas, "selector": { "matchLabels": { "app.kubernetes.io/name": name } }, "template": {} },
        "status": {
            "observedGeneration": 1, "replicas": replicas, "readyReplicas": ready, "updatedReplicas": ready, "availableReplicas": ready,
            "conditions": [
                { "type": "Available", "status": if ready >= replicas { "True" } else { "False" },
                  "reason": if ready >= replicas { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                  "message": "Deployment availability", "lastTransitionTime": "2026-12-02T01:00:00Z" },
                { "type": "Progressing", "status": progressing.0, "reason": progressing.1,
                  "message": format!("ReplicaSet \"{name}-1\" is progressing."), "lastTransitionTime": "2026-12-02T01:00:00Z" },
            ],
        },
    })
}

fn status(server: &Server, kube: &FakeKube, extra: &[&str]) -> Output {
    nixflux()
        .arg("status")
        .args(server.target_args("home/"))
        .arg("--kubeconfig")
        .arg(kube.kubeconfig())
        .args(["--flux-bucket", "flux-system/home"])
        .args(extra)
        .output()
        .unwrap()
}

fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "nixflux status failed ({:?}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn app<'a>(s: &'a Value, name: &str) -> &'a Value {
    s["cluster"]["apps"].as_array().unwrap().iter().find(|a| a["name"] == name).unwrap_or(&Value::Null)
}

struct Loop {
    server: Server,
    kube: FakeKube,
    dir: tempfile::TempDir,
    /// What the scripted source-controller computes: the test sets it
    /// after each publish, from its own listing.
    revision: Arc<Mutex<String>>,
}

impl Loop {
    /// Two apps published (`web` with 2 replicas, `db` with 1), the Flux
    /// objects in the fake with controllers running, not yet reconciled.
    fn start() -> (Loop, PathBuf) {
        let server = Server::start();
        let dir = tempfile::tempdir().unwrap();
        let first = bundle(dir.path(), "one", &spec_of(&["web", "db"], &[("web", 2)]));
        publish(&server, &first);
        let kube = FakeKube::start();
        flux_objects(&kube);
        let revision = Arc::new(Mutex::new(flux_revision(&server)));
        let r = revision.clone();
        kube.start_bucket_controller(BucketScript::new("flux-system", "home", move || r.lock().unwrap().clone()));
        let ids = inventory_of(&first);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        kube.start_kustomization_controller(KustomizationScript::new("flux-system", "home").inventory(&ids));
        (Loop { server, kube, dir, revision }, first)
    }

    /// Asks the fake Flux to reconcile and waits until the current revision is applied.
    fn reconcile(&self, token: &str) {
        self.kube.patch(&BUCKET, "flux-system", "home", &request(token));
        let revision = self.revision.lock().unwrap().clone();
        self.kube
            .wait_for(&KUSTOMIZATION, "flux-system", "home", WAIT, |k| {
                k["status"]["lastAppliedRevision"] == revision.as_str()
                    && k["status"]["conditions"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .expect("the fake Flux applies the revision");
    }

    fn publish(&self, bundle: &Path) {
        publish(&self.server, bundle);
        *self.revision.lock().unwrap() = flux_revision(&self.server);
    }

    fn put_deployments(&self) {
        for ns in ["web", "db"] {
            self.kube.put(json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns } }));
        }
        self.kube.put(deployment("web", "web", 2, 2, ("True", "NewReplicaSetAvailable")));
        self.kube.put(deployment("db", "db", 1, 0, ("True", "ReplicaSetUpdated")));
    }
}

#[test]
fn status_shows_the_bucket_flux_in_sync_and_each_app() {
    let (l, first) = Loop::start();
    l.reconcile("t1");
    l.put_deployments();
    let revision = l.revision.lock().unwrap().clone();

    let s = json_of(&status(&l.server, &l.kube, &["--output", "json"]));
    assert_eq!(s["target"], "s3://flux/home/");
    assert_eq!(s["generation"], 1);
    assert_eq!(s["bundleDigest"], digest_of(&first));
    assert_eq!(s["revision"], revision, "the revision Flux computes, with the Bucket's ignore");
    assert_eq!(s["objects"], inventory_of(&first).len());
    let cluster = &s["cluster"];
    assert_eq!(cluster["state"], "known");
    let b = &cluster["bucket"];
    assert_eq!((b["kind"].as_str(), b["name"].as_str()), (Some("Bucket"), Some("flux-system/home")));
    assert_eq!((&b["revision"], &b["sync"], &b["ready"]), (&json!(revision), &json!("inSync"), &json!("True")));
    let k = &cluster["kustomizations"][0];
    assert_eq!((&k["revision"], &k["sync"], &k["ready"]), (&json!(revision), &json!("inSync"), &json!("True")));
    assert_eq!(k["inventory"], inventory_of(&first).len());
    assert!(k.get("failure").is_none());
    let ready = &k["conditions"][0];
    assert_eq!((ready["type"].as_str(), ready["reason"].as_str()), (Some("Ready"), Some("ReconciliationSucceeded")));
    assert!(ready["lastTransitionTime"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());

    let web = app(&s, "web");
    assert_eq!(web["state"], "ready", "{web}");
    assert_eq!((&web["deployments"][0]["readyReplicas"], &web["deployments"][0]["replicas"]), (&json!(2), &json!(2)));
    assert!(web["objects"].as_u64().unwrap() >= 3, "the app's objects are grouped by its label: {web}");
    let db = app(&s, "db");
    assert_eq!(db["state"], "progressing", "{db}");
    assert_eq!(db["deployments"][0]["available"]["reason"], "MinimumReplicasUnavailable");
    let grouped: u64 = s["cluster"]["apps"].as_array().unwrap().iter().map(|a| a["objects"].as_u64().unwrap()).sum();
    assert_eq!(grouped as usize, inventory_of(&first).len(), "every inventory object is in one app");

    let out = status(&l.server, &l.kube, &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("live      generation 1, bundle sha256:"), "{text}");
    let line =
        |start: &str| text.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no `{start}` in\n{text}"));
    assert!(line("Bucket flux-system/home").contains("in sync"), "{text}");
    assert!(line("Kustomization flux-system/home").contains("in sync"), "{text}");
    assert!(line("Kustomization flux-system/home").contains("True"), "{text}");
    let web = line("web ");
    assert!(web.contains("2/2") && web.ends_with("ready"), "{text}");
    let db = line("db ");
    assert!(
        db.contains("0/1") && db.contains("progressing (Deployment db/db: Available=False MinimumReplicasUnavailable"),
        "{text}"
    );
}

#[test]
fn status_says_behind_after_a_publish_flux_has_not_seen() {
    let (l, _) = Loop::start();
    l.reconcile("t1");
    let applied = l.revision.lock().unwrap().clone();
    let second = bundle(l.dir.path(), "two", &spec_of(&["web", "db"], &[("web", 3)]));
    l.publish(&second);
    let now = l.revision.lock().unwrap().clone();
    assert_ne!(applied, now);

    let s = json_of(&status(&l.server, &l.kube, &["--output", "json"]));
    assert_eq!((s["generation"].as_u64(), s["revision"].as_str()), (Some(2), Some(now.as_str())));
    assert_eq!(
        (&s["cluster"]["bucket"]["sync"], &s["cluster"]["bucket"]["revision"]),
        (&json!("behind"), &json!(applied))
    );
    assert_eq!(s["cluster"]["kustomizations"][0]["sync"], "behind");
    let text = String::from_utf8(status(&l.server, &l.kube, &[]).stdout).unwrap();
    assert!(text.lines().any(|l| l.starts_with("Kustomization flux-system/home") && l.contains("behind")), "{text}");
    // No Deployment in the cluster: missing; no right to read one: unknown, with the API's answer.
    assert_eq!(app(&s, "web")["state"], "missing", "{s}");
    l.kube.deny(Rule::new("get", "deployments"));
    let s = json_of(&status(&l.server, &l.kube, &["--output", "json"]));
    let web = app(&s, "web");
    assert_eq!(web["state"], "unknown", "{web}");
    assert!(web["deployments"][0]["error"].as_str().unwrap().contains("403"), "{web}");

    l.reconcile("t2");
    let s = json_of(&status(&l.server, &l.kube, &["--output", "json"]));
    assert_eq!(s["cluster"]["kustomizations"][0]["sync"], "inSync");
}

#[test]
fn status_shows_a_failure_with_its_message_and_age() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    publish(&server, &bundle(dir.path(), "one", &spec_of(&["web"], &[])));
    let kube = FakeKube::start();
    flux_objects(&kube);
    // As kustomize-controller leaves it after a failed build 5 minutes ago.
    let since = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(300);
    let mut k = kustomization("home", "home");
    k["status"] = json!({
        "lastAttemptedRevision": flux_revision(&server),
        "conditions": [
            { "type": "Ready", "status": "False", "reason": "BuildFailed", "observedGeneration": 1,
              "message": "kustomize build failed: accumulating resources: may not add resource with an already registered id",
              "lastTransitionTime": since.to_string() },
            { "type": "Stalled", "status": "True", "reason": "BuildFailed", "observedGeneration": 1,
              "message": "build failed", "lastTransitionTime": since.to_string() },
        ],
    });
    kube.put(k);

    let s = json_of(&status(&server, &kube, &["--output", "json"]));
    let k = &s["cluster"]["kustomizations"][0];
    assert_eq!((&k["ready"], &k["sync"]), (&json!("False"), &json!("behind")));
    assert_eq!(k["failure"]["reason"], "BuildFailed");
    assert!(k["failure"]["message"].as_str().unwrap().contains("already registered id"));
    let age = k["failure"]["ageSeconds"].as_u64().unwrap();
    assert!((300..330).contains(&age), "{age}");
    let types: Vec<&str> = k["conditions"].as_array().unwrap().iter().map(|c| c["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Ready", "Stalled"]);
    assert_eq!(s["cluster"]["bucket"]["ready"], "Unknown", "the Bucket has no status yet");

    let text = String::from_utf8(status(&server, &kube, &[]).stdout).unwrap();
    let line = text.lines().find(|l| l.starts_with("Kustomization flux-system/home")).unwrap();
    assert!(line.contains("False") && line.contains("BuildFailed for 5m"), "{text}");
    assert!(line.contains("already registered id") && line.contains("Stalled: build failed"), "{text}");
}

#[test]
fn status_without_api_access_shows_the_bucket_side() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let one = bundle(dir.path(), "one", &spec_of(&["web"], &[]));
    publish(&server, &one);
    let home = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| {
        nixflux()
            .arg("status")
            .args(server.target_args("home/"))
            .args(extra)
            .env_remove("KUBECONFIG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .env("HOME", home.path())
            .output()
            .unwrap()
    };
    let s = json_of(&run(&["--output", "json"]));
    assert_eq!((s["generation"].as_u64(), s["bundleDigest"].as_str()), (Some(1), Some(digest_of(&one).as_str())));
    assert_eq!(s["revision"], flux_revision(&server), "the default --flux-ignore is the bootstrap's");
    assert_eq!(s["cluster"]["state"], "unknown");
    assert!(s["cluster"]["reason"].as_str().unwrap().contains("no Kubernetes API access"), "{s}");
    let out = run(&[]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("\ncluster   unknown: no Kubernetes API access"), "{text}");
}

#[test]
fn status_with_missing_flux_objects_exits_2() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    publish(&server, &bundle(dir.path(), "one", &spec_of(&["web"], &[])));
    let kube = FakeKube::start();
    let out = status(&server, &kube, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Bucket flux-system/home does not exist in the cluster"), "{err}");
    kube.put(bucket("home"));
    let out = status(&server, &kube, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Kustomization flux-system/home does not exist"));
}

#[test]
fn status_watch_prints_each_change() {
    let (l, _) = Loop::start();
    let mut child = nixflux()
        .arg("status")
        .args(l.server.target_args("home/"))
        .arg("--kubeconfig")
        .arg(l.kube.kubeconfig())
        .args(["--flux-bucket", "flux-system/home", "--output", "json", "--watch", "--watch-timeout", "30s"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<Value>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&line).unwrap_or(Value::Null));
        }
    });
    let first = rx.recv_timeout(WAIT).expect("a first status");
    assert_eq!(first["cluster"]["kustomizations"][0]["sync"], "behind", "{first}");
    let revision = l.revision.lock().unwrap().clone();

    l.reconcile("t1");
    let mut seen = vec![first];
    let synced = loop {
        match rx.recv_timeout(WAIT) {
            Ok(s) => {
                let done = s["cluster"]["kustomizations"][0]["sync"] == "inSync";
                seen.push(s.clone());
                if done {
                    break s;
                }
            }
            Err(_) => panic!("no in-sync status within {WAIT:?}; saw {seen:#?}"),
        }
    };
    assert_eq!(synced["cluster"]["kustomizations"][0]["revision"], revision);
    assert!(seen.len() >= 2);
    for pair in seen.windows(2) {
        assert_ne!(pair[0], pair[1], "a line is printed only when something changed");
    }
    let _ = child.kill();
    let _ = child.wait();
}
