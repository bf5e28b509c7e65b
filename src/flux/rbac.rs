//! The publisher's API access, and nothing more: in the Flux namespace, `get`,
//! `list`, `watch` and `patch` on exactly this target's Bucket and
//! Kustomization (by `resourceNames`), to request a reconcile and wait for
//! it; cluster-wide, `get` on the `kube-system` Namespace alone, whose uid
//! binds a target to its cluster. Kubernetes authorises a `list` or `watch`
//! under `resourceNames` only when the request carries the field selector
//! `metadata.name=<name>`: the client must list and watch one object by
//! name, never the collection.

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{
    ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding, RoleRef, Subject as RbacSubject,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::object::{annotations, labels, meta, object, BootstrapObject};
use super::options::{BootstrapOptions, RbacOptions, Subject};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
/// The verbs on the target's own Flux objects.
pub const VERBS: [&str; 4] = ["get", "list", "watch", "patch"];

/// Role and RoleBinding name.
pub fn role_name(opts: &BootstrapOptions) -> String {
    format!("{}-publisher", opts.name)
}

/// ClusterRole and ClusterRoleBinding name: cluster-wide, so the namespace is part of it.
pub fn cluster_role_name(opts: &BootstrapOptions) -> String {
    format!("{}-{}-publisher", opts.namespace, opts.name)
}

fn subjects(opts: &BootstrapOptions, rbac: &RbacOptions) -> Vec<RbacSubject> {
    let mut out: Vec<RbacSubject> = rbac
        .service_account
        .iter()
        .map(|name| RbacSubject {
            kind: "ServiceAccount".into(),
            name: name.clone(),
            namespace: Some(opts.namespace.clone()),
            api_group: None,
        })
        .collect();
    out.extend(rbac.subjects.iter().map(|s| match s {
        Subject::User(name) => {
            RbacSubject { kind: "User".into(), name: name.clone(), namespace: None, api_group: Some(RBAC_GROUP.into()) }
        }
        Subject::Group(name) => RbacSubject {
            kind: "Group".into(),
            name: name.clone(),
            namespace: None,
            api_group: Some(RBAC_GROUP.into()),
        },
        Subject::ServiceAccount { namespace, name } => RbacSubject {
            kind: "ServiceAccount".into(),
            name: name.clone(),
            namespace: Some(namespace.clone()),
            api_group: None,
        },
    }));
    out
}

fn rule(group: &str, resource: &str, name: &str, verbs: &[&str]) -> PolicyRule {
    rule_for(group, resource, vec![name.to_owned()], verbs)
}

fn rule_for(group: &str, resource: &str, names: Vec<String>, verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(vec![group.to_owned()]),
        resources: Some(vec![resource.to_owned()]),
        resource_names: Some(names),
        verbs: verbs.iter().map(|v| (*v).to_owned()).collect(),
        non_resource_urls: None,
    }
}

/// Metadata of the cluster-scoped objects: no namespace.
fn cluster_meta(opts: &BootstrapOptions) -> ObjectMeta {
    ObjectMeta {
        name: Some(cluster_role_name(opts)),
        labels: Some(labels(opts)),
        annotations: Some(annotations()),
        ..Default::default()
    }
}

pub fn role(opts: &BootstrapOptions) -> Role {
    Role {
        metadata: meta(opts, role_name(opts)),
        rules: Some(vec![
            rule("source.toolkit.fluxcd.io", "buckets", &opts.name, &VERBS),
            rule_for("kustomize.toolkit.fluxcd.io", "kustomizations", opts.kustomization_names(), &VERBS),
        ]),
    }
}

pub fn cluster_role(opts: &BootstrapOptions) -> ClusterRole {
    ClusterRole {
        metadata: cluster_meta(opts),
        rules: Some(vec![rule("", "namespaces", "kube-system", &["get"])]),
        aggregation_rule: None,
    }
}

pub fn role_binding(opts: &BootstrapOptions, rbac: &RbacOptions) -> RoleBinding {
    RoleBinding {
        metadata: meta(opts, role_name(opts)),
        role_ref: RoleRef { api_group: RBAC_GROUP.into(), kind: "Role".into(), name: role_name(opts) },
        subjects: Some(subjects(opts, rbac)),
    }
}

pub fn cluster_role_binding(opts: &BootstrapOptions, rbac: &RbacOptions) -> ClusterRoleBinding {
    ClusterRoleBinding {
        metadata: cluster_meta(opts),
        role_ref: RoleRef { api_group: RBAC_GROUP.into(), kind: "ClusterRole".into(), name: cluster_role_name(opts) },
        subjects: Some(subjects(opts, rbac)),
    }
}

pub fn service_account(opts: &BootstrapOptions, name: &str) -> ServiceAccount {
    ServiceAccount { metadata: meta(opts, name.to_owned()), ..Default::default() }
}

/// ServiceAccount (when asked for), Role, ClusterRole and their bindings,
/// in apply order; nothing when there is no subject to bind.
pub fn objects(opts: &BootstrapOptions, rbac: &RbacOptions) -> Vec<BootstrapObject> {
    if rbac.service_account.is_none() && rbac.subjects.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(sa) = &rbac.service_account {
        out.push(object(&service_account(opts, sa)));
    }
    out.push(object(&cluster_role(opts)));
    out.push(object(&cluster_role_binding(opts, rbac)));
    out.push(object(&role(opts)));
    out.push(object(&role_binding(opts, rbac)));
    out
}
