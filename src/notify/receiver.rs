//! The receiver of Flux's `generic` and `generic-hmac` Providers: one POST
//! per event. With a key configured the body must carry
//! `X-Signature: sha256=<hex HMAC-SHA256(body, key)>`, checked in constant
//! time (401 otherwise). The body is read up to `max_body` bytes and no
//! further (413). A body that is not JSON, or not a Flux event, is a 400.
//! An accepted event is queued for the state machine and answered 202 at
//! once; a full queue is a 503 with `Retry-After` (Flux retries).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use sha2::Sha256;
use tokio::sync::mpsc;

use super::event::FluxEvent;
use super::metrics::{Metrics, Rejection};
use super::observation::Observation;

pub struct Receiver {
    pub key: Option<Vec<u8>>,
    pub max_body: usize,
    pub queue: mpsc::Sender<Observation>,
    pub metrics: Arc<Metrics>,
}

pub type Answer = Response<Full<Bytes>>;

/// A plain-text answer.
pub fn answer(status: StatusCode, text: &str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *r.status_mut() = status;
    r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Whether `header` is the right `sha256=<hex>` signature of `body`.
pub fn signature_ok(key: &[u8], body: &[u8], header: &[u8]) -> bool {
    let Some(hex) = header.strip_prefix(b"sha256=") else { return false };
    let Some(given) = decode_hex(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(hex: &[u8]) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16);
    hex.chunks(2).map(|p| Some((digit(p[0])? * 16 + digit(p[1])?) as u8)).collect()
}

impl Receiver {
    pub async fn handle(&self, request: Request<Incoming>) -> Answer {
        match self.take(request).await {
            Ok(()) => {
                self.metrics.events_accepted.fetch_add(1, Ordering::Relaxed);
                answer(StatusCode::ACCEPTED, "accepted")
            }
            Err((why, response)) => {
                self.metrics.reject(why);
                tracing::debug!(reason = why.as_str(), status = %response.status(), "event refused");
                response
            }
        }
    }

    async fn take(&self, request: Request<Incoming>) -> Result<(), (Rejection, Answer)> {
        if request.method() != Method::POST {
            let mut r = answer(StatusCode::METHOD_NOT_ALLOWED, "POST a Flux event here");
            r.headers_mut().insert("allow", hyper::header::HeaderValue::from_static("POST"));
            return Err((Rejection::Method, r));
        }
        let too_large = || {
            (
                Rejection::TooLarge,
                answer(StatusCode::PAYLOAD_TOO_LARGE, &format!("the body is larger than {} bytes", self.max_body)),
            )
        };
        let declared = request
            .headers()
            .get(hyper::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > self.max_body as u64) {
            return Err(too_large());
        }
        let signature = request.headers().get("x-signature").map(|v| v.as_bytes().to_vec());
        let body = match Limited::new(request.into_body(), self.max_body).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return Err(too_large()),
            Err(e) => {
                return Err((Rejection::Malformed, answer(StatusCode::BAD_REQUEST, &format!("reading the body: {e}"))))
            }
        };
        if let Some(key) = &self.key {
            let ok = signature.as_deref().is_some_and(|s| signature_ok(key, &body, s));
            if !ok {
                let why = if signature.is_none() { "missing X-Signature" } else { "wrong X-Signature" };
                return Err((Rejection::Signature, answer(StatusCode::UNAUTHORIZED, why)));
            }
        }
        let mut de = serde_json::Deserializer::from_slice(&body);
        let parsed = serde_path_to_error::deserialize::<_, FluxEvent>(&mut de);
        let event = match parsed {
            Ok(e) => match de.end() {
                Ok(()) => e,
                Err(e) => {
                    return Err((Rejection::Malformed, answer(StatusCode::BAD_REQUEST, &format!("not JSON: {e}"))))
                }
            },
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                return Err(if inner.is_data() {
                    (
                        Rejection::NotAnEvent,
                        answer(StatusCode::BAD_REQUEST, &format!("not a Flux event: `{path}`: {inner}")),
                    )
                } else {
                    (Rejection::Malformed, answer(StatusCode::BAD_REQUEST, &format!("not JSON: {inner}")))
                });
            }
        };
        let observation = event.observation();
        tracing::debug!(subject = %observation.subject, reason = %observation.reason, "event");
        match self.queue.try_send(observation) {
            Ok(()) => Ok(()),
            Err(_) => {
                let mut r = answer(StatusCode::SERVICE_UNAVAILABLE, "the event queue is full; retry later");
                r.headers_mut().insert("retry-after", hyper::header::HeaderValue::from_static("1"));
                Err((Rejection::QueueFull, r))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_checked() {
        let good = crate::flux::trigger::signature(b"body", b"key");
        assert!(signature_ok(b"key", b"body", good.as_bytes()));
        assert!(!signature_ok(b"key", b"bodY", good.as_bytes()));
        assert!(!signature_ok(b"kez", b"body", good.as_bytes()));
        assert!(!signature_ok(b"key", b"body", good.replace("sha256=", "sha1=").as_bytes()));
        assert!(!signature_ok(b"key", b"body", b"sha256=zz"));
        assert!(!signature_ok(b"key", b"body", b"sha256=abc"));
    }
}
