//! The event a Flux `generic` or `generic-hmac` Provider POSTs (the shape
//! of `fluxcd/pkg` `apis/event` `Event`), and what it says about the object
//! as an [`Observation`]:
//!
//! - severity `error` → failing;
//! - severity `info` with a reason that reports success
//!   (`ReconciliationSucceeded`, `Succeeded`, `ArtifactUpToDate`,
//!   `NewArtifact`, any `…Succeeded` such as Helm's `UpgradeSucceeded`) → ready;
//! - any other `info` (`Progressing`, `DependencyNotReady`, ...) and every
//!   `trace` → progressing (neither a failure nor a recovery);
//! - the revision is the value of the first `<group>.toolkit.fluxcd.io/revision`
//!   metadata key (sorted), else `revision`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::Deserialize;

use super::observation::{Observation, Readiness, Source, Subject};

/// `involvedObject`: a Kubernetes `ObjectReference`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvolvedObject {
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub uid: Option<String>,
    #[serde(default)]
    pub api_version: Option<String>,
    #[serde(default)]
    pub resource_version: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventSeverity {
    Info,
    Error,
    Trace,
}

/// A Flux event. Fields Flux may add later are ignored, not refused: the
/// sender is Flux, not a user.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxEvent {
    pub involved_object: InvolvedObject,
    pub severity: EventSeverity,
    #[serde(deserialize_with = "rfc3339")]
    pub timestamp: jiff::Timestamp,
    pub message: String,
    pub reason: String,
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    pub reporting_controller: String,
    #[serde(default)]
    pub reporting_instance: Option<String>,
}

fn rfc3339<'de, D: serde::Deserializer<'de>>(d: D) -> Result<jiff::Timestamp, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|e| serde::de::Error::custom(format!("`{s}` is not an RFC 3339 time: {e}")))
}

/// Reasons of `info` events that mean the object is ready.
const SUCCESS_REASONS: &[&str] = &["ReconciliationSucceeded", "Succeeded", "ArtifactUpToDate", "NewArtifact"];

/// What an event says about readiness.
pub fn readiness(severity: EventSeverity, reason: &str) -> Readiness {
    match severity {
        EventSeverity::Error => Readiness::Failing,
        EventSeverity::Trace => Readiness::Progressing,
        EventSeverity::Info if SUCCESS_REASONS.contains(&reason) || reason.ends_with("Succeeded") => Readiness::Ready,
        EventSeverity::Info => Readiness::Progressing,
    }
}

impl FluxEvent {
    pub fn revision(&self) -> Option<String> {
        self.metadata
            .iter()
            .find(|(k, _)| k.ends_with(".toolkit.fluxcd.io/revision"))
            .or_else(|| self.metadata.get_key_value("revision"))
            .map(|(_, v)| v.clone())
    }

    pub fn observation(&self) -> Observation {
        let o = &self.involved_object;
        Observation {
            subject: Subject { kind: o.kind.clone(), namespace: o.namespace.clone(), name: o.name.clone(), app: None },
            readiness: readiness(self.severity, &self.reason),
            reason: self.reason.clone(),
            message: self.message.clone(),
            revision: self.revision(),
            at: SystemTime::from(self.timestamp),
            source: Source::Event,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kustomize_controller_error_event_is_a_failure() {
        let body = r#"{
          "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                             "name": "webapp", "namespace": "apps", "uid": "7d0cdc51-ddcf-4743-b223-83ca5c699632"},
          "metadata": {"kustomize.toolkit.fluxcd.io/revision": "main@sha1:731f7ead", "token": "x"},
          "severity": "error", "reason": "HealthCheckFailed",
          "message": "Health check failed after 2m0s: timeout waiting for: [Deployment/apps/webapp status: 'InProgress']",
          "reportingController": "kustomize-controller", "reportingInstance": "kustomize-controller-7f5d6cf6f8-2tgkz",
          "timestamp": "2022-10-28T07:26:19Z"
        }"#;
        let event: FluxEvent = serde_json::from_str(body).unwrap();
        let o = event.observation();
        assert_eq!(o.subject.to_string(), "Kustomization/apps/webapp");
        assert_eq!((o.readiness, o.reason.as_str()), (Readiness::Failing, "HealthCheckFailed"));
        assert_eq!(o.revision.as_deref(), Some("main@sha1:731f7ead"));
        assert_eq!(o.at, SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_666_941_979));
    }

    #[test]
    fn info_reasons_map_to_ready_or_progressing() {
        use EventSeverity::*;
        for (severity, reason, want) in [
            (Info, "ReconciliationSucceeded", Readiness::Ready),
            (Info, "ArtifactUpToDate", Readiness::Ready),
            (Info, "NewArtifact", Readiness::Ready),
            (Info, "UpgradeSucceeded", Readiness::Ready),
            (Info, "Progressing", Readiness::Progressing),
            (Info, "DependencyNotReady", Readiness::Progressing),
            (Trace, "ReconciliationSucceeded", Readiness::Progressing),
            (Error, "BuildFailed", Readiness::Failing),
        ] {
            assert_eq!(readiness(severity, reason), want, "{severity:?} {reason}");
        }
    }
}
