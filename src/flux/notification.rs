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

use super::object::meta;
use super::options::{BootstrapOptions, NotifierOptions};

/// The Secret key notification-controller reads a `generic-hmac`
/// Provider's HMAC key from.
pub const PROVIDER_SECRET_KEY: &str = "token";

/// The kinds the Alert listens to, in the order it names them.
pub const ALERT_KINDS: [&str; 6] =
    ["Bucket", "Kustomization", "HelmRelease", "HelmRepository", "OCIRepository", "GitRepository"];

/// The Provider's and Alert's name.
pub fn name(opts: &BootstrapOptions) -> String {
    format!("{}-notifier", opts.name)
}

/// The default name of the HMAC key's Secret.
pub fn default_secret(name: &str) -> String {
    format!("{name}-notifier-hmac")
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
