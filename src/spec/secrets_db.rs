//! The spec's secrets and databases (re-exported by `model.rs`): the
//! External Secrets stores declared once in `defaults.secretStores`, an
//! app's `secretEnv` and `secretFiles` (references into a store, never
//! values), and `database.postgres` with the CloudNativePG cluster it lives
//! on (`defaults.postgres`, or the app's own). Like `model.rs`, every
//! struct denies unknown fields and every default is here.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::names::{EnvName, NamespaceName, VolumeName};
use super::quantity::Quantity;
pub use crate::crd::external_secrets::StoreKind;

/// A store an ExternalSecret can read: a `ClusterSecretStore` (any
/// namespace) or a `SecretStore` (of that name in the app's namespace).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretStoreDecl {
    #[serde(default = "cluster_store")]
    pub kind: StoreKind,
    /// How often External Secrets reads the entries again (a Go duration).
    #[serde(default = "one_hour")]
    pub refresh_interval: String,
}

fn cluster_store() -> StoreKind {
    StoreKind::ClusterSecretStore
}

fn one_hour() -> String {
    "1h".to_owned()
}

/// One entry of a store: its key and, for structured entries, the property.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretRef {
    pub key: String,
    #[serde(default)]
    pub property: Option<String>,
    /// One of `defaults.secretStores` (default: `defaults.secretStore`).
    #[serde(default)]
    pub store: Option<String>,
}

/// `secretEnv`: environment variable name -> store entry.
pub type SecretEnv = BTreeMap<EnvName, SecretRef>;

/// One `secretFiles` volume: a Secret made from store entries, mounted
/// read-only with one file per entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretFilesVolume {
    pub mount_path: String,
    /// File name -> store entry.
    pub files: BTreeMap<String, SecretRef>,
}

/// `secretFiles`: volume name -> files.
pub type SecretFiles = BTreeMap<VolumeName, SecretFilesVolume>;

/// The databases an app gets.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppDatabase {
    #[serde(default)]
    pub postgres: Option<PostgresDatabase>,
}

/// A PostgreSQL database for the app, owned by a role of its own.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresDatabase {
    /// The database's name (default: the app's name).
    #[serde(default)]
    pub name: Option<String>,
    /// The role that owns it (default: the app's name).
    #[serde(default)]
    pub owner: Option<String>,
    /// The app's own Cluster (default: the shared `defaults.postgres`).
    #[serde(default)]
    pub cluster: Option<PostgresCluster>,
    /// On the shared cluster: the role's password, from a store entry
    /// (ExternalSecrets `<cluster>-<owner>` in the cluster's and the app's
    /// namespace). Without it that Secret must be in the bundle or `external`.
    #[serde(default)]
    pub password: Option<SecretRef>,
}

/// A CloudNativePG Cluster: the shared one in `defaults.postgres`, or an app's own.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresCluster {
    /// Default: `postgres` (shared), `<app>-db` (an app's own).
    #[serde(default)]
    pub name: Option<String>,
    /// The shared cluster's namespace (default `postgres`); an app's own
    /// cluster is in the app's namespace.
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
    #[serde(default = "one")]
    pub instances: i64,
    pub storage: PostgresStorage,
    /// The PostgreSQL image (`imageName`): a key of `images` or a pinned reference.
    pub image: String,
    /// Let Flux prune the Cluster (and with it its volumes and data) when it
    /// leaves the bundle. Default: never (`kustomize.toolkit.fluxcd.io/prune: disabled`).
    #[serde(default)]
    pub allow_prune: bool,
}

fn one() -> i64 {
    1
}

/// Each instance's volume.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresStorage {
    pub size: Quantity,
    #[serde(default)]
    pub storage_class: Option<String>,
}
