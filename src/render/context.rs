//! What every part of an app's render shares: the app's context (spec,
//! name, namespace, JSON path, labels and metadata) and the names nixflux
//! gives to labels, annotations and ports. `app`, `workload` and
//! `network_policy` all read it; it reads none of them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::spec::names::AppName;
use crate::spec::names::LabelKey;
use crate::spec::{App, JsonPath, Spec};

/// The name of the app's main container port.
pub const HTTP_PORT: &str = "http";
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "nixflux";
/// Flux never prunes objects carrying this annotation.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// Namespaces that exist in every cluster: nixflux never renders (and so
/// never lets Flux prune) their Namespace objects.
pub const SYSTEM_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Everything rendering one app needs to know.
pub struct AppContext<'a> {
    pub spec: &'a Spec,
    pub name: &'a AppName,
    pub app: &'a App,
    pub namespace: String,
    pub at: JsonPath,
}

impl<'a> AppContext<'a> {
    pub fn new(spec: &'a Spec, name: &'a AppName, app: &'a App) -> Self {
        let namespace = app.namespace.as_ref().map_or_else(|| name.to_string(), |n| n.to_string());
        AppContext { spec, name, app, namespace, at: JsonPath::root().key("apps").key(name.as_str()) }
    }

    pub fn selector_labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(NAME_LABEL.to_owned(), self.name.to_string())])
    }

    /// User labels (defaults, then the app's), then the standard ones, which win.
    pub fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = to_strings(&self.spec.defaults.labels);
        labels.extend(to_strings(&self.app.labels));
        labels.insert(NAME_LABEL.to_owned(), self.name.to_string());
        labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned());
        labels
    }

    fn annotations(&self) -> Option<BTreeMap<String, String>> {
        let mut a = to_strings(&self.spec.defaults.annotations);
        a.extend(to_strings(&self.app.annotations));
        (!a.is_empty()).then_some(a)
    }

    pub fn meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels()),
            annotations: self.annotations(),
            ..Default::default()
        }
    }

    pub fn claim_name(&self, volume: &str) -> String {
        format!("{}-{volume}", self.name)
    }

    /// Whether this app's Namespace object is rendered at all (by it or shared).
    pub fn wants_namespace(&self) -> bool {
        self.app.create_namespace.unwrap_or(self.spec.defaults.create_namespaces)
            && !SYSTEM_NAMESPACES.contains(&self.namespace.as_str())
    }

    /// Claims that outlive the app (not pruned by Flux).
    pub fn retains_data(&self) -> bool {
        self.app.volumes.values().any(|v| v.persistent_volume_claim.as_ref().is_some_and(|c| !c.prune))
    }
}

pub fn to_strings<V: AsRef<str>>(labels: &BTreeMap<LabelKey, V>) -> BTreeMap<String, String> {
    labels.iter().map(|(k, v)| (k.to_string(), v.as_ref().to_owned())).collect()
}
