//! The spec's Traefik and TLS settings (re-exported by `model.rs`):
//! `defaults.traefik` (the cluster's entrypoints, declared once, and the
//! auth middleware every route goes through unless its app is `public`),
//! `defaults.tls` (cert-manager issuers and the cluster's wildcard
//! certificate), and what a route adds (`entryPoints`, `middlewares`).
//! With `defaults.traefik` set, apps' routes render as Traefik
//! IngressRoutes instead of Ingresses.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer};

use super::names::NamespaceName;

/// `defaults.traefik`: present, routes render as IngressRoutes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TraefikDefaults {
    /// The cluster's entrypoints by name; a route gets all of them unless
    /// it names a subset.
    pub entry_points: BTreeMap<String, EntryPoint>,
    /// The middleware every route goes through unless its app is `public`.
    #[serde(default)]
    pub auth: Option<AuthMiddleware>,
}

/// One entrypoint of Traefik's static configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EntryPoint {
    /// Traefik terminates TLS here (`websecure`); false: plain HTTP (a tunnel).
    #[serde(default)]
    pub tls: bool,
}

/// The default auth middleware: rendered by nixflux into every namespace
/// with a route through it (`forwardAuth`), or one that exists already
/// (`namespace`: in the bundle or declared in `external`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AuthMiddleware {
    pub name: String,
    /// Where an existing middleware is (Traefik needs `allowCrossNamespace`
    /// for a middleware of another namespace).
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
    #[serde(default)]
    pub forward_auth: Option<ForwardAuth>,
}

/// A forward-auth middleware (oauth2-proxy, Authelia, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ForwardAuth {
    /// The auth server's URL, e.g. `http://oauth2-proxy.auth.svc/oauth2/auth`.
    pub address: String,
    #[serde(default = "yes")]
    pub trust_forward_header: bool,
    /// Response headers copied to the request (`X-Auth-Request-User`, ...).
    #[serde(default)]
    pub auth_response_headers: Vec<String>,
    /// Where to send a user who is not signed in.
    #[serde(default)]
    pub auth_signin_url: Option<String>,
}

fn yes() -> bool {
    true
}

/// `defaults.tls`: cert-manager issuers and the wildcard certificate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TlsDefaults {
    /// Issuers Certificates may name, by name (created in the bundle or outside).
    #[serde(default)]
    pub issuers: BTreeMap<String, IssuerDecl>,
    #[serde(default)]
    pub wildcard: Option<Wildcard>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize)]
pub enum IssuerKind {
    #[default]
    ClusterIssuer,
    Issuer,
}

impl IssuerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IssuerKind::ClusterIssuer => "ClusterIssuer",
            IssuerKind::Issuer => "Issuer",
        }
    }
}

/// An issuer: a ClusterIssuer, or an Issuer of one namespace (only
/// Certificates of that namespace can use it).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IssuerDecl {
    #[serde(default)]
    pub kind: IssuerKind,
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
}

/// The cluster's wildcard certificate for `*.<domain>` and `<domain>`,
/// rendered once and served by Traefik's default TLSStore.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Wildcard {
    pub domain: String,
    pub issuer: String,
    /// The Certificate's and its Secret's name.
    #[serde(default = "wildcard_name")]
    pub secret_name: String,
    /// Where the Certificate and the TLSStore go (default: the ingress
    /// controller's namespace).
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
}

fn wildcard_name() -> String {
    "wildcard-tls".to_owned()
}

/// A middleware a route names: `name` (the app's namespace) or
/// `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct MiddlewareName {
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for MiddlewareName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{ns}/{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

impl<'de> Deserialize<'de> for MiddlewareName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.split_once('/') {
            Some((ns, name)) => MiddlewareName { namespace: Some(ns.to_owned()), name: name.to_owned() },
            None => MiddlewareName { namespace: None, name: s },
        })
    }
}
