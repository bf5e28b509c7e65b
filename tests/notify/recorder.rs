//! In-test HTTP servers standing in for a webhook, ntfy or Gotify: they
//! record every request and answer as told (a status, after a delay).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

#[derive(Clone)]
pub struct Recorder {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Recorder {
    /// Answers 200 at once.
    pub async fn start() -> Recorder {
        Recorder::answering(200, Duration::ZERO).await
    }

    pub async fn answering(status: u16, delay: Duration) -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<Request>>> = Arc::default();
        let recorded = requests.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let recorded = recorded.clone();
                        async move {
                            let method = req.method().to_string();
                            let path = req.uri().path().to_owned();
                            let headers = req
                                .headers()
                                .iter()
                                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                                .collect();
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            tokio::time::sleep(delay).await;
                            recorded.lock().unwrap().push(Request { method, path, headers, body });
                            let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"{}")));
                            *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Recorder { addr, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn taken(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// Waits until at least `n` requests came, or panics after `within`.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Request> {
        let deadline = tokio::time::Instant::now() + within;
        while self.len() < n {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} requests within {within:?}, want {n}: {:?}",
                self.len(),
                self.taken()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        self.taken()
    }
}
