//! An in-test Kubernetes API server that speaks the real HTTP API for
//! Namespaces, Secrets, Deployments and the Flux kinds (see `kinds.rs`):
//! GET, LIST, WATCH (resourceVersion, bookmarks, timeoutSeconds, 410 for a
//! compacted resourceVersion), merge-patch, PUT, `/status`, create and
//! delete, with errors as `Status` objects, bearer-token authentication
//! and a deny list for RBAC. It runs plain HTTP on a free 127.0.0.1 port on
//! its own thread and runtime (so sync and async tests can use it), writes
//! a kubeconfig for the nixflux binary and the kube client, records every
//! request, and stops when dropped; it can be taken down and brought back
//! (`set_down`) and can leave kinds unserved (`unserve`). Scripted Flux controllers
//! (`controller.rs`) and a Receiver webhook (`receiver.rs`) run beside it.

mod client;
pub mod controller;
mod http;
pub mod kinds;
pub mod receiver;
mod reconcile;
pub mod store;
mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{json, Value};

#[allow(unused_imports)]
pub use client::{api, client_from, http_request};
#[allow(unused_imports)]
pub use controller::{BucketOutcome, BucketScript, KustomizationScript, Outcome};
#[allow(unused_imports)]
pub use kinds::{
    Kind, ALERT, BUCKET, DEPLOYMENT, GIT_REPOSITORY, HELM_RELEASE, HELM_REPOSITORY, KUSTOMIZATION, NAMESPACE,
    OCI_REPOSITORY, OCI_REPOSITORY_V1BETA2, PROVIDER, RECEIVER, SECRET,
};
#[allow(unused_imports)]
pub use receiver::{FakeReceiver, Hook};
use store::{Part, Store};

/// The token the default kubeconfig carries.
pub const TOKEN: &str = "nixflux-test-token";
/// The user that token authenticates as.
pub const USER: &str = "system:serviceaccount:flux-system:nixflux";

/// One request as the server received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    /// Query parameters, percent-decoded.
    pub query: BTreeMap<String, String>,
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// When the request's headers arrived.
    pub at: Instant,
    pub wall: SystemTime,
    /// The status code answered (200 for a watch that started).
    pub status: u16,
}

impl Request {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn is_watch(&self) -> bool {
        self.query.get("watch").is_some_and(|w| w == "true" || w == "1")
    }
}

/// A deny (or allow) rule: verb (`get`, `list`, `watch`, `create`,
/// `update`, `patch`, `delete`) and resource (`buckets`, `buckets/status`),
/// each `*` for any, optionally limited to a namespace and a name.
#[derive(Debug, Clone)]
pub struct Rule {
    pub verb: String,
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
}

impl Rule {
    pub fn new(verb: &str, resource: &str) -> Rule {
        Rule { verb: verb.to_owned(), resource: resource.to_owned(), namespace: None, name: None }
    }

    pub fn in_namespace(mut self, namespace: &str) -> Rule {
        self.namespace = Some(namespace.to_owned());
        self
    }

    pub fn named(mut self, name: &str) -> Rule {
        self.name = Some(name.to_owned());
        self
    }

    fn matches(&self, verb: &str, resource: &str, namespace: &str, name: &str) -> bool {
        (self.verb == "*" || self.verb == verb)
            && (self.resource == "*" || self.resource == resource)
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

pub(crate) struct Settings {
    /// Token → user name.
    pub tokens: BTreeMap<String, String>,
    pub deny: Vec<Rule>,
    /// When set, only these are allowed (a minimal Role).
    pub allow_only: Option<Vec<Rule>>,
    pub bookmark_interval: Duration,
    /// Answer a watch from a compacted resourceVersion with HTTP 410 instead
    /// of the `ERROR` event the real server streams.
    pub expired_as_http: bool,
    /// Time the server waits before answering each request.
    pub latency: Duration,
    /// Kinds answered with 404, as if their CRD were not installed.
    pub unserved: Vec<&'static Kind>,
    /// The server is away: every request gets 503 and open watches end.
    pub down: bool,
}

impl Settings {
    pub fn forbidden(&self, verb: &str, resource: &str, namespace: &str, name: &str) -> bool {
        let denied = self.deny.iter().any(|r| r.matches(verb, resource, namespace, name));
        let allowed = self
            .allow_only
            .as_ref()
            .is_none_or(|rules| rules.iter().any(|r| r.matches(verb, resource, namespace, name)));
        denied || !allowed
    }
}

pub(crate) struct Shared {
    pub store: Mutex<Store>,
    /// The last resourceVersion (or expiry epoch) change, for watches and controllers.
    pub changes: tokio::sync::watch::Sender<u64>,
    pub settings: Mutex<Settings>,
    pub requests: Mutex<Vec<Request>>,
}

impl Shared {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> MutexGuard<'_, Settings> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a write on the store and wakes watches and controllers.
    pub fn write<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let (out, rv) = {
            let mut store = self.store();
            let out = f(&mut store);
            (out, store.rv + store.expiry_epoch)
        };
        self.changes.send_replace(rv);
        out
    }
}

pub struct FakeKube {
    shared: Arc<Shared>,
    port: u16,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    runtime: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeKube {
    /// Starts the server with the namespaces `kube-system`, `flux-system`
    /// and `default`.
    pub fn start() -> FakeKube {
        let settings = Settings {
            tokens: BTreeMap::from([(TOKEN.to_owned(), USER.to_owned())]),
            deny: Vec::new(),
            allow_only: None,
            bookmark_interval: Duration::from_secs(1),
            expired_as_http: false,
            latency: Duration::ZERO,
            unserved: Vec::new(),
            down: false,
        };
        let shared = Arc::new(Shared {
            store: Mutex::new(Store::default()),
            changes: tokio::sync::watch::channel(0).0,
            settings: Mutex::new(settings),
            requests: Mutex::new(Vec::new()),
        });
        let (listener, port) = http::bind();
        let (shutdown, stop) = tokio::sync::oneshot::channel();
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let served = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime");
            let _ = handle_tx.send(runtime.handle().clone());
            runtime.block_on(http::serve(listener, served, stop));
            runtime.shutdown_background();
        });
        let runtime = handle_rx.recv().expect("the fake API server's runtime starts");
        let dir = tempfile::tempdir().expect("temporary directory");
        let kubeconfig = dir.path().join("kubeconfig");
        let kube = FakeKube { shared, port, dir, kubeconfig, runtime, shutdown: Some(shutdown), thread: Some(thread) };
        kube.write_kubeconfig(&kube.kubeconfig, TOKEN);
        for ns in ["kube-system", "flux-system", "default"] {
            kube.put(json!({ "apiVersion": "v1", "kind": "Namespace", "metadata": { "name": ns }, "spec": { "finalizers": ["kubernetes"] }, "status": { "phase": "Active" } }));
        }
        kube
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A kubeconfig (context `fake`, namespace `flux-system`) with the valid token.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kubeconfig carrying `token`, valid or not.
    pub fn kubeconfig_with_token(&self, token: &str) -> PathBuf {
        static WRITTEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = WRITTEN.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = self.dir.path().join(format!("kubeconfig-{n}"));
        self.write_kubeconfig(&path, token);
        path
    }

    fn write_kubeconfig(&self, path: &Path, token: &str) {
        let config = json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "fake",
            "clusters": [{ "name": "fake", "cluster": { "server": self.url() } }],
            "users": [{ "name": "fake", "user": { "token": token } }],
            "contexts": [{ "name": "fake", "context": { "cluster": "fake", "user": "fake", "namespace": "flux-system" } }],
        });
        std::fs::write(path, serde_json::to_vec_pretty(&config).expect("JSON")).expect("write kubeconfig");
    }

    /// A kube client configured from the kubeconfig, as nixflux builds one.
    /// Call it inside the test's tokio runtime.
    pub async fn client(&self) -> kube::Client {
        client_from(&self.kubeconfig).await
    }

    pub async fn client_with_token(&self, token: &str) -> kube::Client {
        client_from(&self.kubeconfig_with_token(token)).await
    }

    /// Another token the server accepts, as `user`.
    pub fn add_token(&self, token: &str, user: &str) {
        self.shared.settings().tokens.insert(token.to_owned(), user.to_owned());
    }

    /// Refuses requests matching `rule` with 403 Forbidden.
    pub fn deny(&self, rule: Rule) {
        self.shared.settings().deny.push(rule);
    }

    /// Allows only requests matching one of `rules` (403 for the rest).
    pub fn allow_only(&self, rules: Vec<Rule>) {
        self.shared.settings().allow_only = Some(rules);
    }

    pub fn set_bookmark_interval(&self, interval: Duration) {
        self.shared.settings().bookmark_interval = interval;
    }

    /// Answers every request this much later (a slow or distant API server).
    pub fn set_latency(&self, latency: Duration) {
        self.shared.settings().latency = latency;
    }

    /// Answers every request for `kind` with 404, as a cluster without its
    /// CRD does.
    pub fn unserve(&self, kind: &'static Kind) {
        self.shared.settings().unserved.push(kind);
    }

    /// Takes the server away (every request answered 503, open watches
    /// ended) or brings it back, its objects and history kept: an API
    /// server restart as clients see it.
    pub fn set_down(&self, down: bool) {
        self.shared.settings().down = down;
        self.shared.changes.send_modify(|_| {});
    }

    pub fn set_expired_as_http(&self, http: bool) {
        self.shared.settings().expired_as_http = http;
    }

    /// Compacts history: every resourceVersion seen so far is too old to
    /// watch from (410 Expired), and every open watch ends with that error,
    /// so a client must list again.
    pub fn expire_watches(&self) {
        self.shared.write(|s| {
            s.compact();
            s.expiry_epoch += 1;
        });
    }

    /// Compacts history without ending open watches.
    pub fn compact(&self) {
        self.shared.write(Store::compact);
    }

    pub fn resource_version(&self) -> u64 {
        self.shared.store().rv
    }

    /// Creates the object, or replaces it (status included) when it exists.
    /// Panics on an object of a kind the server does not serve.
    pub fn put(&self, object: Value) -> Value {
        let kind = kind_of(&object);
        let (ns, name) =
            (store::meta_str(&object, "namespace").to_owned(), store::meta_str(&object, "name").to_owned());
        self.shared.write(|s| {
            if s.get(kind, &ns, &name).is_none() {
                return s.create(kind, &ns, object).expect("create");
            }
            let mut main = object.clone();
            main["metadata"].as_object_mut().map(|m| m.remove("resourceVersion"));
            s.update(kind, &ns, &name, Part::Main, main.clone()).expect("update");
            s.update(kind, &ns, &name, Part::Status, main).expect("update status")
        })
    }

    pub fn get(&self, kind: &Kind, namespace: &str, name: &str) -> Option<Value> {
        self.shared.store().get(kind, namespace, name).cloned()
    }

    pub fn list(&self, kind: &Kind, namespace: Option<&str>) -> Vec<Value> {
        self.shared.store().list(kind, namespace)
    }

    /// Merge-patches the object (not its status), as a user would.
    pub fn patch(&self, kind: &'static Kind, namespace: &str, name: &str, patch: &Value) -> Value {
        self.shared.write(|s| s.patch(kind, namespace, name, Part::Main, patch)).expect("patch")
    }

    /// Merge-patches the object's status, as a controller would.
    pub fn patch_status(&self, kind: &'static Kind, namespace: &str, name: &str, patch: &Value) -> Value {
        self.shared.write(|s| s.patch(kind, namespace, name, Part::Status, patch)).expect("patch status")
    }

    pub fn delete(&self, kind: &'static Kind, namespace: &str, name: &str) -> Option<Value> {
        self.shared.write(|s| s.delete(kind, namespace, name)).ok()
    }

    /// The uid of a Namespace (`kube-system` binds a target to this cluster).
    pub fn namespace_uid(&self, name: &str) -> String {
        self.get(&NAMESPACE, "", name).map(|n| store::meta_str(&n, "uid").to_owned()).unwrap_or_default()
    }

    /// Waits until the object satisfies `ready` (polling every 5 ms).
    pub fn wait_for(
        &self,
        kind: &Kind,
        namespace: &str,
        name: &str,
        timeout: Duration,
        ready: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        poll(timeout, || self.get(kind, namespace, name).filter(|o| ready(o)))
    }

    /// Every request so far, in the order they were answered.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn clear_requests(&self) {
        if let Ok(mut r) = self.shared.requests.lock() {
            r.clear();
        }
    }

    /// Waits for a request matching `matches` (polling every 5 ms).
    pub fn wait_for_request(&self, timeout: Duration, matches: impl Fn(&Request) -> bool) -> Option<Request> {
        poll(timeout, || self.requests().into_iter().find(|r| matches(r)))
    }

    /// The runtime the server and its controllers run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        &self.runtime
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        if let Some(stop) = self.shutdown.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The served kind of an object, from its apiVersion and kind.
pub fn kind_of(object: &Value) -> &'static Kind {
    let api_version = object["apiVersion"].as_str().unwrap_or_default();
    let kind = object["kind"].as_str().unwrap_or_default();
    kinds::KINDS
        .iter()
        .copied()
        .find(|k| k.api_version() == api_version && k.kind == kind)
        .unwrap_or_else(|| panic!("the fake API server does not serve {api_version} {kind}"))
}
