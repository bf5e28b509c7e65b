//! Reading a watched Flux object's status as an [`Observation`]: its
//! `Ready` condition (with `Reconciling` and `Stalled` beside it), the
//! revision it names, and when the condition last changed. Pure, so the
//! rules are tested as a table.
//!
//! Flux keeps `Reconciling=True` on a *failed* reconcile too, with reason
//! `ProgressingWithRetry` next to `Ready=False`; that is a failure, not
//! progress. Only a `Reconciling=True` with another reason (a reconcile
//! running now), a `Ready=Unknown` or a missing `Ready` is progress.

use std::time::SystemTime;

use kube::core::DynamicObject;
use serde_json::Value;

use super::kinds::FluxKind;
use crate::notify::{Observation, Readiness, Source, Subject};

/// The reason Flux gives `Reconciling` while it retries a failed reconcile.
pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";

/// The condition of `type_` in `status.conditions`.
fn condition<'a>(status: &'a Value, type_: &str) -> Option<&'a Value> {
    status["conditions"].as_array()?.iter().find(|c| c["type"].as_str() == Some(type_))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The subject of an object (no app).
pub fn subject(kind: FluxKind, object: &DynamicObject) -> Subject {
    Subject {
        kind: kind.kind().to_owned(),
        namespace: object.metadata.namespace.clone().unwrap_or_default(),
        name: object.metadata.name.clone().unwrap_or_default(),
        app: None,
    }
}

/// The revision the object last tried (`lastAttemptedRevision`), else the
/// one of its artifact (sources), else the one it last applied.
pub fn revision(status: &Value) -> Option<String> {
    ["lastAttemptedRevision", "lastAppliedRevision"]
        .iter()
        .map(|f| &status[f])
        .chain([&status["artifact"]["revision"]])
        .filter_map(Value::as_str)
        .find(|r| !r.is_empty())
        .map(str::to_owned)
}

/// The time a condition names, else `now`.
fn at(condition: Option<&Value>, now: SystemTime) -> SystemTime {
    condition
        .and_then(|c| c["lastTransitionTime"].as_str())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(now, SystemTime::from)
}

/// What the object's status says, as of `now` when it names no time.
pub fn observe(kind: FluxKind, object: &DynamicObject, now: SystemTime) -> Observation {
    let status = object.data.get("status").unwrap_or(&Value::Null);
    let ready = condition(status, "Ready");
    let reconciling = condition(status, "Reconciling")
        .filter(|c| c["status"] == "True" && c["reason"].as_str() != Some(PROGRESSING_WITH_RETRY));
    let stalled = condition(status, "Stalled").filter(|c| c["status"] == "True");
    let (readiness, shown) = match (stalled, reconciling, ready) {
        (Some(s), _, _) => (Readiness::Failing, Some(s)),
        (None, Some(r), _) => (Readiness::Progressing, Some(r)),
        (None, None, Some(c)) => match c["status"].as_str() {
            Some("True") => (Readiness::Ready, Some(c)),
            Some("False") => (Readiness::Failing, Some(c)),
            _ => (Readiness::Progressing, Some(c)),
        },
        (None, None, None) => (Readiness::Progressing, None),
    };
    let (reason, message) = match shown {
        Some(c) => (text(&c["reason"]), text(&c["message"])),
        None => ("NoReadyCondition".to_owned(), "the object has no Ready condition yet".to_owned()),
    };
    Observation {
        subject: subject(kind, object),
        readiness,
        reason,
        message,
        revision: revision(status),
        // The time of the Ready condition: when the object became what it is.
        at: at(ready.or(shown), now),
        source: Source::Watch,
    }
}

/// What the notifier is told when an object is gone (deleted, or absent
/// from a relist): it no longer fails, so a pending failure recovers.
pub fn deleted(subject: Subject, now: SystemTime) -> Observation {
    Observation {
        subject,
        readiness: Readiness::Ready,
        reason: "Deleted".to_owned(),
        message: "the object was deleted".to_owned(),
        revision: None,
        at: now,
        source: Source::Watch,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(conditions: Value, extra: Value) -> DynamicObject {
        let mut status = json!({ "conditions": conditions });
        if let (Some(s), Some(e)) = (status.as_object_mut(), extra.as_object()) {
            s.extend(e.clone());
        }
        serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": "apps", "namespace": "flux-system" },
            "status": status,
        }))
        .unwrap()
    }

    fn c(type_: &str, status: &str, reason: &str) -> Value {
        json!({ "type": type_, "status": status, "reason": reason, "message": format!("{type_} {reason}"),
                "lastTransitionTime": "2026-01-02T03:04:05Z" })
    }

    #[test]
    fn conditions_decide_readiness() {
        let cases = [
            (json!([c("Ready", "True", "ReconciliationSucceeded")]), Readiness::Ready, "ReconciliationSucceeded"),
            (json!([c("Ready", "False", "BuildFailed")]), Readiness::Failing, "BuildFailed"),
            (
                json!([c("Ready", "False", "HealthCheckFailed"), c("Reconciling", "True", PROGRESSING_WITH_RETRY)]),
                Readiness::Failing,
                "HealthCheckFailed",
            ),
            (
                json!([c("Ready", "Unknown", "Progressing"), c("Reconciling", "True", "Progressing")]),
                Readiness::Progressing,
                "Progressing",
            ),
            (
                json!([c("Ready", "True", "Succeeded"), c("Reconciling", "True", "NewGeneration")]),
                Readiness::Progressing,
                "NewGeneration",
            ),
            (json!([c("Ready", "Unknown", "Progressing")]), Readiness::Progressing, "Progressing"),
            (
                json!([c("Ready", "False", "Failed"), c("Stalled", "True", "InvalidPath")]),
                Readiness::Failing,
                "InvalidPath",
            ),
            (json!([]), Readiness::Progressing, "NoReadyCondition"),
        ];
        for (conditions, readiness, reason) in cases {
            let o = observe(FluxKind::Kustomization, &object(conditions.clone(), json!({})), SystemTime::UNIX_EPOCH);
            assert_eq!((o.readiness, o.reason.as_str()), (readiness, reason), "{conditions}");
            assert_eq!(o.source, Source::Watch);
        }
    }

    #[test]
    fn time_and_revision_come_from_the_status() {
        let o = observe(
            FluxKind::Kustomization,
            &object(
                json!([c("Ready", "False", "BuildFailed")]),
                json!({ "lastAttemptedRevision": "sha256:new", "lastAppliedRevision": "sha256:old" }),
            ),
            SystemTime::UNIX_EPOCH,
        );
        let at: jiff::Timestamp = "2026-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(o.at, SystemTime::from(at));
        assert_eq!(o.revision.as_deref(), Some("sha256:new"));
        assert_eq!(o.message, "Ready BuildFailed");
        assert_eq!(o.subject.to_string(), "Kustomization/flux-system/apps");
        let source = object(json!([]), json!({ "artifact": { "revision": "main@sha1:abc" } }));
        assert_eq!(revision(source.data.get("status").unwrap()).as_deref(), Some("main@sha1:abc"));
        assert_eq!(observe(FluxKind::Bucket, &source, SystemTime::UNIX_EPOCH).at, SystemTime::UNIX_EPOCH);
    }
}
