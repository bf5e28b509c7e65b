//! Putting the notifier together from its configuration: the state file
//! read back, the sinks and their workers, the HTTP listeners, the loop;
//! and taking it apart again (state written, sinks given time to drain).
//! Sources feed [`Daemon::observations`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::clock::{Clock, SystemClock};
use super::config::Config;
use super::engine::Engine;
use super::generation::Generations;
use super::metrics::{Metrics, SinkMetrics};
use super::observation::Observation;
use super::receiver::Receiver;
use super::server::{self, Routes};
use super::sink::{self, Delivery, Sink, SinkError};
use super::state::{Phase, Policy, Tracker};
use super::store::{Store, StoreError};

/// The event queue's size when there is no `[http]` (sources other than
/// the receiver wait when it is full, they are not refused).
const DEFAULT_QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("reading `http.hmac_key_file` `{path}`: {message}")]
    HmacKey { path: PathBuf, message: String },
    #[error("listening on `{addr}` (`{field}`): {source}")]
    Bind {
        addr: SocketAddr,
        field: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("setting up the HTTP client: {0}")]
    Client(String),
}

/// What tests change; the daemon uses the defaults.
pub struct StartOptions {
    pub clock: Arc<dyn Clock>,
    /// The first retry's backoff (then doubling, at most a minute).
    pub backoff: Duration,
}

impl Default for StartOptions {
    fn default() -> StartOptions {
        StartOptions { clock: Arc::new(SystemClock), backoff: Duration::from_secs(1) }
    }
}

/// The running notifier.
pub struct Daemon {
    /// Where `/metrics` (and the receiver, without `receiver_listen`) answers.
    pub http_addr: Option<SocketAddr>,
    /// Where the receiver answers when it has its own socket.
    pub receiver_addr: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    observations: mpsc::Sender<Observation>,
    stop: watch::Sender<bool>,
    engine: JoinHandle<()>,
    servers: Vec<JoinHandle<()>>,
    workers: Vec<(Arc<SinkMetrics>, JoinHandle<()>)>,
}

impl Daemon {
    pub async fn start(config: &Config, options: StartOptions) -> Result<Daemon, StartError> {
        let metrics = Arc::new(Metrics::default());
        let store = Store::new(config.state_file.clone().unwrap_or_else(|| PathBuf::from("state.json")));
        let entries = match store.load() {
            Ok(e) => e,
            Err(StoreError::Corrupt { path, source }) => {
                let aside = path.with_extension("json.corrupt");
                tracing::warn!(error = %source, "the state file `{}` is unreadable; starting afresh (kept as `{}`)", path.display(), aside.display());
                let _ = std::fs::rename(&path, &aside);
                Default::default()
            }
            Err(e) => return Err(e.into()),
        };
        let policy = Policy { grace: config.grace, reminder: config.reminder, cooldown: config.cooldown };
        let tracker = Tracker::with_entries(policy, entries);
        let client = crate::flux::trigger::http_client().map_err(|e| StartError::Client(e.to_string()))?;

        let mut handles = Vec::new();
        let mut workers = Vec::new();
        for c in &config.sinks {
            let mut sink = Sink::from_config(c, &client)?;
            let handle = sink::handle(c);
            if let Sink::Device(d) = &mut sink {
                // The device shows the state the notifier comes back with.
                let failing = tracker
                    .entries()
                    .iter()
                    .filter(|(s, e)| matches!(e.phase, Phase::Alerted { .. }) && handle.filter.matches_subject(s));
                d.set_failing(failing.map(|(s, _)| s.clone()));
                if let Err(e) = d.write_line().await {
                    tracing::warn!(sink = %c.name, error = %e.message, "the device is not there yet");
                }
            }
            metrics.add_sink(handle.metrics.clone());
            let delivery = Delivery { backoff: options.backoff, ..Delivery::from_config(c) };
            let task = tokio::spawn(sink::run(sink, delivery, handle.metrics.clone()));
            workers.push((handle.metrics.clone(), task));
            handles.push(handle);
        }

        let capacity = config.http.as_ref().map_or(DEFAULT_QUEUE, |h| h.queue);
        let (tx, rx) = mpsc::channel(capacity);
        let (stop, stop_rx) = watch::channel(false);
        let mut servers = Vec::new();
        let (mut http_addr, mut receiver_addr) = (None, None);
        if let Some(http) = &config.http {
            let key = match &http.hmac_key_file {
                Some(path) => Some(
                    sink::read_secret("http", "hmac_key_file", path)
                        .map_err(|e| StartError::HmacKey { path: path.clone(), message: e.to_string() })?
                        .into_bytes(),
                ),
                None => None,
            };
            let receiver =
                Arc::new(Receiver { key, max_body: http.max_body, queue: tx.clone(), metrics: metrics.clone() });
            let route = (http.receiver_path.clone(), receiver);
            let listener = server::bind(http.listen).await.map_err(|source| StartError::Bind {
                addr: http.listen,
                field: "http.listen",
                source,
            })?;
            http_addr = listener.local_addr().ok();
            let own_socket = match http.receiver_listen {
                Some(addr) => Some(server::bind(addr).await.map_err(|source| StartError::Bind {
                    addr,
                    field: "http.receiver_listen",
                    source,
                })?),
                None => None,
            };
            let main_routes = Routes {
                metrics: Some(metrics.clone()),
                receiver: own_socket.is_none().then(|| route.clone()),
                counts: metrics.clone(),
            };
            servers.push(tokio::spawn(server::serve(listener, Arc::new(main_routes), stop_rx.clone())));
            if let Some(listener) = own_socket {
                receiver_addr = listener.local_addr().ok();
                let routes = Routes { metrics: None, receiver: Some(route), counts: metrics.clone() };
                servers.push(tokio::spawn(server::serve(listener, Arc::new(routes), stop_rx.clone())));
            }
        }

        let engine = Engine {
            tracker,
            store,
            sinks: handles,
            metrics: metrics.clone(),
            clock: options.clock,
            generations: Generations::from_config(config),
        };
        let engine = tokio::spawn(engine.run(rx, stop_rx));
        metrics.ready.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(http = ?http_addr, receiver = ?receiver_addr, sinks = config.sinks.len(), "notifier started");
        Ok(Daemon { http_addr, receiver_addr, metrics, observations: tx, stop, engine, servers, workers })
    }

    /// Where sources send what they see. A source other than the receiver
    /// should `send(..).await` (waiting while the queue is full).
    pub fn observations(&self) -> mpsc::Sender<Observation> {
        self.observations.clone()
    }

    /// Stops listening, lets the loop take in what is queued and write the
    /// state, and gives the sinks up to `drain` to deliver what they hold
    /// (waiting and under way).
    pub async fn stop(self, drain: Duration) {
        let _ = self.stop.send(true);
        drop(self.observations);
        for s in self.servers {
            let _ = s.await;
        }
        let _ = self.engine.await;
        let deadline = tokio::time::Instant::now() + drain;
        for (m, task) in self.workers {
            // Waiting and in-flight deliveries both: one the loop told just
            // before the stop is already saved as told.
            while !m.queue.is_idle() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            task.abort();
        }
    }
}
