//! The notifier's counters and gauges, and their Prometheus text
//! exposition (`/metrics`): readiness per object and per app, how many are
//! failing, events received and rejected by reason, deliveries, retries,
//! failures and drops per sink, queue depths, last transition times.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::observation::Subject;
use super::sink::queue::SinkQueue;
use super::state::Phase;

/// Why the receiver refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rejection {
    NotFound,
    Method,
    Signature,
    TooLarge,
    Malformed,
    NotAnEvent,
    QueueFull,
}

impl Rejection {
    const ALL: [Rejection; 7] = [
        Rejection::NotFound,
        Rejection::Method,
        Rejection::Signature,
        Rejection::TooLarge,
        Rejection::Malformed,
        Rejection::NotAnEvent,
        Rejection::QueueFull,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::Method => "method",
            Rejection::Signature => "signature",
            Rejection::TooLarge => "too_large",
            Rejection::Malformed => "malformed",
            Rejection::NotAnEvent => "not_an_event",
            Rejection::QueueFull => "queue_full",
        }
    }
}

/// One sink's counters.
#[derive(Debug)]
pub struct SinkMetrics {
    pub name: String,
    pub kind: &'static str,
    pub delivered: AtomicU64,
    pub retries: AtomicU64,
    pub failed: AtomicU64,
    pub queue: Arc<SinkQueue>,
}

#[derive(Debug, Clone, Copy)]
struct Gauge {
    phase: Phase,
    changed: SystemTime,
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    rejected: [AtomicU64; 7],
    pub observations: AtomicU64,
    pub ready: AtomicBool,
    subjects: Mutex<BTreeMap<Subject, Gauge>>,
    sinks: Mutex<Vec<Arc<SinkMetrics>>>,
    /// The event queue's depth, as the engine last saw it.
    pub event_queue: AtomicU64,
}

impl Metrics {
    pub fn reject(&self, why: Rejection) {
        self.rejected[why as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub fn rejected(&self, why: Rejection) -> u64 {
        self.rejected[why as usize].load(Ordering::Relaxed)
    }

    pub fn add_sink(&self, sink: Arc<SinkMetrics>) {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner()).push(sink);
    }

    pub fn set_subject(&self, subject: &Subject, phase: Phase, changed: SystemTime) {
        self.subjects.lock().unwrap_or_else(|e| e.into_inner()).insert(subject.clone(), Gauge { phase, changed });
    }

    /// The Prometheus text exposition format, version 0.0.4.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let subjects = self.subjects.lock().unwrap_or_else(|e| e.into_inner()).clone();
        help(&mut out, "nixflux_notify_ready", "gauge", "1 when the Flux object (or app) is ready, 0 while it fails");
        for app in [false, true] {
            for (s, g) in subjects.iter().filter(|(s, _)| s.app.is_some() == app) {
                let v = u8::from(g.phase == Phase::Ready);
                let _ = writeln!(out, "nixflux_notify_ready{{{}}} {v}", subject_labels(s));
            }
        }
        help(
            &mut out,
            "nixflux_notify_last_transition_timestamp_seconds",
            "gauge",
            "when the subject's state last changed",
        );
        for (s, g) in &subjects {
            let t = g.changed.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs_f64();
            let _ = writeln!(out, "nixflux_notify_last_transition_timestamp_seconds{{{}}} {t:.3}", subject_labels(s));
        }
        let count = |f: fn(&Phase) -> bool| subjects.values().filter(|g| f(&g.phase)).count();
        help(&mut out, "nixflux_notify_failing", "gauge", "subjects failing, by whether they were told yet");
        let _ = writeln!(
            out,
            "nixflux_notify_failing{{state=\"alerted\"}} {}",
            count(|p| matches!(p, Phase::Alerted { .. }))
        );
        let _ = writeln!(
            out,
            "nixflux_notify_failing{{state=\"pending\"}} {}",
            count(|p| matches!(p, Phase::Pending { .. }))
        );
        help(&mut out, "nixflux_notify_events_received_total", "counter", "Flux events accepted by the receiver");
        let _ = writeln!(out, "nixflux_notify_events_received_total {}", self.events_accepted.load(Ordering::Relaxed));
        help(&mut out, "nixflux_notify_events_rejected_total", "counter", "requests the receiver refused, by reason");
        for r in Rejection::ALL {
            let _ =
                writeln!(out, "nixflux_notify_events_rejected_total{{reason=\"{}\"}} {}", r.as_str(), self.rejected(r));
        }
        help(&mut out, "nixflux_notify_observations_total", "counter", "observations the state machine took in");
        let _ = writeln!(out, "nixflux_notify_observations_total {}", self.observations.load(Ordering::Relaxed));
        help(&mut out, "nixflux_notify_event_queue_depth", "gauge", "observations waiting for the state machine");
        let _ = writeln!(out, "nixflux_notify_event_queue_depth {}", self.event_queue.load(Ordering::Relaxed));
        let sinks = self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone();
        type Read = fn(&SinkMetrics) -> u64;
        let series: [(&str, &str, &str, Read); 5] = [
            ("nixflux_notify_sink_deliveries_total", "counter", "notifications the sink accepted", |s| {
                s.delivered.load(Ordering::Relaxed)
            }),
            ("nixflux_notify_sink_retries_total", "counter", "delivery attempts repeated after a failure", |s| {
                s.retries.load(Ordering::Relaxed)
            }),
            ("nixflux_notify_sink_failures_total", "counter", "notifications given up after the last retry", |s| {
                s.failed.load(Ordering::Relaxed)
            }),
            (
                "nixflux_notify_sink_dropped_total",
                "counter",
                "notifications dropped from a full queue (oldest first)",
                |s| s.queue.dropped(),
            ),
            ("nixflux_notify_sink_queue_depth", "gauge", "notifications waiting for the sink", |s| {
                s.queue.len() as u64
            }),
        ];
        for (name, kind, text, read) in series {
            help(&mut out, name, kind, text);
            for s in &sinks {
                let _ = writeln!(out, "{name}{{sink=\"{}\",kind=\"{}\"}} {}", escape(&s.name), s.kind, read(s));
            }
        }
        out
    }
}

fn help(out: &mut String, name: &str, kind: &str, text: &str) {
    let _ = writeln!(out, "# HELP {name} {text}\n# TYPE {name} {kind}");
}

fn subject_labels(s: &Subject) -> String {
    let mut l =
        format!("kind=\"{}\",namespace=\"{}\",name=\"{}\"", escape(&s.kind), escape(&s.namespace), escape(&s.name));
    if let Some(app) = &s.app {
        let _ = write!(l, ",app=\"{}\"", escape(app));
    }
    l
}

/// A label value: backslash, double quote and newline escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gauges_and_counters_render_as_prometheus_text() {
        let m = Metrics::default();
        let s =
            Subject { kind: "Kustomization".into(), namespace: "flux-system".into(), name: "a\"b".into(), app: None };
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        m.set_subject(&s, Phase::Pending { since: t }, t);
        m.reject(Rejection::Signature);
        let text = m.render();
        assert!(
            text.contains("nixflux_notify_ready{kind=\"Kustomization\",namespace=\"flux-system\",name=\"a\\\"b\"} 0\n"),
            "{text}"
        );
        assert!(text.contains("nixflux_notify_failing{state=\"pending\"} 1\n"));
        assert!(text.contains("nixflux_notify_events_rejected_total{reason=\"signature\"} 1\n"));
        assert!(text.contains("} 1.500\n"));
    }
}
