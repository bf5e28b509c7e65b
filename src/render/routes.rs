//! An app's routes: its `ingress` (the Ingress named like the app) and each
//! entry of `routes` (the Ingress `<app>-<route>`), each one host and path to
//! a Service port, by default the app's own Service and its `http` port.
//! Also the route checks that need only the app, and the bundle-wide one:
//! a host and path claimed twice, by any two Ingresses (raw ones too).

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, ServiceBackendPort,
};

use crate::object::{Body, ObjectId};
use crate::spec::names::is_dns1123_subdomain;
use crate::spec::{JsonPath, Problem, ServicePortRef};

use super::context::{to_strings, AppContext, HTTP_PORT};
use super::manifest::Manifest;
use super::route_view::{tls_secret, views, RouteView};

/// The app's routes: Ingresses (`ingress` first, then `routes` by name),
/// or IngressRoutes with `defaults.traefik`; and a Certificate for each
/// route whose `tls` names an issuer.
pub fn ingresses(cx: &AppContext) -> Vec<Manifest> {
    // Without `port` the app has no Service: `validate` says so, once.
    let routed =
        views(cx).into_iter().filter(|r| r.service.is_some() || (cx.app.image.is_some() && cx.app.port.is_some()));
    let routed: Vec<RouteView> = routed.collect();
    let certificates = routed.iter().filter_map(|r| super::ingress_route::certificate(cx, r));
    let mut out: Vec<Manifest> = certificates.collect();
    if cx.spec.defaults.traefik.is_some() {
        out.extend(routed.iter().flat_map(|r| super::ingress_route::ingress_routes(cx, r)));
        return out;
    }
    out.extend(routed.into_iter().map(|r| {
        let mut meta = cx.meta(&r.object);
        if !r.annotations.is_empty() {
            meta.annotations.get_or_insert_with(BTreeMap::new).extend(to_strings(r.annotations));
        }
        let port = match r.port {
            None => ServiceBackendPort { name: Some(HTTP_PORT.into()), number: None },
            Some(ServicePortRef::Name(n)) => ServiceBackendPort { name: Some(n.to_string()), number: None },
            Some(ServicePortRef::Number(n)) => ServiceBackendPort { name: None, number: Some(i32::from(n.0)) },
        };
        let ingress = Ingress {
            metadata: meta,
            spec: Some(IngressSpec {
                ingress_class_name: r
                    .class_name
                    .map(str::to_owned)
                    .or_else(|| cx.spec.defaults.ingress_class_name.clone()),
                rules: Some(vec![IngressRule {
                    host: Some(r.host.to_owned()),
                    http: Some(HTTPIngressRuleValue {
                        paths: vec![HTTPIngressPath {
                            path: Some(r.path.to_owned()),
                            path_type: r.path_type.as_str().into(),
                            backend: IngressBackend {
                                service: Some(IngressServiceBackend {
                                    name: r.service.map_or_else(|| cx.name.to_string(), str::to_owned),
                                    port: Some(port),
                                }),
                                resource: None,
                            },
                        }],
                    }),
                }]),
                tls: r.tls.map(|t| {
                    vec![IngressTLS { hosts: Some(vec![r.host.to_owned()]), secret_name: Some(tls_secret(&r, t)) }]
                }),
                ..Default::default()
            }),
            status: None,
        };
        Manifest::new(ingress, r.at)
    }));
    out
}

/// Checks of the app's routes that need only the app: host, path, TLS
/// Secret and Service names, and a Service to reach.
pub fn validate(cx: &AppContext, problems: &mut Vec<Problem>) {
    for r in views(cx) {
        let host = r.host.strip_prefix("*.").unwrap_or(r.host);
        if !is_dns1123_subdomain(host) {
            problems.push(
                Problem::new(r.at.key("host"), format!("ingress host `{}` is not a valid host name", r.host))
                    .with_hint("use a lowercase DNS name such as `photos.example.org` (or `*.example.org`)"),
            );
        }
        if !r.path.starts_with('/') {
            problems.push(Problem::new(r.at.key("path"), format!("ingress path `{}` must start with `/`", r.path)));
        }
        if let Some(tls) = r.tls {
            match (&tls.secret_name, &tls.issuer) {
                (Some(name), _) if !is_dns1123_subdomain(name) => problems.push(
                    Problem::new(r.at.key("tls").key("secretName"), format!("`{name}` is not a valid Secret name"))
                        .with_hint("a Secret name is a lowercase DNS subdomain"),
                ),
                (None, None) => problems.push(
                    Problem::new(r.at.key("tls"), "`tls` names neither a `secretName` nor an `issuer`").with_hint(
                        "set `secretName` to an existing Secret, or `issuer` to one of `defaults.tls.issuers`",
                    ),
                ),
                _ => {}
            }
        }
        super::ingress_route::validate(cx, &r, problems);
        match r.service {
            Some(s) if !crate::spec::names::is_dns1035_label(s) => problems.push(
                Problem::new(r.at.key("service"), format!("`{s}` is not a valid Service name"))
                    .with_hint(crate::spec::names::NameRule::Dns1035Label.describe()),
            ),
            Some(_) => {}
            // The `ingress` field has its own message in the app's checks.
            None if !r.sugar && (cx.app.image.is_none() || cx.app.port.is_none()) => {
                problems.push(
                    Problem::new(
                        r.at.clone(),
                        "the route reaches the app's own Service, but the app has no `port` (so no Service)",
                    )
                    .with_hint("set the app's `image` and `port`, or `service` to the Service the route reaches"),
                );
            }
            None => {}
        }
    }
}

/// A host and path may be routed by one Ingress path only, across the whole
/// bundle: two would leave it to the controller which backend wins. The
/// same path with another `pathType` is the same claim, and a `Prefix` path
/// is the same with or without its final `/`.
pub fn collisions(all: &[&Manifest], problems: &mut Vec<Problem>) {
    let mut claimed: HashMap<(&str, &str), (ObjectId, JsonPath)> = HashMap::new();
    for m in all {
        let Body::Ingress(ing) = &m.body else { continue };
        for (i, rule) in ing.spec.iter().flat_map(|s| s.rules.iter().flatten()).enumerate() {
            let host = rule.host.as_deref().unwrap_or_default();
            for (j, p) in rule.http.iter().flat_map(|h| &h.paths).enumerate() {
                // A `Prefix` path matches the same with or without a final `/`.
                let written = p.path.as_deref().unwrap_or("/");
                let path = match written.trim_end_matches('/') {
                    trimmed if p.path_type == "Prefix" && !trimmed.is_empty() => trimmed,
                    _ => written,
                };
                let at = m.field_path(&format!("spec.rules[{i}].http.paths[{j}].path"));
                match claimed.get(&(host, path)) {
                    Some((first, first_at)) => {
                        let shown = if host.is_empty() { "every host".to_owned() } else { format!("`{host}`") };
                        problems.push(
                            Problem::new(
                                at,
                                format!(
                                    "{} routes path `{written}` of {shown}, which {first} at `{first_at}` routes already",
                                    m.id()
                                ),
                            )
                            .with_hint(
                                "apps may share a host, but each path of it goes to one backend: give one route another path or host",
                            ),
                        );
                    }
                    None => {
                        claimed.insert((host, path), (m.id(), at));
                    }
                }
            }
        }
    }
}
