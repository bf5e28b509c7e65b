//! What the notifier learns about one Flux object (or one app inside a
//! Kustomization's inventory), from whichever source saw it: a Flux event
//! posted to the receiver, or a status read through the Kubernetes API.
//! Every source turns what it saw into an [`Observation`]; the state machine
//! decides from a stream of them what people are told.

use std::fmt;
use std::time::SystemTime;

/// The object an observation is about: a Flux object, or an app (the
/// `app.kubernetes.io/name` label, or the namespace) inside one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    /// The Flux kind (`Kustomization`, `HelmRelease`, `Bucket`, ...).
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `Some` when the observation is about one app of a Kustomization.
    pub app: Option<String>,
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)?;
        if let Some(app) = &self.app {
            write!(f, " app {app}")?;
        }
        Ok(())
    }
}

/// How the subject stands, as its `Ready` condition (or a Flux event's
/// severity) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Readiness {
    /// `Ready=True`, or an `info` event reporting success.
    Ready,
    /// `Ready=False`, or an `error` event.
    Failing,
    /// `Ready=Unknown` or a reconcile in progress: neither a failure nor a
    /// recovery.
    Progressing,
}

/// Where an observation came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// A Flux event POSTed to the receiver.
    Event,
    /// A status read or watched through the Kubernetes API.
    Watch,
}

/// One thing a source saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub subject: Subject,
    pub readiness: Readiness,
    /// The condition's or event's reason (`BuildFailed`, `HealthCheckFailed`, ...).
    pub reason: String,
    pub message: String,
    /// The revision Flux names (`sha256:…`, `main@sha1:…`), when it names one.
    pub revision: Option<String>,
    /// When the source says it happened (the event's timestamp, the
    /// condition's `lastTransitionTime`), else when it was seen.
    pub at: SystemTime,
    pub source: Source,
}
