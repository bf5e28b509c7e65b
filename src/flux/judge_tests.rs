use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::ObjectMeta;

use super::*;
use crate::crd::flux::{Artifact, BucketSpec, BucketStatus, KustomizationSpec, KustomizationStatus};

const NEW: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const OLD: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

fn cond(status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: "Ready".into(),
        status: status.into(),
        reason: reason.into(),
        message: message.into(),
        last_transition_time: Time(jiff::Timestamp::UNIX_EPOCH),
        observed_generation: Some(1),
    }
}

fn meta(name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some("flux-system".into()),
        generation: Some(1),
        ..Default::default()
    }
}

fn bucket(revision: Option<&str>, ready: Condition, handled: Option<&str>) -> Bucket {
    Bucket {
        metadata: meta("nixflux"),
        spec: BucketSpec::default(),
        status: Some(BucketStatus {
            observed_generation: Some(1),
            conditions: vec![ready],
            artifact: revision.map(|r| Artifact { revision: r.into(), ..Default::default() }),
            last_handled_reconcile_at: handled.map(str::to_owned),
            ..Default::default()
        }),
    }
}

fn kustomization(applied: Option<&str>, attempted: Option<&str>, ready: Condition) -> Kustomization {
    Kustomization {
        metadata: meta("nixflux"),
        spec: KustomizationSpec::default(),
        status: Some(KustomizationStatus {
            observed_generation: Some(1),
            conditions: vec![ready],
            last_applied_revision: applied.map(str::to_owned),
            last_attempted_revision: attempted.map(str::to_owned),
            ..Default::default()
        }),
    }
}

fn ok() -> Condition {
    cond("True", "ReconciliationSucceeded", "Applied revision")
}

#[test]
fn applied_when_bucket_and_kustomization_have_the_revision() {
    let b = bucket(Some(NEW), ok(), None);
    let k = kustomization(Some(NEW), Some(NEW), ok());
    assert_eq!(judge(&b, &[k], NEW, None), Verdict::Applied);
}

#[test]
fn an_old_artifact_is_pending() {
    let b = bucket(Some(OLD), ok(), None);
    let k = kustomization(Some(OLD), Some(OLD), ok());
    assert!(matches!(judge(&b, &[k], NEW, None), Verdict::Pending(m) if m.contains("serves sha256:222222222222")));
}

#[test]
fn a_failure_at_the_published_revision_fails() {
    let b = bucket(Some(NEW), ok(), None);
    let msg = "health check failed after 30s: timeout waiting for: [Deployment/apps/web status: 'InProgress', StatefulSet/db/pg status: 'Failed']";
    let k = kustomization(Some(OLD), Some(NEW), cond("False", "HealthCheckFailed", msg));
    match judge(&b, &[k], NEW, None) {
        Verdict::Failed(f) => {
            assert_eq!(f.reason, "HealthCheckFailed");
            assert_eq!(f.object, "Kustomization flux-system/nixflux");
            assert_eq!(f.unhealthy, ["Deployment/apps/web", "StatefulSet/db/pg"]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_failure_at_another_revision_is_not_this_publishs() {
    let b = bucket(Some(NEW), ok(), None);
    let k = kustomization(Some(OLD), Some(OLD), cond("False", "BuildFailed", "kustomize build failed"));
    assert!(matches!(judge(&b, &[k], NEW, None), Verdict::Pending(m) if m.contains("BuildFailed")));
}

#[test]
fn progressing_and_dependency_not_ready_keep_waiting() {
    let b = bucket(Some(NEW), ok(), None);
    for reason in ["Progressing", "DependencyNotReady"] {
        let k = kustomization(Some(OLD), Some(NEW), cond("False", reason, "waiting"));
        assert!(matches!(judge(&b, &[k], NEW, None), Verdict::Pending(_)), "{reason}");
    }
}

#[test]
fn a_stale_generation_is_not_applied() {
    let b = bucket(Some(NEW), ok(), None);
    let mut k = kustomization(Some(NEW), Some(NEW), ok());
    k.metadata.generation = Some(2);
    assert!(matches!(judge(&b, &[k], NEW, None), Verdict::Pending(_)));
}

#[test]
fn bucket_failures_count_only_once_our_request_is_handled() {
    let failing = cond("False", "BucketOperationFailed", "listing objects: connection refused");
    let b = bucket(Some(OLD), failing.clone(), Some("earlier"));
    let k = kustomization(Some(OLD), Some(OLD), ok());
    assert!(matches!(judge(&b, std::slice::from_ref(&k), NEW, Some("now")), Verdict::Pending(_)));
    let b = bucket(Some(OLD), failing, Some("now"));
    assert!(
        matches!(judge(&b, &[k], NEW, Some("now")), Verdict::BucketFailing(f) if f.reason == "BucketOperationFailed")
    );
}

#[test]
fn every_layer_must_apply_and_a_failed_one_wins() {
    let b = bucket(Some(NEW), ok(), None);
    let done = kustomization(Some(NEW), Some(NEW), ok());
    let waiting = kustomization(Some(OLD), Some(OLD), cond("Unknown", "Progressing", "Reconciliation in progress"));
    assert!(matches!(judge(&b, &[done.clone(), waiting.clone()], NEW, None), Verdict::Pending(_)));
    let failed = kustomization(Some(OLD), Some(NEW), cond("False", "BuildFailed", "bad"));
    assert!(matches!(judge(&b, &[waiting, failed], NEW, None), Verdict::Failed(_)));
}

#[test]
fn no_status_is_pending_and_odd_text_does_not_panic() {
    let mut b = bucket(None, ok(), None);
    b.status = None;
    assert!(matches!(judge(&b, &[], NEW, None), Verdict::Pending(_)));
    for m in ["[", "]", "[]", "[x", "a]b[", "[é/ü ]", "[/ ,/ ]"] {
        let _ = unhealthy_objects(m);
    }
    assert_eq!(short("sha256:é"), "sha256:é");
}
