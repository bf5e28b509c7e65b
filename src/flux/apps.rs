//! Per-app state for `nixflux status`: which app each object Flux applied
//! belongs to, and how ready each app's Deployments are.
//!
//! An object's app is its `app.kubernetes.io/name` label, read from the
//! live generation's object files (the label is on every object nixflux
//! renders for an app). An object whose label cannot be known that way (it
//! is not in the live generation, because Flux is behind, or the files
//! could not be read) or that carries no label is grouped by its
//! namespace, which is the app's name unless the spec says otherwise;
//! a cluster-scoped one without a label goes under `(cluster)`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde::Serialize;
use serde_json::Value;

use super::condition::ConditionState;
use crate::bundle::verify::split_documents;
use crate::bundle::IndexFile;
use crate::object::{group_of, ObjectId};
use crate::publish::target::Target;
use crate::render::context::NAME_LABEL;

/// Where cluster-scoped objects without an app label are grouped.
pub const CLUSTER_GROUP: &str = "(cluster)";

/// One app of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub name: String,
    /// Objects of the inventory that belong to it.
    pub objects: usize,
    pub state: AppState,
    pub deployments: Vec<DeploymentState>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AppState {
    /// No Deployment: nothing to be ready.
    NoWorkload,
    Ready,
    /// Rolling out (Progressing=True, not every replica ready yet).
    Progressing,
    NotReady,
    /// Progressing=False: the rollout exceeded its deadline.
    Failed,
    /// A Deployment of the inventory does not exist.
    Missing,
    /// A Deployment could not be read (for example no `get` permission).
    Unknown,
}

impl AppState {
    pub fn words(self) -> &'static str {
        match self {
            AppState::NoWorkload => "no workload",
            AppState::Ready => "ready",
            AppState::Progressing => "progressing",
            AppState::NotReady => "not ready",
            AppState::Failed => "failed",
            AppState::Missing => "missing",
            AppState::Unknown => "unknown",
        }
    }
}

/// One Deployment of the inventory, as its status says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentState {
    pub namespace: String,
    pub name: String,
    pub state: AppState,
    /// `spec.replicas` (1 when unset).
    pub replicas: i32,
    pub ready_replicas: i32,
    pub updated_replicas: i32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<ConditionState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progressing: Option<ConditionState>,
    /// Why it could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl DeploymentState {
    fn unread(id: &ObjectId, state: AppState, error: Option<String>) -> DeploymentState {
        DeploymentState {
            namespace: id.namespace.clone().unwrap_or_default(),
            name: id.name.clone(),
            state,
            replicas: 0,
            ready_replicas: 0,
            updated_replicas: 0,
            available: None,
            progressing: None,
            error,
        }
    }

    /// Judges a Deployment as kstatus does, in short: current when it
    /// observed its generation and every replica is updated, ready and
    /// available.
    pub fn of(id: &ObjectId, d: &Deployment) -> DeploymentState {
        let status = d.status.clone().unwrap_or_default();
        let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let conditions = status.conditions.unwrap_or_default();
        let find = |t: &str| conditions.iter().find(|c| c.type_ == t).map(ConditionState::of_deployment);
        let (available, progressing) = (find("Available"), find("Progressing"));
        let ready_replicas = status.ready_replicas.unwrap_or(0);
        let updated_replicas = status.updated_replicas.unwrap_or(0);
        let observed = match (status.observed_generation, d.metadata.generation) {
            (Some(o), Some(g)) => o >= g,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        let settled = observed
            && ready_replicas >= replicas
            && updated_replicas >= replicas
            && status.available_replicas.unwrap_or(0) >= replicas
            && available.as_ref().is_none_or(|c| c.status == "True");
        let state = if settled {
            AppState::Ready
        } else if progressing.as_ref().is_some_and(|c| c.status == "False") {
            AppState::Failed
        } else if progressing.as_ref().is_some_and(|c| c.status == "True") {
            AppState::Progressing
        } else {
            AppState::NotReady
        };
        DeploymentState {
            namespace: id.namespace.clone().unwrap_or_default(),
            name: id.name.clone(),
            state,
            replicas,
            ready_replicas,
            updated_replicas,
            available,
            progressing,
            error: None,
        }
    }
}

/// The app label of every object of `files`, read from the target (files
/// that cannot be read are skipped with a warning: their objects are then
/// grouped by namespace).
pub async fn app_labels(target: &impl Target, files: &[IndexFile]) -> BTreeMap<ObjectId, String> {
    let fetched = futures::future::join_all(files.iter().map(|f| target.get(f.path.as_str()))).await;
    let mut labels = BTreeMap::new();
    for (file, got) in files.iter().zip(fetched) {
        let bytes = match got {
            Ok(Some(f)) => f.bytes,
            Ok(None) => {
                tracing::warn!(file = %file.path, "a live object file is missing; its objects are grouped by namespace");
                continue;
            }
            Err(e) => {
                tracing::warn!(file = %file.path, error = %e, "could not read a live object file; its objects are grouped by namespace");
                continue;
            }
        };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        for doc in split_documents(text) {
            if let Some((id, app)) = labelled(doc) {
                labels.insert(id, app);
            }
        }
    }
    labels
}

/// A document's id and app label, when it has both.
fn labelled(doc: &str) -> Option<(ObjectId, String)> {
    let v: Value = serde_norway::from_str(doc).ok()?;
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let id = ObjectId {
        group: group_of(v["apiVersion"].as_str()?).to_owned(),
        kind: text(&v["kind"])?,
        namespace: text(&v["metadata"]["namespace"]),
        name: text(&v["metadata"]["name"])?,
    };
    let app = text(&v["metadata"]["labels"][NAME_LABEL])?;
    Some((id, app))
}

/// The Deployments among `ids`.
pub fn deployment_ids(ids: &[ObjectId]) -> Vec<&ObjectId> {
    ids.iter().filter(|id| id.group == "apps" && id.kind == "Deployment" && id.namespace.is_some()).collect()
}

/// Reads each Deployment (concurrently); one that cannot be read is
/// `Missing` (404) or `Unknown` (any other answer), never an error.
pub async fn deployments(client: &kube::Client, ids: &[&ObjectId]) -> Vec<DeploymentState> {
    deployments_labelled(client, ids).await.0
}

/// [`deployments`], and the app label each Deployment read carries in
/// the cluster (for a reader with no object files, such as the notifier).
pub async fn deployments_labelled(
    client: &kube::Client,
    ids: &[&ObjectId],
) -> (Vec<DeploymentState>, BTreeMap<ObjectId, String>) {
    let reads = ids.iter().map(|id| async move {
        let ns = id.namespace.as_deref().unwrap_or_default();
        let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
        match api.get(&id.name).await {
            Ok(d) => {
                let label = d.metadata.labels.as_ref().and_then(|l| l.get(NAME_LABEL)).cloned();
                (DeploymentState::of(id, &d), label.map(|l| ((*id).clone(), l)))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => (DeploymentState::unread(id, AppState::Missing, None), None),
            Err(kube::Error::Api(s)) => {
                (DeploymentState::unread(id, AppState::Unknown, Some(format!("{} ({})", s.message, s.code))), None)
            }
            Err(e) => (DeploymentState::unread(id, AppState::Unknown, Some(e.to_string())), None),
        }
    });
    let (states, labels): (Vec<_>, Vec<_>) = futures::future::join_all(reads).await.into_iter().unzip();
    (states, labels.into_iter().flatten().collect())
}

/// The app an object belongs to (see the module's doc).
pub fn app_of(id: &ObjectId, labels: &BTreeMap<ObjectId, String>) -> String {
    match (labels.get(id), &id.namespace) {
        (Some(app), _) => app.clone(),
        (None, Some(ns)) => ns.clone(),
        (None, None) => CLUSTER_GROUP.to_owned(),
    }
}

/// The inventory grouped by app, sorted by name, each with its
/// Deployments' states; an app is as ready as its least ready Deployment.
pub fn group(inventory: &[ObjectId], labels: &BTreeMap<ObjectId, String>, deployments: &[DeploymentState]) -> Vec<App> {
    let mut apps: BTreeMap<String, App> = BTreeMap::new();
    for id in inventory {
        let name = app_of(id, labels);
        let app = apps.entry(name.clone()).or_insert_with(|| App {
            name,
            objects: 0,
            state: AppState::NoWorkload,
            deployments: Vec::new(),
        });
        app.objects += 1;
        if let Some(d) = deployments.iter().find(|d| {
            id.group == "apps"
                && id.kind == "Deployment"
                && id.namespace.as_deref() == Some(d.namespace.as_str())
                && id.name == d.name
        }) {
            app.state = app.state.max(d.state);
            app.deployments.push(d.clone());
        }
    }
    apps.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ObjectId {
        s.parse().unwrap()
    }

    fn deployment(json: Value) -> Deployment {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn deployments_are_judged_by_their_status() {
        let web = id("web_web_apps_Deployment");
        let ready = deployment(serde_json::json!({
            "metadata": { "name": "web", "namespace": "web", "generation": 2 },
            "spec": { "replicas": 2, "selector": {}, "template": {} },
            "status": { "observedGeneration": 2, "replicas": 2, "readyReplicas": 2, "updatedReplicas": 2, "availableReplicas": 2,
                        "conditions": [{ "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable" }] },
        }));
        assert_eq!(DeploymentState::of(&web, &ready).state, AppState::Ready);
        let rolling = deployment(serde_json::json!({
            "metadata": { "name": "web", "namespace": "web", "generation": 3 },
            "spec": { "replicas": 2, "selector": {}, "template": {} },
            "status": { "observedGeneration": 3, "readyReplicas": 1, "updatedReplicas": 1, "availableReplicas": 1,
                        "conditions": [{ "type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated" }] },
        }));
        let s = DeploymentState::of(&web, &rolling);
        assert_eq!((s.state, s.ready_replicas, s.replicas), (AppState::Progressing, 1, 2));
        let stuck = deployment(serde_json::json!({
            "metadata": { "name": "web", "namespace": "web" },
            "spec": { "selector": {}, "template": {} },
            "status": { "conditions": [{ "type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded" }] },
        }));
        let s = DeploymentState::of(&web, &stuck);
        assert_eq!((s.state, s.replicas), (AppState::Failed, 1));
        assert_eq!(s.progressing.unwrap().reason, "ProgressDeadlineExceeded");
        let unobserved = deployment(serde_json::json!({
            "metadata": { "name": "web", "namespace": "web", "generation": 4 },
            "spec": { "replicas": 0, "selector": {}, "template": {} },
            "status": { "observedGeneration": 3 },
        }));
        assert_eq!(DeploymentState::of(&web, &unobserved).state, AppState::NotReady);
    }

    #[test]
    fn objects_group_by_label_then_namespace() {
        let doc = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shared\n  labels:\n    app.kubernetes.io/name: web\n";
        let (labelled_id, app) = labelled(doc).unwrap();
        assert_eq!((labelled_id.clone(), app.as_str()), (id("shared_web_apps_Deployment"), "web"));
        assert!(labelled("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n").is_none());
        let labels = BTreeMap::from([(labelled_id, "web".to_owned())]);
        let inventory = vec![
            id("shared_web_apps_Deployment"),
            id("shared_web__Service"),
            id("db_db_apps_Deployment"),
            id("_things.example.com_apiextensions.k8s.io_CustomResourceDefinition"),
        ];
        let web = DeploymentState::unread(&inventory[0], AppState::Ready, None);
        let db = DeploymentState::unread(&inventory[2], AppState::Missing, None);
        let apps = group(&inventory, &labels, &[web, db]);
        let summary: Vec<(&str, usize, AppState)> =
            apps.iter().map(|a| (a.name.as_str(), a.objects, a.state)).collect();
        assert_eq!(
            summary,
            [
                (CLUSTER_GROUP, 1, AppState::NoWorkload),
                ("db", 1, AppState::Missing),
                ("shared", 1, AppState::NoWorkload),
                ("web", 1, AppState::Ready)
            ]
        );
    }
}
