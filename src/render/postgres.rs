//! Databases: an app's `database.postgres` → a CloudNativePG `Database`
//! and a managed role on the shared `Cluster` of `defaults.postgres` (one
//! Cluster for every app on it, rendered once), or a `Cluster` of the app's
//! own whose bootstrap creates the database and its owner. The app's
//! container gets libpq's connection settings: host, port and database as
//! values, user and password only by `secretKeyRef` to the Secret
//! CloudNativePG reads (`<cluster>-<owner>`, a `kubernetes.io/basic-auth`
//! Secret of the role) or generates (`<cluster>-app`), never from the spec.
//! A Cluster is never pruned (its volumes go with it) unless `allowPrune`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::json;

use crate::crd::cnpg::{
    Cluster, ClusterBootstrap, ClusterManaged, ClusterRef, ClusterSpec, ClusterStorage, Database, DatabaseSpec, Ensure,
    InitDb, ManagedRole, ReclaimPolicy, SecretName,
};
use crate::spec::secrets_db::{PostgresCluster, PostgresDatabase};
use crate::spec::{JsonPath, Problem, Spec};

use super::context::{to_strings, AppContext, MANAGED_BY_LABEL, MANAGER, PRUNE_ANNOTATION};
use super::manifest::Manifest;
use super::secrets;

pub const PORT: &str = "5432";
/// The environment variables nixflux sets (libpq's names).
pub const ENV_NAMES: [&str; 5] = ["PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD"];
const DEFAULT_SHARED_NAME: &str = "postgres";
const DEFAULT_SHARED_NAMESPACE: &str = "postgres";

/// Where an app's database lives and which Secret holds its credentials.
pub struct Placement {
    pub cluster: String,
    pub namespace: String,
    pub database: String,
    pub owner: String,
    /// In the app's namespace, with keys `username` and `password`.
    pub secret: String,
    pub own: bool,
}

/// The shared cluster's name and namespace.
pub fn shared_name(c: &PostgresCluster) -> (String, String) {
    (
        c.name.clone().unwrap_or_else(|| DEFAULT_SHARED_NAME.to_owned()),
        c.namespace.as_ref().map_or_else(|| DEFAULT_SHARED_NAMESPACE.to_owned(), ToString::to_string),
    )
}

pub fn placement(cx: &AppContext, db: &PostgresDatabase) -> Option<Placement> {
    let database = db.name.clone().unwrap_or_else(|| cx.name.to_string());
    let owner = db.owner.clone().unwrap_or_else(|| cx.name.to_string());
    match (&db.cluster, &cx.spec.defaults.postgres) {
        (Some(own), _) => {
            let cluster = own.name.clone().unwrap_or_else(|| format!("{}-db", cx.name));
            let secret = format!("{cluster}-app");
            Some(Placement { cluster, namespace: cx.namespace.clone(), database, owner, secret, own: true })
        }
        (None, Some(shared)) => {
            let (cluster, namespace) = shared_name(shared);
            let secret = format!("{cluster}-{owner}");
            Some(Placement { cluster, namespace, database, owner, secret, own: false })
        }
        (None, None) => None,
    }
}

fn at_of(cx: &AppContext) -> JsonPath {
    cx.at.key("database").key("postgres")
}

/// A Cluster from its declaration; `imageName` is pinned later with every image.
fn cluster(
    name: &str,
    meta: ObjectMeta,
    c: &PostgresCluster,
    bootstrap: Option<InitDb>,
    roles: Vec<ManagedRole>,
) -> Cluster {
    let mut meta = ObjectMeta { name: Some(name.to_owned()), ..meta };
    meta.annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(PRUNE_ANNOTATION.to_owned(), if c.allow_prune { "enabled" } else { "disabled" }.to_owned());
    Cluster {
        metadata: meta,
        spec: ClusterSpec {
            instances: c.instances,
            image_name: Some(c.image.clone()),
            storage: Some(ClusterStorage {
                size: Some(c.storage.size.to_string()),
                storage_class: c.storage.storage_class.clone(),
                ..Default::default()
            }),
            bootstrap: bootstrap.map(|initdb| ClusterBootstrap { initdb: Some(initdb), ..Default::default() }),
            managed: (!roles.is_empty()).then(|| ClusterManaged { roles, ..Default::default() }),
            ..Default::default()
        },
        status: None,
    }
}

fn check_cluster(c: &PostgresCluster, at: &JsonPath, problems: &mut Vec<Problem>) {
    if c.instances < 1 {
        problems.push(Problem::new(at.key("instances"), "a Cluster needs at least 1 instance"));
    }
}

/// The app's own objects: its Cluster, or on the shared one its Database
/// and the ExternalSecrets of its role's password.
pub fn render(cx: &AppContext, problems: &mut Vec<Problem>) -> Vec<Manifest> {
    let Some(db) = &cx.app.database.postgres else { return Vec::new() };
    let at = at_of(cx);
    if cx.app.image.is_none() {
        problems.push(Problem::new(at.clone(), "`database.postgres` needs an `image`: only a workload can connect"));
    }
    for name in ENV_NAMES {
        let taken = cx.app.env.keys().chain(cx.app.secret_env.keys()).any(|k| k.as_str() == name);
        if taken {
            problems.push(
                Problem::new(
                    at.clone(),
                    format!("`{name}` is set by `database.postgres` and also in `env` or `secretEnv`"),
                )
                .with_hint("drop it from `env`/`secretEnv`: nixflux sets libpq's variables for the database"),
            );
        }
    }
    let Some(p) = placement(cx, db) else {
        problems.push(
            Problem::new(at, "no Cluster for this database: `defaults.postgres` is not set")
                .with_hint("declare the shared Cluster in `defaults.postgres`, or give the app its own `cluster`"),
        );
        return Vec::new();
    };
    if let Some(own) = &db.cluster {
        check_cluster(own, &at.key("cluster"), problems);
        if own.namespace.is_some() {
            problems.push(
                Problem::new(at.key("cluster").key("namespace"), "an app's own Cluster is in the app's namespace")
                    .with_hint("drop `namespace`, or use the shared Cluster of `defaults.postgres`"),
            );
        }
        if db.password.is_some() {
            problems.push(
                Problem::new(
                    at.key("password"),
                    format!("CloudNativePG generates the owner's password of an own Cluster (`{}`)", p.secret),
                )
                .with_hint("drop `password`"),
            );
        }
        let initdb = InitDb { database: Some(p.database.clone()), owner: Some(p.owner.clone()), ..Default::default() };
        let c = cluster(&p.cluster, cx.meta(&p.cluster), own, Some(initdb), Vec::new());
        return vec![Manifest::generated(c, at.key("cluster"))];
    }
    let mut out = Vec::new();
    let meta = |name: String, namespace: &str| ObjectMeta { namespace: Some(namespace.to_owned()), ..cx.meta(&name) };
    out.push(Manifest::new(
        Database {
            metadata: meta(format!("{}-{}", p.cluster, p.database), &p.namespace),
            spec: DatabaseSpec {
                cluster: ClusterRef { name: Some(p.cluster.clone()) },
                name: p.database.clone(),
                owner: p.owner.clone(),
                ensure: Some(Ensure::Present),
                database_reclaim_policy: Some(ReclaimPolicy::Retain),
                ..Default::default()
            },
            status: None,
        },
        at.clone(),
    ));
    if let Some(password) = &db.password {
        // The role's basic-auth Secret, made from the store entry in the
        // cluster's namespace (CloudNativePG reads it) and in the app's.
        let template = json!({
            "type": "kubernetes.io/basic-auth",
            "data": { "username": p.owner, "password": "{{ .password }}" },
        });
        let mut namespaces = vec![p.namespace.clone()];
        if cx.namespace != p.namespace {
            namespaces.push(cx.namespace.clone());
        }
        for ns in namespaces {
            let entries = [("password".to_owned(), password, at.key("password"))];
            if let Some(es) = secrets::external_secret(
                cx.spec,
                meta(p.secret.clone(), &ns),
                entries,
                Some(template.clone()),
                problems,
            ) {
                out.push(Manifest::new(es, at.key("password")));
            }
        }
    }
    out
}

/// libpq's variables for the app's container.
pub fn env_vars(cx: &AppContext) -> Vec<EnvVar> {
    let Some(p) = cx.app.database.postgres.as_ref().and_then(|db| placement(cx, db)) else { return Vec::new() };
    let value = |name: &str, v: String| EnvVar { name: name.to_owned(), value: Some(v), value_from: None };
    vec![
        value("PGHOST", format!("{}-rw.{}.svc", p.cluster, p.namespace)),
        value("PGPORT", PORT.to_owned()),
        value("PGDATABASE", p.database.clone()),
        secrets::secret_env_var("PGUSER", &p.secret, "username"),
        secrets::secret_env_var("PGPASSWORD", &p.secret, "password"),
    ]
}

/// The shared Cluster with a managed role for each app on it (their
/// password Secrets `<cluster>-<owner>`), if `defaults.postgres` is set.
pub fn shared_cluster(spec: &Spec, apps: &[AppContext], problems: &mut Vec<Problem>) -> Option<Manifest> {
    let shared = spec.defaults.postgres.as_ref()?;
    let at = JsonPath::root().key("defaults").key("postgres");
    check_cluster(shared, &at, problems);
    let (name, namespace) = shared_name(shared);
    let mut roles: Vec<ManagedRole> = apps
        .iter()
        .filter_map(|cx| {
            cx.app.database.postgres.as_ref().filter(|db| db.cluster.is_none()).and_then(|db| placement(cx, db))
        })
        .map(|p| ManagedRole {
            name: p.owner.clone(),
            ensure: Some(Ensure::Present),
            login: Some(true),
            password_secret: Some(SecretName { name: p.secret }),
            ..Default::default()
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles.dedup_by(|a, b| a.name == b.name);
    let mut labels = to_strings(&spec.defaults.labels);
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned());
    let meta = ObjectMeta { namespace: Some(namespace), labels: Some(labels), ..Default::default() };
    Some(Manifest::generated(cluster(&name, meta, shared, None, roles), at))
}
