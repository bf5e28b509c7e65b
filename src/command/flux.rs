//! `nixflux flux ...`: Flux's side of a target. `flux bootstrap` prints (or
//! writes into a directory) the Bucket, Kustomization, optional Receiver,
//! in-cluster `rclone serve s3` and publisher RBAC for one target, and says
//! which Secrets to create and how, without ever seeing their values.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;

use super::exit::BadInput;
use super::output::{Global, Output};
use crate::flux::files::HEADER;
use crate::flux::options::{self as o, BootstrapOptions, Endpoint, RbacOptions, ServerMode, ServerOptions, Subject};
use crate::flux::Bootstrap;
use crate::image::reference::ImageRef;
use crate::publish::target::url::TargetUrl;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: FluxCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum FluxCommand {
    /// Print the Flux objects (and the in-cluster S3 endpoint) for a target
    Bootstrap(Box<BootstrapArgs>),
    /// Bind a target to the cluster the kubeconfig reaches
    Bind(Box<super::flux_bind::BindArgs>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// rclone serves a PersistentVolumeClaim; publishers write through S3
    Pvc,
    /// rclone serves a node directory that the node publishes into (`dir://`)
    Hostpath,
    /// no in-cluster server: Flux reads `--endpoint`
    External,
}

#[derive(Debug, clap::Args)]
pub struct BootstrapArgs {
    /// The target Flux reads: `s3://BUCKET/PREFIX`
    #[arg(long = "to", value_name = "TARGET")]
    pub to: String,
    /// The S3 endpoint Flux reads (`https://host:port`, `http://` for plain
    /// HTTP); implies `--mode external`
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Where the S3 endpoint comes from (default: `external` with
    /// `--endpoint`, otherwise `pvc`)
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Flux's namespace
    #[arg(long, default_value = o::DEFAULT_NAMESPACE)]
    pub namespace: String,
    /// Name of the Bucket and Kustomization (default: `nixflux-<prefix>`, or `nixflux`)
    #[arg(long)]
    pub name: Option<String>,
    /// The Bucket's region (set, so Flux skips the location request)
    #[arg(long, default_value = o::DEFAULT_REGION)]
    pub region: String,
    /// How often Flux lists the bucket when nobody asks it to
    #[arg(long, default_value = o::DEFAULT_BUCKET_INTERVAL, value_name = "DURATION")]
    pub interval: String,
    /// Timeout of the bucket's listing and download
    #[arg(long, default_value = o::DEFAULT_BUCKET_TIMEOUT, value_name = "DURATION")]
    pub timeout: String,
    /// How often Flux re-applies the generation (drift correction)
    #[arg(long, default_value = o::DEFAULT_KUSTOMIZATION_INTERVAL, value_name = "DURATION")]
    pub kustomization_interval: String,
    /// Timeout of build, apply and health checks
    #[arg(long, default_value = o::DEFAULT_KUSTOMIZATION_TIMEOUT, value_name = "DURATION")]
    pub kustomization_timeout: String,
    /// Wait after a failed apply before trying again
    #[arg(long, default_value = o::DEFAULT_RETRY_INTERVAL, value_name = "DURATION")]
    pub retry_interval: String,
    /// The Secret with `accesskey` and `secretkey` (default: `<name>-s3-credentials`)
    #[arg(long, value_name = "NAME")]
    pub s3_secret: Option<String>,
    /// A Secret with `ca.crt` for an `https://` endpoint (Bucket `certSecretRef`)
    #[arg(long, value_name = "NAME")]
    pub cert_secret: Option<String>,
    /// The ServiceAccount the Kustomization applies as
    #[arg(long, value_name = "NAME")]
    pub service_account: Option<String>,
    /// Decrypt SOPS-encrypted objects with the keys in this Secret
    #[arg(long, value_name = "NAME")]
    pub sops_secret: Option<String>,
    /// Judge CloudNativePG Clusters by their `Ready` condition (Kustomization
    /// `healthCheckExprs`); for bundles with a Cluster (the module sets it)
    #[arg(long)]
    pub health_check_cnpg: bool,
    /// The rclone image, pinned: `nix:0/nix/store/...` or `IMAGE@sha256:...`
    #[arg(long, value_name = "REF")]
    pub rclone_image: Option<String>,
    /// Size of the claim rclone serves (pvc mode)
    #[arg(long, value_name = "SIZE")]
    pub storage: Option<String>,
    /// Storage class of the claim (pvc mode; default: the cluster's)
    #[arg(long, value_name = "NAME")]
    pub storage_class: Option<String>,
    /// The node directory rclone serves (hostpath mode); the node publishes
    /// to `dir://DIR/BUCKET/PREFIX`
    #[arg(long, value_name = "DIR")]
    pub host_path: Option<String>,
    /// The node that holds `--host-path` (hostpath mode; its `kubernetes.io/hostname`)
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Add a `generic-hmac` Receiver, so one signed request triggers a reconcile
    #[arg(long)]
    pub receiver: bool,
    /// The Receiver's token Secret, key `token` (default: `<name>-receiver-token`)
    #[arg(long, value_name = "NAME", requires = "receiver")]
    pub receiver_secret: Option<String>,
    /// Add a `generic-hmac` Provider posting to `nixflux notify`'s receiver
    /// at URL, and an Alert sending it every event of the namespace's Flux objects
    #[arg(long, value_name = "URL")]
    pub notifier_url: Option<String>,
    /// The Provider's HMAC key Secret, key `token` (default: `<name>-notifier-hmac`)
    #[arg(long, value_name = "NAME", requires = "notifier_url")]
    pub notifier_secret: Option<String>,
    /// Create this ServiceAccount for the publisher and bind the publisher role to it
    #[arg(long, value_name = "NAME")]
    pub rbac_service_account: Option<String>,
    /// Bind the publisher role to `user:NAME`, `group:NAME` or
    /// `serviceaccount:NAMESPACE/NAME` (repeatable)
    #[arg(long, value_name = "SUBJECT")]
    pub rbac_subject: Vec<String>,
    /// A layer of the bundle, in order (repeatable): one Kustomization
    /// `<name>-<layer>` per layer at `./<prefix><layer>`, each with
    /// `dependsOn` the one before; without it one Kustomization `<name>`
    #[arg(long = "layer", value_name = "NAME")]
    pub layers: Vec<String>,
    /// Write one file per object and a `kustomization.yaml` into DIR
    /// (replacing an earlier bootstrap there); without it, YAML on stdout
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run as a Nix builder: write the files into `$out`
    #[arg(long, conflicts_with = "out")]
    pub from_env: bool,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    match args.command {
        FluxCommand::Bootstrap(args) => bootstrap(*args, global),
        FluxCommand::Bind(args) => super::flux_bind::bind(*args, global),
    }
}

fn bad(message: String, hint: Option<&str>) -> anyhow::Error {
    BadInput { message, hint: hint.map(str::to_owned) }.into()
}

/// The options the flags describe; bad input for anything out of place.
pub fn options(args: &BootstrapArgs) -> anyhow::Result<BootstrapOptions> {
    let (bucket, prefix) = match args.to.parse::<TargetUrl>().map_err(|e| bad(e.to_string(), None))? {
        TargetUrl::S3 { bucket, prefix } => (bucket, prefix),
        TargetUrl::Dir { .. } => {
            return Err(bad(
                format!("`--to {}`: Flux reads S3, so the target is `s3://BUCKET/PREFIX`", args.to),
                Some("for a node that publishes into a directory, use `--mode hostpath --host-path DIR`"),
            ))
        }
    };
    let mode = match (args.mode, &args.endpoint) {
        (None, Some(_)) | (Some(Mode::External), Some(_)) => Mode::External,
        (Some(Mode::External), None) => {
            return Err(bad("`--mode external` needs `--endpoint URL`".into(), None));
        }
        (Some(m), Some(_)) => {
            return Err(bad(
                format!(
                    "`--endpoint` does not apply to `--mode {}`: Flux reads the in-cluster rclone Service",
                    mode_name(m)
                ),
                Some("drop `--endpoint`, or use `--mode external` for a server outside the cluster"),
            ))
        }
        (m, None) => m.unwrap_or(Mode::Pvc),
    };
    let name = args.name.clone().unwrap_or_else(|| o::default_name(&prefix));
    let not_for = |flag: &str, set: bool, modes: &str| {
        if set {
            Err(bad(format!("`{flag}` applies only to {modes}; this is `--mode {}`", mode_name(mode)), None))
        } else {
            Ok(())
        }
    };
    not_for("--rclone-image", mode == Mode::External && args.rclone_image.is_some(), "`--mode pvc` and `hostpath`")?;
    not_for("--storage", mode != Mode::Pvc && args.storage.is_some(), "`--mode pvc`")?;
    not_for("--storage-class", mode != Mode::Pvc && args.storage_class.is_some(), "`--mode pvc`")?;
    not_for("--host-path", mode != Mode::Hostpath && args.host_path.is_some(), "`--mode hostpath`")?;
    not_for("--node", mode != Mode::Hostpath && args.node.is_some(), "`--mode hostpath`")?;
    let endpoint = match mode {
        Mode::External => Endpoint::External { url: args.endpoint.clone().unwrap_or_default() },
        Mode::Pvc | Mode::Hostpath => {
            let image = args.rclone_image.as_deref().ok_or_else(|| {
                bad(
                    format!("`--mode {}` needs `--rclone-image REF`, a pinned image with `rclone`", mode_name(mode)),
                    Some("`nix:0/nix/store/...-rclone.tar` (nix-snapshotter) or `docker.io/rclone/rclone@sha256:...`"),
                )
            })?;
            let image: ImageRef = image
                .parse()
                .map_err(|e: crate::image::reference::ImageRefError| bad(format!("`--rclone-image`: {e}"), None))?;
            let server_mode = match mode {
                Mode::Pvc => {
                    let storage = args.storage.as_deref().unwrap_or(o::DEFAULT_STORAGE);
                    let storage = storage.parse().map_err(|e| bad(format!("`--storage {storage}`: {e}"), None))?;
                    ServerMode::Pvc { storage, storage_class: args.storage_class.clone() }
                }
                _ => {
                    let path = args.host_path.clone().ok_or_else(|| {
                        bad("`--mode hostpath` needs `--host-path DIR`, the node directory rclone serves".into(), None)
                    })?;
                    let node = args.node.clone().ok_or_else(|| {
                        bad(
                            "`--mode hostpath` needs `--node NAME`: rclone must run on the node that holds the directory"
                                .into(),
                            Some("the node's `kubernetes.io/hostname` label, usually its host name"),
                        )
                    })?;
                    ServerMode::HostPath { path, node }
                }
            };
            Endpoint::InCluster(ServerOptions { mode: server_mode, image })
        }
    };
    let subjects = args
        .rbac_subject
        .iter()
        .map(|s| s.parse::<Subject>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string(), None))?;
    let rbac = (args.rbac_service_account.is_some() || !subjects.is_empty())
        .then(|| RbacOptions { service_account: args.rbac_service_account.clone(), subjects });
    Ok(BootstrapOptions {
        s3_secret: args.s3_secret.clone().unwrap_or_else(|| format!("{name}-s3-credentials")),
        receiver: args.receiver.then(|| o::ReceiverOptions {
            token_secret: args.receiver_secret.clone().unwrap_or_else(|| format!("{name}-receiver-token")),
        }),
        notifier: args.notifier_url.as_ref().map(|url| o::NotifierOptions {
            url: url.clone(),
            secret: args.notifier_secret.clone().unwrap_or_else(|| crate::flux::notification::default_secret(&name)),
        }),
        name,
        namespace: args.namespace.clone(),
        bucket,
        prefix,
        endpoint,
        region: args.region.clone(),
        interval: args.interval.clone(),
        timeout: args.timeout.clone(),
        kustomization_interval: args.kustomization_interval.clone(),
        kustomization_timeout: args.kustomization_timeout.clone(),
        retry_interval: args.retry_interval.clone(),
        cert_secret: args.cert_secret.clone(),
        service_account_name: args.service_account.clone(),
        sops_secret: args.sops_secret.clone(),
        health_check_exprs: args.health_check_cnpg.then(crate::crd::cnpg::health_check_expr).into_iter().collect(),
        rbac,
        layers: args.layers.clone(),
    })
}

/// The variable `render --from-env` reads the bootstrap flags from: a JSON
/// list of `flux bootstrap` arguments (names only, never values), set by
/// the NixOS module when a target's bootstrap goes into its bundle.
pub const BOOTSTRAP_ENV: &str = "fluxBootstrapArgs";

#[derive(Debug, clap::Parser)]
#[command(name = "flux bootstrap", no_binary_name = true)]
struct FromEnv {
    #[command(flatten)]
    args: BootstrapArgs,
}

/// The bootstrap objects `$fluxBootstrapArgs` asks for (none when it is unset),
/// and the Secrets they read, which the user creates by hand.
pub fn objects_from_env() -> anyhow::Result<super::input::Additions> {
    let Some(raw) = std::env::var_os(BOOTSTRAP_ENV) else {
        return Ok(super::input::Additions::default());
    };
    let list: Vec<String> = raw.to_str().and_then(|s| serde_json::from_str(s).ok()).ok_or_else(|| {
        bad(format!("`${BOOTSTRAP_ENV}` is not a JSON list of strings"), Some("see `modules/nixflux.nix`"))
    })?;
    let parsed = <FromEnv as clap::Parser>::try_parse_from(&list).map_err(|e| {
        let text = e.to_string();
        bad(format!("`${BOOTSTRAP_ENV}`: {}", text.trim_end().trim_start_matches("error: ")), None)
    })?;
    let boot = crate::flux::render(&options(&parsed.args)?)?;
    Ok(super::input::Additions {
        objects: boot.objects.into_iter().map(|o| o.value).collect(),
        external_secrets: boot.secrets.into_iter().map(|s| (s.namespace, s.name)).collect(),
    })
}

fn mode_name(m: Mode) -> &'static str {
    match m {
        Mode::Pvc => "pvc",
        Mode::Hostpath => "hostpath",
        Mode::External => "external",
    }
}

fn bootstrap(args: BootstrapArgs, global: Global) -> anyhow::Result<ExitCode> {
    let opts = options(&args)?;
    let boot = crate::flux::render(&opts)?;
    if args.from_env {
        let out = std::env::var_os("out").map(PathBuf::from).ok_or_else(|| BadInput {
            message: "`--from-env` needs the environment variable `out`".into(),
            hint: Some("it is meant for Nix builds: see `modules/nixflux.nix`".into()),
        })?;
        std::fs::create_dir_all(&out).with_context(|| format!("creating `{}`", out.display()))?;
        write_files(&boot, &out)?;
        return Ok(ExitCode::SUCCESS);
    }
    match &args.out {
        Some(dir) => {
            write_dir(&boot, dir)?;
            if !global.quiet && global.output == Output::Text {
                eprintln!("wrote {} objects and kustomization.yaml into `{}`", boot.objects.len(), dir.display());
            }
        }
        None => {
            let text = match global.output {
                Output::Text => boot.yaml_stream(),
                Output::Json => {
                    serde_json::json!({
                        "objects": boot.objects.iter().map(|o| &o.value).collect::<Vec<_>>(),
                        "secrets": boot.secrets.iter().map(|s| serde_json::json!({
                            "name": s.name, "namespace": s.namespace, "keys": s.keys, "purpose": s.purpose,
                            "command": s.kubectl_command(),
                        })).collect::<Vec<_>>(),
                        "publishTo": boot.publish_to,
                    })
                    .to_string()
                        + "\n"
                }
            };
            std::io::stdout().lock().write_all(text.as_bytes()).context("writing to stdout")?;
        }
    }
    if !global.quiet && global.output == Output::Text && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        eprint!("{}", boot.comments());
    }
    Ok(ExitCode::SUCCESS)
}

fn write_files(boot: &Bootstrap, dir: &Path) -> anyhow::Result<()> {
    for (name, text) in boot.files() {
        let path = dir.join(&name);
        std::fs::write(&path, text).with_context(|| format!("writing `{}`", path.display()))?;
    }
    Ok(())
}

/// Writes into a staging directory beside `dir`, then puts it in place; an
/// existing `dir` is replaced only when it is empty or an earlier bootstrap.
fn write_dir(boot: &Bootstrap, dir: &Path) -> anyhow::Result<()> {
    let replace = match std::fs::read_dir(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(anyhow::Error::new(e).context(format!("reading `{}`", dir.display()))),
        Ok(mut entries) => {
            let empty = entries.next().is_none();
            let ours = std::fs::read_to_string(dir.join(crate::bundle::KUSTOMIZATION_FILE))
                .is_ok_and(|t| t.starts_with(HEADER));
            if !empty && !ours {
                return Err(bad(
                    format!(
                        "`{}` is not empty and holds no earlier bootstrap: nothing there is replaced",
                        dir.display()
                    ),
                    Some("choose a new directory, or remove this one"),
                ));
            }
            true
        }
    };
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let stage = tempfile::Builder::new()
        .prefix(".nixflux-bootstrap-")
        .tempdir_in(&parent)
        .with_context(|| format!("creating a staging directory in `{}`", parent.display()))?;
    write_files(boot, stage.path())?;
    if replace {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing the earlier bootstrap `{}`", dir.display()))?;
    }
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(stage.path(), std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("writing into `{}`", parent.display()))?;
    }
    let staged = stage.keep();
    std::fs::rename(&staged, dir).with_context(|| format!("moving the bootstrap into `{}`", dir.display()))?;
    Ok(())
}
