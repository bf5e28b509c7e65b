//! What `defaults.traefik` and `defaults.tls` render once for the cluster,
//! and their bundle-wide checks.
//!
//! Rendered: the auth middleware (a forward-auth Middleware) into every
//! namespace with a route through it, so no route needs Traefik's
//! `allowCrossNamespace`; the wildcard Certificate and the TLSStore
//! `default` serving its Secret to every TLS router in every namespace.
//! Checked: the settings themselves, every IngressRoute's middlewares
//! (rendered or raw: in the bundle or in `external.<ns>.middlewares`) and
//! entrypoints, and every Certificate's issuer (declared in
//! `defaults.tls.issuers` or an issuer object of the bundle).

use std::collections::{BTreeSet, HashSet};

use crate::crd::cert_manager::{Certificate, CertificateSpec};
use crate::crd::traefik::{DefaultCertificate, ForwardAuth, Middleware, MiddlewareSpec, TlsStore, TlsStoreSpec};
use crate::object::Body;
use crate::spec::names::is_dns1123_subdomain;
use crate::spec::problem::nearest;
use crate::spec::{IssuerKind, JsonPath, Problem, Spec};

use super::context::{AppContext, MANAGED_BY_LABEL, MANAGER};
use super::manifest::Manifest;

fn at_traefik() -> JsonPath {
    JsonPath::root().key("defaults").key("traefik")
}

fn at_tls() -> JsonPath {
    JsonPath::root().key("defaults").key("tls")
}

fn meta(name: &str, namespace: &str) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some([(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned())].into()),
        ..Default::default()
    }
}

/// Whether an app has a route that renders (and so an IngressRoute).
fn routed(cx: &AppContext) -> bool {
    let own = cx.app.image.is_some() && cx.app.port.is_some();
    (cx.app.ingress.is_some() && own) || cx.app.routes.values().any(|r| r.service.is_some() || own)
}

/// The enabled apps whose routes skip the auth middleware (`check` lists them).
pub fn public_apps(spec: &Spec, apps: &[AppContext]) -> Vec<String> {
    if spec.defaults.traefik.as_ref().is_none_or(|t| t.auth.is_none()) {
        return Vec::new();
    }
    apps.iter().filter(|cx| cx.app.public && routed(cx)).map(|cx| cx.name.to_string()).collect()
}

/// The cluster's objects: auth middlewares, the wildcard Certificate and its TLSStore.
pub fn cluster_objects(spec: &Spec, apps: &[AppContext]) -> Vec<Manifest> {
    let mut out = Vec::new();
    let auth = spec.defaults.traefik.as_ref().and_then(|t| t.auth.as_ref());
    if let Some((auth, fa)) = auth.and_then(|a| a.forward_auth.as_ref().map(|f| (a, f))) {
        let namespaces: BTreeSet<&str> =
            apps.iter().filter(|cx| !cx.app.public && routed(cx)).map(|cx| cx.namespace.as_str()).collect();
        for ns in namespaces {
            let forward_auth = ForwardAuth {
                address: Some(fa.address.clone()),
                trust_forward_header: Some(fa.trust_forward_header),
                auth_response_headers: Some(fa.auth_response_headers.clone()).filter(|h| !h.is_empty()),
                auth_signin_url: fa.auth_signin_url.clone(),
                ..Default::default()
            };
            let spec = MiddlewareSpec { forward_auth: Some(forward_auth), ..Default::default() };
            out.push(Manifest::new(Middleware { metadata: meta(&auth.name, ns), spec }, at_traefik().key("auth")));
        }
    }
    if let Some(w) = &spec.defaults.tls.wildcard {
        let ns = w.namespace.as_ref().unwrap_or(&spec.defaults.ingress_controller_namespace).to_string();
        let at = at_tls().key("wildcard");
        let cert = CertificateSpec {
            dns_names: Some(vec![format!("*.{}", w.domain), w.domain.clone()]),
            issuer_ref: super::ingress_route::issuer_ref(spec, &w.issuer),
            secret_name: w.secret_name.clone(),
            ..Default::default()
        };
        out.push(Manifest::new(Certificate { metadata: meta(&w.secret_name, &ns), spec: cert }, at.key("issuer")));
        let store = TlsStoreSpec {
            default_certificate: Some(DefaultCertificate { secret_name: w.secret_name.clone() }),
            ..Default::default()
        };
        out.push(Manifest::new(TlsStore { metadata: meta("default", &ns), spec: store }, at));
    }
    out
}

/// Checks of `defaults.traefik` and `defaults.tls` themselves.
pub fn validate(spec: &Spec, problems: &mut Vec<Problem>) {
    let mut bad = |at: JsonPath, msg: String, hint: &str| problems.push(Problem::new(at, msg).with_hint(hint));
    if let Some(t) = &spec.defaults.traefik {
        if t.entry_points.is_empty() {
            bad(
                at_traefik().key("entryPoints"),
                "no entrypoints declared".into(),
                "declare at least one, e.g. `websecure` with `tls: true`",
            );
        }
        for name in t.entry_points.keys() {
            if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
                bad(
                    at_traefik().key("entryPoints").key(name),
                    format!("`{name}` is not an entrypoint name"),
                    "an entrypoint name is letters, digits, `-` and `_`, as in Traefik's static configuration",
                );
            }
        }
        if let Some(a) = &t.auth {
            let at = at_traefik().key("auth");
            if !is_dns1123_subdomain(&a.name) {
                bad(
                    at.key("name"),
                    format!("`{}` is not a valid Middleware name", a.name),
                    "a Middleware name is a lowercase DNS subdomain",
                );
            }
            match (&a.forward_auth, &a.namespace) {
                (None, None) => bad(
                    at,
                    "the auth middleware is neither rendered (`forwardAuth`) nor found (`namespace`)".into(),
                    "set `forwardAuth` for nixflux to render it, or `namespace` where it exists",
                ),
                (Some(_), Some(_)) => bad(
                    at.key("namespace"),
                    "a rendered auth middleware goes into every namespace with a route through it".into(),
                    "remove `namespace`, or `forwardAuth` to use an existing middleware",
                ),
                _ => {}
            }
        }
    }
    for (name, decl) in &spec.defaults.tls.issuers {
        let at = at_tls().key("issuers").key(name);
        match (decl.kind, &decl.namespace) {
            (IssuerKind::Issuer, None) => bad(
                at,
                format!("Issuer `{name}` needs a `namespace`"),
                "an Issuer serves the Certificates of its namespace; a ClusterIssuer serves all",
            ),
            (IssuerKind::ClusterIssuer, Some(_)) => bad(
                at.key("namespace"),
                format!("ClusterIssuer `{name}` has no namespace"),
                "remove `namespace`, or set `kind` to `Issuer`",
            ),
            _ => {}
        }
    }
    if let Some(w) = &spec.defaults.tls.wildcard {
        let at = at_tls().key("wildcard");
        if spec.defaults.traefik.is_none() {
            bad(
                at.clone(),
                "the wildcard certificate is served by Traefik's default TLSStore, but `defaults.traefik` is not set"
                    .into(),
                "declare the cluster's entrypoints in `defaults.traefik.entryPoints`",
            );
        }
        if !is_dns1123_subdomain(&w.domain) {
            bad(
                at.key("domain"),
                format!("`{}` is not a domain", w.domain),
                "write the domain without `*.`, e.g. `home.example.org`",
            );
        }
        if !is_dns1123_subdomain(&w.secret_name) {
            bad(
                at.key("secretName"),
                format!("`{}` is not a valid Secret name", w.secret_name),
                "a Secret name is a lowercase DNS subdomain",
            );
        }
    }
}

fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        return "none".to_owned();
    }
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// The bundle-wide checks: middlewares, entrypoints, issuers.
pub fn check(spec: &Spec, all: &[&Manifest], problems: &mut Vec<Problem>) {
    let ns_of = |m: &Manifest| m.namespace().unwrap_or("default").to_owned();
    let mut middlewares: HashSet<(String, String)> = HashSet::new();
    let mut issuers: HashSet<(IssuerKind, String, String)> = HashSet::new();
    for m in all {
        match (m.body.api_version().split('/').next().unwrap_or_default(), m.body.kind()) {
            (_, _) if matches!(m.body, Body::Middleware(_)) => {
                middlewares.insert((ns_of(m), m.name().to_owned()));
            }
            ("cert-manager.io", "ClusterIssuer") => {
                issuers.insert((IssuerKind::ClusterIssuer, String::new(), m.name().to_owned()));
            }
            ("cert-manager.io", "Issuer") => {
                issuers.insert((IssuerKind::Issuer, ns_of(m), m.name().to_owned()));
            }
            _ => {}
        }
    }
    for (ns, ext) in &spec.external {
        for name in &ext.middlewares {
            middlewares.insert((ns.to_string(), name.clone()));
        }
    }
    for (name, d) in &spec.defaults.tls.issuers {
        let ns = d.namespace.as_ref().map(|n| n.to_string()).unwrap_or_default();
        issuers.insert((d.kind, ns, name.clone()));
    }
    let auth = spec.defaults.traefik.as_ref().and_then(|t| t.auth.as_ref());
    for m in all {
        let ns = ns_of(m);
        match &m.body {
            Body::IngressRoute(r) => {
                for (i, route) in r.spec.routes.iter().enumerate() {
                    for (j, mw) in route.middlewares.iter().flatten().enumerate() {
                        let mw_ns = mw.namespace.clone().unwrap_or_else(|| ns.clone());
                        if middlewares.contains(&(mw_ns.clone(), mw.name.clone())) {
                            continue;
                        }
                        missing_middleware(m, route, (i, j), &mw_ns, auth, &middlewares, problems);
                    }
                }
                if let (Some(t), true) = (&spec.defaults.traefik, m.raw) {
                    let known: Vec<&str> = t.entry_points.keys().map(String::as_str).collect();
                    for (i, e) in r.spec.entry_points.iter().flatten().enumerate() {
                        if !t.entry_points.contains_key(e) {
                            problems.push(
                                Problem::new(
                                    m.field_path(&format!("spec.entryPoints[{i}]")),
                                    format!("unknown entrypoint `{e}`"),
                                )
                                .with_hint(format!(
                                    "the entrypoints of `defaults.traefik.entryPoints` are {}",
                                    listed(&known)
                                )),
                            );
                        }
                    }
                }
            }
            Body::Certificate(c) => {
                let r = &c.spec.issuer_ref;
                if r.group.as_deref().is_some_and(|g| g != "cert-manager.io") {
                    continue; // an external issuer type: not ours to know
                }
                let kind = match r.kind.as_deref() {
                    Some("ClusterIssuer") => IssuerKind::ClusterIssuer,
                    Some("Issuer") | None => IssuerKind::Issuer,
                    Some(_) => continue,
                };
                let key_ns = if kind == IssuerKind::Issuer { ns.clone() } else { String::new() };
                if issuers.contains(&(kind, key_ns.clone(), r.name.clone())) {
                    continue;
                }
                let mut same: Vec<&str> = issuers
                    .iter()
                    .filter(|(k, n, _)| *k == kind && *n == key_ns)
                    .map(|(_, _, name)| name.as_str())
                    .collect();
                same.sort_unstable();
                let shown = if kind == IssuerKind::Issuer {
                    format!("Issuer `{ns}/{}`", r.name)
                } else {
                    format!("ClusterIssuer `{}`", r.name)
                };
                let hint = match nearest(&r.name, &same) {
                    Some(near) => format!(
                        "did you mean `{near}`? (declare an issuer created outside the bundle in `defaults.tls.issuers`)"
                    ),
                    None => format!(
                        "declare it in `defaults.tls.issuers` (declared {}s here: {})",
                        kind.as_str(),
                        listed(&same)
                    ),
                };
                problems.push(
                    Problem::new(
                        m.field_path("spec.issuerRef.name"),
                        format!(
                            "{} names {shown}, which is not in the bundle and not declared in `defaults.tls.issuers`",
                            m.id()
                        ),
                    )
                    .with_hint(hint),
                );
            }
            _ => {}
        }
    }
}

/// The problem of a middleware that is neither in the bundle nor declared,
/// at the spec field that names it: the auth middleware's settings, the
/// route's `middlewares[k]` (after the auth one), or the raw object's field.
fn missing_middleware(
    m: &Manifest,
    route: &crate::crd::traefik::Route,
    (i, j): (usize, usize),
    mw_ns: &str,
    auth: Option<&crate::spec::AuthMiddleware>,
    middlewares: &HashSet<(String, String)>,
    problems: &mut Vec<Problem>,
) {
    let all: Vec<_> = route.middlewares.iter().flatten().collect();
    let mw = all[j];
    let field = format!("spec.routes[{i}].middlewares[{j}]");
    // The auth middleware, as a rendered route names it: first.
    let is_auth_ref = |f: &crate::crd::traefik::MiddlewareRef| {
        auth.is_some_and(|a| {
            let ns = a.namespace.as_ref().filter(|_| a.forward_auth.is_none()).map(|n| n.to_string());
            a.name == f.name && f.namespace == ns
        })
    };
    let first_is_auth = !m.raw && all.first().is_some_and(|f| is_auth_ref(f));
    let at = match (m.raw, first_is_auth && j == 0) {
        (true, _) => m.field_path(&field),
        (false, true) => at_traefik().key("auth"),
        (false, false) => m.origin.key("middlewares").index(j - usize::from(first_is_auth)),
    };
    let mut here: Vec<&str> = middlewares.iter().filter(|(n, _)| n == mw_ns).map(|(_, name)| name.as_str()).collect();
    here.sort_unstable();
    let declare = format!("external.{mw_ns}.middlewares");
    let hint = match nearest(&mw.name, &here) {
        Some(near) => format!(
            "did you mean `{near}`? (if something outside the bundle creates `{}`, declare it in `{declare}`)",
            mw.name
        ),
        None => format!(
            "add the Middleware to the bundle, or declare it in `{declare}` if something outside the bundle creates it"
        ),
    };
    let message = format!(
        "{} names Middleware `{mw_ns}/{}` at `{field}`, which is not in the bundle and not declared in `{declare}`",
        m.id(),
        mw.name
    );
    problems.push(Problem::new(at, message).with_hint(hint));
}
