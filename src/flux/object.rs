//! What every bootstrap object shares: its metadata (namespace, labels,
//! Flux's prune protection), its serialised form, and the Secret keys the
//! objects refer to. `bootstrap.rs`, `endpoint.rs` and `rbac.rs` build on it.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::Value;

use super::options::BootstrapOptions;

/// Label on every object bootstrap writes.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "nixflux");

/// The keys of the S3 credentials Secret (Bucket `secretRef`; rclone's auth key).
pub const S3_SECRET_KEYS: [&str; 2] = ["accesskey", "secretkey"];
/// The key of the Receiver's token Secret.
pub const RECEIVER_SECRET_KEY: &str = "token";

/// One object of the bootstrap, typed when built and serialised once.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapObject {
    pub kind: String,
    pub name: String,
    pub value: Value,
}

/// Every bootstrap object carries Flux's prune protection: when the objects
/// are inside the bundle (Flux manages its own source) and later leave it,
/// Flux must not delete its own Bucket and Kustomization (deleting the
/// Kustomization would prune everything it applied) nor the served data.
pub const PRUNE_DISABLED: (&str, &str) = ("kustomize.toolkit.fluxcd.io/prune", "disabled");

pub fn annotations() -> BTreeMap<String, String> {
    BTreeMap::from([(PRUNE_DISABLED.0.to_owned(), PRUNE_DISABLED.1.to_owned())])
}

pub fn meta(opts: &BootstrapOptions, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(opts.namespace.clone()),
        labels: Some(labels(opts)),
        annotations: Some(annotations()),
        ..Default::default()
    }
}

pub fn labels(opts: &BootstrapOptions) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned()),
        ("app.kubernetes.io/part-of".to_owned(), opts.name.clone()),
    ])
}

pub fn object<T: Serialize + kube::Resource<DynamicType = ()>>(o: &T) -> BootstrapObject {
    BootstrapObject {
        kind: T::kind(&()).into_owned(),
        name: o.meta().name.clone().unwrap_or_default(),
        // Serialising these typed objects cannot fail: no non-string keys.
        value: serde_json::to_value(o).unwrap_or(Value::Null),
    }
}
