//! The notifier's HTTP listeners: `/metrics`, `/healthz` and `/readyz` on
//! the main socket, and the Flux event receiver at its path, on the main
//! socket or a socket of its own. HTTP/1.1, keep-alive, a header read
//! timeout and a bound on open connections.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use super::metrics::{Metrics, Rejection};
use super::receiver::{answer, Answer, Receiver};

const MAX_CONNECTIONS: usize = 1024;

/// What one socket serves.
pub struct Routes {
    /// `/metrics`, `/healthz`, `/readyz`.
    pub metrics: Option<Arc<Metrics>>,
    /// The receiver and its path.
    pub receiver: Option<(String, Arc<Receiver>)>,
    /// Counts requests to unknown paths.
    pub counts: Arc<Metrics>,
}

impl Routes {
    async fn route(&self, request: Request<Incoming>) -> Answer {
        let path = request.uri().path().to_owned();
        if let Some((at, receiver)) = &self.receiver {
            if &path == at {
                return receiver.handle(request).await;
            }
        }
        if let Some(m) = &self.metrics {
            let get = matches!(*request.method(), Method::GET | Method::HEAD);
            match path.as_str() {
                "/metrics" if get => {
                    let mut r = answer(StatusCode::OK, "");
                    *r.body_mut() = http_body_util::Full::new(m.render().into());
                    r.headers_mut().insert(
                        "content-type",
                        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                    );
                    return r;
                }
                "/healthz" if get => return answer(StatusCode::OK, "ok"),
                "/readyz" if get => {
                    return if m.ready.load(Ordering::Relaxed) {
                        answer(StatusCode::OK, "ready")
                    } else {
                        answer(StatusCode::SERVICE_UNAVAILABLE, "starting")
                    };
                }
                _ => {}
            }
        }
        self.counts.reject(Rejection::NotFound);
        answer(StatusCode::NOT_FOUND, "not found")
    }
}

/// Binds `addr` (port 0 picks one); the bound address is the listener's.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, routes: Arc<Routes>, mut stop: watch::Receiver<bool>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = permits.clone().acquire_owned().await else { return };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let (stream, _) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "accepting a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let routes = routes.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let routes = routes.clone();
                async move { Ok::<_, std::convert::Infallible>(routes.route(req).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
}
