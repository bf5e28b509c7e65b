//! An app's routes as Traefik IngressRoutes (with `defaults.traefik`), and
//! the cert-manager Certificate of a route whose `tls` names an issuer.
//!
//! A route is on every entrypoint of `defaults.traefik.entryPoints` unless
//! it names a subset, so it never silently misses one. TLS is a property of
//! the whole IngressRoute, so a route on TLS and plain entrypoints renders
//! two: `<object>` on the TLS ones and `<object>-plain` on the others. Its
//! middlewares are the auth middleware (unless the app is `public`), then
//! its own. On TLS entrypoints the certificate is the route's own (`tls`)
//! or the cluster's wildcard (Traefik's default TLSStore serves it); a host
//! the wildcard does not cover is an error naming both ways out.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::crd::cert_manager::{Certificate, CertificateSpec, IssuerRef};
use crate::crd::traefik::{IngressRoute, IngressRouteSpec, IngressRouteTls, MiddlewareRef, Route, RouteService};
use crate::spec::names::is_dns1123_subdomain;
use crate::spec::problem::nearest;
use crate::spec::{PathType, Problem, ServicePortRef, Spec, TraefikDefaults};

use super::context::{to_strings, AppContext, HTTP_PORT};
use super::manifest::Manifest;
use super::route_view::{tls_secret, RouteView};

/// The Certificate of a route whose `tls` names an issuer: `<object>`,
/// for the route's host, into its Secret.
pub(super) fn certificate(cx: &AppContext, r: &RouteView) -> Option<Manifest> {
    let tls = r.tls?;
    let issuer = tls.issuer.as_deref()?;
    let spec = CertificateSpec {
        dns_names: Some(vec![r.host.to_owned()]),
        issuer_ref: issuer_ref(cx.spec, issuer),
        secret_name: tls_secret(r, tls),
        ..Default::default()
    };
    let cert = Certificate { metadata: cx.meta(&r.object), spec };
    Some(Manifest::new(cert, r.at.key("tls").key("issuer")))
}

/// The reference to a declared issuer (a ClusterIssuer when undeclared:
/// the bundle-wide check reports it).
pub(super) fn issuer_ref(spec: &Spec, name: &str) -> IssuerRef {
    let kind = spec.defaults.tls.issuers.get(name).map(|d| d.kind).unwrap_or_default();
    IssuerRef { name: name.to_owned(), kind: Some(kind.as_str().to_owned()), group: Some("cert-manager.io".into()) }
}

/// The entrypoints a route is on: the ones it names, else all.
fn entry_points<'a>(traefik: &'a TraefikDefaults, r: &'a RouteView) -> Vec<&'a str> {
    if r.entry_points.is_empty() {
        traefik.entry_points.keys().map(String::as_str).collect()
    } else {
        r.entry_points.iter().map(String::as_str).filter(|e| traefik.entry_points.contains_key(*e)).collect()
    }
}

/// Traefik's rule for the route's host and path.
fn rule(r: &RouteView) -> String {
    let host = match r.host.strip_prefix("*.") {
        Some(domain) => format!("HostRegexp(`^[^.]+\\.{}$`)", domain.replace('.', "\\.")),
        None => format!("Host(`{}`)", r.host),
    };
    match (r.path_type, r.path) {
        (PathType::Exact, p) => format!("{host} && Path(`{p}`)"),
        (_, "/") => host,
        (_, p) => format!("{host} && PathPrefix(`{p}`)"),
    }
}

/// The route's middlewares: the auth one unless the app is public, then its own.
fn middlewares(cx: &AppContext, traefik: &TraefikDefaults, r: &RouteView) -> Vec<MiddlewareRef> {
    let auth = traefik.auth.as_ref().filter(|_| !cx.app.public).map(|a| MiddlewareRef {
        name: a.name.clone(),
        namespace: a.namespace.as_ref().filter(|_| a.forward_auth.is_none()).map(|n| n.to_string()),
    });
    let own = r.middlewares.iter().map(|m| MiddlewareRef { name: m.name.clone(), namespace: m.namespace.clone() });
    auth.into_iter().chain(own).collect()
}

/// The route's IngressRoutes: one on its TLS entrypoints, one on its plain ones.
pub(super) fn ingress_routes(cx: &AppContext, r: &RouteView) -> Vec<Manifest> {
    let Some(traefik) = &cx.spec.defaults.traefik else { return Vec::new() };
    let all = entry_points(traefik, r);
    let (secure, plain): (Vec<&str>, Vec<&str>) =
        all.iter().partition(|e| traefik.entry_points.get(**e).is_some_and(|p| p.tls));
    let port = match r.port {
        None => IntOrString::String(HTTP_PORT.into()),
        Some(ServicePortRef::Name(n)) => IntOrString::String(n.to_string()),
        Some(ServicePortRef::Number(n)) => IntOrString::Int(i32::from(n.0)),
    };
    let route = Route {
        kind: Some("Rule".into()),
        match_: rule(r),
        middlewares: Some(middlewares(cx, traefik, r)).filter(|m| !m.is_empty()),
        services: Some(vec![RouteService {
            name: r.service.map_or_else(|| cx.name.to_string(), str::to_owned),
            port: Some(port),
            ..Default::default()
        }]),
        ..Default::default()
    };
    let both = !secure.is_empty() && !plain.is_empty();
    let mut out = Vec::new();
    for (points, tls) in [(secure, true), (plain, false)] {
        if points.is_empty() {
            continue;
        }
        let name = if both && !tls { format!("{}-plain", r.object) } else { r.object.clone() };
        let mut meta = cx.meta(&name);
        if !r.annotations.is_empty() {
            meta.annotations.get_or_insert_with(Default::default).extend(to_strings(r.annotations));
        }
        let tls = tls.then(|| IngressRouteTls { secret_name: r.tls.map(|t| tls_secret(r, t)), ..Default::default() });
        let spec = IngressRouteSpec {
            entry_points: Some(points.iter().map(|e| (*e).to_owned()).collect()),
            routes: vec![route.clone()],
            tls,
            ..Default::default()
        };
        out.push(Manifest::new(IngressRoute { metadata: meta, spec }, r.at.clone()));
    }
    out
}

/// Whether the wildcard for `domain` covers `host`: `domain` itself and
/// one label in front of it.
pub fn covers(domain: &str, host: &str) -> bool {
    host == domain
        || host
            .strip_suffix(domain)
            .and_then(|h| h.strip_suffix('.'))
            .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

/// The route's Traefik checks: fields that need `defaults.traefik`, known
/// entrypoints, a certificate for every host on a TLS entrypoint.
pub(super) fn validate(cx: &AppContext, r: &RouteView, problems: &mut Vec<Problem>) {
    let Some(traefik) = &cx.spec.defaults.traefik else {
        for (field, set) in [("entryPoints", !r.entry_points.is_empty()), ("middlewares", !r.middlewares.is_empty())] {
            if set {
                problems.push(
                    Problem::new(
                        r.at.key(field),
                        format!("`{field}` needs Traefik, but the routes render as Ingresses"),
                    )
                    .with_hint("declare the cluster's entrypoints in `defaults.traefik.entryPoints`"),
                );
            }
        }
        return;
    };
    let known: Vec<&str> = traefik.entry_points.keys().map(String::as_str).collect();
    for (i, e) in r.entry_points.iter().enumerate() {
        if !traefik.entry_points.contains_key(e) {
            let listed = known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
            let hint = match nearest(e, &known) {
                Some(near) => {
                    format!("did you mean `{near}`? the entrypoints of `defaults.traefik.entryPoints` are {listed}")
                }
                None => format!("the entrypoints of `defaults.traefik.entryPoints` are {listed}"),
            };
            problems.push(
                Problem::new(r.at.key("entryPoints").index(i), format!("unknown entrypoint `{e}`")).with_hint(hint),
            );
        }
    }
    for (i, m) in r.middlewares.iter().enumerate() {
        let ns_ok = m.namespace.as_deref().is_none_or(crate::spec::names::is_dns1123_label);
        if !is_dns1123_subdomain(&m.name) || !ns_ok {
            problems.push(
                Problem::new(r.at.key("middlewares").index(i), format!("`{m}` is not a middleware name"))
                    .with_hint("write `name` (a middleware of the app's namespace) or `namespace/name`"),
            );
        }
    }
    let on_tls = entry_points(traefik, r).iter().any(|e| traefik.entry_points.get(*e).is_some_and(|p| p.tls));
    if on_tls && r.tls.is_none() {
        let wildcard = cx.spec.defaults.tls.wildcard.as_ref();
        if !wildcard.is_some_and(|w| covers(&w.domain, r.host)) {
            let why = match wildcard {
                Some(w) => format!("the wildcard certificate `*.{}` does not cover it", w.domain),
                None => "no wildcard certificate is declared in `defaults.tls.wildcard`".to_owned(),
            };
            problems.push(
                Problem::new(r.at.key("host"), format!("host `{}` is on a TLS entrypoint, but {why}", r.host))
                    .with_hint(
                        "give the route `tls.issuer` (its own Certificate) or `tls.secretName` (an existing Secret)",
                    ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wildcard_covers_its_domain_and_one_label() {
        for (host, want) in [
            ("home.example.org", true),
            ("wiki.home.example.org", true),
            ("a.b.home.example.org", false),
            ("xhome.example.org", false),
            ("example.org", false),
            (".home.example.org", false),
        ] {
            assert_eq!(covers("home.example.org", host), want, "{host}");
        }
    }
}
