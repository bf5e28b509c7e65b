//! External Secrets Operator's kinds, typed (`external-secrets.io/v1`):
//! the `ExternalSecret` nixflux renders for an app's `secretEnv` and
//! `secretFiles`, and the `SecretStore` and `ClusterSecretStore` it points
//! at. Fields follow the upstream CRDs; the parts nixflux writes or checks
//! are typed, the rest (a store's provider settings, templates, generator
//! references) stay JSON values, so a raw object of these kinds gets the
//! unknown-field check at every level nixflux types, `spec.secretStoreRef`
//! included.

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Any status: nixflux never reads these kinds' status, only keeps it.
pub type OpaqueStatus = Map<String, Value>;

/// `external-secrets.io/v1` ExternalSecret: a Secret made from entries of a store.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ExternalSecret",
    namespaced,
    status = "OpaqueStatus",
    derive = "PartialEq",
    derive = "Default",
    schema = "disabled"
)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_store_ref: Option<StoreRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ExternalSecretTarget>,
    /// A Go duration; `0` fetches once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_from: Option<Value>,
    #[serde(rename = "refreshPolicy", default, skip_serializing_if = "Option::is_none")]
    pub refresh_policy: Option<Value>,
    #[serde(rename = "syncWindows", default, skip_serializing_if = "Option::is_none")]
    pub sync_windows: Option<Value>,
}

/// Which store an ExternalSecret (or one of its entries) reads.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StoreRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StoreKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum StoreKind {
    SecretStore,
    ClusterSecretStore,
}

impl StoreKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreKind::SecretStore => "SecretStore",
            StoreKind::ClusterSecretStore => "ClusterSecretStore",
        }
    }
}

/// The Secret an ExternalSecret makes (named after the ExternalSecret unless `name`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_policy: Option<CreationPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,
    #[serde(rename = "immutable", default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<Value>,
    #[serde(rename = "manifest", default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Value>,
    #[serde(rename = "template", default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreationPolicy {
    Owner,
    Orphan,
    Merge,
    None,
    CreateOrMerge,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeletionPolicy {
    Delete,
    Merge,
    Retain,
}

/// One key of the target Secret and where its value comes from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalSecretData {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<SourceRef>,
}

/// The entry of the store: its key and, for structured entries, the property.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RemoteRef {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    #[serde(rename = "conversionStrategy", default, skip_serializing_if = "Option::is_none")]
    pub conversion_strategy: Option<Value>,
    #[serde(rename = "decodingStrategy", default, skip_serializing_if = "Option::is_none")]
    pub decoding_strategy: Option<Value>,
    #[serde(rename = "metadataPolicy", default, skip_serializing_if = "Option::is_none")]
    pub metadata_policy: Option<Value>,
    #[serde(rename = "nullBytePolicy", default, skip_serializing_if = "Option::is_none")]
    pub null_byte_policy: Option<Value>,
    #[serde(rename = "version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<Value>,
}

/// An entry's own store (instead of the ExternalSecret's).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SourceRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<StoreRef>,
    #[serde(rename = "generatorRef", default, skip_serializing_if = "Option::is_none")]
    pub generator_ref: Option<Value>,
}

/// What a SecretStore and a ClusterSecretStore share: the provider (one
/// key naming it, its settings untyped) and how often stores are checked.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StoreSpec {
    pub provider: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_settings: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Value>,
}

/// `external-secrets.io/v1` SecretStore: a store for its own namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "SecretStore",
    namespaced,
    status = "OpaqueStatus",
    derive = "PartialEq",
    derive = "Default",
    schema = "disabled"
)]
#[serde(transparent)]
pub struct SecretStoreSpec(pub StoreSpec);

/// `external-secrets.io/v1` ClusterSecretStore: a store for every namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "external-secrets.io",
    version = "v1",
    kind = "ClusterSecretStore",
    status = "OpaqueStatus",
    derive = "PartialEq",
    derive = "Default",
    schema = "disabled"
)]
#[serde(transparent)]
pub struct ClusterSecretStoreSpec(pub StoreSpec);
