//! Per-app readiness inside a Kustomization, for the watcher: the
//! Kustomization's inventory grouped by app with `flux::apps`, each app
//! as ready as its least ready Deployment (read with a GET each).
//!
//! An object's app is its `app.kubernetes.io/name` label, as for `nixflux
//! status`. The watcher has no target files to read labels from, so it
//! takes them from what it reads anyway: each Deployment's own label in
//! the cluster. An unlabelled object (a Service, a ConfigMap: the
//! inventory holds only ids) joins the app of its namespace's labelled
//! Deployments when they all carry one app; otherwise (no labelled
//! Deployment there, or several apps share the namespace) its app is its
//! namespace, which is the app's name in nixflux unless the spec says
//! otherwise, and cluster-scoped objects fall under `(cluster)`.
//! Deployments are read when the Kustomization changes and again every
//! resync interval (a Deployment can break without its Kustomization
//! changing). Reading them, rather than parsing the `HealthCheckFailed`
//! message, also covers Kustomizations without `wait`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use kube::core::DynamicObject;

use crate::flux::apps::{self, App, AppState, DeploymentState};
use crate::flux::prune::parse_inventory_id;
use crate::notify::{Observation, Readiness, Source, Subject};
use crate::object::ObjectId;

/// The inventory of a Kustomization (entries that do not parse are skipped).
pub fn inventory(object: &DynamicObject) -> Vec<ObjectId> {
    let entries = object.data["status"]["inventory"]["entries"].as_array().cloned().unwrap_or_default();
    entries
        .iter()
        .filter_map(|e| e["id"].as_str())
        .filter_map(|id| match parse_inventory_id(id) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::debug!(error = %e, "skipping an inventory entry");
                None
            }
        })
        .collect()
}

/// The apps of `inventory`, with their Deployments read through `client`.
pub async fn read(client: &kube::Client, inventory: &[ObjectId]) -> Vec<App> {
    let ids = apps::deployment_ids(inventory);
    let (deployments, labels) = apps::deployments_labelled(client, &ids).await;
    apps::group(inventory, &spread(inventory, labels), &deployments)
}

/// The Deployments' labels, and for each unlabelled namespaced object the
/// one app its namespace's labelled Deployments carry (see the module's doc).
fn spread(inventory: &[ObjectId], mut labels: BTreeMap<ObjectId, String>) -> BTreeMap<ObjectId, String> {
    let mut per_namespace: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (id, app) in &labels {
        if let Some(ns) = &id.namespace {
            per_namespace.entry(ns).or_default().insert(app);
        }
    }
    let joined: Vec<(ObjectId, String)> = inventory
        .iter()
        .filter(|id| !labels.contains_key(*id))
        .filter_map(|id| {
            let apps = per_namespace.get(id.namespace.as_deref()?)?;
            let only = apps.first().filter(|_| apps.len() == 1)?;
            Some((id.clone(), (*only).to_owned()))
        })
        .collect();
    labels.extend(joined);
    labels
}

fn readiness(state: AppState) -> Option<Readiness> {
    match state {
        AppState::NoWorkload | AppState::Ready => Some(Readiness::Ready),
        AppState::Progressing => Some(Readiness::Progressing),
        AppState::NotReady | AppState::Failed | AppState::Missing => Some(Readiness::Failing),
        // Not readable (no permission, API trouble): nothing known.
        AppState::Unknown => None,
    }
}

fn reason(state: AppState) -> &'static str {
    match state {
        AppState::NoWorkload => "NoWorkload",
        AppState::Ready => "DeploymentsReady",
        AppState::Progressing => "DeploymentProgressing",
        AppState::NotReady => "DeploymentNotReady",
        AppState::Failed => "ProgressDeadlineExceeded",
        AppState::Missing => "DeploymentMissing",
        AppState::Unknown => "Unknown",
    }
}

fn describe(d: &DeploymentState) -> String {
    let mut s =
        format!("Deployment {}/{} {}: {}/{} ready", d.namespace, d.name, d.state.words(), d.ready_replicas, d.replicas);
    if let Some(c) = d.progressing.as_ref().filter(|c| c.status == "False") {
        s.push_str(&format!(" ({}: {})", c.reason, c.message));
    }
    s
}

/// The observation of one app (none when its state cannot be known).
pub fn observe(kustomization: &Subject, app: &App, revision: Option<String>, now: SystemTime) -> Option<Observation> {
    let readiness = readiness(app.state)?;
    let troubled: Vec<String> = app.deployments.iter().filter(|d| d.state != AppState::Ready).map(describe).collect();
    let message = match (troubled.is_empty(), app.deployments.len()) {
        (false, _) => troubled.join("; "),
        (true, 0) => format!("{} objects, no Deployment", app.objects),
        (true, n) => format!("{n} of {n} Deployments ready"),
    };
    Some(Observation {
        subject: Subject { app: Some(app.name.clone()), ..kustomization.clone() },
        readiness,
        reason: reason(app.state).to_owned(),
        message,
        revision,
        at: now,
        source: Source::Watch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(state: AppState, ready: i32) -> DeploymentState {
        DeploymentState {
            namespace: "web".to_owned(),
            name: "web".to_owned(),
            state,
            replicas: 2,
            ready_replicas: ready,
            updated_replicas: ready,
            available: None,
            progressing: None,
            error: None,
        }
    }

    #[test]
    fn unlabelled_objects_join_their_namespace_app() {
        let id = |s: &str| s.parse::<ObjectId>().unwrap();
        let inventory = vec![
            id("shop_front_apps_Deployment"),
            id("shop_front__Service"),
            id("mixed_a_apps_Deployment"),
            id("mixed_b_apps_Deployment"),
            id("mixed_c__Service"),
            id("db_config__ConfigMap"),
            id("_things.example.com_apiextensions.k8s.io_CustomResourceDefinition"),
        ];
        let labels = BTreeMap::from([
            (inventory[0].clone(), "web".to_owned()),
            (inventory[2].clone(), "a".to_owned()),
            (inventory[3].clone(), "b".to_owned()),
        ]);
        let grouped = apps::group(&inventory, &spread(&inventory, labels), &[]);
        let names: Vec<(&str, usize)> = grouped.iter().map(|a| (a.name.as_str(), a.objects)).collect();
        assert_eq!(names, [("(cluster)", 1), ("a", 1), ("b", 1), ("db", 1), ("mixed", 1), ("web", 2)]);
    }

    #[test]
    fn apps_become_observations() {
        let k =
            Subject { kind: "Kustomization".into(), namespace: "flux-system".into(), name: "apps".into(), app: None };
        let app = |state, deployments| App { name: "web".to_owned(), objects: 3, state, deployments };
        let failing = observe(
            &k,
            &app(AppState::NotReady, vec![deployment(AppState::NotReady, 1)]),
            None,
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        assert_eq!((failing.readiness, failing.reason.as_str()), (Readiness::Failing, "DeploymentNotReady"));
        assert_eq!(failing.message, "Deployment web/web not ready: 1/2 ready");
        assert_eq!(failing.subject.to_string(), "Kustomization/flux-system/apps app web");
        let ready =
            observe(&k, &app(AppState::Ready, vec![deployment(AppState::Ready, 2)]), None, SystemTime::UNIX_EPOCH)
                .unwrap();
        assert_eq!((ready.readiness, ready.message.as_str()), (Readiness::Ready, "1 of 1 Deployments ready"));
        let none = observe(&k, &app(AppState::NoWorkload, vec![]), None, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!((none.readiness, none.message.as_str()), (Readiness::Ready, "3 objects, no Deployment"));
        assert!(observe(&k, &app(AppState::Unknown, vec![]), None, SystemTime::UNIX_EPOCH).is_none());
    }
}
