//! Starting a notifier in the test process from a TOML snippet, posting
//! Flux events to it, and waiting for things.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use nixflux::notify::clock::Clock;
use nixflux::notify::{Config, Daemon, StartOptions};

pub struct Running {
    pub daemon: Daemon,
}

impl Running {
    pub fn addr(&self) -> SocketAddr {
        self.daemon.receiver_addr.or(self.daemon.http_addr).unwrap()
    }
}

/// The config: `state_file` in `dir`, an `[http]` on port 0, then `rest`.
pub fn config(dir: &Path, http: &str, rest: &str) -> Config {
    let text = format!(
        "state_file = \"{}\"\n{rest}\n[http]\nlisten = \"127.0.0.1:0\"\n{http}\n",
        dir.join("state.json").display()
    );
    let text = move_tables_last(&text);
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// TOML wants top-level keys before tables: puts `[http]` right after the keys.
fn move_tables_last(text: &str) -> String {
    let (mut keys, mut http, mut tables) = (String::new(), String::new(), String::new());
    let mut section = 0;
    for line in text.lines() {
        let t = line.trim();
        if t == "[http]" {
            section = 1;
        } else if t.starts_with('[') {
            section = 2;
        }
        let out = match section {
            0 => &mut keys,
            1 => &mut http,
            _ => &mut tables,
        };
        out.push_str(line);
        out.push('\n');
    }
    format!("{keys}{http}{tables}")
}

pub async fn start(dir: &Path, http: &str, rest: &str) -> Running {
    start_with(dir, http, rest, None).await
}

pub async fn start_with(dir: &Path, http: &str, rest: &str, clock: Option<Arc<dyn Clock>>) -> Running {
    let config = config(dir, http, rest);
    let mut options = StartOptions { backoff: Duration::from_millis(50), ..StartOptions::default() };
    if let Some(c) = clock {
        options.clock = c;
    }
    let daemon = Daemon::start(&config, options).await.unwrap();
    Running { daemon }
}

/// A Flux event as notification-controller's generic provider posts it.
pub fn event(kind: &str, name: &str, severity: &str, reason: &str, revision: &str) -> String {
    let group = match kind {
        "Kustomization" => "kustomize",
        "HelmRelease" => "helm",
        _ => "source",
    };
    serde_json::json!({
        "involvedObject": {
            "kind": kind, "namespace": "flux-system", "name": name,
            "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632",
            "apiVersion": format!("{group}.toolkit.fluxcd.io/v1"), "resourceVersion": "12345"
        },
        "severity": severity,
        "timestamp": jiff::Timestamp::now().round(jiff::Unit::Second).unwrap().to_string(),
        "message": format!("{reason} for {name}"),
        "reason": reason,
        "metadata": { format!("{group}.toolkit.fluxcd.io/revision"): revision },
        "reportingController": format!("{group}-controller"),
        "reportingInstance": format!("{group}-controller-7f5d6cf6f8-2tgkz")
    })
    .to_string()
}

pub fn failing(name: &str) -> String {
    event("Kustomization", name, "error", "HealthCheckFailed", "sha256:aaaa")
}

pub fn ready(name: &str) -> String {
    event("Kustomization", name, "info", "ReconciliationSucceeded", "sha256:bbbb")
}

pub type Client = hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

pub fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http()
}

/// POSTs `body` (signed with `key` when given); the status and the answer.
pub async fn post(
    client: &Client,
    addr: SocketAddr,
    path: &str,
    body: &str,
    signature: Option<String>,
) -> (u16, hyper::HeaderMap, String) {
    let mut request = hyper::Request::post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .header("gotk-component", "kustomize-controller");
    if let Some(s) = signature {
        request = request.header("x-signature", s);
    }
    let response = client.request(request.body(Full::new(Bytes::from(body.to_owned()))).unwrap()).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    (status, headers, text)
}

pub async fn get(client: &Client, addr: SocketAddr, path: &str) -> (u16, String) {
    let response = client.get(format!("http://{addr}{path}").parse().unwrap()).await.unwrap();
    let status = response.status().as_u16();
    (status, String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned())
}

pub fn sign(body: &str, key: &str) -> String {
    nixflux::flux::trigger::signature(body.as_bytes(), key.as_bytes())
}

/// Waits until `f` holds, or panics after `within`.
pub async fn until(within: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !f() {
        assert!(tokio::time::Instant::now() < deadline, "not within {within:?}: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
