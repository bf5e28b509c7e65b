//! CloudNativePG's kinds, typed (`postgresql.cnpg.io/v1`): the `Cluster`
//! (PostgreSQL instances, their volumes, the managed roles) and the
//! `Database` nixflux renders for an app's `database.postgres`. Fields
//! follow the upstream CRDs; what nixflux writes or checks is typed
//! (`imageName`, which the pinning policy checks like a container image,
//! storage, bootstrap, managed roles), the rest stays JSON values, so a raw
//! object of these kinds gets the unknown-field check at every typed level.

use std::collections::BTreeMap;

use kube::CustomResource;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use super::external_secrets::OpaqueStatus;
use super::flux::HealthCheckExpr;

/// The Flux Kustomization's health check for a Cluster: kstatus cannot
/// read CloudNativePG's status, so the `Ready` condition decides (until
/// the operator reports one, the Cluster is in progress).
pub fn health_check_expr() -> HealthCheckExpr {
    HealthCheckExpr {
        api_version: "postgresql.cnpg.io/v1".to_owned(),
        kind: Some("Cluster".to_owned()),
        current: "has(status.conditions) && status.conditions.filter(e, e.type == 'Ready').all(e, e.status == 'True') \
                  && status.conditions.exists(e, e.type == 'Ready')"
            .to_owned(),
        failed: None,
        in_progress: None,
    }
}

/// `postgresql.cnpg.io/v1` Cluster.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "postgresql.cnpg.io",
    version = "v1",
    kind = "Cluster",
    namespaced,
    status = "OpaqueStatus",
    derive = "PartialEq",
    derive = "Default",
    schema = "disabled"
)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterSpec {
    pub instances: i64,
    /// The PostgreSQL image; pinned like any container image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<ClusterStorage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<ClusterBootstrap>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub managed: Option<ClusterManaged>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inherited_metadata: Option<InheritedMetadata>,
    #[serde(rename = "affinity", default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Value>,
    #[serde(rename = "backup", default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<Value>,
    #[serde(rename = "certificates", default, skip_serializing_if = "Option::is_none")]
    pub certificates: Option<Value>,
    #[serde(rename = "enablePDB", default, skip_serializing_if = "Option::is_none")]
    pub enable_pdb: Option<Value>,
    #[serde(rename = "enableSuperuserAccess", default, skip_serializing_if = "Option::is_none")]
    pub enable_superuser_access: Option<Value>,
    #[serde(rename = "env", default, skip_serializing_if = "Option::is_none")]
    pub env: Option<Value>,
    #[serde(rename = "envFrom", default, skip_serializing_if = "Option::is_none")]
    pub env_from: Option<Value>,
    #[serde(rename = "ephemeralVolumeSource", default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_volume_source: Option<Value>,
    #[serde(rename = "ephemeralVolumesSizeLimit", default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_volumes_size_limit: Option<Value>,
    #[serde(rename = "externalClusters", default, skip_serializing_if = "Option::is_none")]
    pub external_clusters: Option<Value>,
    #[serde(rename = "failoverDelay", default, skip_serializing_if = "Option::is_none")]
    pub failover_delay: Option<Value>,
    #[serde(rename = "imageCatalogRef", default, skip_serializing_if = "Option::is_none")]
    pub image_catalog_ref: Option<Value>,
    #[serde(rename = "imagePullPolicy", default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<Value>,
    #[serde(rename = "imagePullSecrets", default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Value>,
    #[serde(rename = "livenessProbeTimeout", default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe_timeout: Option<Value>,
    #[serde(rename = "logLevel", default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<Value>,
    #[serde(rename = "maxSyncReplicas", default, skip_serializing_if = "Option::is_none")]
    pub max_sync_replicas: Option<Value>,
    #[serde(rename = "minSyncReplicas", default, skip_serializing_if = "Option::is_none")]
    pub min_sync_replicas: Option<Value>,
    #[serde(rename = "monitoring", default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<Value>,
    #[serde(rename = "nodeMaintenanceWindow", default, skip_serializing_if = "Option::is_none")]
    pub node_maintenance_window: Option<Value>,
    #[serde(rename = "plugins", default, skip_serializing_if = "Option::is_none")]
    pub plugins: Option<Value>,
    #[serde(rename = "podSecurityContext", default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<Value>,
    #[serde(rename = "podSelectorRefs", default, skip_serializing_if = "Option::is_none")]
    pub pod_selector_refs: Option<Value>,
    #[serde(rename = "postgresGID", default, skip_serializing_if = "Option::is_none")]
    pub postgres_gid: Option<Value>,
    #[serde(rename = "postgresUID", default, skip_serializing_if = "Option::is_none")]
    pub postgres_uid: Option<Value>,
    #[serde(rename = "postgresql", default, skip_serializing_if = "Option::is_none")]
    pub postgresql: Option<Value>,
    #[serde(rename = "primaryLease", default, skip_serializing_if = "Option::is_none")]
    pub primary_lease: Option<Value>,
    #[serde(rename = "primaryUpdateMethod", default, skip_serializing_if = "Option::is_none")]
    pub primary_update_method: Option<Value>,
    #[serde(rename = "primaryUpdateStrategy", default, skip_serializing_if = "Option::is_none")]
    pub primary_update_strategy: Option<Value>,
    #[serde(rename = "priorityClassName", default, skip_serializing_if = "Option::is_none")]
    pub priority_class_name: Option<Value>,
    #[serde(rename = "probes", default, skip_serializing_if = "Option::is_none")]
    pub probes: Option<Value>,
    #[serde(rename = "projectedVolumeTemplate", default, skip_serializing_if = "Option::is_none")]
    pub projected_volume_template: Option<Value>,
    #[serde(rename = "replica", default, skip_serializing_if = "Option::is_none")]
    pub replica: Option<Value>,
    #[serde(rename = "replicationSlots", default, skip_serializing_if = "Option::is_none")]
    pub replication_slots: Option<Value>,
    #[serde(rename = "resources", default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    #[serde(rename = "schedulerName", default, skip_serializing_if = "Option::is_none")]
    pub scheduler_name: Option<Value>,
    #[serde(rename = "seccompProfile", default, skip_serializing_if = "Option::is_none")]
    pub seccomp_profile: Option<Value>,
    #[serde(rename = "securityContext", default, skip_serializing_if = "Option::is_none")]
    pub security_context: Option<Value>,
    #[serde(rename = "serviceAccountName", default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<Value>,
    #[serde(rename = "serviceAccountTemplate", default, skip_serializing_if = "Option::is_none")]
    pub service_account_template: Option<Value>,
    #[serde(rename = "smartShutdownTimeout", default, skip_serializing_if = "Option::is_none")]
    pub smart_shutdown_timeout: Option<Value>,
    #[serde(rename = "startDelay", default, skip_serializing_if = "Option::is_none")]
    pub start_delay: Option<Value>,
    #[serde(rename = "stopDelay", default, skip_serializing_if = "Option::is_none")]
    pub stop_delay: Option<Value>,
    #[serde(rename = "superuserSecret", default, skip_serializing_if = "Option::is_none")]
    pub superuser_secret: Option<Value>,
    #[serde(rename = "switchoverDelay", default, skip_serializing_if = "Option::is_none")]
    pub switchover_delay: Option<Value>,
    #[serde(rename = "tablespaces", default, skip_serializing_if = "Option::is_none")]
    pub tablespaces: Option<Value>,
    #[serde(rename = "topologySpreadConstraints", default, skip_serializing_if = "Option::is_none")]
    pub topology_spread_constraints: Option<Value>,
    #[serde(rename = "walStorage", default, skip_serializing_if = "Option::is_none")]
    pub wal_storage: Option<Value>,
}

/// The volume of each instance.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterStorage {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    #[serde(rename = "pvcTemplate", default, skip_serializing_if = "Option::is_none")]
    pub pvc_template: Option<Value>,
    #[serde(rename = "resizeInUseVolumes", default, skip_serializing_if = "Option::is_none")]
    pub resize_in_use_volumes: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterBootstrap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initdb: Option<InitDb>,
    #[serde(rename = "pg_basebackup", default, skip_serializing_if = "Option::is_none")]
    pub pg_basebackup: Option<Value>,
    #[serde(rename = "recovery", default, skip_serializing_if = "Option::is_none")]
    pub recovery: Option<Value>,
}

/// A new cluster's first database and its owner (CloudNativePG makes the
/// owner's Secret `<cluster>-app` unless `secret` names one).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct InitDb {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretName>,
    #[serde(rename = "builtinLocale", default, skip_serializing_if = "Option::is_none")]
    pub builtin_locale: Option<Value>,
    #[serde(rename = "dataChecksums", default, skip_serializing_if = "Option::is_none")]
    pub data_checksums: Option<Value>,
    #[serde(rename = "encoding", default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Value>,
    #[serde(rename = "icuLocale", default, skip_serializing_if = "Option::is_none")]
    pub icu_locale: Option<Value>,
    #[serde(rename = "icuRules", default, skip_serializing_if = "Option::is_none")]
    pub icu_rules: Option<Value>,
    #[serde(rename = "import", default, skip_serializing_if = "Option::is_none")]
    pub import_: Option<Value>,
    #[serde(rename = "locale", default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Value>,
    #[serde(rename = "localeCType", default, skip_serializing_if = "Option::is_none")]
    pub locale_ctype: Option<Value>,
    #[serde(rename = "localeCollate", default, skip_serializing_if = "Option::is_none")]
    pub locale_collate: Option<Value>,
    #[serde(rename = "localeProvider", default, skip_serializing_if = "Option::is_none")]
    pub locale_provider: Option<Value>,
    #[serde(rename = "options", default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(rename = "postInitApplicationSQL", default, skip_serializing_if = "Option::is_none")]
    pub post_init_application_sql: Option<Value>,
    #[serde(rename = "postInitApplicationSQLRefs", default, skip_serializing_if = "Option::is_none")]
    pub post_init_application_sqlrefs: Option<Value>,
    #[serde(rename = "postInitSQL", default, skip_serializing_if = "Option::is_none")]
    pub post_init_sql: Option<Value>,
    #[serde(rename = "postInitSQLRefs", default, skip_serializing_if = "Option::is_none")]
    pub post_init_sqlrefs: Option<Value>,
    #[serde(rename = "postInitTemplateSQL", default, skip_serializing_if = "Option::is_none")]
    pub post_init_template_sql: Option<Value>,
    #[serde(rename = "postInitTemplateSQLRefs", default, skip_serializing_if = "Option::is_none")]
    pub post_init_template_sqlrefs: Option<Value>,
    #[serde(rename = "walSegmentSize", default, skip_serializing_if = "Option::is_none")]
    pub wal_segment_size: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SecretName {
    pub name: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClusterManaged {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<ManagedRole>,
    #[serde(rename = "services", default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Value>,
}

/// A role the operator keeps as declared.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ManagedRole {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensure: Option<Ensure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// A `kubernetes.io/basic-auth` Secret (`username`, `password`) in the cluster's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<SecretName>,
    #[serde(rename = "bypassrls", default, skip_serializing_if = "Option::is_none")]
    pub bypassrls: Option<Value>,
    #[serde(rename = "connectionLimit", default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<Value>,
    #[serde(rename = "createdb", default, skip_serializing_if = "Option::is_none")]
    pub createdb: Option<Value>,
    #[serde(rename = "createrole", default, skip_serializing_if = "Option::is_none")]
    pub createrole: Option<Value>,
    #[serde(rename = "disablePassword", default, skip_serializing_if = "Option::is_none")]
    pub disable_password: Option<Value>,
    #[serde(rename = "inRoles", default, skip_serializing_if = "Option::is_none")]
    pub in_roles: Option<Value>,
    #[serde(rename = "inherit", default, skip_serializing_if = "Option::is_none")]
    pub inherit: Option<Value>,
    #[serde(rename = "replication", default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Value>,
    #[serde(rename = "superuser", default, skip_serializing_if = "Option::is_none")]
    pub superuser: Option<Value>,
    #[serde(rename = "validUntil", default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    Present,
    Absent,
}

/// Labels and annotations the operator puts on what it creates.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct InheritedMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// `postgresql.cnpg.io/v1` Database: one database of a Cluster in its namespace.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "postgresql.cnpg.io",
    version = "v1",
    kind = "Database",
    namespaced,
    status = "OpaqueStatus",
    derive = "PartialEq",
    derive = "Default",
    schema = "disabled"
)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DatabaseSpec {
    pub cluster: ClusterRef,
    /// The database's name in PostgreSQL.
    pub name: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ensure: Option<Ensure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_reclaim_policy: Option<ReclaimPolicy>,
    #[serde(rename = "allowConnections", default, skip_serializing_if = "Option::is_none")]
    pub allow_connections: Option<Value>,
    #[serde(rename = "builtinLocale", default, skip_serializing_if = "Option::is_none")]
    pub builtin_locale: Option<Value>,
    #[serde(rename = "collationVersion", default, skip_serializing_if = "Option::is_none")]
    pub collation_version: Option<Value>,
    #[serde(rename = "connectionLimit", default, skip_serializing_if = "Option::is_none")]
    pub connection_limit: Option<Value>,
    #[serde(rename = "encoding", default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<Value>,
    #[serde(rename = "extensions", default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Value>,
    #[serde(rename = "fdws", default, skip_serializing_if = "Option::is_none")]
    pub fdws: Option<Value>,
    #[serde(rename = "icuLocale", default, skip_serializing_if = "Option::is_none")]
    pub icu_locale: Option<Value>,
    #[serde(rename = "icuRules", default, skip_serializing_if = "Option::is_none")]
    pub icu_rules: Option<Value>,
    #[serde(rename = "isTemplate", default, skip_serializing_if = "Option::is_none")]
    pub is_template: Option<Value>,
    #[serde(rename = "locale", default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Value>,
    #[serde(rename = "localeCType", default, skip_serializing_if = "Option::is_none")]
    pub locale_ctype: Option<Value>,
    #[serde(rename = "localeCollate", default, skip_serializing_if = "Option::is_none")]
    pub locale_collate: Option<Value>,
    #[serde(rename = "localeProvider", default, skip_serializing_if = "Option::is_none")]
    pub locale_provider: Option<Value>,
    #[serde(rename = "schemas", default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<Value>,
    #[serde(rename = "servers", default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Value>,
    #[serde(rename = "tablespace", default, skip_serializing_if = "Option::is_none")]
    pub tablespace: Option<Value>,
    #[serde(rename = "template", default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Value>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClusterRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ReclaimPolicy {
    Delete,
    Retain,
}
