//! The bootstrap's way to `nixflux notify`: a `generic-hmac` Provider
//! pointing at the notifier's receiver, and an Alert sending it every event
//! (severity `info`, so recoveries arrive too) of every Bucket,
//! Kustomization, HelmRelease, HelmRepository, OCIRepository and
//! GitRepository in the bootstrap's namespace (`name: "*"`: the notifier
//! tracks whatever Flux reconciles there, the bootstrap's own objects
//! included). The HMAC key lives in a Secret bootstrap names but never
//! writes (key `token`, as notification-controller reads it).

use crate::crd::flux::{
    Alert, AlertSpec, CrossNamespaceObjectReference, EventSeverity, LocalObjectReference, Provider, ProviderSpec,
};

use super::bootstrap::SecretShape;
use super::object::meta;
use super::options::{BootstrapError, BootstrapOptions};

/// The Secret key notification-controller reads a `generic-hmac`
/// Provider's HMAC key from.
pub const PROVIDER_SECRET_KEY: &str = "token";

/// The kinds the Alert listens to, in the order it names them.
pub const ALERT_KINDS: [&str; 6] =
    ["Bucket", "Kustomization", "HelmRelease", "HelmRepository", "OCIRepository", "GitRepository"];

/// A Provider and Alert for `nixflux notify`.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifierOptions {
    /// The notifier's receiver: `http(s)://host[:port]/path` (its `receiver_path`).
    pub url: String,
    /// The Secret with the HMAC key (key `token`).
    pub secret: String,
}

/// The Provider's and Alert's name.
pub fn name(opts: &BootstrapOptions) -> String {
    format!("{}-notifier", opts.name)
}

/// The default name of the HMAC key's Secret.
pub fn default_secret(name: &str) -> String {
    format!("{name}-notifier-hmac")
}

/// The receiver URL is an absolute `http://` or `https://` URL without
/// white space, user or fragment (notification-controller POSTs to it as is).
pub fn check(n: &NotifierOptions) -> Result<(), BootstrapError> {
    let err = |why| BootstrapError::Endpoint { url: n.url.clone(), why };
    let rest = n
        .url
        .strip_prefix("https://")
        .or_else(|| n.url.strip_prefix("http://"))
        .ok_or_else(|| err("needs `http://` or `https://`: it is the notifier's receiver URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(err("has no host"));
    }
    if n.url.len() > 2048 || n.url.contains(['@', '#']) || n.url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(err(
            "must be `scheme://host[:port]/path`, with no user, fragment or white space, at most 2048 characters",
        ));
    }
    Ok(())
}

pub fn provider(opts: &BootstrapOptions, n: &NotifierOptions) -> Provider {
    Provider {
        metadata: meta(opts, name(opts)),
        spec: ProviderSpec {
            type_: "generic-hmac".to_owned(),
            address: Some(n.url.clone()),
            secret_ref: Some(LocalObjectReference { name: n.secret.clone() }),
            ..Default::default()
        },
    }
}

pub fn alert(opts: &BootstrapOptions) -> Alert {
    let source = |kind: &str| CrossNamespaceObjectReference {
        kind: kind.to_owned(),
        name: "*".to_owned(),
        ..Default::default()
    };
    Alert {
        metadata: meta(opts, name(opts)),
        spec: AlertSpec {
            provider_ref: LocalObjectReference { name: name(opts) },
            event_sources: ALERT_KINDS.iter().map(|k| source(k)).collect(),
            event_severity: Some(EventSeverity::Info),
            ..Default::default()
        },
    }
}

pub fn secret(opts: &BootstrapOptions, n: &NotifierOptions) -> SecretShape {
    SecretShape {
        name: n.secret.clone(),
        namespace: opts.namespace.clone(),
        keys: vec![PROVIDER_SECRET_KEY.to_owned()],
        purpose: "the notifier's HMAC key: notification-controller signs each event with it; \
                  the notifier's `hmac_key_file` holds the same bytes"
            .into(),
    }
}
