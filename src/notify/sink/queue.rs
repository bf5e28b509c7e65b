//! A sink's bounded queue: the state machine pushes without ever waiting;
//! when the sink falls behind and the queue is full, the oldest waiting
//! notification is dropped (and counted), so the newest state wins. It
//! also knows whether the worker still holds one it took (`in_flight`),
//! so a stop can wait for a delivery under way instead of cutting it off.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use tokio::sync::Notify;

use crate::notify::notification::Notification;

#[derive(Debug)]
pub struct SinkQueue {
    items: Mutex<VecDeque<Notification>>,
    capacity: usize,
    dropped: AtomicU64,
    in_flight: AtomicBool,
    ready: Notify,
}

impl SinkQueue {
    pub fn new(capacity: usize) -> SinkQueue {
        SinkQueue {
            items: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
            ready: Notify::new(),
        }
    }

    /// Appends `n`; never waits.
    pub fn push(&self, n: Notification) {
        {
            let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
            if items.len() >= self.capacity {
                items.pop_front();
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
            items.push_back(n);
        }
        self.ready.notify_one();
    }

    /// The oldest waiting notification, waiting for one if there is none;
    /// it is in flight until [`SinkQueue::finished`].
    pub async fn pop(&self) -> Notification {
        loop {
            let taken = {
                let mut items = self.items.lock().unwrap_or_else(|e| e.into_inner());
                let n = items.pop_front();
                if n.is_some() {
                    self.in_flight.store(true, Ordering::SeqCst);
                }
                n
            };
            if let Some(n) = taken {
                return n;
            }
            self.ready.notified().await;
        }
    }

    /// The worker is done with what it took last (delivered or given up).
    pub fn finished(&self) {
        self.in_flight.store(false, Ordering::SeqCst);
    }

    /// Nothing waiting and nothing in flight.
    pub fn is_idle(&self) -> bool {
        let items = self.items.lock().unwrap_or_else(|e| e.into_inner());
        items.is_empty() && !self.in_flight.load(Ordering::SeqCst)
    }

    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::notification::{sample, Severity};
    use crate::notify::observation::Subject;

    fn n(name: &str) -> Notification {
        let subject = Subject { kind: "Bucket".into(), namespace: "ns".into(), name: name.into(), app: None };
        Notification { subject, ..sample(Severity::Failure) }
    }

    #[tokio::test]
    async fn a_full_queue_drops_the_oldest_and_counts_it() {
        let q = SinkQueue::new(2);
        for name in ["a", "b", "c"] {
            q.push(n(name));
        }
        assert_eq!((q.len(), q.dropped()), (2, 1));
        assert_eq!(q.pop().await.subject.name, "b");
        assert_eq!(q.pop().await.subject.name, "c");
        assert!(q.is_empty() && !q.is_idle(), "the last one taken is in flight");
        q.finished();
        assert!(q.is_idle());
    }
}
