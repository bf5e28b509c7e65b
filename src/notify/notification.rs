//! What the notifier tells people: a [`Notification`] about one subject
//! (a failure that outlasted the grace period, its recovery, a reminder
//! while it stays failing), and the one JSON shape ([`Event`]) that the
//! webhook and exec sinks deliver and the other sinks format from.

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::observation::Subject;
use crate::flux::duration::format_duration;

/// The kind of a notification, as sink filters and the JSON `type` name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Failure,
    Recovery,
    Reminder,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Failure, Severity::Recovery, Severity::Reminder];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Failure => "failure",
            Severity::Recovery => "recovery",
            Severity::Reminder => "reminder",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The nixflux generation behind a failing revision, when the failing
/// object reads a configured target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenerationInfo {
    /// The `[targets.<name>]` the generation was found in.
    pub target: String,
    pub number: u64,
    pub publisher: String,
    /// The bundle's store path, when the publisher recorded one.
    pub store_path: Option<String>,
    /// The bundle digest (`sha256:…`).
    pub bundle: String,
}

/// One thing worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub severity: Severity,
    pub subject: Subject,
    pub reason: String,
    pub message: String,
    pub revision: Option<String>,
    /// When the failure began.
    pub since: SystemTime,
    /// How long it was (recovery) or has been (reminder) failing.
    pub down_for: Option<Duration>,
    /// When the notifier decided to tell.
    pub at: SystemTime,
    pub generation: Option<GenerationInfo>,
}

/// The JSON a webhook receives and an exec sink reads on stdin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind_of_event: Severity,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub app: Option<String>,
    pub reason: String,
    pub message: String,
    pub revision: Option<String>,
    pub since: String,
    pub down_for: Option<String>,
    pub at: String,
    pub generation: Option<GenerationInfo>,
}

/// RFC 3339 in UTC, to the second (`2026-12-02T06:30:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    match jiff::Timestamp::try_from(t) {
        Ok(ts) => ts.round(jiff::Unit::Second).map(|t| t.to_string()).unwrap_or_else(|_| ts.to_string()),
        Err(_) => "1970-01-01T00:00:00Z".to_owned(),
    }
}

impl Notification {
    pub fn event(&self) -> Event {
        Event {
            kind_of_event: self.severity,
            kind: self.subject.kind.clone(),
            namespace: self.subject.namespace.clone(),
            name: self.subject.name.clone(),
            app: self.subject.app.clone(),
            reason: self.reason.clone(),
            message: self.message.clone(),
            revision: self.revision.clone(),
            since: rfc3339(self.since),
            down_for: self.down_for.map(format_duration),
            at: rfc3339(self.at),
            generation: self.generation.clone(),
        }
    }

    /// A one-line headline: `failing: Kustomization flux-system/apps (HealthCheckFailed)`.
    pub fn title(&self) -> String {
        let s = &self.subject;
        let what = match &s.app {
            Some(app) => format!("app {app} of {} {}/{}", s.kind, s.namespace, s.name),
            None => format!("{} {}/{}", s.kind, s.namespace, s.name),
        };
        match self.severity {
            Severity::Failure => format!("failing: {what} ({})", self.reason),
            Severity::Reminder => format!(
                "still failing after {}: {what} ({})",
                self.down_for.map(format_duration).unwrap_or_default(),
                self.reason
            ),
            Severity::Recovery => {
                format!("recovered after {}: {what}", self.down_for.map(format_duration).unwrap_or_default())
            }
        }
    }

    /// The body of a chat or push message: the title's details, one per line.
    pub fn text(&self) -> String {
        let mut lines = Vec::new();
        if !self.message.is_empty() && self.severity != Severity::Recovery {
            lines.push(self.message.clone());
        }
        if let Some(r) = &self.revision {
            lines.push(format!("revision: {r}"));
        }
        lines.push(format!("since: {}", rfc3339(self.since)));
        if let Some(g) = &self.generation {
            let from = g.store_path.as_deref().map(|p| format!(" from {p}")).unwrap_or_default();
            lines.push(format!("generation {} of target {}, published by {}{from}", g.number, g.target, g.publisher));
        }
        lines.join("\n")
    }
}

/// A notification for tests: `apps` failing its health check.
#[cfg(test)]
pub(crate) fn sample(severity: Severity) -> Notification {
    Notification {
        severity,
        subject: Subject {
            kind: "Kustomization".into(),
            namespace: "flux-system".into(),
            name: "apps".into(),
            app: None,
        },
        reason: "HealthCheckFailed".into(),
        message: "timeout waiting for: [Deployment/web/web status: 'InProgress']".into(),
        revision: Some("sha256:abc".into()),
        since: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        down_for: (severity != Severity::Failure).then_some(Duration::from_secs(3720)),
        at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_003_720),
        generation: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_json_has_the_documented_shape() {
        let json = serde_json::to_value(sample(Severity::Recovery).event()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "recovery", "kind": "Kustomization", "namespace": "flux-system", "name": "apps",
                "app": null, "reason": "HealthCheckFailed",
                "message": "timeout waiting for: [Deployment/web/web status: 'InProgress']",
                "revision": "sha256:abc", "since": "2027-01-15T08:00:00Z", "downFor": "1h2m0s",
                "at": "2027-01-15T09:02:00Z", "generation": null
            })
        );
    }

    #[test]
    fn titles_say_what_happened() {
        assert_eq!(sample(Severity::Failure).title(), "failing: Kustomization flux-system/apps (HealthCheckFailed)");
        assert_eq!(sample(Severity::Recovery).title(), "recovered after 1h2m0s: Kustomization flux-system/apps");
        assert!(sample(Severity::Reminder).title().starts_with("still failing after 1h2m0s"));
    }
}
