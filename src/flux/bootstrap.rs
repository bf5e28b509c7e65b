//! Flux's side of a target: the Bucket source, the Kustomization that
//! applies the live generation, the optional `generic-hmac` Receiver, the
//! optional Provider and Alert for `nixflux notify` (`notification.rs`), and the
//! shapes (names and keys, never values) of the Secrets they read. Pure
//! functions from checked `BootstrapOptions` to typed objects; `render`
//! puts them together with the in-cluster endpoint (`endpoint.rs`) and the
//! publisher's RBAC (`rbac.rs`) in apply order.

use serde::Serialize;

use crate::crd::flux::{
    Bucket, BucketProvider, BucketSpec, CrossNamespaceObjectReference, CrossNamespaceSourceReference, Decryption,
    DecryptionProvider, DependencyReference, Kustomization, KustomizationSpec, LocalObjectReference, Receiver,
    ReceiverSpec, ReceiverType, SourceKind,
};

use super::object::{meta, object};
pub use super::object::{BootstrapObject, MANAGED_BY, PRUNE_DISABLED, RECEIVER_SECRET_KEY, S3_SECRET_KEYS};
use super::options::{BootstrapError, BootstrapOptions, Endpoint};

/// The Bucket's `ignore`: what of the target Flux neither downloads nor
/// counts in the revision. Generation records (`generations/`) and the lease
/// (`nixflux.lock`) change during a publish but never reach the cluster, and
/// `.nixflux-tmp-*` are a directory target's files while they are written
/// (visible through `rclone serve s3` in hostpath mode). Unanchored
/// gitignore patterns, because keys keep the prefix. The revision nixflux
/// computes for `--wait` applies exactly these patterns.
pub const BUCKET_IGNORE: &str = "generations/\nnixflux.lock\n.nixflux-tmp-*\n";

/// A Secret bootstrap refers to but never writes: its name and keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecretShape {
    pub name: String,
    pub namespace: String,
    pub keys: Vec<String>,
    /// Who reads it, for people.
    pub purpose: String,
}

impl SecretShape {
    /// The `kubectl` command that creates it from files named after its
    /// keys in the current directory: the values go from file to API
    /// server and never into argv, a shell history or the Nix store.
    pub fn kubectl_command(&self) -> String {
        let files: Vec<String> = self.keys.iter().map(|k| format!("--from-file={k}=./{k}")).collect();
        format!("kubectl -n {} create secret generic {} {}", self.namespace, self.name, files.join(" "))
    }
}

/// Everything `nixflux flux bootstrap` prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Bootstrap {
    /// In apply order.
    pub objects: Vec<BootstrapObject>,
    pub secrets: Vec<SecretShape>,
    /// For hostpath mode: the `dir://` target the node publishes to.
    pub publish_to: Option<String>,
}

/// The Kustomization `path` for a prefix: Flux keeps keys whole, so the
/// prefix is the path (`home/` becomes `./home`, an empty prefix `./`).
pub fn kustomization_path(prefix: &str) -> String {
    format!("./{}", prefix.trim_end_matches('/'))
}

/// `host:port` as the Bucket takes it, and whether the endpoint uses TLS.
pub fn endpoint_host(opts: &BootstrapOptions) -> Result<(String, bool), BootstrapError> {
    match &opts.endpoint {
        Endpoint::External { url } => super::options::parse_endpoint(url),
        Endpoint::InCluster(_) => Ok((
            format!("{}.{}.svc:{}", super::endpoint::service_name(&opts.name), opts.namespace, super::endpoint::PORT),
            false,
        )),
    }
}

pub fn bucket(opts: &BootstrapOptions) -> Result<Bucket, BootstrapError> {
    let (endpoint, tls) = endpoint_host(opts)?;
    Ok(Bucket {
        metadata: meta(opts, opts.name.clone()),
        spec: BucketSpec {
            provider: Some(BucketProvider::Generic),
            bucket_name: opts.bucket.clone(),
            endpoint,
            insecure: (!tls).then_some(true),
            region: Some(opts.region.clone()),
            prefix: (!opts.prefix.is_empty()).then(|| opts.prefix.clone()),
            ignore: Some(BUCKET_IGNORE.to_owned()),
            interval: opts.interval.clone(),
            timeout: Some(opts.timeout.clone()),
            secret_ref: Some(LocalObjectReference { name: opts.s3_secret.clone() }),
            cert_secret_ref: opts.cert_secret.clone().map(|name| LocalObjectReference { name }),
            ..Default::default()
        },
        status: None,
    })
}

/// The one Kustomization of an unlayered target.
pub fn kustomization(opts: &BootstrapOptions) -> Kustomization {
    layer_kustomization(opts, opts.name.clone(), kustomization_path(&opts.prefix), None)
}

fn layer_kustomization(opts: &BootstrapOptions, name: String, path: String, after: Option<String>) -> Kustomization {
    Kustomization {
        metadata: meta(opts, name),
        spec: KustomizationSpec {
            source_ref: CrossNamespaceSourceReference {
                kind: SourceKind::Bucket,
                name: opts.name.clone(),
                ..Default::default()
            },
            path: Some(path),
            depends_on: after
                .map(|name| DependencyReference { name, namespace: None, ready_expr: None })
                .into_iter()
                .collect(),
            prune: true,
            wait: Some(true),
            interval: opts.kustomization_interval.clone(),
            timeout: Some(opts.kustomization_timeout.clone()),
            retry_interval: Some(opts.retry_interval.clone()),
            service_account_name: opts.service_account_name.clone(),
            health_check_exprs: opts.health_check_exprs.clone(),
            decryption: opts.sops_secret.clone().map(|name| Decryption {
                provider: DecryptionProvider::Sops,
                secret_ref: Some(LocalObjectReference { name }),
                service_account_name: None,
            }),
            ..Default::default()
        },
        status: None,
    }
}

/// Every Kustomization: one, or one per layer at `./<prefix><layer>`
/// depending on the layer before (Flux applies a layer only once the one
/// before is Ready).
pub fn kustomizations(opts: &BootstrapOptions) -> Vec<Kustomization> {
    if opts.layers.is_empty() {
        return vec![kustomization(opts)];
    }
    let names = opts.kustomization_names();
    opts.layers
        .iter()
        .enumerate()
        .map(|(i, layer)| {
            let path = kustomization_path(&format!("{}{layer}/", opts.prefix));
            let after = i.checked_sub(1).map(|p| names[p].clone());
            layer_kustomization(opts, names[i].clone(), path, after)
        })
        .collect()
}

/// A `generic-hmac` Receiver on the Bucket and the Kustomization: one
/// signed POST asks source-controller to list the bucket now (the
/// Kustomization follows the new artifact by itself) and kustomize-controller
/// to re-apply even when the revision did not change.
pub fn receiver(opts: &BootstrapOptions, token_secret: &str) -> Receiver {
    let reference = |kind: &str, api_version: &str, name: &str| CrossNamespaceObjectReference {
        api_version: Some(api_version.to_owned()),
        kind: kind.to_owned(),
        name: name.to_owned(),
        ..Default::default()
    };
    Receiver {
        metadata: meta(opts, opts.name.clone()),
        spec: ReceiverSpec {
            type_: ReceiverType::GenericHmac,
            resources: std::iter::once(reference("Bucket", "source.toolkit.fluxcd.io/v1", &opts.name))
                .chain(
                    opts.kustomization_names()
                        .iter()
                        .map(|n| reference("Kustomization", "kustomize.toolkit.fluxcd.io/v1", n)),
                )
                .collect(),
            secret_ref: Some(LocalObjectReference { name: token_secret.to_owned() }),
            ..Default::default()
        },
        status: None,
    }
}

pub fn secrets(opts: &BootstrapOptions) -> Vec<SecretShape> {
    let mut out = vec![SecretShape {
        name: opts.s3_secret.clone(),
        namespace: opts.namespace.clone(),
        keys: S3_SECRET_KEYS.iter().map(|k| (*k).to_owned()).collect(),
        purpose: match opts.endpoint {
            Endpoint::InCluster(_) => "the S3 access key pair: Flux's Bucket reads with it, rclone accepts it".into(),
            Endpoint::External { .. } => "the S3 access key pair Flux's Bucket reads with".into(),
        },
    }];
    if let Some(r) = &opts.receiver {
        out.push(SecretShape {
            name: r.token_secret.clone(),
            namespace: opts.namespace.clone(),
            keys: vec![RECEIVER_SECRET_KEY.to_owned()],
            purpose: "the Receiver's HMAC token (the publisher signs with the same token)".into(),
        });
    }
    if let Some(n) = &opts.notifier {
        out.push(SecretShape {
            name: n.secret.clone(),
            namespace: opts.namespace.clone(),
            keys: vec![super::notification::PROVIDER_SECRET_KEY.to_owned()],
            purpose: "the notifier's HMAC key: notification-controller signs each event with it; \
                      the notifier's `hmac_key_file` holds the same bytes"
                .into(),
        });
    }
    out
}

/// Every object of the bootstrap, checked and in apply order.
pub fn render(opts: &BootstrapOptions) -> Result<Bootstrap, BootstrapError> {
    opts.check()?;
    let mut objects = Vec::new();
    let mut publish_to = None;
    if let Endpoint::InCluster(server) = &opts.endpoint {
        objects.extend(super::endpoint::objects(opts, server));
        if let super::options::ServerMode::HostPath { path, .. } = &server.mode {
            publish_to = Some(format!("dir://{}/{}/{}", path.trim_end_matches('/'), opts.bucket, opts.prefix));
        }
    }
    if let Some(rbac) = &opts.rbac {
        objects.extend(super::rbac::objects(opts, rbac));
    }
    objects.push(object(&bucket(opts)?));
    objects.extend(kustomizations(opts).iter().map(object));
    if let Some(r) = &opts.receiver {
        objects.push(object(&receiver(opts, &r.token_secret)));
    }
    if let Some(n) = &opts.notifier {
        objects.push(object(&super::notification::provider(opts, n)));
        objects.push(object(&super::notification::alert(opts)));
    }
    Ok(Bootstrap { objects, secrets: secrets(opts), publish_to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::options::{ServerMode, ServerOptions};

    fn options(endpoint: Endpoint) -> BootstrapOptions {
        BootstrapOptions {
            name: "nixflux-home".into(),
            namespace: "flux-system".into(),
            bucket: "flux".into(),
            prefix: "home/".into(),
            endpoint,
            region: "us-east-1".into(),
            interval: "10m".into(),
            timeout: "60s".into(),
            kustomization_interval: "10m".into(),
            kustomization_timeout: "5m".into(),
            retry_interval: "1m".into(),
            s3_secret: "s3".into(),
            cert_secret: None,
            service_account_name: None,
            sops_secret: None,
            health_check_exprs: Vec::new(),
            receiver: None,
            rbac: None,
            layers: Vec::new(),
            notifier: None,
        }
    }

    #[test]
    fn paths_keep_the_prefix() {
        assert_eq!(kustomization_path("home/"), "./home");
        assert_eq!(kustomization_path("a/b/"), "./a/b");
        assert_eq!(kustomization_path(""), "./");
    }

    #[test]
    fn insecure_only_for_plain_http() {
        for (url, insecure) in [("http://s3:9000", Some(true)), ("https://s3:9000", None)] {
            let b = bucket(&options(Endpoint::External { url: url.into() })).unwrap();
            assert_eq!(b.spec.insecure, insecure, "{url}");
            assert_eq!(b.spec.endpoint, "s3:9000");
        }
    }

    #[test]
    fn hostpath_mode_serves_read_only_without_a_directory_cache() {
        let image = "nix:0/nix/store/w08czs6f3vwv63dhsg0n368wk2xpx05r-nix-image-rclone.tar".parse().unwrap();
        let mode = ServerMode::HostPath { path: "/srv/s3".into(), node: "n1".into() };
        let boot = render(&options(Endpoint::InCluster(ServerOptions { mode, image }))).unwrap();
        assert_eq!(boot.publish_to.as_deref(), Some("dir:///srv/s3/flux/home/"));
        let kinds: Vec<&str> = boot.objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["Deployment", "Service", "Bucket", "Kustomization"]);
        let args = boot.objects[0].value["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
        assert!(args.contains(r#""--dir-cache-time","0s""#) && args.contains("--read-only"), "{args}");
        for o in &boot.objects {
            assert_eq!(o.value["metadata"]["annotations"][PRUNE_DISABLED.0], PRUNE_DISABLED.1, "{}", o.kind);
        }
    }
}
