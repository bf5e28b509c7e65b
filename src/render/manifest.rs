//! `Manifest`: one Kubernetes object of a bundle, with where it came from
//! in the spec. Its body is typed when nixflux knows its kind (see
//! `object::kinds`) and kept as JSON when it does not (custom resources).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, PodTemplateSpec};
use serde_json::{Map, Value};

use crate::object::kinds::type_raw;
use crate::object::{apply_rank, group_of, Body, ObjectId};
use crate::spec::{JsonPath, Problem};

/// The objects of one bundle file.
#[derive(Debug, Clone)]
pub struct Group {
    /// Who owns the file, for messages and `bundle.json`: `app `web``,
    /// `objects[2]`, `namespace `media``.
    pub owner: String,
    pub manifests: Vec<Manifest>,
    /// The layer the file belongs to (an index into the spec's `layers`;
    /// 0 without layers).
    pub layer: usize,
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
    /// For a generated workload: where each container's image was set in
    /// the spec, by container name (the app's own: `apps.<name>.image`).
    pub image_origins: BTreeMap<String, JsonPath>,
    /// Written by the user as a raw object (`objects` of an app, the top
    /// level or a layer): its fields have paths in the spec.
    pub raw: bool,
}

impl Manifest {
    pub fn new(body: impl Into<Body>, origin: JsonPath) -> Self {
        Manifest { body: body.into(), origin, generated: false, image_origins: BTreeMap::new(), raw: false }
    }

    pub fn generated(body: impl Into<Body>, origin: JsonPath) -> Self {
        Manifest { body: body.into(), origin, generated: true, image_origins: BTreeMap::new(), raw: false }
    }

    pub fn with_image_origins(mut self, origins: BTreeMap<String, JsonPath>) -> Self {
        self.image_origins = origins;
        self
    }

    /// Builds a manifest from a raw object, typing built-in kinds.
    pub fn from_raw(map: &Map<String, Value>, origin: JsonPath) -> Result<Self, Vec<Problem>> {
        let body = match type_raw(map, &origin) {
            Some(typed) => typed?,
            None => Body::Dynamic(map.clone()),
        };
        Ok(Manifest { body, origin, generated: false, image_origins: BTreeMap::new(), raw: true })
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

    pub fn labels(&self) -> Option<&BTreeMap<String, String>> {
        self.body.meta().and_then(|m| m.labels.as_ref())
    }

    /// The pod template's labels and spec of a workload kind (or a Pod).
    pub fn pod_template(&self) -> Option<(Option<&BTreeMap<String, String>>, &PodSpec)> {
        fn t(tpl: &PodTemplateSpec) -> Option<(Option<&BTreeMap<String, String>>, &PodSpec)> {
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

    /// Where a field of this object is, for messages: inside a raw object
    /// the field's own path; for an object nixflux built from an app's
    /// fields, the spec entry it came from.
    pub fn field_path(&self, rel: &str) -> JsonPath {
        if self.raw {
            JsonPath::raw(format!("{}.{rel}", self.origin))
        } else {
            self.origin.clone()
        }
    }

    /// Position of this object's kind in the apply order used inside a file.
    pub fn kind_rank(&self) -> usize {
        apply_rank(self.body.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::object::kind_info;
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
            json!({"apiVersion": "traefik.io/v1alpha1", "kind": "ServersTransport", "metadata": {"name": "x"}, "spec": {"anything": 1}}),
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
