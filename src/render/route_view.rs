//! One route of an app as every renderer of routes sees it: from the
//! `ingress` field (named like the app) or an entry of `routes`
//! (`<app>-<route>`), with its TLS Secret's name. `routes` (Ingresses) and
//! `ingress_route` (IngressRoutes) both read it.

use crate::spec::{Annotations, IngressTls, JsonPath, MiddlewareName, PathType, ServicePortRef};

use super::context::AppContext;

/// One route, from `ingress` or from `routes`.
pub struct RouteView<'a> {
    /// The Ingress (or IngressRoute) name.
    pub object: String,
    pub at: JsonPath,
    pub host: &'a str,
    pub path: &'a str,
    pub path_type: PathType,
    /// None: the app's own Service.
    pub service: Option<&'a str>,
    pub port: Option<&'a ServicePortRef>,
    pub class_name: Option<&'a str>,
    pub tls: Option<&'a IngressTls>,
    pub annotations: &'a Annotations,
    /// Traefik entrypoints named by the route (none: all).
    pub entry_points: &'a [String],
    pub middlewares: &'a [MiddlewareName],
    /// From the `ingress` field (which the app's checks cover).
    pub sugar: bool,
}

pub(super) fn views<'a>(cx: &'a AppContext) -> Vec<RouteView<'a>> {
    let mut out = Vec::new();
    if let Some(ing) = &cx.app.ingress {
        out.push(RouteView {
            object: cx.name.to_string(),
            at: cx.at.key("ingress"),
            host: &ing.host,
            path: &ing.path,
            path_type: PathType::Prefix,
            service: None,
            port: None,
            class_name: ing.class_name.as_deref(),
            tls: ing.tls.as_ref(),
            annotations: &ing.annotations,
            entry_points: &[],
            middlewares: &[],
            sugar: true,
        });
    }
    for (name, r) in &cx.app.routes {
        out.push(RouteView {
            object: format!("{}-{name}", cx.name),
            at: cx.at.key("routes").key(name.as_str()),
            host: &r.host,
            path: &r.path,
            path_type: r.path_type,
            service: r.service.as_deref(),
            port: r.port.as_ref(),
            class_name: r.class_name.as_deref(),
            tls: r.tls.as_ref(),
            annotations: &r.annotations,
            entry_points: &r.entry_points,
            middlewares: &r.middlewares,
            sugar: false,
        });
    }
    out
}

/// The route's TLS Secret: the one it names, else the one its
/// Certificate fills (`<object>-tls`).
pub(super) fn tls_secret(r: &RouteView, tls: &IngressTls) -> String {
    tls.secret_name.clone().unwrap_or_else(|| format!("{}-tls", r.object))
}
