//! WATCH as the API server streams it: a chunked response of
//! newline-delimited `{"type":...,"object":...}` events. Without a
//! resourceVersion (or with "0") it starts with an `ADDED` event per
//! current object; with one it replays the history after it, or sends one
//! `ERROR` event with a 410 `Expired` Status when that version was
//! compacted away. Bookmarks come every bookmark interval when asked for;
//! the stream ends after `timeoutSeconds`, with 410 when the test
//! expires watches, and without a word when the server goes down.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame};
use serde_json::{json, Value};

use super::http::{error_response, selected, Response};
use super::kinds::Kind;
use super::store::{meta_str, ApiError};
use super::{Request, Shared};

/// A response body fed by a channel, one chunk per event.
struct ChannelBody(tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
    }
}

fn line(kind_of_event: &str, object: &Value) -> Bytes {
    let mut text = serde_json::to_vec(&json!({ "type": kind_of_event, "object": object })).expect("JSON");
    text.push(b'\n');
    Bytes::from(text)
}

pub fn watch(shared: Arc<Shared>, kind: &'static Kind, namespace: &str, req: &Request) -> Response {
    let query = req.query.clone();
    if let Err(e) = selected(&json!({}), &query) {
        return error_response(&e);
    }
    let from = query.get("resourceVersion").filter(|v| !v.is_empty() && *v != "0");
    let from = match from.map(|v| v.parse::<u64>()) {
        None => None,
        Some(Ok(v)) => Some(v),
        Some(Err(_)) => {
            let message = format!("invalid resource version: {}", from.map(String::as_str).unwrap_or_default());
            return error_response(&ApiError::new(400, "BadRequest", message));
        }
    };
    let (expired_as_http, bookmarks) = {
        let settings = shared.settings();
        (settings.expired_as_http, settings.bookmark_interval)
    };
    let oldest = shared.store().oldest;
    if let Some(rv) = from.filter(|rv| *rv < oldest) {
        if expired_as_http {
            return error_response(&ApiError::new(410, "Gone", format!("too old resource version: {rv} ({oldest})")));
        }
    }
    let bookmarks = query.get("allowWatchBookmarks").is_some_and(|b| b == "true" || b == "1").then_some(bookmarks);
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let namespace = namespace.to_owned();
    tokio::spawn(async move {
        let stream = Stream { shared, kind, namespace, query, tx };
        stream.run(from, bookmarks, timeout).await;
    });
    hyper::Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(ChannelBody(rx).boxed())
        .expect("valid response")
}

struct Stream {
    shared: Arc<Shared>,
    kind: &'static Kind,
    namespace: String,
    query: std::collections::BTreeMap<String, String>,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl Stream {
    fn wanted(&self, kind: &Kind, object: &Value) -> bool {
        kind == self.kind
            && (self.namespace.is_empty() || meta_str(object, "namespace") == self.namespace)
            && selected(object, &self.query).unwrap_or(false)
    }

    async fn send(&self, chunk: Bytes) -> bool {
        self.tx.send(chunk).await.is_ok()
    }

    async fn run(self, from: Option<u64>, bookmarks: Option<Duration>, timeout: Duration) {
        let mut changes = self.shared.changes.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        let start = {
            let store = self.shared.store();
            match from.filter(|rv| *rv < store.oldest) {
                Some(rv) => Err(ApiError::expired(rv, store.oldest).status()),
                None => {
                    let ns = (!self.namespace.is_empty()).then_some(self.namespace.as_str());
                    let initial = if from.is_some() { Vec::new() } else { store.list(self.kind, ns) };
                    Ok((store.expiry_epoch, from.unwrap_or(store.rv), initial))
                }
            }
        };
        let (epoch, mut last, initial) = match start {
            Ok(start) => start,
            Err(error) => {
                self.send(line("ERROR", &error)).await;
                return;
            }
        };
        for object in initial.iter().filter(|o| self.wanted(self.kind, o)) {
            if !self.send(line("ADDED", object)).await {
                return;
            }
        }
        let mut next_bookmark = bookmarks.map(|b| tokio::time::Instant::now() + b);
        loop {
            if self.shared.settings().down {
                return;
            }
            let (events, rv, expired) = {
                let store = self.shared.store();
                let events: Vec<_> =
                    store.history.iter().filter(|e| e.rv > last && self.wanted(e.kind, &e.object)).cloned().collect();
                (events, store.rv, (store.expiry_epoch != epoch).then_some(store.oldest))
            };
            for event in &events {
                if !self.send(line(event.kind_of_event, &event.object)).await {
                    return;
                }
            }
            last = last.max(rv);
            if let Some(oldest) = expired {
                self.send(line("ERROR", &ApiError::expired(last.saturating_sub(1), oldest).status())).await;
                return;
            }
            let bookmark_at = next_bookmark.unwrap_or(deadline + Duration::from_secs(1));
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = tokio::time::sleep_until(bookmark_at) => {
                    let bookmark = json!({
                        "kind": self.kind.kind, "apiVersion": self.kind.api_version(),
                        "metadata": { "resourceVersion": last.to_string() },
                    });
                    if !self.send(line("BOOKMARK", &bookmark)).await {
                        return;
                    }
                    next_bookmark = bookmarks.map(|b| tokio::time::Instant::now() + b);
                }
                _ = tokio::time::sleep_until(deadline) => return,
                _ = self.tx.closed() => return,
            }
        }
    }
}
