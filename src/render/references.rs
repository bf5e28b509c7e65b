//! References between objects resolve inside the bundle, or are declared
//! external: the Service and port of every Ingress backend, the Secrets and
//! ConfigMaps that pods name (`envFrom`, `env[].valueFrom`, volumes,
//! projected volumes, `imagePullSecrets`), the TLS Secrets of Ingresses, the
//! Services, ports and TLS Secrets of Traefik IngressRoutes, and the
//! ServiceAccounts of pods (of every workload kind, the apps' and raw ones).
//!
//! A Secret counts as in the bundle when a `Secret`, an External Secrets
//! `ExternalSecret` (its `spec.target.name`, else its name; those nixflux
//! renders for `secretEnv`, `secretFiles` included), a SOPS-encrypted
//! `Secret` (passed through untyped) or a cert-manager
//! `Certificate` (its `spec.secretName`) of the bundle makes it, or a
//! CloudNativePG `Cluster` (its owner's `<cluster>-app`). Anything
//! else that something outside the bundle creates (an operator, a chart) is
//! declared in the spec's `external.<namespace>`. What exists in every
//! namespace (the `default` ServiceAccount, the `kube-root-ca.crt`
//! ConfigMap) always resolves. References marked `optional` are not checked.

use std::collections::{HashMap, HashSet};

use k8s_openapi::api::networking::v1::{IngressBackend, IngressServiceBackend, ServiceBackendPort};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::object::Body;
use crate::spec::names::{is_dns1035_label, is_dns1123_subdomain};
use crate::spec::problem::nearest;
use crate::spec::{JsonPath, Problem, Spec};

use super::manifest::Manifest;
use super::pod_references::{pod_references, pod_spec, Kind, Reference};

/// A Service's ports: name and number.
type Ports<'a> = Vec<(Option<&'a str>, i32)>;

/// What the bundle holds and the spec declares, by kind and namespace.
#[derive(Default)]
struct Index<'a> {
    names: HashMap<(Kind, &'a str), HashSet<&'a str>>,
    /// Services of the bundle (not external ones: their ports are unknown).
    ports: HashMap<(&'a str, &'a str), Ports<'a>>,
    /// Secrets named by a rule rather than a field (CloudNativePG's).
    made: Vec<(&'a str, String)>,
}

impl<'a> Index<'a> {
    fn add(&mut self, kind: Kind, namespace: &'a str, name: &'a str) {
        self.names.entry((kind, namespace)).or_default().insert(name);
    }

    fn has(&self, kind: Kind, namespace: &str, name: &str) -> bool {
        let everywhere = match kind {
            Kind::ServiceAccount => name == "default",
            Kind::ConfigMap => name == "kube-root-ca.crt",
            Kind::Secret | Kind::Service => false,
        };
        everywhere
            || self.names.get(&(kind, namespace)).is_some_and(|n| n.contains(name))
            || (kind == Kind::Secret && self.made.iter().any(|(ns, n)| *ns == namespace && n == name))
    }
}

fn namespace_of(m: &Manifest) -> &str {
    m.namespace().unwrap_or("default")
}

fn build<'a>(spec: &'a Spec, all: &[&'a Manifest], problems: &mut Vec<Problem>) -> Index<'a> {
    let mut index = Index::default();
    for m in all {
        let ns = namespace_of(m);
        match &m.body {
            Body::Secret(_) => index.add(Kind::Secret, ns, m.name()),
            Body::ConfigMap(_) => index.add(Kind::ConfigMap, ns, m.name()),
            Body::ServiceAccount(_) => index.add(Kind::ServiceAccount, ns, m.name()),
            Body::Service(svc) => {
                index.add(Kind::Service, ns, m.name());
                let ports = svc.spec.iter().flat_map(|s| s.ports.iter().flatten());
                index.ports.insert((ns, m.name()), ports.map(|p| (p.name.as_deref(), p.port)).collect());
            }
            Body::Certificate(c) => index.add(Kind::Secret, ns, &c.spec.secret_name),
            // CloudNativePG makes the owner's Secret `<cluster>-app` unless
            // the bootstrap names one.
            Body::Cluster(c) => {
                let initdb = c.spec.bootstrap.as_ref().and_then(|b| b.initdb.as_ref());
                if initdb.is_none_or(|i| i.secret.is_none()) {
                    index.made.push((ns, format!("{}-app", m.name())));
                }
            }
            Body::ExternalSecret(es) => {
                let target = es.spec.target.as_ref().and_then(|t| t.name.as_deref());
                index.add(Kind::Secret, ns, target.unwrap_or(m.name()));
            }
            Body::Dynamic(obj) => {
                let group = crate::object::group_of(m.body.api_version());
                let spec_str = |field: &str| obj.get("spec").and_then(|s| s.get(field));
                let made = match (group, m.body.kind()) {
                    ("external-secrets.io", "ExternalSecret") => {
                        Some(spec_str("target").and_then(|t| t.get("name")).and_then(Value::as_str).unwrap_or(m.name()))
                    }
                    // A SOPS-encrypted Secret, passed through untyped.
                    ("", "Secret") => Some(m.name()),
                    _ => None,
                };
                if let Some(name) = made {
                    index.add(Kind::Secret, ns, name);
                }
            }
            // cert-manager's ingress-shim makes the TLS Secrets of an
            // Ingress annotated with an issuer.
            Body::Ingress(ing) if m.body.meta().is_some_and(shim_annotated) => {
                for tls in ing.spec.iter().flat_map(|s| s.tls.iter().flatten()) {
                    if let Some(name) = &tls.secret_name {
                        index.add(Kind::Secret, ns, name);
                    }
                }
            }
            _ => {}
        }
    }
    for (ns, ext) in &spec.external {
        let at = JsonPath::root().key("external").key(ns.as_str());
        for (kind, names) in [
            (Kind::Secret, &ext.secrets),
            (Kind::ConfigMap, &ext.config_maps),
            (Kind::Service, &ext.services),
            (Kind::ServiceAccount, &ext.service_accounts),
        ] {
            for (i, name) in names.iter().enumerate() {
                let ok = if kind == Kind::Service { is_dns1035_label(name) } else { is_dns1123_subdomain(name) };
                if !ok {
                    problems.push(
                        Problem::new(
                            at.key(kind.external_field()).index(i),
                            format!("`{name}` is not a valid {} name", kind.as_str()),
                        )
                        .with_hint(if kind == Kind::Service {
                            crate::spec::names::NameRule::Dns1035Label.describe()
                        } else {
                            crate::spec::names::NameRule::Dns1123Subdomain.describe()
                        }),
                    );
                }
                index.add(kind, ns.as_str(), name);
            }
        }
    }
    index
}

/// The annotations by which cert-manager's ingress-shim takes an Ingress
/// over and creates the Secret of each `tls` entry.
const SHIM_ANNOTATIONS: &[&str] = &["cert-manager.io/issuer", "cert-manager.io/cluster-issuer"];

fn shim_annotated(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> bool {
    meta.annotations.as_ref().is_some_and(|a| SHIM_ANNOTATIONS.iter().any(|k| a.contains_key(*k)))
}

/// `nearest`, but only for names a few edits away: among object names a
/// distant match (`web-tls` for `web-admin`) misleads more than it helps.
fn close<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    nearest(word, candidates).filter(|c| strsim::damerau_levenshtein(word, c) <= 3)
}

pub fn run(spec: &Spec, all: &[&Manifest], problems: &mut Vec<Problem>) {
    let index = build(spec, all, problems);
    for m in all {
        let mut refs = Vec::new();
        if let Some((pod, base)) = pod_spec(m) {
            pod_references(pod, base, &mut refs);
        }
        if let Body::Ingress(ing) = &m.body {
            let Some(s) = &ing.spec else { continue };
            let mut backends: Vec<(&IngressBackend, String)> = Vec::new();
            if let Some(b) = &s.default_backend {
                backends.push((b, "spec.defaultBackend".to_owned()));
            }
            for (i, rule) in s.rules.iter().flatten().enumerate() {
                for (j, p) in rule.http.iter().flat_map(|h| &h.paths).enumerate() {
                    backends.push((&p.backend, format!("spec.rules[{i}].http.paths[{j}].backend")));
                }
            }
            for (b, at) in backends {
                let Some(svc) = &b.service else { continue };
                let field = format!("{at}.service.name");
                if check(spec, m, &index, &Reference { kind: Kind::Service, name: &svc.name, field }, problems) {
                    backend_port(m, &index, svc, &|f| format!("{at}.service.port.{f}"), problems);
                }
            }
            for (i, tls) in s.tls.iter().flatten().enumerate() {
                if let Some(name) = &tls.secret_name {
                    refs.push(Reference { kind: Kind::Secret, name, field: format!("spec.tls[{i}].secretName") });
                }
            }
        }
        if let Body::IngressRoute(ir) = &m.body {
            ingress_route_references(spec, m, &index, ir, &mut refs, problems);
        }
        for r in &refs {
            check(spec, m, &index, r, problems);
        }
    }
}

/// An IngressRoute's Services of its own namespace (with their ports) and
/// its TLS Secret; TraefikServices and other namespaces' Services are left
/// to Traefik.
fn ingress_route_references<'a>(
    spec: &Spec,
    m: &Manifest,
    index: &Index,
    ir: &'a crate::crd::traefik::IngressRoute,
    refs: &mut Vec<Reference<'a>>,
    problems: &mut Vec<Problem>,
) {
    let ns = namespace_of(m);
    for (i, route) in ir.spec.routes.iter().enumerate() {
        for (j, svc) in route.services.iter().flatten().enumerate() {
            let other_kind = svc.kind.as_deref().is_some_and(|k| k != "Service");
            if other_kind || svc.namespace.as_deref().is_some_and(|n| n != ns) {
                continue;
            }
            let at = format!("spec.routes[{i}].services[{j}]");
            let r = Reference { kind: Kind::Service, name: &svc.name, field: format!("{at}.name") };
            if !check(spec, m, index, &r, problems) {
                continue;
            }
            let port = match &svc.port {
                Some(IntOrString::String(name)) => ServiceBackendPort { name: Some(name.clone()), number: None },
                Some(IntOrString::Int(n)) => ServiceBackendPort { name: None, number: Some(*n) },
                None => continue,
            };
            let backend = IngressServiceBackend { name: svc.name.clone(), port: Some(port) };
            backend_port(m, index, &backend, &|_| format!("{at}.port"), problems);
        }
    }
    if let Some(name) = ir.spec.tls.as_ref().and_then(|t| t.secret_name.as_deref()) {
        refs.push(Reference { kind: Kind::Secret, name, field: "spec.tls.secretName".to_owned() });
    }
}

/// Checks one reference; true when it resolves.
fn check(spec: &Spec, m: &Manifest, index: &Index, r: &Reference, problems: &mut Vec<Problem>) -> bool {
    let ns = namespace_of(m);
    if index.has(r.kind, ns, r.name) {
        return true;
    }
    let kind = r.kind.as_str();
    let declare = format!("external.{ns}.{}", r.kind.external_field());
    let here: Vec<&str> = {
        let mut v: Vec<&str> = index.names.get(&(r.kind, ns)).into_iter().flatten().copied().collect();
        v.sort_unstable();
        v
    };
    let elsewhere: Vec<&str> = {
        let mut v: Vec<&str> = index
            .names
            .iter()
            .filter(|((k, other), names)| *k == r.kind && *other != ns && names.contains(r.name))
            .map(|((_, other), _)| *other)
            .collect();
        v.sort_unstable();
        v
    };
    let hint = if let Some(near) = close(r.name, &here) {
        format!(
            "did you mean `{near}`? (if something outside the bundle creates `{}`, declare it in `{declare}`)",
            r.name
        )
    } else if let Some(other) = elsewhere.first() {
        format!("{kind} `{}` is in namespace `{other}`, but a reference resolves in the referring object's namespace `{ns}`", r.name)
    } else {
        format!("add the {kind} to the bundle, or declare it in `{declare}` if something outside the bundle creates it")
    };
    let at = app_field(spec, m, r).unwrap_or_else(|| m.field_path(&r.field));
    problems.push(
        Problem::new(
            at,
            format!(
                "{} names {kind} `{ns}/{}` at `{}`, which is not in the bundle and not declared in `{declare}`",
                m.id(),
                r.name,
                r.field
            ),
        )
        .with_hint(hint),
    );
    false
}

/// For the Deployment nixflux built from an app, the app's own field that
/// names the missing object (`envFromSecrets[0]`, `volumes.conf.configMap`),
/// when one does.
fn app_field(spec: &Spec, m: &Manifest, r: &Reference) -> Option<JsonPath> {
    if !m.generated {
        return None;
    }
    let name = m.labels()?.get(super::context::NAME_LABEL)?;
    let app = spec.apps.iter().find(|(n, _)| n.as_str() == name.as_str())?.1;
    let at = JsonPath::root().key("apps").key(name);
    if r.kind == Kind::Secret {
        if let Some(i) = app.env_from_secrets.iter().position(|s| s == r.name) {
            return Some(at.key("envFromSecrets").index(i));
        }
    }
    app.volumes.iter().find_map(|(v, vol)| {
        let field = match r.kind {
            Kind::Secret if vol.secret.as_deref() == Some(r.name) => "secret",
            Kind::ConfigMap if vol.config_map.as_deref() == Some(r.name) => "configMap",
            _ => return None,
        };
        Some(at.key("volumes").key(v.as_str()).key(field))
    })
}

/// The backend's port must be a port of the Service (when the Service is
/// in the bundle; an external one's ports are unknown).
fn backend_port(
    m: &Manifest,
    index: &Index,
    svc: &IngressServiceBackend,
    port_path: &dyn Fn(&str) -> String,
    problems: &mut Vec<Problem>,
) {
    let ns = namespace_of(m);
    let Some(ports) = index.ports.get(&(ns, svc.name.as_str())) else { return };
    let Some(port) = &svc.port else { return };
    let (wanted, field, found) = match (&port.name, port.number) {
        (Some(name), _) => (format!("`{name}`"), "name", ports.iter().any(|(n, _)| *n == Some(name.as_str()))),
        (None, Some(n)) => (n.to_string(), "number", ports.iter().any(|(_, p)| *p == n)),
        (None, None) => return,
    };
    if found {
        return;
    }
    let names: Vec<&str> = ports.iter().filter_map(|(n, _)| *n).collect();
    let listed = ports
        .iter()
        .map(|(n, p)| match n {
            Some(n) => format!("{p} `{n}`"),
            None => p.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let hint = match port.name.as_deref().and_then(|n| close(n, &names)) {
        Some(near) => format!("did you mean `{near}`? its ports are {listed}"),
        None if ports.is_empty() => "the Service has no ports".to_owned(),
        None => format!("its ports are {listed}"),
    };
    let field_path = port_path(field);
    problems.push(
        Problem::new(
            m.field_path(&field_path),
            format!(
                "{} routes to port {wanted} of Service `{ns}/{}` at `{field_path}`, which the Service does not have",
                m.id(),
                svc.name
            ),
        )
        .with_hint(hint),
    );
}

#[cfg(test)]
#[path = "references_tests.rs"]
mod tests;
