//! The kind table: which kinds nixflux types, and what it knows about every
//! kind it meets. A typed kind is registered by its Rust type, anything that
//! implements `kube::Resource` with a static type (k8s-openapi structs, and
//! CRD structs derived with kube's `CustomResource`): its apiVersion, kind
//! and scope come from the type. The row order is the apply order inside a
//! bundle file. Kinds nixflux does not type stay JSON (`Body::Dynamic`);
//! the few such custom kinds known to be cluster-scoped have rows of their
//! own until their CRD structs land.

use std::sync::LazyLock;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, LimitRange, Namespace, PersistentVolume, PersistentVolumeClaim, Pod, ResourceQuota, Secret, Service,
    ServiceAccount,
};
use k8s_openapi::api::networking::v1::{Ingress, IngressClass, NetworkPolicy};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::api::storage::v1::StorageClass;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use kube::Resource;
use serde_json::{Map, Value};

use super::id::group_of;
use super::round_trip::round_trip;
use crate::crd::cert_manager::Certificate;
use crate::crd::cnpg::{Cluster, Database};
use crate::crd::external_secrets::{ClusterSecretStore, ExternalSecret, SecretStore};
use crate::crd::flux::{Alert, Bucket, HelmRelease, HelmRepository, Kustomization, OCIRepository, Provider, Receiver};
use crate::crd::traefik::{IngressRoute, Middleware, TlsStore};
use crate::spec::names::NameRule;
use crate::spec::{JsonPath, Problem};

/// What nixflux knows about a kind.
#[derive(Debug, Clone, Copy)]
pub struct KindInfo {
    pub namespaced: bool,
    pub name_rule: NameRule,
}

/// A resource scope known at compile time.
pub trait Scope {
    const NAMESPACED: bool;
}
impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

/// One row of the table.
#[derive(Debug, Clone)]
struct Row {
    /// `None` matches any version of the group (rows of untyped kinds).
    api_version: Option<String>,
    group: String,
    kind: String,
    info: KindInfo,
    /// Typed rows come first, in apply order; untyped rows sort with
    /// every other unknown kind.
    typed: bool,
}

impl Row {
    fn typed<K>(name_rule: NameRule) -> Row
    where
        K: Resource<DynamicType = ()>,
        K::Scope: Scope,
    {
        Row {
            api_version: Some(K::api_version(&()).into_owned()),
            group: K::group(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            info: KindInfo { namespaced: <K::Scope as Scope>::NAMESPACED, name_rule },
            typed: true,
        }
    }

    fn untyped(group: &str, kind: &str, namespaced: bool) -> Row {
        Row {
            api_version: None,
            group: group.to_owned(),
            kind: kind.to_owned(),
            info: KindInfo { namespaced, name_rule: NameRule::Dns1123Subdomain },
            typed: false,
        }
    }

    fn matches(&self, api_version: &str, kind: &str) -> bool {
        self.kind == kind
            && match &self.api_version {
                Some(v) => v == api_version,
                None => self.group == group_of(api_version),
            }
    }
}

macro_rules! kinds {
    (
        typed { $($variant:ident => $rule:expr;)* }
        untyped { $(($group:literal, $kind:literal, namespaced: $namespaced:literal);)* }
    ) => {
        /// An object's body: a typed struct for the typed kinds, JSON otherwise.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Body {
            $($variant(Box<$variant>),)*
            Dynamic(Map<String, Value>),
        }

        /// The typed kinds, numbered by their row in the table.
        #[derive(Debug, Clone, Copy)]
        enum Typed {
            $($variant,)*
        }

        const TYPED: &[Typed] = &[$(Typed::$variant,)*];

        static TABLE: LazyLock<Vec<Row>> = LazyLock::new(|| {
            vec![
                $(Row::typed::<$variant>($rule),)*
                $(Row::untyped($group, $kind, $namespaced),)*
            ]
        });

        impl Body {
            fn row(&self) -> Option<&'static Row> {
                match self {
                    $(Body::$variant(_) => Some(&TABLE[Typed::$variant as usize]),)*
                    Body::Dynamic(_) => None,
                }
            }

            pub fn meta(&self) -> Option<&ObjectMeta> {
                match self {
                    $(Body::$variant(o) => Some(o.meta()),)*
                    Body::Dynamic(_) => None,
                }
            }

            pub fn meta_mut(&mut self) -> Option<&mut ObjectMeta> {
                match self {
                    $(Body::$variant(o) => Some(o.meta_mut()),)*
                    Body::Dynamic(_) => None,
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

        /// As its typed struct serialises, or the JSON of a dynamic body.
        impl serde::Serialize for Body {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Body::$variant(o) => o.serialize(s),)*
                    Body::Dynamic(m) => m.serialize(s),
                }
            }
        }

        /// Types a raw object of a typed kind. `None` for other kinds.
        pub fn type_raw(map: &Map<String, Value>, at: &JsonPath) -> Option<Result<Body, Vec<Problem>>> {
            let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
            let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
            let row = TABLE.iter().take(TYPED.len()).position(|r| r.matches(api_version, kind))?;
            Some(match TYPED[row] {
                $(Typed::$variant => round_trip::<$variant>(map, at).map(|o| Body::$variant(Box::new(o))),)*
            })
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
    typed {
        Namespace => NameRule::Dns1123Label;
        CustomResourceDefinition => NameRule::Dns1123Subdomain;
        StorageClass => NameRule::Dns1123Subdomain;
        PriorityClass => NameRule::Dns1123Subdomain;
        ServiceAccount => NameRule::Dns1123Subdomain;
        ClusterRole => NameRule::PathSegment;
        ClusterRoleBinding => NameRule::PathSegment;
        Role => NameRule::PathSegment;
        RoleBinding => NameRule::PathSegment;
        Secret => NameRule::Dns1123Subdomain;
        ConfigMap => NameRule::Dns1123Subdomain;
        PersistentVolume => NameRule::Dns1123Subdomain;
        PersistentVolumeClaim => NameRule::Dns1123Subdomain;
        LimitRange => NameRule::Dns1123Subdomain;
        ResourceQuota => NameRule::Dns1123Subdomain;
        Deployment => NameRule::Dns1123Subdomain;
        StatefulSet => NameRule::Dns1123Subdomain;
        DaemonSet => NameRule::Dns1123Subdomain;
        ReplicaSet => NameRule::Dns1123Subdomain;
        Job => NameRule::Dns1123Subdomain;
        CronJob => NameRule::Dns1123Subdomain;
        Pod => NameRule::Dns1123Subdomain;
        Service => NameRule::Dns1035Label;
        IngressClass => NameRule::Dns1123Subdomain;
        Ingress => NameRule::Dns1123Subdomain;
        NetworkPolicy => NameRule::Dns1123Subdomain;
        PodDisruptionBudget => NameRule::Dns1123Subdomain;
        HorizontalPodAutoscaler => NameRule::PathSegment;
        // Custom kinds: after CustomResourceDefinition and the built-in
        // kinds, a source before what builds from it, a Provider before
        // the Alerts that name it.
        Bucket => NameRule::Dns1123Subdomain;
        HelmRepository => NameRule::Dns1123Subdomain;
        OCIRepository => NameRule::Dns1123Subdomain;
        Kustomization => NameRule::Dns1123Subdomain;
        HelmRelease => NameRule::Dns1123Subdomain;
        Receiver => NameRule::Dns1123Subdomain;
        Provider => NameRule::Dns1123Subdomain;
        Alert => NameRule::Dns1123Subdomain;
        // A Certificate before the TLSStore serving its Secret, Middlewares
        // before the IngressRoutes naming them.
        Certificate => NameRule::Dns1123Subdomain;
        TlsStore => NameRule::Dns1123Subdomain;
        Middleware => NameRule::Dns1123Subdomain;
        IngressRoute => NameRule::Dns1123Subdomain;
        // A store before the ExternalSecrets reading it, a Cluster before
        // its Databases.
        ClusterSecretStore => NameRule::Dns1123Subdomain;
        SecretStore => NameRule::Dns1123Subdomain;
        ExternalSecret => NameRule::Dns1123Subdomain;
        Cluster => NameRule::Dns1123Subdomain;
        Database => NameRule::Dns1123Subdomain;
    }
    // Cluster-scoped custom kinds of operators a homelab commonly runs (from
    // their upstream CRDs), until their CRD structs are typed rows above.
    untyped {
        ("cert-manager.io", "ClusterIssuer", namespaced: false);
        ("external-secrets.io", "ClusterExternalSecret", namespaced: false);
        ("external-secrets.io", "ClusterPushSecret", namespaced: false);
        ("postgresql.cnpg.io", "ClusterImageCatalog", namespaced: false);
    }
}

impl Body {
    pub fn api_version(&self) -> &str {
        match (self.row(), self) {
            (Some(row), _) => row.api_version.as_deref().unwrap_or_default(),
            (None, Body::Dynamic(m)) => m.get("apiVersion").and_then(Value::as_str).unwrap_or_default(),
            (None, _) => "",
        }
    }

    pub fn kind(&self) -> &str {
        match (self.row(), self) {
            (Some(row), _) => &row.kind,
            (None, Body::Dynamic(m)) => m.get("kind").and_then(Value::as_str).unwrap_or_default(),
            (None, _) => "",
        }
    }
}

/// What nixflux knows about `apiVersion`/`kind` if it is a typed kind.
pub fn typed_kind(api_version: &str, kind: &str) -> Option<KindInfo> {
    TABLE.iter().filter(|r| r.typed).find(|r| r.matches(api_version, kind)).map(|r| r.info)
}

/// What nixflux assumes about any kind: its row, or a namespaced kind
/// named like most objects.
pub fn kind_info(api_version: &str, kind: &str) -> KindInfo {
    TABLE
        .iter()
        .find(|r| r.matches(api_version, kind))
        .map_or(KindInfo { namespaced: true, name_rule: NameRule::Dns1123Subdomain }, |r| r.info)
}

/// Position of a kind in the apply order used inside a file: typed kinds
/// by their row (by kind name, whatever the version), the rest after them.
pub fn apply_rank(kind: &str) -> usize {
    let typed = TABLE.iter().filter(|r| r.typed);
    typed.clone().position(|r| r.kind == kind).unwrap_or_else(|| typed.count())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_comes_from_the_type() {
        assert!(!kind_info("v1", "Namespace").namespaced);
        assert!(kind_info("v1", "ConfigMap").namespaced);
        assert!(!kind_info("rbac.authorization.k8s.io/v1", "ClusterRole").namespaced);
        assert!(!kind_info("apiextensions.k8s.io/v1", "CustomResourceDefinition").namespaced);
        assert!(kind_info("traefik.io/v1alpha1", "Middleware").namespaced);
        assert!(typed_kind("traefik.io/v1alpha1", "IngressRoute").is_some_and(|k| k.namespaced));
        assert!(typed_kind("traefik.io/v1alpha1", "TLSStore").is_some());
        assert!(typed_kind("cert-manager.io/v1", "Certificate").is_some());
        assert!(!kind_info("cert-manager.io/v1", "ClusterIssuer").namespaced);
        assert!(typed_kind("cert-manager.io/v1", "ClusterIssuer").is_none());
        assert!(typed_kind("apps/v1", "Deployment").is_some());
        assert!(typed_kind("apps/v1beta1", "Deployment").is_none());
        assert!(typed_kind("source.toolkit.fluxcd.io/v1", "Bucket").is_some_and(|k| k.namespaced));
        assert!(typed_kind("source.toolkit.fluxcd.io/v1beta2", "Bucket").is_none());
        assert!(typed_kind("notification.toolkit.fluxcd.io/v1beta3", "Alert").is_some());
        assert!(typed_kind("external-secrets.io/v1", "ExternalSecret").is_some_and(|k| k.namespaced));
        assert!(typed_kind("external-secrets.io/v1", "ClusterSecretStore").is_some_and(|k| !k.namespaced));
        assert!(typed_kind("external-secrets.io/v1beta1", "ExternalSecret").is_none());
        assert!(typed_kind("postgresql.cnpg.io/v1", "Cluster").is_some_and(|k| k.namespaced));
        assert!(typed_kind("postgresql.cnpg.io/v1", "Database").is_some());
        assert!(typed_kind("helm.toolkit.fluxcd.io/v2", "HelmRelease").is_some_and(|k| k.namespaced));
        assert!(typed_kind("source.toolkit.fluxcd.io/v1", "HelmRepository").is_some());
        assert!(typed_kind("source.toolkit.fluxcd.io/v1", "OCIRepository").is_some());
        assert!(typed_kind("source.toolkit.fluxcd.io/v1beta2", "OCIRepository").is_none());
    }

    #[test]
    fn apply_order_is_the_row_order() {
        assert_eq!(apply_rank("Namespace"), 0);
        assert!(apply_rank("ServiceAccount") < apply_rank("Deployment"));
        assert!(apply_rank("Deployment") < apply_rank("Service"));
        assert!(apply_rank("CustomResourceDefinition") < apply_rank("Bucket"));
        assert!(apply_rank("HorizontalPodAutoscaler") < apply_rank("Bucket"));
        assert!(apply_rank("Bucket") < apply_rank("Kustomization"));
        assert!(apply_rank("Provider") < apply_rank("Alert"));
        assert!(apply_rank("HelmRepository") < apply_rank("HelmRelease"));
        assert!(apply_rank("OCIRepository") < apply_rank("HelmRelease"));
        assert!(apply_rank("Certificate") < apply_rank("TLSStore"));
        assert!(apply_rank("Middleware") < apply_rank("IngressRoute"));
        assert_eq!(apply_rank("ServersTransport"), TYPED.len());
        assert!(apply_rank("ClusterSecretStore") < apply_rank("ExternalSecret"));
        assert!(apply_rank("Cluster") < apply_rank("Database"));
        assert_eq!(apply_rank("ClusterIssuer"), TYPED.len());
    }

    #[test]
    fn every_typed_row_is_its_variant() {
        for (i, t) in TYPED.iter().enumerate() {
            assert_eq!(*t as usize, i);
            assert!(TABLE[i].typed);
        }
    }
}
