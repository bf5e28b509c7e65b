//! A stand-in for notification-controller's webhook receiver
//! (`internal/server/receiver_handlers.go`), on its own port as the real
//! one is (not part of the API server). A Receiver is a real object in the
//! fake API server with `status.webhookPath` = `/hook/` + hex
//! sha256(token + name + namespace) and Ready=True, as the receiver
//! controller writes it. A request is looked up by its exact request URI
//! (404 when no Receiver has it), refused with 503 when the Receiver is
//! suspended or not ready, 413 above 3 MiB, 400 when a `generic-hmac`
//! `X-Signature` (`sha256=` or `sha512=` hex HMAC of the body with the
//! token) does not verify; otherwise every resource of the Receiver gets
//! `reconcile.fluxcd.io/requestedAt` set to the time in Go's
//! `time.Time.String()` form (200, or 500 when one is missing).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::Mac;
use serde_json::{json, Value};

use super::controller::REQUESTED_AT;
use super::http::{full, recorded, Response};
use super::kinds::{KINDS, RECEIVER};
use super::store::{now_rfc3339, Part};
use super::{FakeKube, Request, Shared};

const MAX_BODY: usize = 3 * 1024 * 1024;

/// One Receiver: `kind` is `generic-hmac` or `generic`; `resources` are
/// (kind, name) pairs in the Receiver's namespace, e.g. ("Bucket", "home").
#[derive(Debug, Clone)]
pub struct Hook {
    pub namespace: String,
    pub name: String,
    pub token: String,
    pub kind: String,
    pub resources: Vec<(String, String)>,
}

impl Hook {
    pub fn hmac(namespace: &str, name: &str, token: &str, resources: &[(&str, &str)]) -> Hook {
        Hook {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            token: token.to_owned(),
            kind: "generic-hmac".to_owned(),
            resources: resources.iter().map(|(k, n)| ((*k).to_owned(), (*n).to_owned())).collect(),
        }
    }
}

impl Hook {
    /// A `generic` Receiver: no signature, the path is the only secret.
    pub fn generic(namespace: &str, name: &str, token: &str, resources: &[(&str, &str)]) -> Hook {
        Hook { kind: "generic".to_owned(), ..Hook::hmac(namespace, name, token, resources) }
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `/hook/<hex sha256(token + name + namespace)>`, as `Receiver.GetWebhookPath`.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    use sha2::Digest;
    format!("/hook/{}", hex(&sha2::Sha256::digest(format!("{token}{name}{namespace}").as_bytes())))
}

/// The `X-Signature` value a `generic-hmac` sender puts on `body`.
pub fn sign(body: &[u8], token: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    format!("sha256={}", hex(&mac.finalize().into_bytes()))
}

fn verify(signature: &str, body: &[u8], token: &str) -> Result<(), String> {
    if signature.is_empty() {
        return Err("missing signature".to_owned());
    }
    let (kind, value) = signature.split_once('=').ok_or_else(|| format!("error parsing signature {signature:?}"))?;
    let bytes: Option<Vec<u8>> = (value.len() % 2 == 0)
        .then(|| (0..value.len()).step_by(2).map(|i| u8::from_str_radix(value.get(i..i + 2)?, 16).ok()).collect())
        .flatten();
    let bytes = bytes.ok_or_else(|| format!("error decoding signature {signature:?}"))?;
    let ok = match kind {
        "sha256" => {
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).expect("any key");
            mac.update(body);
            mac.verify_slice(&bytes).is_ok()
        }
        "sha512" => {
            let mut mac = hmac::Hmac::<sha2::Sha512>::new_from_slice(token.as_bytes()).expect("any key");
            mac.update(body);
            mac.verify_slice(&bytes).is_ok()
        }
        _ => return Err(format!("unknown hash type prefix: {kind:?}")),
    };
    ok.then_some(()).ok_or_else(|| "payload signature check failed".to_owned())
}

/// Go's `time.Time.String()` of now, with the monotonic reading that
/// `metav1.Now().String()` carries.
fn go_now(started: Instant) -> String {
    let now = jiff::Timestamp::now();
    let nanos = format!("{:09}", now.subsec_nanosecond());
    let nanos = nanos.trim_end_matches('0');
    let seconds = jiff::Timestamp::from_second(now.as_second()).unwrap_or(now).strftime("%Y-%m-%d %H:%M:%S");
    let fraction = if nanos.is_empty() { String::new() } else { format!(".{nanos}") };
    let mono = started.elapsed();
    format!("{seconds}{fraction} +0000 UTC m=+{}.{:09}", mono.as_secs(), mono.subsec_nanos())
}

pub struct FakeReceiver {
    port: u16,
    tokens: Arc<Mutex<Vec<Hook>>>,
    requests: Arc<Mutex<Vec<Request>>>,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl FakeReceiver {
    /// Starts a receiver server beside `kube`, annotating objects in it.
    pub fn start(kube: &FakeKube) -> FakeReceiver {
        let (listener, port) = super::http::bind();
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let tokens = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (shared, t, r, started) = (kube.shared().clone(), tokens.clone(), requests.clone(), Instant::now());
        kube.runtime().spawn(super::http::serve_with(listener, stopped, move |req| {
            let (shared, t, r) = (shared.clone(), t.clone(), r.clone());
            async move { recorded(&r, req, |req| async move { handle(&shared, &t, &req, started) }).await }
        }));
        FakeReceiver { port, tokens, requests, shared: kube.shared().clone(), stop: Some(stop) }
    }

    /// Creates the Receiver object (with its webhook path and Ready=True)
    /// and returns the URL a sender POSTs to.
    pub fn add(&self, hook: Hook) -> String {
        let path = webhook_path(&hook.token, &hook.name, &hook.namespace);
        let resources: Vec<Value> = hook
            .resources
            .iter()
            .map(|(kind, name)| {
                let api_version = KINDS.iter().find(|k| k.kind == kind).map(|k| k.api_version()).unwrap_or_default();
                json!({ "apiVersion": api_version, "kind": kind, "name": name })
            })
            .collect();
        let receiver = json!({
            "apiVersion": RECEIVER.api_version(), "kind": RECEIVER.kind,
            "metadata": { "name": hook.name, "namespace": hook.namespace },
            "spec": { "type": hook.kind, "resources": resources, "secretRef": { "name": format!("{}-token", hook.name) } },
            "status": {
                "webhookPath": path, "observedGeneration": 1,
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Succeeded", "observedGeneration": 1,
                    "message": format!("Receiver initialized for path: {path}"), "lastTransitionTime": now_rfc3339(),
                }],
            },
        });
        self.shared.write(|s| s.create(&RECEIVER, &hook.namespace, receiver)).expect("create Receiver");
        if let Ok(mut t) = self.tokens.lock() {
            t.push(hook);
        }
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn wait_for_request(&self, timeout: Duration, matches: impl Fn(&Request) -> bool) -> Option<Request> {
        super::poll(timeout, || self.requests().into_iter().find(|r| matches(r)))
    }
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn handle(shared: &Shared, hooks: &Mutex<Vec<Hook>>, req: &Request, started: Instant) -> Response {
    let uri = match req.query.is_empty() {
        true => req.path.clone(),
        false => format!("{}?", req.path),
    };
    let empty = |code| full(code, "text/plain; charset=utf-8", "");
    if !uri.starts_with("/hook/") {
        return full(404, "text/plain; charset=utf-8", "404 page not found\n");
    }
    if req.body.len() > MAX_BODY {
        return empty(413);
    }
    let receiver =
        shared.store().list(&RECEIVER, None).into_iter().find(|r| r["status"]["webhookPath"] == uri.as_str());
    let Some(receiver) = receiver else { return empty(404) };
    let ready = receiver["status"]["conditions"]
        .as_array()
        .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
    if receiver["spec"]["suspend"] == true || !ready {
        return empty(503);
    }
    let (ns, name) = (
        receiver["metadata"]["namespace"].as_str().unwrap_or_default(),
        receiver["metadata"]["name"].as_str().unwrap_or_default(),
    );
    let token =
        hooks.lock().ok().and_then(|h| h.iter().find(|h| h.namespace == ns && h.name == name).map(|h| h.token.clone()));
    match receiver["spec"]["type"].as_str() {
        Some("generic") => {}
        Some("generic-hmac") => {
            let signature = req.headers.get("x-signature").map(String::as_str).unwrap_or_default();
            if verify(signature, &req.body, &token.unwrap_or_default()).is_err() {
                return empty(400);
            }
        }
        _ => return empty(400),
    }
    let mut failed = false;
    for resource in receiver["spec"]["resources"].as_array().cloned().unwrap_or_default() {
        let kind = KINDS.iter().copied().find(|k| resource["kind"] == k.kind && k.namespaced);
        let target_ns = resource["namespace"].as_str().unwrap_or(ns);
        let patch = json!({ "metadata": { "annotations": { REQUESTED_AT: go_now(started) } } });
        let done = kind.map(|k| {
            shared.write(|s| s.patch(k, target_ns, resource["name"].as_str().unwrap_or_default(), Part::Main, &patch))
        });
        failed |= !matches!(done, Some(Ok(_)));
    }
    empty(if failed { 500 } else { 200 })
}
