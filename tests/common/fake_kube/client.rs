//! Ways in for tests: a kube client from a kubeconfig (as nixflux builds
//! one), an `Api` for a served kind, and a raw HTTP/1.1 request for what the
//! kube client will not send.

use std::path::Path;
use std::time::Duration;

use super::kinds::Kind;

/// One HTTP/1.1 request over a fresh connection (`Connection: close`),
/// for what the kube client will not send (no token, a webhook POST).
/// Returns the status code and the body.
pub fn http_request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("send request");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |p| p + 4);
    let status =
        String::from_utf8_lossy(&response[..split]).split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, response[split..].to_vec())
}

pub async fn client_from(kubeconfig: &Path) -> kube::Client {
    let config = kube::config::Kubeconfig::read_from(kubeconfig).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(config, &kube::config::KubeConfigOptions::default())
        .await
        .expect("kubeconfig");
    kube::Client::try_from(config).expect("kube client")
}

/// An `Api` for a served kind: namespaced when `namespace` is given, all
/// namespaces (or cluster scope) otherwise.
pub fn api(client: &kube::Client, kind: &Kind, namespace: Option<&str>) -> kube::Api<kube::api::DynamicObject> {
    let resource = kind.api_resource();
    match namespace {
        Some(ns) => kube::Api::namespaced_with(client.clone(), ns, &resource),
        None => kube::Api::all_with(client.clone(), &resource),
    }
}
