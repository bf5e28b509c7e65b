//! What `nixflux status` reports for a target: the bucket side (live
//! generation, bundle digest, the revision Flux computes from the listing
//! now) and the cluster side (the Bucket's and Kustomizations' conditions,
//! their revisions against the bucket's, the inventory, per-app readiness),
//! or why the cluster side is unknown. Reading is here; printing is the
//! command's.
//!
//! With the Bucket at hand, the revision is computed with its own
//! `spec.ignore` (what Flux really uses); without it, with the ignore the
//! flags say.

use std::collections::BTreeSet;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::api::Api;
use kube::ResourceExt;
use serde::Serialize;

use super::access::FluxLoop;
use super::apps::{self, App};
use super::condition::ConditionState;
use super::error::FluxError;
use super::follow::follow;
use super::judge::condition;
use super::prune::parse_inventory_id;
use crate::crd::flux::{Bucket, Kustomization};
use crate::object::ObjectId;
use crate::publish::target::Target;
use crate::publish::{self, PublishError, State};

/// The conditions `status` shows, in this order.
pub const SHOWN_CONDITIONS: &[&str] = &["Ready", "Reconciling", "Stalled"];

/// What the bucket holds now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    pub target: String,
    /// The live generation (`None`: nothing published yet).
    pub generation: Option<u64>,
    pub bundle_digest: Option<String>,
    /// Objects of the live generation.
    pub objects: usize,
    /// The revision a Flux Bucket computes from the listing now.
    pub revision: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live_unknown: Option<String>,
}

/// Is a Flux object at the bucket's revision?
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Sync {
    InSync,
    Behind,
}

/// A failing Ready condition and how long it has been failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastFailure {
    pub reason: String,
    pub message: String,
    pub since: String,
    pub age_seconds: u64,
}

/// The Bucket or one Kustomization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxObject {
    pub kind: &'static str,
    /// `namespace/name`.
    pub name: String,
    /// The Bucket's artifact revision, a Kustomization's `lastAppliedRevision`.
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    pub sync: Sync,
    /// The Ready condition's status (`True`, `False`, `Unknown`; `Unknown`
    /// when there is none yet).
    pub ready: String,
    pub suspended: bool,
    pub conditions: Vec<ConditionState>,
    /// Entries of a Kustomization's inventory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<LastFailure>,
}

impl FluxObject {
    fn new(
        kind: &'static str,
        name: String,
        conditions: &[Condition],
        revision: Option<String>,
        bucket_revision: &str,
        now: jiff::Timestamp,
    ) -> FluxObject {
        let ready = condition(conditions, "Ready");
        let failure = ready.filter(|c| c.status == "False").map(|c| LastFailure {
            reason: c.reason.clone(),
            message: c.message.clone(),
            since: c.last_transition_time.0.to_string(),
            age_seconds: now.duration_since(c.last_transition_time.0).as_secs().max(0) as u64,
        });
        FluxObject {
            kind,
            name,
            sync: if revision.as_deref() == Some(bucket_revision) { Sync::InSync } else { Sync::Behind },
            revision,
            last_attempted_revision: None,
            ready: ready.map_or("Unknown".to_owned(), |c| c.status.clone()),
            suspended: false,
            conditions: SHOWN_CONDITIONS
                .iter()
                .filter_map(|t| condition(conditions, t))
                .map(ConditionState::of)
                .collect(),
            inventory: None,
            failure,
        }
    }

    pub fn bucket(b: &Bucket, bucket_revision: &str, now: jiff::Timestamp) -> FluxObject {
        let status = b.status.clone().unwrap_or_default();
        let revision = status.artifact.map(|a| a.revision);
        let name = format!("{}/{}", b.namespace().unwrap_or_default(), b.name_any());
        let mut o = FluxObject::new("Bucket", name, &status.conditions, revision, bucket_revision, now);
        o.suspended = b.spec.suspend.unwrap_or(false);
        o
    }

    pub fn kustomization(k: &Kustomization, bucket_revision: &str, now: jiff::Timestamp) -> FluxObject {
        let status = k.status.clone().unwrap_or_default();
        let name = format!("{}/{}", k.namespace().unwrap_or_default(), k.name_any());
        let revision = status.last_applied_revision.clone();
        let mut o = FluxObject::new("Kustomization", name, &status.conditions, revision, bucket_revision, now);
        o.suspended = k.spec.suspend.unwrap_or(false);
        o.last_attempted_revision = status.last_attempted_revision;
        o.inventory = Some(status.inventory.map_or(0, |i| i.entries.len()));
        o
    }
}

/// The cluster side, or why it is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Cluster {
    Unknown { reason: String },
    Known { bucket: Box<FluxObject>, kustomizations: Vec<FluxObject>, apps: Vec<App> },
}

/// One target's status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    #[serde(flatten)]
    pub published: Published,
    pub cluster: Cluster,
}

impl Status {
    /// The status with every age zeroed: what `--watch` compares, so the
    /// passing of time alone is not a change.
    pub fn without_ages(&self) -> Status {
        let mut s = self.clone();
        if let Cluster::Known { bucket, kustomizations, .. } = &mut s.cluster {
            for o in std::iter::once(bucket.as_mut()).chain(kustomizations.iter_mut()) {
                if let Some(f) = &mut o.failure {
                    f.age_seconds = 0;
                }
            }
        }
        s
    }
}

/// The Flux objects of a loop as the API server has them now.
#[derive(Debug, Clone)]
pub struct Observed {
    pub bucket: Bucket,
    /// In the loop's order.
    pub kustomizations: Vec<Kustomization>,
}

impl Observed {
    /// Reads the Bucket and every Kustomization.
    pub async fn get(client: &kube::Client, flux: &FluxLoop) -> Result<Observed, FluxError> {
        let buckets: Api<Bucket> = Api::namespaced(client.clone(), &flux.bucket.namespace);
        let bucket =
            buckets.get(&flux.bucket.name).await.map_err(|e| FluxError::api("get", "Bucket", &flux.bucket, e))?;
        let mut kustomizations = Vec::with_capacity(flux.kustomizations.len());
        for k in &flux.kustomizations {
            let api: Api<Kustomization> = Api::namespaced(client.clone(), &k.namespace);
            kustomizations.push(api.get(&k.name).await.map_err(|e| FluxError::api("get", "Kustomization", k, e))?);
        }
        Ok(Observed { bucket, kustomizations })
    }

    /// The union of the Kustomizations' inventories, sorted.
    pub fn inventory(&self) -> Vec<ObjectId> {
        let mut ids = BTreeSet::new();
        for k in &self.kustomizations {
            let entries = k.status.as_ref().and_then(|s| s.inventory.as_ref()).map(|i| i.entries.as_slice());
            for entry in entries.unwrap_or_default() {
                match parse_inventory_id(&entry.id) {
                    Ok(id) => {
                        ids.insert(id);
                    }
                    Err(e) => tracing::warn!(kustomization = %k.name_any(), error = %e, "skipping an inventory entry"),
                }
            }
        }
        ids.into_iter().collect()
    }
}

enum Change {
    Bucket(Box<Bucket>),
    Kustomization(usize, Box<Kustomization>),
    Lost(FluxError),
}

/// The Flux objects of a loop, kept current by a watch on each (`follow`).
pub struct Watcher {
    rx: tokio::sync::mpsc::Receiver<Change>,
    _tasks: tokio::task::JoinSet<()>,
    pub observed: Observed,
}

impl Watcher {
    /// Starts following every object of `flux`, from `observed`.
    pub fn start(client: &kube::Client, flux: &FluxLoop, observed: Observed) -> Watcher {
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let mut tasks = tokio::task::JoinSet::new();
        let api: Api<Bucket> = Api::namespaced(client.clone(), &flux.bucket.namespace);
        tasks.spawn(follow(api, flux.bucket.clone(), tx.clone(), |b| Change::Bucket(Box::new(b)), Change::Lost));
        for (i, k) in flux.kustomizations.iter().enumerate() {
            let api: Api<Kustomization> = Api::namespaced(client.clone(), &k.namespace);
            let wrap = move |k| Change::Kustomization(i, Box::new(k));
            tasks.spawn(follow(api, k.clone(), tx.clone(), wrap, Change::Lost));
        }
        Watcher { rx, _tasks: tasks, observed }
    }

    /// Waits for the next change of any object and applies it; an error
    /// when an object was deleted or a watch lost access.
    pub async fn changed(&mut self) -> Result<(), FluxError> {
        match self.rx.recv().await {
            Some(Change::Bucket(b)) => self.observed.bucket = *b,
            Some(Change::Kustomization(i, k)) => {
                if let Some(slot) = self.observed.kustomizations.get_mut(i) {
                    *slot = *k;
                }
            }
            Some(Change::Lost(e)) => return Err(e),
            None => return Err(FluxError::NoAccess { message: "every watch ended".into() }),
        }
        Ok(())
    }
}

/// Where the cluster side comes from: the objects read (and the client
/// for the Deployments), or why there are none.
pub enum ClusterView<'a> {
    Seen(&'a kube::Client, &'a Observed),
    Unknown(String),
}

/// Reads the bucket side of `target` and completes the status with what
/// `view` gives. `flag_ignore` is the Bucket's `spec.ignore` as the flags
/// say, used when the Bucket itself was not read.
pub async fn status(
    target: &impl Target,
    flag_ignore: &str,
    view: ClusterView<'_>,
    now: jiff::Timestamp,
) -> Result<Status, PublishError> {
    let spec_ignore = match &view {
        ClusterView::Seen(_, o) => o.bucket.spec.ignore.clone().unwrap_or_default(),
        ClusterView::Unknown(_) => flag_ignore.to_owned(),
    };
    let (state, ignore) = tokio::join!(State::load(target), publish::bucket_ignore(target, &spec_ignore));
    let state = state?;
    let published = Published {
        target: target.name(),
        generation: state.generation(),
        bundle_digest: state.pointer.as_ref().map(|p| p.pointer.bundle_digest.to_string()),
        objects: state.live_object_count(),
        revision: publish::flux_revision(target, &state.listing, &ignore),
        live_unknown: state.live_unknown.clone(),
    };
    let cluster = match view {
        ClusterView::Unknown(reason) => Cluster::Unknown { reason },
        ClusterView::Seen(client, observed) => {
            let inventory = observed.inventory();
            let ids = apps::deployment_ids(&inventory);
            let (labels, deployments) =
                tokio::join!(apps::app_labels(target, &state.live_files), apps::deployments(client, &ids));
            Cluster::Known {
                bucket: Box::new(FluxObject::bucket(&observed.bucket, &published.revision, now)),
                kustomizations: observed
                    .kustomizations
                    .iter()
                    .map(|k| FluxObject::kustomization(k, &published.revision, now))
                    .collect(),
                apps: apps::group(&inventory, &labels, &deployments),
            }
        }
    };
    Ok(Status { published, cluster })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REV: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

    fn kustomization(status: serde_json::Value) -> Kustomization {
        serde_json::from_value(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": { "name": "home", "namespace": "flux-system" },
            "spec": { "interval": "10m", "path": "./home", "prune": true, "sourceRef": { "kind": "Bucket", "name": "home" } },
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn a_failed_kustomization_is_behind_with_its_failure_and_age() {
        let k = kustomization(json!({
            "lastAppliedRevision": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "lastAttemptedRevision": REV,
            "conditions": [
                { "type": "Ready", "status": "False", "reason": "BuildFailed", "message": "kustomize build failed",
                  "lastTransitionTime": "2026-12-02T01:00:00Z" },
                { "type": "Healthy", "status": "False", "reason": "x", "message": "", "lastTransitionTime": "2026-12-02T01:00:00Z" },
            ],
            "inventory": { "entries": [{ "id": "web_web_apps_Deployment", "v": "v1" }] },
        }));
        let now: jiff::Timestamp = "2026-12-02T01:03:20Z".parse().unwrap();
        let o = FluxObject::kustomization(&k, REV, now);
        assert_eq!((o.sync, o.ready.as_str(), o.inventory), (Sync::Behind, "False", Some(1)));
        assert_eq!(o.conditions.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(), ["Ready"]);
        let f = o.failure.unwrap();
        assert_eq!((f.reason.as_str(), f.age_seconds), ("BuildFailed", 200));
        assert_eq!(o.last_attempted_revision.as_deref(), Some(REV));

        let k = kustomization(json!({ "lastAppliedRevision": REV, "conditions": [
            { "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Applied", "lastTransitionTime": "2026-12-02T01:00:00Z" },
        ] }));
        let o = FluxObject::kustomization(&k, REV, now);
        assert_eq!((o.sync, o.failure, o.inventory), (Sync::InSync, None, Some(0)));
        let o = FluxObject::kustomization(&kustomization(json!({})), REV, now);
        assert_eq!((o.sync, o.ready.as_str()), (Sync::Behind, "Unknown"));
    }
}
