//! Per-app readiness inside a Kustomization, for the watcher: the
//! Kustomization's inventory grouped by app with `flux::apps`, each app
//! as ready as its least ready Deployment (read with a GET each).
//!
//! The watcher has no target files to read app labels from (what `nixflux
//! status` does), so an object's app is its namespace, which is the app's
//! name in nixflux unless the spec says otherwise; cluster-scoped objects
//! fall under `(cluster)`. Deployments are read when the Kustomization
//! changes and again every resync interval (a Deployment can break
//! without its Kustomization changing). Reading them, rather than parsing
//! the `HealthCheckFailed` message, also covers Kustomizations without
//! `wait`.

use std::collections::BTreeMap;
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
    let deployments = apps::deployments(client, &ids).await;
    apps::group(inventory, &BTreeMap::new(), &deployments)
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
