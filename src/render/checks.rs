//! Checks across the whole bundle, run on every render: valid names and
//! namespaces, duplicate object ids, Services that target ports their pods
//! do not open, a host and path routed twice (`routes`), references that
//! resolve (`references`), and plaintext Secrets.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::spec::{JsonPath, Problem, Spec};

use super::manifest::{Group, Manifest};
use crate::object::{kind_info, Body};

pub fn run(spec: &Spec, groups: &[Group], problems: &mut Vec<Problem>) {
    let all: Vec<&Manifest> = groups.iter().flat_map(|g| &g.manifests).collect();
    // The checks are independent: two halves of about equal cost run side
    // by side, and their problems join in the order one thread would find them.
    let later = std::thread::scope(|scope| {
        let later = scope.spawn(|| {
            let mut found = Vec::new();
            super::routes::collisions(&all, &mut found);
            super::references::run(spec, &all, &mut found);
            super::traefik::check(spec, &all, &mut found);
            if !spec.allow_plaintext_secrets {
                plaintext_secrets(&all, &mut found);
            }
            found
        });
        lists(&all, problems);
        kinds(&all, problems);
        names(&all, problems);
        duplicates(&all, problems);
        service_ports(&all, problems);
        super::validation::run(&all, problems);
        // A check only panics on a bug; pass that panic on unchanged.
        later.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    problems.extend(later);
}

/// Kustomize expands any `*List` kind into its items, which then reach the
/// cluster without passing a single check here: refused, with the way out.
fn lists(all: &[&Manifest], problems: &mut Vec<Problem>) {
    for m in all {
        let kind = m.body.kind();
        if kind.ends_with("List") {
            problems.push(
                Problem::new(
                    m.origin.clone(),
                    format!("a `{kind}` wraps objects that kustomize would apply without nixflux checking them"),
                )
                .with_hint("put each item into `objects` on its own"),
            );
        }
    }
}

/// Group and kind become parts of the Flux inventory id, joined by `_`:
/// neither may hold one (nor anything Kubernetes would not accept).
fn kinds(all: &[&Manifest], problems: &mut Vec<Problem>) {
    for m in all {
        let (api_version, kind) = (m.body.api_version(), m.body.kind());
        let group = crate::object::group_of(api_version);
        let kind_ok =
            kind.starts_with(|c: char| c.is_ascii_alphabetic()) && kind.chars().all(|c| c.is_ascii_alphanumeric());
        let group_ok = group.is_empty() || crate::spec::names::is_dns1123_subdomain(group);
        if !kind_ok {
            problems.push(
                Problem::new(m.origin.key("kind"), format!("`{kind}` is not a kind"))
                    .with_hint("a kind is a word of letters and digits, like `ConfigMap`"),
            );
        } else if !group_ok {
            problems.push(
                Problem::new(m.origin.key("apiVersion"), format!("`{api_version}` has an invalid API group `{group}`"))
                    .with_hint("an API group is a DNS subdomain, like `apps` or `cert-manager.io`"),
            );
        }
    }
}

fn names(all: &[&Manifest], problems: &mut Vec<Problem>) {
    for m in all {
        let info = kind_info(m.body.api_version(), m.body.kind());
        let (kind, name) = (m.body.kind(), m.name());
        if let Err(rule) = info.name_rule.check(name) {
            problems.push(Problem::new(m.origin.clone(), format!("{kind} `{name}`: the name {rule}")));
        }
        match (m.namespace(), info.namespaced) {
            (Some(ns), true) => {
                if let Err(rule) = crate::spec::names::NameRule::Dns1123Label.check(ns) {
                    problems.push(Problem::new(m.origin.clone(), format!("{}: namespace `{ns}` {rule}", m.id())));
                }
            }
            (Some(ns), false) => problems.push(
                Problem::new(m.origin.clone(), format!("{} is cluster-scoped but has namespace `{ns}`", m.id()))
                    .with_hint("remove `metadata.namespace`"),
            ),
            (None, true) => problems.push(
                Problem::new(m.origin.clone(), format!("{} is namespaced but has no namespace", m.id()))
                    .with_hint("set `metadata.namespace`, or move the object into an app's `objects`"),
            ),
            (None, false) => {}
        }
    }
}

fn duplicates(all: &[&Manifest], problems: &mut Vec<Problem>) {
    // By the parts of each object's id, borrowed (an `ObjectId` is four strings).
    let mut seen: HashMap<(&str, &str, Option<&str>, &str), &JsonPath> = HashMap::with_capacity(all.len());
    for m in all {
        let key = (crate::object::group_of(m.body.api_version()), m.body.kind(), m.namespace(), m.name());
        if let Some(first) = seen.get(&key) {
            problems.push(
                Problem::new(m.origin.clone(), format!("{} is defined twice; the first is at `{first}`", m.id()))
                    .with_hint("Flux refuses a build with duplicate objects: keep one of them"),
            );
        } else {
            seen.insert(key, &m.origin);
        }
    }
}

/// A Service port must target a port that every pod it selects opens. Only
/// pods of this bundle are known: a Service that selects none is not checked.
fn service_ports(all: &[&Manifest], problems: &mut Vec<Problem>) {
    // Index workloads by namespace: a Service only selects pods of its own.
    let mut workloads: HashMap<Option<&str>, Vec<_>> = HashMap::new();
    for m in all {
        if let Some(t) = m.pod_template() {
            workloads.entry(m.namespace()).or_default().push((m, t));
        }
    }
    for m in all {
        let Body::Service(svc) = &m.body else { continue };
        let Some(spec) = &svc.spec else { continue };
        let Some(selector) = spec.selector.as_ref().filter(|s| !s.is_empty()) else { continue };
        let Some(candidates) = workloads.get(&m.namespace()) else { continue };
        let selected = candidates
            .iter()
            .filter(|(_, (labels, _))| labels.is_some_and(|l| selector.iter().all(|(k, v)| l.get(k) == Some(v))));
        for (w, (_, pod)) in selected {
            let opened: Vec<(Option<&str>, i32, &str)> = pod
                .containers
                .iter()
                .flat_map(|c| c.ports.iter().flatten())
                .map(|p| (p.name.as_deref(), p.container_port, p.protocol.as_deref().unwrap_or("TCP")))
                .collect();
            for (i, port) in spec.ports.iter().flatten().enumerate() {
                let proto = port.protocol.as_deref().unwrap_or("TCP");
                let target = port.target_port.clone().unwrap_or(IntOrString::Int(port.port));
                let ok = match &target {
                    IntOrString::Int(n) => opened.iter().any(|(_, p, pr)| p == n && *pr == proto),
                    IntOrString::String(name) => {
                        opened.iter().any(|(n, _, pr)| *n == Some(name.as_str()) && *pr == proto)
                    }
                };
                if !ok {
                    let target_text = match &target {
                        IntOrString::Int(n) => format!("{n}/{proto}"),
                        IntOrString::String(s) => format!("`{s}` ({proto})"),
                    };
                    let open_text = if opened.is_empty() {
                        "no ports".to_owned()
                    } else {
                        opened
                            .iter()
                            .map(|(n, p, pr)| match n {
                                Some(n) => format!("{p}/{pr} `{n}`"),
                                None => format!("{p}/{pr}"),
                            })
                            .collect::<Vec<_>>()
                            .join(", ")
                    };
                    let at = if m.origin.to_string().ends_with(".port") {
                        m.origin.clone()
                    } else {
                        JsonPath::raw(format!("{}.spec.ports[{i}].targetPort", m.origin))
                    };
                    problems.push(
                        Problem::new(
                            at,
                            format!("{} targets port {target_text}, which {} does not open", m.id(), w.id()),
                        )
                        .with_hint(format!("its containers open {open_text}")),
                    );
                }
            }
        }
    }
}

fn plaintext_secrets(all: &[&Manifest], problems: &mut Vec<Problem>) {
    for m in all {
        let Body::Secret(s) = &m.body else { continue };
        let has = |field: &str, present: bool| present.then(|| field.to_owned());
        let fields: Vec<String> = [
            has("data", s.data.as_ref().is_some_and(|d| !d.is_empty())),
            has("stringData", s.string_data.as_ref().is_some_and(|d| !d.is_empty())),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !fields.is_empty() {
            problems.push(
                Problem::new(m.origin.clone(), format!("{} carries secret values in `{}`", m.id(), fields.join("` and `")))
                    .with_hint("secret values must not enter the Nix store or the bucket: use an ExternalSecret or a SOPS-encrypted Secret, or set `allowPlaintextSecrets: true`"),
            );
        }
    }
}
