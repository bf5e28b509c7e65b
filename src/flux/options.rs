//! `BootstrapOptions`: everything `nixflux flux bootstrap` needs to write
//! Flux's side of a target, as validated values, and the checks that make
//! a set of options one that Flux and the API server accept (names,
//! durations, the endpoint, the image pin). The objects themselves are built
//! by `bootstrap.rs`, `endpoint.rs` and `rbac.rs` from options that passed
//! `BootstrapOptions::check`.

use crate::image::reference::ImageRef;
use crate::spec::helm::is_duration;
use crate::spec::names::NameRule;
use crate::spec::quantity::Quantity;

/// Default Bucket poll interval. nixflux asks Flux to reconcile right after
/// a publish (annotation or Receiver), so the poll is only the fallback for
/// a lost request; 10 minutes keeps a listing of the bucket off the hot path.
pub const DEFAULT_BUCKET_INTERVAL: &str = "10m";
/// Default Bucket timeout (Flux's own default).
pub const DEFAULT_BUCKET_TIMEOUT: &str = "60s";
/// Default Kustomization interval: how often Flux re-applies to undo drift.
pub const DEFAULT_KUSTOMIZATION_INTERVAL: &str = "10m";
/// Default Kustomization timeout for build, apply and the health wait.
pub const DEFAULT_KUSTOMIZATION_TIMEOUT: &str = "5m";
/// Default retry interval after a failed apply.
pub const DEFAULT_RETRY_INTERVAL: &str = "1m";
/// The region written into the Bucket: with `region` set, Flux skips the
/// `GET ?location` call; rclone and most self-hosted servers accept any.
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_NAMESPACE: &str = "flux-system";
pub const DEFAULT_NAME: &str = "nixflux";
pub const DEFAULT_STORAGE: &str = "1Gi";

/// The options of one target's bootstrap.
#[derive(Debug, Clone, PartialEq)]
pub struct BootstrapOptions {
    /// Name of the Bucket and Kustomization (and the prefix of the other objects' names).
    pub name: String,
    /// Flux's namespace, where every namespaced object goes.
    pub namespace: String,
    pub bucket: String,
    /// The normalised prefix (`home/`, `a/b/`, or empty), as `TargetUrl` gives it.
    pub prefix: String,
    pub endpoint: Endpoint,
    pub region: String,
    pub interval: String,
    pub timeout: String,
    pub kustomization_interval: String,
    pub kustomization_timeout: String,
    pub retry_interval: String,
    /// The Secret with `accesskey` and `secretkey` (Bucket `secretRef`, rclone's auth key).
    pub s3_secret: String,
    /// A Secret with `ca.crt` (and optionally `tls.crt`, `tls.key`) for an `https` endpoint.
    pub cert_secret: Option<String>,
    /// The Kustomization applies as this ServiceAccount (Flux impersonation).
    pub service_account_name: Option<String>,
    /// SOPS decryption with the keys in this Secret.
    pub sops_secret: Option<String>,
    /// The Kustomization's `healthCheckExprs` (CloudNativePG Clusters).
    pub health_check_exprs: Vec<crate::crd::flux::HealthCheckExpr>,
    pub receiver: Option<ReceiverOptions>,
    pub rbac: Option<RbacOptions>,
    /// The bundle's layers in order: one Kustomization `<name>-<layer>` each
    /// at `./<prefix><layer>`, each depending on the one before. Empty: one
    /// Kustomization `<name>` at `./<prefix>`.
    pub layers: Vec<String>,
    /// A `generic-hmac` Provider and an Alert for `nixflux notify`.
    pub notifier: Option<NotifierOptions>,
}

/// Where Flux reads the bucket.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// A server outside this bootstrap: `http://` or `https://host[:port]`.
    External { url: String },
    /// The in-cluster `rclone serve s3` this bootstrap renders.
    InCluster(ServerOptions),
}

/// The in-cluster `rclone serve s3`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerOptions {
    pub mode: ServerMode,
    /// A pinned image holding `rclone` on its `PATH`.
    pub image: ImageRef,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerMode {
    /// Publishers write through the S3 API; rclone serves a claim.
    Pvc { storage: Quantity, storage_class: Option<String> },
    /// The node publishes to a `dir://` target under `path`; rclone serves
    /// that directory (read-only) from a hostPath volume on `node`.
    HostPath { path: String, node: String },
}

/// A `generic-hmac` Receiver whose token lives in `token_secret` (key `token`).
#[derive(Debug, Clone, PartialEq)]
pub struct ReceiverOptions {
    pub token_secret: String,
}

/// A `generic-hmac` Provider and an Alert for `nixflux notify` (`notification.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierOptions {
    /// The notifier's receiver: `http(s)://host[:port]/path` (its `receiver_path`).
    pub url: String,
    /// The Secret with the HMAC key (key `token`).
    pub secret: String,
}

impl NotifierOptions {
    /// An absolute `http://` or `https://` URL with a host, without white
    /// space, user or fragment: notification-controller POSTs to it as is.
    fn check(&self) -> Result<(), BootstrapError> {
        let err = |why| BootstrapError::Endpoint { url: self.url.clone(), why };
        let rest = self
            .url
            .strip_prefix("https://")
            .or_else(|| self.url.strip_prefix("http://"))
            .ok_or_else(|| err("needs `http://` or `https://`: it is the notifier's receiver URL"))?;
        if rest.split('/').next().unwrap_or_default().is_empty() {
            return Err(err("has no host"));
        }
        let odd = self.url.contains(['@', '#']) || self.url.chars().any(|c| c.is_whitespace() || c.is_control());
        if self.url.len() > 2048 || odd {
            return Err(err(
                "must be `scheme://host[:port]/path` with no user, fragment or white space, at most 2048 characters",
            ));
        }
        Ok(())
    }
}

/// The publisher's API access.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RbacOptions {
    /// A ServiceAccount to create in the Flux namespace and bind.
    pub service_account: Option<String>,
    /// Further subjects to bind.
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Group(String),
    ServiceAccount { namespace: String, name: String },
}

impl std::str::FromStr for Subject {
    type Err = BootstrapError;

    /// `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE/NAME`.
    fn from_str(s: &str) -> Result<Subject, BootstrapError> {
        let bad = || BootstrapError::Subject { value: s.to_owned() };
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "user" if !rest.is_empty() => Ok(Subject::User(rest.to_owned())),
            "group" if !rest.is_empty() => Ok(Subject::Group(rest.to_owned())),
            "serviceaccount" => {
                let (namespace, name) = rest.split_once('/').ok_or_else(bad)?;
                let ok =
                    NameRule::Dns1123Label.check(namespace).is_ok() && NameRule::Dns1123Subdomain.check(name).is_ok();
                ok.then(|| Subject::ServiceAccount { namespace: namespace.to_owned(), name: name.to_owned() })
                    .ok_or_else(bad)
            }
            _ => Err(bad()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BootstrapError {
    #[error("{what} `{value}` {rule}")]
    Name { what: &'static str, value: String, rule: &'static str },
    #[error(
        "{what} `{value}` is not a duration Flux accepts: write a Go duration such as `30s`, `10m` or `1h30m`{hours}"
    )]
    Duration { what: &'static str, value: String, hours: &'static str },
    #[error("the endpoint `{url}` {why}")]
    Endpoint { url: String, why: &'static str },
    #[error("the rclone image `{image}` is not pinned: use `nix:0/nix/store/...` or a reference with `@sha256:...`, never a tag alone")]
    Unpinned { image: String },
    #[error("the rclone image `{image}` is a nix-snapshotter reference with a tag, which can never be pulled")]
    NixTag { image: String },
    #[error("a certificate Secret (`{secret}`) needs an `https://` endpoint; {endpoint} is plain HTTP")]
    CertWithoutTls { secret: String, endpoint: String },
    #[error("the host path `{path}` must be an absolute directory path without `..`, `//` or white space")]
    HostPath { path: String },
    #[error("`{value}` is not an RBAC subject: write `user:NAME`, `group:NAME` or `serviceaccount:NAMESPACE/NAME`")]
    Subject { value: String },
    #[error("the layer `{layer}` {why}")]
    Layer { layer: String, why: &'static str },
    #[error("the name `{name}` is too long for the objects derived from it (`{derived}` has {len} characters; at most {max})")]
    DerivedName { name: String, derived: String, len: usize, max: usize },
}

/// A name derived from the target: `nixflux-<prefix segments joined by
/// `-`>`, or `nixflux` for an empty prefix or one that makes no valid name.
pub fn default_name(prefix: &str) -> String {
    let joined: String = prefix
        .split('/')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = format!("{DEFAULT_NAME}-{}", joined.trim_matches('-'));
    if joined.trim_matches('-').is_empty() || NameRule::Dns1035Label.check(&name).is_err() || name.len() > 50 {
        DEFAULT_NAME.to_owned()
    } else {
        name
    }
}

/// Longest base name: `<name>-receiver-token` must stay a valid label-length name.
const MAX_NAME: usize = 50;

impl BootstrapOptions {
    /// The Kustomization names, in apply order: `<name>`, or `<name>-<layer>` per layer.
    pub fn kustomization_names(&self) -> Vec<String> {
        if self.layers.is_empty() {
            return vec![self.name.clone()];
        }
        self.layers.iter().map(|l| format!("{}-{l}", self.name)).collect()
    }

    /// Every rule the objects' consumers enforce, checked up front.
    pub fn check(&self) -> Result<(), BootstrapError> {
        let name = |what, value: &str, rule: NameRule| {
            rule.check(value).map_err(|_| BootstrapError::Name { what, value: value.to_owned(), rule: rule.describe() })
        };
        // The Service is named after it: a DNS-1035 label.
        name("the name", &self.name, NameRule::Dns1035Label)?;
        if self.name.len() > MAX_NAME {
            let derived = format!("{}-receiver-token", self.name);
            return Err(BootstrapError::DerivedName {
                name: self.name.clone(),
                len: derived.len(),
                derived,
                max: MAX_NAME + "-receiver-token".len(),
            });
        }
        name("the namespace", &self.namespace, NameRule::Dns1123Label)?;
        for (i, layer) in self.layers.iter().enumerate() {
            if !crate::spec::names::is_layer_name(layer) {
                return Err(BootstrapError::Layer { layer: layer.clone(), why: "is not a layer name: write a DNS-1123 label other than `objects` and `generations`, as the spec's `layers` has it" });
            }
            if self.layers[..i].contains(layer) {
                return Err(BootstrapError::Layer { layer: layer.clone(), why: "is given twice" });
            }
        }
        if self.layers.len() > crate::spec::names::MAX_LAYERS {
            return Err(BootstrapError::Layer {
                layer: self.layers.join(","),
                why: "are more layers than a spec may have (10)",
            });
        }
        name("the S3 Secret", &self.s3_secret, NameRule::Dns1123Subdomain)?;
        for (what, v) in [
            ("the certificate Secret", &self.cert_secret),
            ("the service account", &self.service_account_name),
            ("the SOPS Secret", &self.sops_secret),
        ] {
            if let Some(v) = v {
                name(what, v, NameRule::Dns1123Subdomain)?;
            }
        }
        if let Some(r) = &self.receiver {
            name("the Receiver token Secret", &r.token_secret, NameRule::Dns1123Subdomain)?;
        }
        if let Some(n) = &self.notifier {
            name("the notifier's HMAC Secret", &n.secret, NameRule::Dns1123Subdomain)?;
            n.check()?;
        }
        if let Some(sa) = self.rbac.as_ref().and_then(|r| r.service_account.as_ref()) {
            name("the publisher service account", sa, NameRule::Dns1123Subdomain)?;
        }
        let duration = |what, value: &str, hours: bool| {
            if is_duration(value, hours) {
                Ok(())
            } else {
                Err(BootstrapError::Duration {
                    what,
                    value: value.to_owned(),
                    hours: if hours { "" } else { " (no hours here)" },
                })
            }
        };
        duration("the Bucket interval", &self.interval, true)?;
        duration("the Bucket timeout", &self.timeout, false)?;
        duration("the Kustomization interval", &self.kustomization_interval, true)?;
        duration("the Kustomization timeout", &self.kustomization_timeout, true)?;
        duration("the retry interval", &self.retry_interval, true)?;
        match &self.endpoint {
            Endpoint::External { url } => {
                let (_, tls) = parse_endpoint(url)?;
                if let (Some(secret), false) = (&self.cert_secret, tls) {
                    return Err(BootstrapError::CertWithoutTls {
                        secret: secret.clone(),
                        endpoint: format!("`{url}`"),
                    });
                }
            }
            Endpoint::InCluster(server) => {
                if let Some(secret) = &self.cert_secret {
                    return Err(BootstrapError::CertWithoutTls {
                        secret: secret.clone(),
                        endpoint: "the in-cluster rclone endpoint".into(),
                    });
                }
                match &server.image {
                    ImageRef::Nix { tag: Some(_), .. } => {
                        return Err(BootstrapError::NixTag { image: server.image.to_string() })
                    }
                    i if !i.is_pinned() => return Err(BootstrapError::Unpinned { image: i.to_string() }),
                    _ => {}
                }
                match &server.mode {
                    ServerMode::Pvc { storage_class: Some(class), .. } => {
                        name("the storage class", class, NameRule::Dns1123Subdomain)?
                    }
                    ServerMode::Pvc { .. } => {}
                    ServerMode::HostPath { path, node } => {
                        let ok = path.starts_with('/')
                            && !path.contains("//")
                            && !path.split('/').any(|s| s == ".." || s == ".")
                            && !path.chars().any(|c| c.is_whitespace() || c.is_control());
                        if !ok {
                            return Err(BootstrapError::HostPath { path: path.clone() });
                        }
                        name("the node", node, NameRule::Dns1123Subdomain)?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// `http://host[:port]` or `https://host[:port]` (an optional trailing `/`)
/// into `host[:port]` and whether it is TLS.
pub fn parse_endpoint(url: &str) -> Result<(String, bool), BootstrapError> {
    let err = |why| BootstrapError::Endpoint { url: url.to_owned(), why };
    let (rest, tls) = if let Some(r) = url.strip_prefix("https://") {
        (r, true)
    } else if let Some(r) = url.strip_prefix("http://") {
        (r, false)
    } else {
        return Err(err("needs `http://` or `https://` (Flux takes `host:port`; nixflux writes that from the URL)"));
    };
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.is_empty() {
        return Err(err("has no host"));
    }
    if host.contains(['/', '?', '#', '@']) || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err("must be `scheme://host[:port]`, with no path, query or user"));
    }
    if let Some((_, port)) = host.rsplit_once(':').filter(|_| !host.ends_with(']')) {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(err("has an invalid port"));
        }
    }
    Ok((host.to_owned(), tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_crd_pattern() {
        for ok in ["10m", "60s", "1h30m", "1.5s", "500ms", "0s"] {
            assert!(is_duration(ok, true), "{ok}");
        }
        for bad in ["", "10", "m", "1d", "1.s", "-1s", "10 m", "1h", "1.5"] {
            assert!(!is_duration(bad, bad != "1h"), "{bad}");
        }
        assert!(!is_duration("1h", false));
    }

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoint("http://s3.lan:9000").unwrap(), ("s3.lan:9000".into(), false));
        assert_eq!(parse_endpoint("https://s3.lan/").unwrap(), ("s3.lan".into(), true));
        for bad in ["s3.lan:9000", "ftp://x", "http://", "http://x/path", "http://x:0", "http://x:99999", "http://u@x"]
        {
            assert!(parse_endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_from_the_prefix() {
        assert_eq!(default_name("home/"), "nixflux-home");
        assert_eq!(default_name("a/b_c/"), "nixflux-a-b-c");
        assert_eq!(default_name(""), "nixflux");
        assert_eq!(default_name(&"x".repeat(60)), "nixflux");
    }

    #[test]
    fn subjects() {
        assert_eq!("user:alice".parse::<Subject>().unwrap(), Subject::User("alice".into()));
        assert_eq!(
            "serviceaccount:ci/publisher".parse::<Subject>().unwrap(),
            Subject::ServiceAccount { namespace: "ci".into(), name: "publisher".into() }
        );
        for bad in ["alice", "user:", "serviceaccount:x", "role:x", "serviceaccount:Bad/x"] {
            assert!(bad.parse::<Subject>().is_err(), "{bad}");
        }
    }
}
