//! Where notifications go. Each configured sink has its own filter, its
//! own bounded queue and its own worker task, which delivers one
//! notification at a time with retries and exponential backoff (from 1 s,
//! doubling, at most 1 min) so that a dead or slow sink delays nobody but
//! itself. A delivery the sink accepted is never repeated: only failures
//! before acceptance are retried (see `http.rs`, `exec.rs`).

pub mod device;
pub mod error;
pub mod exec;
pub mod gotify;
pub mod http;
pub mod ntfy;
pub mod queue;
pub mod slack;
pub mod webhook;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::metrics::SinkMetrics;
use super::notification::Notification;
use super::sink_config::{Filter, SinkConfig, SinkKind};
use crate::flux::trigger::HttpClient;
use error::DeliveryError;
pub use error::{read_secret, SinkError};
use queue::SinkQueue;

/// One sink's way of delivering.
pub enum Sink {
    Webhook(webhook::Webhook),
    Ntfy(ntfy::Ntfy),
    Gotify(gotify::Gotify),
    Slack(slack::Slack),
    Exec(exec::Exec),
    Device(device::Device),
}

impl Sink {
    pub fn from_config(c: &SinkConfig, client: &HttpClient) -> Result<Sink, SinkError> {
        let url = c.url.clone().unwrap_or_default();
        let token = |field| c.token_file.as_deref().map(|p| read_secret(&c.name, field, p)).transpose();
        Ok(match c.kind {
            SinkKind::Webhook => Sink::Webhook(webhook::Webhook { client: client.clone(), url }),
            SinkKind::Slack => Sink::Slack(slack::Slack { client: client.clone(), url }),
            SinkKind::Ntfy => Sink::Ntfy(ntfy::Ntfy {
                client: client.clone(),
                url,
                token: token("token_file")?,
                priority: c.priority.clone().unwrap_or_default(),
                tags: c.tags.clone().unwrap_or_default(),
            }),
            SinkKind::Gotify => Sink::Gotify(gotify::Gotify {
                client: client.clone(),
                url,
                token: token("token_file")?,
                priority: c.priority.clone().unwrap_or_default(),
            }),
            SinkKind::Exec => Sink::Exec(exec::Exec { name: c.name.clone(), argv: c.argv.clone().unwrap_or_default() }),
            SinkKind::Device => Sink::Device(device::Device::new(
                c.path.clone().unwrap_or_default(),
                c.failing_line.clone().unwrap_or_else(|| "red".into()),
                c.healthy_line.clone().unwrap_or_else(|| "green".into()),
            )),
        })
    }

    async fn deliver(&mut self, n: &Notification) -> Result<(), DeliveryError> {
        match self {
            Sink::Webhook(s) => s.deliver(n).await,
            Sink::Ntfy(s) => s.deliver(n).await,
            Sink::Gotify(s) => s.deliver(n).await,
            Sink::Slack(s) => s.deliver(n).await,
            Sink::Exec(s) => s.deliver(n).await,
            Sink::Device(s) => s.deliver(n).await,
        }
    }
}

/// What the engine holds of a sink: its filter and its queue.
#[derive(Clone)]
pub struct SinkHandle {
    pub filter: Filter,
    pub metrics: Arc<SinkMetrics>,
}

impl SinkHandle {
    /// Queues `n` when the filter takes it; never waits.
    pub fn offer(&self, n: &Notification) {
        if self.filter.matches(n) {
            self.metrics.queue.push(n.clone());
        }
    }
}

/// The delivery settings of a worker.
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    pub retries: u32,
    pub timeout: Duration,
    /// The first backoff; it doubles up to `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
}

impl Delivery {
    pub fn from_config(c: &SinkConfig) -> Delivery {
        Delivery {
            retries: c.retries,
            timeout: c.timeout,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Creates the handle and the queue of a sink; `run` is its worker.
pub fn handle(c: &SinkConfig) -> SinkHandle {
    let metrics = Arc::new(SinkMetrics {
        name: c.name.clone(),
        kind: c.kind.as_str(),
        delivered: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        queue: Arc::new(SinkQueue::new(c.queue)),
    });
    SinkHandle { filter: c.filter(), metrics }
}

/// The worker: takes notifications off the queue, one at a time, forever.
pub async fn run(mut sink: Sink, delivery: Delivery, metrics: Arc<SinkMetrics>) {
    use tracing::Instrument;
    loop {
        let n = metrics.queue.pop().await;
        let span = tracing::info_span!("deliver", sink = %metrics.name, subject = %n.subject, severity = %n.severity);
        deliver(&mut sink, &n, delivery, &metrics).instrument(span).await;
        metrics.queue.finished();
    }
}

/// Delivers `n`, retrying what may be retried.
async fn deliver(sink: &mut Sink, n: &Notification, delivery: Delivery, metrics: &SinkMetrics) {
    let mut backoff = delivery.backoff;
    let mut attempt = 0u32;
    loop {
        let result = match tokio::time::timeout(delivery.timeout, sink.deliver(n)).await {
            Ok(r) => r,
            Err(_) => Err(DeliveryError::retry(format!("no answer within {:?}", delivery.timeout))),
        };
        match result {
            Ok(()) => {
                metrics.delivered.fetch_add(1, Ordering::Relaxed);
                tracing::debug!("delivered");
                return;
            }
            Err(e) if e.retryable && attempt < delivery.retries => {
                attempt += 1;
                metrics.retries.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e.message, attempt, "delivery failed; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(delivery.max_backoff);
            }
            Err(e) => {
                metrics.failed.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e.message, attempts = attempt + 1, "delivery failed; giving up");
                return;
            }
        }
    }
}
