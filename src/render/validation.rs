//! The API server's validation of values, applied offline to every object
//! of the bundle (generated and raw, typed or JSON) so that `check` refuses
//! what `kubectl apply` would: label keys and values, annotation keys and
//! size, resource quantities and requests above limits, claim sizes,
//! volume sub-paths, container names and ports, Service ports. The rules
//! themselves are in `rules`; this file finds the values and says where
//! they are. A raw object's problem is at its JSON path in the spec; an
//! object nixflux generated from an app's fields is named with the field.

use std::collections::{BTreeMap, HashSet};

use k8s_openapi::api::core::v1::{Container, PersistentVolumeClaim, PodSpec, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use super::manifest::Manifest;
use super::rules;
use crate::object::Body;
use crate::spec::{JsonPath, Problem};

pub fn run(all: &[&Manifest], problems: &mut Vec<Problem>) {
    let mut seen = HashSet::new();
    for m in all {
        let mut at = At { m, raw: is_raw(&m.origin), problems, seen: &mut seen };
        metadata(&mut at, m);
        body(&mut at, &m.body);
    }
}

/// Raw objects sit at `objects[N]` (top level or in an app); every other
/// origin is an app field that nixflux rendered into the object.
fn is_raw(origin: &JsonPath) -> bool {
    let s = origin.as_str();
    s.ends_with(']') && s.rsplit('.').next().is_some_and(|last| last.starts_with("objects["))
}

/// Where problems of one object go.
struct At<'a> {
    m: &'a Manifest,
    raw: bool,
    problems: &'a mut Vec<Problem>,
    /// Problems of generated objects already reported: a bad label of an
    /// app is on all of its objects but is said once.
    seen: &'a mut HashSet<(JsonPath, String)>,
}

impl At<'_> {
    fn push(&mut self, field: &str, message: String) {
        let problem = if self.raw {
            Problem::new(JsonPath::raw(format!("{}.{field}", self.m.origin)), message)
        } else {
            let key = (self.m.origin.clone(), message.clone());
            if !self.seen.insert(key) {
                return;
            }
            Problem::new(self.m.origin.clone(), format!("{message} (in {}, at `{field}`)", self.m.id()))
        };
        self.problems.push(problem);
    }
}

fn metadata(at: &mut At, m: &Manifest) {
    match &m.body {
        Body::Dynamic(map) => {
            let strings = |key: &str| -> BTreeMap<String, String> {
                map.get("metadata")
                    .and_then(|md| md.get(key))
                    .and_then(Value::as_object)
                    .map(|o| o.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
                    .unwrap_or_default()
            };
            labels(at, "metadata.labels", Some(&strings("labels")));
            annotations(at, "metadata.annotations", Some(&strings("annotations")));
        }
        body => {
            let meta = body.meta();
            labels(at, "metadata.labels", meta.and_then(|m| m.labels.as_ref()));
            annotations(at, "metadata.annotations", meta.and_then(|m| m.annotations.as_ref()));
        }
    }
}

/// apimachinery `ValidateLabels`.
fn labels(at: &mut At, field: &str, labels: Option<&BTreeMap<String, String>>) {
    for (k, v) in labels.into_iter().flatten() {
        if let Some(e) = rules::label_key(k) {
            at.push(field, e);
        }
        if let Some(e) = rules::label_value(k, v) {
            at.push(field, e);
        }
    }
}

/// apimachinery `ValidateAnnotations` and `ValidateAnnotationsSize`.
fn annotations(at: &mut At, field: &str, annotations: Option<&BTreeMap<String, String>>) {
    let Some(a) = annotations else { return };
    for k in a.keys() {
        if let Some(e) = rules::annotation_key(k) {
            at.push(field, e);
        }
    }
    if let Some(e) = rules::annotations_size(a.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        at.push(field, e);
    }
}

fn selector(at: &mut At, field: &str, s: Option<&LabelSelector>) {
    labels(at, &format!("{field}.matchLabels"), s.and_then(|s| s.match_labels.as_ref()));
}

fn body(at: &mut At, body: &Body) {
    let template = |t: &'static str| format!("{t}.metadata.labels");
    match body {
        Body::Deployment(o) => {
            let Some(s) = &o.spec else { return };
            selector(at, "spec.selector", Some(&s.selector));
            labels(at, &template("spec.template"), s.template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            pod(at, "spec.template.spec", s.template.spec.as_ref());
        }
        Body::StatefulSet(o) => {
            let Some(s) = &o.spec else { return };
            selector(at, "spec.selector", Some(&s.selector));
            labels(at, &template("spec.template"), s.template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            pod(at, "spec.template.spec", s.template.spec.as_ref());
            for (i, c) in s.volume_claim_templates.iter().flatten().enumerate() {
                claim(at, &format!("spec.volumeClaimTemplates[{i}].spec"), c);
            }
        }
        Body::DaemonSet(o) => {
            let Some(s) = &o.spec else { return };
            selector(at, "spec.selector", Some(&s.selector));
            labels(at, &template("spec.template"), s.template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            pod(at, "spec.template.spec", s.template.spec.as_ref());
        }
        Body::ReplicaSet(o) => {
            let Some(s) = &o.spec else { return };
            selector(at, "spec.selector", Some(&s.selector));
            let t = s.template.as_ref();
            labels(at, &template("spec.template"), t.and_then(|t| t.metadata.as_ref()?.labels.as_ref()));
            pod(at, "spec.template.spec", t.and_then(|t| t.spec.as_ref()));
        }
        Body::Job(o) => {
            let Some(s) = &o.spec else { return };
            selector(at, "spec.selector", s.selector.as_ref());
            labels(at, &template("spec.template"), s.template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            pod(at, "spec.template.spec", s.template.spec.as_ref());
        }
        Body::CronJob(o) => {
            let Some(s) = o.spec.as_ref().and_then(|s| s.job_template.spec.as_ref()) else { return };
            let t = "spec.jobTemplate.spec.template";
            labels(at, &template(t), s.template.metadata.as_ref().and_then(|m| m.labels.as_ref()));
            pod(at, "spec.jobTemplate.spec.template.spec", s.template.spec.as_ref());
        }
        Body::Pod(o) => pod(at, "spec", o.spec.as_ref()),
        Body::PersistentVolumeClaim(c) => claim(at, "spec", c),
        Body::Service(s) => service(at, s),
        Body::NetworkPolicy(o) => {
            selector(at, "spec.podSelector", o.spec.as_ref().and_then(|s| s.pod_selector.as_ref()))
        }
        Body::PodDisruptionBudget(o) => {
            selector(at, "spec.selector", o.spec.as_ref().and_then(|s| s.selector.as_ref()))
        }
        _ => {}
    }
}

/// core `ValidatePodSpec`: the containers' names, resources, mounts and ports.
fn pod(at: &mut At, field: &str, spec: Option<&PodSpec>) {
    let Some(spec) = spec else { return };
    let mut names = HashSet::new();
    let init =
        spec.init_containers.iter().flatten().enumerate().map(|(i, c)| (format!("{field}.initContainers[{i}]"), c));
    let main = spec.containers.iter().enumerate().map(|(i, c)| (format!("{field}.containers[{i}]"), c));
    for (cf, c) in main.chain(init) {
        if let Some(e) = rules::container_name(&c.name) {
            at.push(&format!("{cf}.name"), e);
        } else if !names.insert(c.name.as_str()) {
            // core validateContainers / validateInitContainers: unique across both.
            at.push(&format!("{cf}.name"), format!("container name `{}` is used twice in the pod", c.name));
        }
        container(at, &cf, c);
    }
}

fn container(at: &mut At, cf: &str, c: &Container) {
    if let Some(r) = &c.resources {
        let empty = BTreeMap::new();
        let requests = r.requests.as_ref().unwrap_or(&empty);
        let limits = r.limits.as_ref().unwrap_or(&empty);
        for (list, map) in [("requests", requests), ("limits", limits)] {
            for (name, Quantity(q)) in map {
                if let Some(e) = rules::nonnegative(name, q) {
                    at.push(&format!("{cf}.resources.{list}"), e);
                }
            }
        }
        for (name, Quantity(request)) in requests {
            if let Some(Quantity(limit)) = limits.get(name) {
                if let Some(e) = rules::request_within_limit(name, request, limit) {
                    at.push(&format!("{cf}.resources.requests"), e);
                }
            }
        }
    }
    for (i, v) in c.volume_mounts.iter().flatten().enumerate() {
        for (key, value) in [("subPath", &v.sub_path), ("subPathExpr", &v.sub_path_expr)] {
            if let Some(e) = value.as_deref().and_then(|p| rules::local_descending_path(key, p)) {
                at.push(&format!("{cf}.volumeMounts[{i}].{key}"), e);
            }
        }
    }
    let mut port_names = HashSet::new();
    for (i, p) in c.ports.iter().flatten().enumerate() {
        let pf = format!("{cf}.ports[{i}]");
        if let Some(e) = rules::port_number("containerPort", p.container_port) {
            at.push(&format!("{pf}.containerPort"), e);
        }
        // core validateContainerPorts: a hostPort of 0 is unset.
        if let Some(e) = p.host_port.filter(|h| *h != 0).and_then(|h| rules::port_number("hostPort", h)) {
            at.push(&format!("{pf}.hostPort"), e);
        }
        if let Some(name) = p.name.as_deref().filter(|n| !n.is_empty()) {
            if let Some(e) = rules::port_name(name) {
                at.push(&format!("{pf}.name"), e);
            } else if !port_names.insert(name) {
                at.push(&format!("{pf}.name"), format!("port name `{name}` is used twice in the container"));
            }
        }
    }
}

/// core `ValidatePersistentVolumeClaimSpec`: a storage request above zero.
fn claim(at: &mut At, field: &str, c: &PersistentVolumeClaim) {
    let Some(spec) = &c.spec else { return };
    let storage = spec.resources.as_ref().and_then(|r| r.requests.as_ref()).and_then(|r| r.get("storage"));
    if let Some(e) = rules::positive_storage(storage.map(|q| q.0.as_str())) {
        at.push(&format!("{field}.resources.requests.storage"), e);
    }
}

/// core `validateServicePort`: numbers, target ports and names.
fn service(at: &mut At, s: &Service) {
    let ports = s.spec.as_ref().and_then(|s| s.ports.as_deref()).unwrap_or_default();
    let mut names = HashSet::new();
    for (i, p) in ports.iter().enumerate() {
        let pf = format!("spec.ports[{i}]");
        if let Some(e) = rules::port_number("port", p.port) {
            at.push(&format!("{pf}.port"), e);
        }
        // core/v1 SetDefaults_Service turns a targetPort of 0 or "" into `port`.
        let target = match &p.target_port {
            Some(IntOrString::Int(n)) if *n != 0 => rules::port_number("targetPort", *n),
            Some(IntOrString::String(n)) if !n.is_empty() => rules::port_name(n),
            _ => None,
        };
        if let Some(e) = target {
            at.push(&format!("{pf}.targetPort"), e);
        }
        match p.name.as_deref().filter(|n| !n.is_empty()) {
            None if ports.len() > 1 => {
                at.push(&format!("{pf}.name"), "a Service with more than one port needs a name on each".to_owned())
            }
            None => {}
            Some(name) => {
                if let Some(e) = rules::service_port_name(name) {
                    at.push(&format!("{pf}.name"), e);
                } else if !names.insert(name) {
                    at.push(&format!("{pf}.name"), format!("port name `{name}` is used twice in the Service"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn problems(obj: Value) -> Vec<Problem> {
        let Value::Object(map) = obj else { unreachable!() };
        let m = Manifest::from_raw(&map, JsonPath::root().key("objects").index(0)).unwrap();
        let mut out = Vec::new();
        run(&[&m], &mut out);
        out
    }

    fn deployment(container: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": "n"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [container]}}}})
    }

    #[test]
    fn each_rule_names_its_place() {
        let c = "objects[0].spec.template.spec.containers[0]";
        for (container, path, phrase) in [
            (
                json!({"name": "c", "resources": {"requests": {"cpu": "-1"}}}),
                format!("{c}.resources.requests"),
                "greater than or equal to 0",
            ),
            (
                json!({"name": "c", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}),
                format!("{c}.resources.requests"),
                "above its limit",
            ),
            (
                json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/m", "subPath": "a/../b"}]}),
                format!("{c}.volumeMounts[0].subPath"),
                "`..`",
            ),
            (
                json!({"name": "c", "volumeMounts": [{"name": "v", "mountPath": "/m", "subPathExpr": "/a"}]}),
                format!("{c}.volumeMounts[0].subPathExpr"),
                "relative",
            ),
            (json!({"name": "C"}), format!("{c}.name"), "DNS-1123 label"),
            (
                json!({"name": "c", "ports": [{"containerPort": 70000}]}),
                format!("{c}.ports[0].containerPort"),
                "between 1 and 65535",
            ),
            (
                json!({"name": "c", "ports": [{"containerPort": 80, "hostPort": -1}]}),
                format!("{c}.ports[0].hostPort"),
                "between 1 and 65535",
            ),
            (
                json!({"name": "c", "ports": [{"containerPort": 80, "name": "much-too-long-name"}]}),
                format!("{c}.ports[0].name"),
                "at most 15",
            ),
        ] {
            let ps = problems(deployment(container));
            assert_eq!(ps.len(), 1, "{ps:?}");
            assert_eq!(ps[0].path.to_string(), path);
            assert!(ps[0].message.contains(phrase), "{}", ps[0].message);
        }
        assert!(problems(deployment(
            json!({"name": "c", "resources": {"requests": {"cpu": "1"}, "limits": {"cpu": "1000m"}},
            "ports": [{"containerPort": 1, "hostPort": 0, "name": "http"}, {"containerPort": 65535}]})
        ))
        .is_empty());
    }

    #[test]
    fn metadata_services_and_claims() {
        let ps = problems(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n",
            "labels": {"team": "a b"}, "annotations": {"x y": "1"}},
            "spec": {"ports": [{"port": 0, "targetPort": "8080"}, {"name": "web", "port": 80, "targetPort": 0},
                {"name": "web", "port": 81, "targetPort": 65536}]}}));
        let got: Vec<String> = ps.iter().map(|p| format!("{}: {}", p.path, p.message)).collect();
        for want in [
            "objects[0].metadata.labels: invalid value `a b` of label `team`",
            "objects[0].metadata.annotations: invalid annotation key `x y`",
            "objects[0].spec.ports[0].port: `port` is 0",
            "objects[0].spec.ports[0].targetPort: invalid port name `8080`",
            "objects[0].spec.ports[0].name: a Service with more than one port",
            "objects[0].spec.ports[2].name: port name `web` is used twice",
            "objects[0].spec.ports[2].targetPort: `targetPort` is 65536",
        ] {
            assert!(got.iter().any(|g| g.starts_with(want)), "{want} not in {got:#?}");
        }
        assert_eq!(got.len(), 7, "{got:#?}");
        let claim = |size: &str| {
            problems(
                json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"},
                "spec": {"resources": {"requests": {"storage": size}}}}),
            )
        };
        assert!(claim("1Gi").is_empty());
        assert!(claim("0")[0].message.contains("greater than zero"));
        let custom =
            problems(json!({"apiVersion": "x.io/v1", "kind": "X", "metadata": {"name": "x", "labels": {"-a": "v"}}}));
        assert!(custom[0].message.starts_with("invalid label key `-a`"), "{custom:?}");
    }

    #[test]
    fn duplicate_container_names_span_init_containers() {
        let mut d = deployment(json!({"name": "c"}));
        d["spec"]["template"]["spec"]["initContainers"] = json!([{"name": "c"}]);
        let ps = problems(d);
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].path.to_string(), "objects[0].spec.template.spec.initContainers[0].name");
    }
}
