//! Reading Flux's status: has the published revision been applied, is
//! Flux still working on it, or did it fail? Pure functions over the
//! Bucket's and the Kustomizations' status, so every rule is unit-tested.
//!
//! The rules (see `docs/flux.md`, "Waiting"):
//! - The Bucket is done when `status.artifact.revision` is the published
//!   revision, `Ready=True`, and it observed its current generation.
//! - A Kustomization is done when `lastAppliedRevision` is the published
//!   revision, `Ready=True`, and it observed its current generation.
//! - A Kustomization failed when `Ready=False` after an attempt at the
//!   published revision (`lastAttemptedRevision`), for any reason but
//!   `Progressing` and `DependencyNotReady`: it retries only after its
//!   `retryInterval`, so waiting longer would not help.
//! - A failure at another revision (a build that raced with a switch, an
//!   older generation) is not this publish's: the wait goes on.
//! - A Bucket that fails after handling this publish's request fails the
//!   wait only if it still fails after a grace period, because
//!   source-controller retries failed fetches at once, with backoff.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use serde::Serialize;

use crate::crd::flux::{Bucket, Kustomization};

/// What a wait saw at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Still waiting: for what, in words.
    Pending(String),
    /// The Bucket failed (reason, message); subject to the grace period.
    BucketFailing(Failure),
    /// Flux failed to apply the published revision.
    Failed(Failure),
    /// Every Kustomization applied the published revision.
    Applied,
}

/// A failing condition, as Flux reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failure {
    /// `Bucket flux-system/nixflux`, `Kustomization flux-system/nixflux`.
    pub object: String,
    pub reason: String,
    pub message: String,
    /// Objects a health check named as not ready (`Deployment/apps/web`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unhealthy: Vec<String>,
    /// The revision Flux attempted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

pub fn condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

fn observed_current(observed: Option<i64>, generation: Option<i64>) -> bool {
    match (observed, generation) {
        (Some(o), Some(g)) => o >= g,
        (_, None) => true,
        (None, Some(_)) => false,
    }
}

fn name_of(kind: &str, meta_ns: Option<String>, name: String) -> String {
    format!("{kind} {}/{name}", meta_ns.unwrap_or_default())
}

/// The Bucket's state with respect to `revision`: `None` when it serves it.
fn judge_bucket(bucket: &Bucket, revision: &str, token: Option<&str>) -> Option<Verdict> {
    let what = name_of("Bucket", bucket.namespace(), bucket.name_any());
    let Some(status) = &bucket.status else {
        return Some(Verdict::Pending(format!("{what} has no status yet")));
    };
    let artifact = status.artifact.as_ref().map(|a| a.revision.as_str());
    let ready = condition(&status.conditions, "Ready");
    let current = observed_current(status.observed_generation, bucket.metadata.generation);
    if artifact == Some(revision) && ready.is_some_and(|c| c.status == "True") && current {
        return None;
    }
    let handled = match token {
        Some(t) => status.last_handled_reconcile_at.as_deref() == Some(t),
        None => true,
    };
    if let Some(c) = ready.filter(|c| c.status == "False" && current && handled) {
        return Some(Verdict::BucketFailing(Failure {
            object: what,
            reason: c.reason.clone(),
            message: c.message.clone(),
            unhealthy: Vec::new(),
            revision: None,
        }));
    }
    Some(Verdict::Pending(match artifact {
        Some(a) => format!("{what} serves {}, not yet {}", short(a), short(revision)),
        None => format!("{what} has no artifact yet"),
    }))
}

/// A Kustomization's state with respect to `revision`: `None` when applied.
fn judge_kustomization(k: &Kustomization, revision: &str) -> Option<Verdict> {
    let what = name_of("Kustomization", k.namespace(), k.name_any());
    let Some(status) = &k.status else {
        return Some(Verdict::Pending(format!("{what} has no status yet")));
    };
    let ready = condition(&status.conditions, "Ready");
    let current = observed_current(status.observed_generation, k.metadata.generation);
    let applied = status.last_applied_revision.as_deref() == Some(revision);
    if applied && ready.is_some_and(|c| c.status == "True") && current {
        return None;
    }
    let attempted = status.last_attempted_revision.as_deref();
    if let Some(c) = ready.filter(|c| c.status == "False") {
        let pending_reason = matches!(c.reason.as_str(), "Progressing" | "DependencyNotReady");
        if attempted == Some(revision) && current && !pending_reason {
            return Some(Verdict::Failed(Failure {
                object: what,
                reason: c.reason.clone(),
                message: c.message.clone(),
                unhealthy: unhealthy_objects(&c.message),
                revision: Some(revision.to_owned()),
            }));
        }
        if !pending_reason {
            return Some(Verdict::Pending(format!(
                "{what} failed at {} ({}), waiting for {}",
                attempted.map_or("an earlier revision".to_owned(), short),
                c.reason,
                short(revision)
            )));
        }
        return Some(Verdict::Pending(format!("{what}: {} {}", c.reason, first_line(&c.message))));
    }
    Some(Verdict::Pending(match ready {
        Some(c) if c.status == "Unknown" => format!("{what}: {} {}", c.reason, first_line(&c.message)),
        _ => format!(
            "{what} applied {}, not yet {}",
            status.last_applied_revision.as_deref().map_or("nothing".to_owned(), short),
            short(revision)
        ),
    }))
}

/// The whole loop's state: the Bucket first, then the Kustomizations in
/// order. A failed Kustomization wins over a pending one.
pub fn judge(bucket: &Bucket, kustomizations: &[Kustomization], revision: &str, token: Option<&str>) -> Verdict {
    let source = judge_bucket(bucket, revision, token);
    let mut pending = None;
    for k in kustomizations {
        match judge_kustomization(k, revision) {
            None => {}
            Some(failed @ Verdict::Failed(_)) => return failed,
            Some(other) => {
                pending.get_or_insert(other);
            }
        }
    }
    match (source, pending) {
        (Some(v), _) => v,
        (None, Some(v)) => v,
        (None, None) => Verdict::Applied,
    }
}

/// kustomize-controller names unready objects in its health check
/// message: `... timeout waiting for: [Deployment/apps/web status: 'InProgress', ...]`.
pub fn unhealthy_objects(message: &str) -> Vec<String> {
    let Some(start) = message.find('[') else { return Vec::new() };
    let Some(len) = message[start + 1..].find(']') else { return Vec::new() };
    message[start + 1..start + 1 + len]
        .split(", ")
        .filter_map(|item| item.split_whitespace().next())
        .filter(|id| id.matches('/').count() >= 1)
        .map(str::to_owned)
        .collect()
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or_default()
}

/// `sha256:0123456789ab` (twelve hex digits) for progress lines.
pub fn short(revision: &str) -> String {
    match revision.split_once(':') {
        Some((algo, hex)) => format!("{algo}:{}", hex.chars().take(12).collect::<String>()),
        None => revision.chars().take(19).collect(),
    }
}

#[cfg(test)]
#[path = "judge_tests.rs"]
mod tests;
