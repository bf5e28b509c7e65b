//! `Manifest`: one Kubernetes object of a bundle, typed when nixflux knows its
//! kind (k8s-openapi structs) and kept as JSON when it does not (custom
//! resources). The kind table here is the one place that says which built-in
//! kinds nixflux types, whether they are namespaced, and how they are named.

use std::fmt;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, PodSpec, ResourceQuota, Secret,
    Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, Metadata, NamespaceResourceScope, Resource};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::spec::names::NameRule;
use crate::spec::{json_path, JsonPath, Problem};

/// Identifies an object the way Flux's inventory does: group, kind,
/// namespace (empty for cluster-scoped objects) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectId {
    /// Flux's inventory form: `<namespace>_<name>_<group>_<kind>`.
    pub fn inventory_id(&self) -> String {
        format!("{}_{}_{}_{}", self.namespace.as_deref().unwrap_or(""), self.name, self.group, self.kind)
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " `{ns}/{}`", self.name),
            None => write!(f, " `{}`", self.name),
        }
    }
}

/// The group of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// What nixflux knows about a kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub namespaced: bool,
    pub name_rule: NameRule,
}

trait Scope {
    const NAMESPACED: bool;
}
impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// Cluster-scoped custom resource kinds of the operators a homelab commonly
/// runs (from their upstream CRDs); any other unknown kind is taken as namespaced.
const CLUSTER_SCOPED_CUSTOM_KINDS: &[(&str, &str)] = &[
    ("cert-manager.io", "ClusterIssuer"),
    ("external-secrets.io", "ClusterSecretStore"),
    ("external-secrets.io", "ClusterExternalSecret"),
    ("external-secrets.io", "ClusterPushSecret"),
    ("postgresql.cnpg.io", "ClusterImageCatalog"),
];

macro_rules! kinds {
    ($($variant:ident => $rule:expr;)*) => {
        /// An object's body: a typed struct for the kinds in the table, JSON otherwise.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Body {
            $($variant(Box<$variant>),)*
            Dynamic(Map<String, Value>),
        }

        impl Body {
            fn meta(&self) -> Option<&ObjectMeta> {
                match self {
                    $(Body::$variant(o) => Some(o.metadata()),)*
                    Body::Dynamic(_) => None,
                }
            }

            fn meta_mut(&mut self) -> Option<&mut ObjectMeta> {
                match self {
                    $(Body::$variant(o) => Some(o.metadata_mut()),)*
                    Body::Dynamic(_) => None,
                }
            }

            pub fn api_version(&self) -> &str {
                match self {
                    $(Body::$variant(_) => <$variant as Resource>::API_VERSION,)*
                    Body::Dynamic(m) => m.get("apiVersion").and_then(Value::as_str).unwrap_or_default(),
                }
            }

            pub fn kind(&self) -> &str {
                match self {
                    $(Body::$variant(_) => <$variant as Resource>::KIND,)*
                    Body::Dynamic(m) => m.get("kind").and_then(Value::as_str).unwrap_or_default(),
                }
            }

            pub fn to_json(&self) -> Value {
                let v = match self {
                    $(Body::$variant(o) => serde_json::to_value(o),)*
                    Body::Dynamic(m) => return Value::Object(m.clone()),
                };
                // Serialising these types to a Value cannot fail: they hold no
                // non-string map keys and no fallible Serialize impls.
                v.unwrap_or(Value::Null)
            }
        }

        /// What nixflux knows about `apiVersion`/`kind`, if it is a typed kind.
        pub fn builtin_kind(api_version: &str, kind: &str) -> Option<KindInfo> {
            $(
                if api_version == <$variant as Resource>::API_VERSION && kind == <$variant as Resource>::KIND {
                    return Some(KindInfo {
                        namespaced: <<$variant as Resource>::Scope as Scope>::NAMESPACED,
                        name_rule: $rule,
                    });
                }
            )*
            None
        }

        /// Types a raw object of a built-in kind. `None` for other kinds.
        fn type_builtin(map: &Map<String, Value>, at: &JsonPath) -> Option<Result<Body, Vec<Problem>>> {
            let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            $(
                if api_version == <$variant as Resource>::API_VERSION && kind == <$variant as Resource>::KIND {
                    return Some(round_trip::<$variant>(map, at).map(|o| Body::$variant(Box::new(o))));
                }
            )*
            None
        }

        $(
            impl From<$variant> for Body {
                fn from(o: $variant) -> Body {
                    Body::$variant(Box::new(o))
                }
            }
        )*
    };
}

kinds! {
    Namespace => NameRule::Dns1123Label;
    CustomResourceDefinition => NameRule::Dns1123Subdomain;
    ServiceAccount => NameRule::Dns1123Subdomain;
    Secret => NameRule::Dns1123Subdomain;
    ConfigMap => NameRule::Dns1123Subdomain;
    PersistentVolume => NameRule::Dns1123Subdomain;
    PersistentVolumeClaim => NameRule::Dns1123Subdomain;
    StorageClass => NameRule::Dns1123Subdomain;
    PriorityClass => NameRule::Dns1123Subdomain;
    LimitRange => NameRule::Dns1123Subdomain;
    ResourceQuota => NameRule::Dns1123Subdomain;
    ClusterRole => NameRule::PathSegment;
    ClusterRoleBinding => NameRule::PathSegment;
    Role => NameRule::PathSegment;
    RoleBinding => NameRule::PathSegment;
    Pod => NameRule::Dns1123Subdomain;
    Deployment => NameRule::Dns1123Subdomain;
    StatefulSet => NameRule::Dns1123Subdomain;
    DaemonSet => NameRule::Dns1123Subdomain;
    ReplicaSet => NameRule::Dns1123Subdomain;
    Job => NameRule::Dns1123Subdomain;
    CronJob => NameRule::Dns1123Subdomain;
    Service => NameRule::Dns1035Label;
    IngressClass => NameRule::Dns1123Subdomain;
    Ingress => NameRule::Dns1123Subdomain;
    NetworkPolicy => NameRule::Dns1123Subdomain;
    PodDisruptionBudget => NameRule::Dns1123Subdomain;
    HorizontalPodAutoscaler => NameRule::PathSegment;
}

/// What nixflux assumes about any kind: the table for built-in kinds, the
/// list of known cluster-scoped custom kinds, and namespaced otherwise.
pub fn kind_info(api_version: &str, kind: &str) -> KindInfo {
    builtin_kind(api_version, kind).unwrap_or_else(|| {
        let group = group_of(api_version);
        KindInfo {
            namespaced: !CLUSTER_SCOPED_CUSTOM_KINDS.contains(&(group, kind)),
            name_rule: NameRule::Dns1123Subdomain,
        }
    })
}

/// Deserialises `map` into `T` and back; any field the round trip drops is
/// one `T` does not have: reported as an unknown field at its path.
pub fn round_trip<T: DeserializeOwned + Serialize>(map: &Map<String, Value>, at: &JsonPath) -> Result<T, Vec<Problem>> {
    let typed: T = serde_path_to_error::deserialize(Value::Object(map.clone())).map_err(|e| {
        vec![Problem::new(join(at, &json_path(e.path())), crate::spec::humanize(&e.inner().to_string()))]
    })?;
    let back = serde_json::to_value(&typed).map_err(|e| vec![Problem::new(at.clone(), e.to_string())])?;
    let mut problems = Vec::new();
    dropped_fields(&Value::Object(map.clone()), &back, at, &mut problems);
    if problems.is_empty() {
        Ok(typed)
    } else {
        Err(problems)
    }
}

/// `base` followed by `rel` (a path relative to the object).
fn join(base: &JsonPath, rel: &JsonPath) -> JsonPath {
    if rel.is_root() {
        return base.clone();
    }
    let rel = rel.to_string();
    let sep = if rel.starts_with('[') { "" } else { "." };
    JsonPath::raw(format!("{base}{sep}{rel}"))
}

fn dropped_fields(original: &Value, back: &Value, at: &JsonPath, problems: &mut Vec<Problem>) {
    match (original, back) {
        (Value::Object(o), Value::Object(b)) => {
            for (key, value) in o {
                if value.is_null() {
                    continue;
                }
                match b.get(key) {
                    Some(bv) => dropped_fields(value, bv, &at.key(key), problems),
                    None => {
                        let known: Vec<&str> = b.keys().map(String::as_str).collect();
                        let mut p = Problem::new(at.key(key), format!("unknown field `{key}`"));
                        if let Some(near) = nearest(key, &known) {
                            p = p.with_hint(format!("did you mean `{near}`?"));
                        }
                        problems.push(p);
                    }
                }
            }
        }
        (Value::Array(o), Value::Array(b)) => {
            for (i, (ov, bv)) in o.iter().zip(b).enumerate() {
                dropped_fields(ov, bv, &at.index(i), problems);
            }
        }
        _ => {}
    }
}

/// The nearest of `candidates` to `word` if it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&word.to_ascii_lowercase(), &c.to_ascii_lowercase()), *c))
        .filter(|(d, c)| *d <= (word.len().max(c.len()) / 3).max(2))
        .min()
        .map(|(_, c)| c)
}

/// One object of the bundle, with where it came from in the spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub body: Body,
    /// The JSON path of the spec entry that produced it (for messages).
    pub origin: JsonPath,
    /// Built by nixflux from an app's fields (not a raw object): its
    /// container image comes from the app's `image` field.
    pub generated: bool,
}

impl Manifest {
    pub fn new(body: impl Into<Body>, origin: JsonPath) -> Self {
        Manifest { body: body.into(), origin, generated: false }
    }

    pub fn generated(body: impl Into<Body>, origin: JsonPath) -> Self {
        Manifest { body: body.into(), origin, generated: true }
    }

    /// Builds a manifest from a raw object, typing built-in kinds.
    pub fn from_raw(map: &Map<String, Value>, origin: JsonPath) -> Result<Self, Vec<Problem>> {
        let body = match type_builtin(map, &origin) {
            Some(typed) => typed?,
            None => Body::Dynamic(map.clone()),
        };
        Ok(Manifest { body, origin, generated: false })
    }

    pub fn name(&self) -> &str {
        match self.body.meta() {
            Some(m) => m.name.as_deref().unwrap_or_default(),
            None => self.dynamic_meta_str("name"),
        }
    }

    pub fn namespace(&self) -> Option<&str> {
        match self.body.meta() {
            Some(m) => m.namespace.as_deref(),
            None => Some(self.dynamic_meta_str("namespace")).filter(|s| !s.is_empty()),
        }
    }

    fn dynamic_meta_str(&self, key: &str) -> &str {
        match &self.body {
            Body::Dynamic(m) => {
                m.get("metadata").and_then(|md| md.get(key)).and_then(Value::as_str).unwrap_or_default()
            }
            _ => "",
        }
    }

    pub fn set_namespace(&mut self, ns: &str) {
        if let Some(meta) = self.body.meta_mut() {
            meta.namespace = Some(ns.to_owned());
        } else if let Body::Dynamic(m) = &mut self.body {
            if let Some(Value::Object(md)) = m.get_mut("metadata") {
                md.insert("namespace".to_owned(), Value::String(ns.to_owned()));
            }
        }
    }

    pub fn id(&self) -> ObjectId {
        ObjectId {
            group: group_of(self.body.api_version()).to_owned(),
            kind: self.body.kind().to_owned(),
            namespace: self.namespace().map(str::to_owned),
            name: self.name().to_owned(),
        }
    }

    pub fn labels(&self) -> Option<&std::collections::BTreeMap<String, String>> {
        self.body.meta().and_then(|m| m.labels.as_ref())
    }

    /// The pod template's labels and spec of a workload kind (or a Pod).
    pub fn pod_template(&self) -> Option<(Option<&std::collections::BTreeMap<String, String>>, &PodSpec)> {
        fn t(
            tpl: &k8s_openapi::api::core::v1::PodTemplateSpec,
        ) -> Option<(Option<&std::collections::BTreeMap<String, String>>, &PodSpec)> {
            Some((tpl.metadata.as_ref().and_then(|m| m.labels.as_ref()), tpl.spec.as_ref()?))
        }
        match &self.body {
            Body::Deployment(o) => t(&o.spec.as_ref()?.template),
            Body::StatefulSet(o) => t(&o.spec.as_ref()?.template),
            Body::DaemonSet(o) => t(&o.spec.as_ref()?.template),
            Body::ReplicaSet(o) => t(o.spec.as_ref()?.template.as_ref()?),
            Body::Job(o) => t(&o.spec.as_ref()?.template),
            Body::CronJob(o) => t(&o.spec.as_ref()?.job_template.spec.as_ref()?.template),
            Body::Pod(o) => Some((o.metadata.labels.as_ref(), o.spec.as_ref()?)),
            _ => None,
        }
    }

    /// The pod spec of a workload kind, and the path of its containers'
    /// parent relative to the object (for messages).
    pub fn pod_spec_mut(&mut self) -> Option<(&mut PodSpec, &'static str)> {
        match &mut self.body {
            Body::Deployment(o) => Some((o.spec.as_mut()?.template.spec.as_mut()?, "spec.template.spec")),
            Body::StatefulSet(o) => Some((o.spec.as_mut()?.template.spec.as_mut()?, "spec.template.spec")),
            Body::DaemonSet(o) => Some((o.spec.as_mut()?.template.spec.as_mut()?, "spec.template.spec")),
            Body::ReplicaSet(o) => Some((o.spec.as_mut()?.template.as_mut()?.spec.as_mut()?, "spec.template.spec")),
            Body::Job(o) => Some((o.spec.as_mut()?.template.spec.as_mut()?, "spec.template.spec")),
            Body::CronJob(o) => Some((
                o.spec.as_mut()?.job_template.spec.as_mut()?.template.spec.as_mut()?,
                "spec.jobTemplate.spec.template.spec",
            )),
            Body::Pod(o) => Some((o.spec.as_mut()?, "spec")),
            _ => None,
        }
    }

    /// Position of this object's kind in the apply order used inside a file.
    pub fn kind_rank(&self) -> usize {
        const ORDER: &[&str] = &[
            "Namespace",
            "CustomResourceDefinition",
            "StorageClass",
            "PriorityClass",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "Role",
            "RoleBinding",
            "Secret",
            "ConfigMap",
            "PersistentVolume",
            "PersistentVolumeClaim",
            "LimitRange",
            "ResourceQuota",
            "Deployment",
            "StatefulSet",
            "DaemonSet",
            "ReplicaSet",
            "Job",
            "CronJob",
            "Pod",
            "Service",
            "IngressClass",
            "Ingress",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "HorizontalPodAutoscaler",
        ];
        let kind = self.body.kind();
        ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn typo_in_builtin_kind_is_an_unknown_field() {
        let obj = raw(json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagePullPolicey": "Always"}]}}}
        }));
        let err = Manifest::from_raw(&obj, JsonPath::root().key("objects").index(0)).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].path.to_string(), "objects[0].spec.template.spec.containers[0].imagePullPolicey");
        assert_eq!(err[0].message, "unknown field `imagePullPolicey`");
    }

    #[test]
    fn wrong_type_names_the_path() {
        let obj = raw(
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "3"}}),
        );
        let err = Manifest::from_raw(&obj, JsonPath::root().key("objects").index(1)).unwrap_err();
        assert_eq!(err[0].path.to_string(), "objects[1].spec.replicas");
        assert!(err[0].message.contains("invalid type"), "{}", err[0].message);
    }

    #[test]
    fn unknown_kinds_pass_through() {
        let obj = raw(
            json!({"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": "x"}, "spec": {"anything": 1}}),
        );
        let m = Manifest::from_raw(&obj, JsonPath::root()).unwrap();
        assert_eq!(m.body, Body::Dynamic(obj));
        assert!(kind_info("traefik.io/v1alpha1", "Middleware").namespaced);
        assert!(!kind_info("cert-manager.io/v1", "ClusterIssuer").namespaced);
        assert!(!kind_info("v1", "Namespace").namespaced);
        assert!(kind_info("v1", "ConfigMap").namespaced);
    }

    #[test]
    fn inventory_id_matches_flux() {
        let obj =
            raw(json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "ns"}}));
        let m = Manifest::from_raw(&obj, JsonPath::root()).unwrap();
        assert_eq!(m.id().inventory_id(), "ns_web_apps_Deployment");
    }
}
