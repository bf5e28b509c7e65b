//! The notifier's loop: takes observations from every source off one
//! bounded queue, lets the state machine decide, wakes up when a grace
//! period or reminder falls due, writes the state file before anything it
//! decided is delivered (so a crash may lose a notification but never
//! repeats one), and hands notifications to the sinks' queues, which never
//! make it wait.

use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::clock::Clock;
use super::generation::Generations;
use super::metrics::Metrics;
use super::notification::Notification;
use super::observation::{Observation, Subject};
use super::sink::SinkHandle;
use super::state::Tracker;
use super::store::Store;

/// How many queued observations one turn of the loop takes at most.
const BATCH: usize = 1024;
/// How often state that told nobody anything is written.
const FLUSH: Duration = Duration::from_secs(1);
/// The longest sleep when nothing is due (time is re-read on waking).
const IDLE: Duration = Duration::from_secs(60);

pub struct Engine {
    pub tracker: Tracker,
    pub store: Store,
    pub sinks: Vec<SinkHandle>,
    pub metrics: Arc<Metrics>,
    pub clock: Arc<dyn Clock>,
    pub generations: Generations,
}

impl Engine {
    pub async fn run(mut self, mut queue: mpsc::Receiver<Observation>, mut stop: watch::Receiver<bool>) {
        for (subject, entry) in self.tracker.entries() {
            self.metrics.set_subject(subject, entry.phase, entry.changed);
        }
        let mut dirty = false;
        let mut flush = tokio::time::interval(FLUSH);
        flush.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            let now = self.clock.now();
            let sleep =
                self.tracker.next_due().map_or(IDLE, |due| due.duration_since(now).unwrap_or_default().min(IDLE));
            tokio::select! {
                n = queue.recv_many(&mut batch, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    self.metrics.event_queue.store(queue.len() as u64, Ordering::Relaxed);
                    dirty |= self.turn(&mut batch).await;
                }
                _ = tokio::time::sleep(sleep) => dirty |= self.turn(&mut batch).await,
                _ = flush.tick() => {
                    if dirty {
                        self.save();
                        dirty = false;
                    }
                }
                _ = stop.changed() => break,
            }
        }
        // What was queued before the stop is still taken in.
        while let Ok(o) = queue.try_recv() {
            batch.push(o);
        }
        self.turn(&mut batch).await;
        self.save();
    }

    /// Takes in `batch` (emptied) and what time made due; whether anything changed.
    async fn turn(&mut self, batch: &mut Vec<Observation>) -> bool {
        let now = self.clock.now();
        let mut told: Vec<Notification> = Vec::new();
        let mut touched: HashSet<Subject> = HashSet::new();
        let changed = !batch.is_empty();
        self.metrics.observations.fetch_add(batch.len() as u64, Ordering::Relaxed);
        for o in batch.drain(..) {
            told.extend(self.tracker.observe(&o, now));
            touched.insert(o.subject);
        }
        told.extend(self.tracker.tick(now));
        for n in &told {
            touched.insert(n.subject.clone());
        }
        for s in &touched {
            if let Some(e) = self.tracker.get(s) {
                self.metrics.set_subject(s, e.phase, e.changed);
            }
        }
        if told.is_empty() {
            return changed;
        }
        // Written before delivery: a restart never tells this again.
        self.save();
        for mut n in told {
            n.generation = self.generations.explain(&n).await;
            tracing::info!(subject = %n.subject, severity = %n.severity, reason = %n.reason, "{}", n.title());
            for sink in &self.sinks {
                sink.offer(&n);
            }
        }
        false
    }

    fn save(&self) {
        if let Err(e) = self.store.save(self.tracker.entries()) {
            tracing::error!(error = %e, "the state was not saved; a restart may repeat or miss notifications");
        }
    }
}
