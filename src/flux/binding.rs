//! Binding a target to one cluster: the uid of the cluster's `kube-system`
//! Namespace (created once with the cluster, never reused) is recorded in
//! the target, and a publish with API access refuses a cluster with
//! another uid. The record lives at `generations/cluster.json`, beside the
//! generation records: Flux's Bucket ignores `generations/` by default, and
//! garbage collection never touches it.

use k8s_openapi::api::core::v1::Namespace;
use kube::api::Api;
use serde::{Deserialize, Serialize};

use super::error::FluxError;
use crate::publish::target::{Condition, Target, TargetError};

pub const BINDING_KEY: &str = "generations/cluster.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Binding {
    /// `metadata.uid` of the cluster's `kube-system` Namespace.
    pub kube_system_uid: String,
    pub bound_at: String,
}

/// The uid of the cluster's `kube-system` Namespace.
pub async fn cluster_uid(client: &kube::Client) -> Result<String, FluxError> {
    let api: Api<Namespace> = Api::all(client.clone());
    let ns = api.get("kube-system").await.map_err(|e| FluxError::api("get", "Namespace", "kube-system", e))?;
    ns.metadata.uid.ok_or_else(|| FluxError::Api {
        verb: "get",
        kind: "Namespace",
        object: "kube-system".into(),
        message: "it has no uid".into(),
    })
}

#[derive(Debug, thiserror::Error)]
pub enum BindingError {
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("`{BINDING_KEY}` in {target} is not a cluster binding: {source} (remove it, or bind again with `nixflux flux bind`)")]
    Damaged {
        target: String,
        #[source]
        source: serde_json::Error,
    },
}

pub async fn read(target: &impl Target) -> Result<Option<Binding>, BindingError> {
    match target.get(BINDING_KEY).await? {
        None => Ok(None),
        Some(f) => serde_json::from_slice(&f.bytes)
            .map(Some)
            .map_err(|source| BindingError::Damaged { target: target.name(), source }),
    }
}

pub async fn write(target: &impl Target, binding: &Binding) -> Result<(), TargetError> {
    // Encoding two strings cannot fail.
    let bytes = serde_json::to_vec(binding).unwrap_or_default();
    target.put(BINDING_KEY, &bytes, &Condition::None).await
}

/// Refuses a cluster other than the bound one.
pub fn check(target: &str, binding: Option<&Binding>, uid: &str) -> Result<(), FluxError> {
    match binding {
        Some(b) if b.kube_system_uid != uid => Err(FluxError::WrongCluster {
            target: target.to_owned(),
            bound: b.kube_system_uid.clone(),
            found: uid.to_owned(),
        }),
        _ => Ok(()),
    }
}
