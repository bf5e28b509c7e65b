//! One file per subcommand. Commands read inputs, call the domain modules
//! and print; the domain modules never print.

pub mod check;
pub mod diff;
pub mod gc;
pub mod history;
pub mod nar_hash;
pub mod publish;
pub mod render;
pub mod rollback;

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;

use crate::bundle::{self, Bundle};
use crate::render::render;
use crate::spec::{self, Problems};

/// The example spec built into the binary (`--example`).
pub const EXAMPLE_SPEC: &str = include_str!("../../docs/examples/homelab.json");

/// Where a spec comes from: a file, `-` for stdin, or the built-in example.
#[derive(Debug, clap::Args)]
pub struct SpecInput {
    /// The spec (JSON); `-` reads stdin
    #[arg(value_name = "SPEC", required_unless_present_any = ["example", "from_env"])]
    pub spec: Option<PathBuf>,
    /// Use the built-in example spec (docs/examples/homelab.json)
    #[arg(long, conflicts_with = "spec")]
    pub example: bool,
    /// Run as a Nix builder: read the spec from the file `$specPath` (a
    /// derivation attribute `spec` with `passAsFile`); `render` writes the
    /// bundle to `$out`
    #[arg(long, conflicts_with_all = ["spec", "example"])]
    pub from_env: bool,
}

impl SpecInput {
    /// Reads the spec text and the name errors use for it.
    fn read(&self) -> anyhow::Result<(String, String)> {
        if self.from_env {
            let path = std::env::var_os("specPath").map(PathBuf::from).ok_or_else(|| crate::cli::BadInput {
                message: "`--from-env` needs the environment variable `specPath`".into(),
                hint: Some("it is meant for Nix builds: see `nix/mk-bundle.nix`".into()),
            })?;
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading spec `{}`", path.display()))?;
            return Ok((text, path.display().to_string()));
        }
        match (&self.spec, self.example) {
            (_, true) => Ok((EXAMPLE_SPEC.to_owned(), "<built-in example>".to_owned())),
            (Some(p), _) if p.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading the spec from stdin")?;
                Ok((text, "<stdin>".to_owned()))
            }
            (Some(p), _) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading spec `{}`", p.display()))?;
                Ok((text, p.display().to_string()))
            }
            (None, false) => Err(crate::cli::BadInput {
                message: "no spec given".into(),
                hint: Some("pass a spec file, `-` for stdin, or `--example`".into()),
            }
            .into()),
        }
    }
}

/// Reads, parses, renders and bundles a spec: everything but writing.
pub fn build_bundle(input: &SpecInput) -> anyhow::Result<(Bundle, usize)> {
    let (text, name) = input.read()?;
    let started = std::time::Instant::now();
    let spec = spec::parse(&text, &name)?;
    tracing::debug!(apps = spec.apps.len(), elapsed = ?started.elapsed(), "spec parsed");
    // The spec's digest needs the whole JSON tree; build it beside the render.
    let (rendered, digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| {
            // The text parsed as a spec, so it is valid JSON.
            serde_json::from_str::<serde_json::Value>(&text).map(|v| bundle::spec_digest(&v))
        });
        let rendered = render(&spec);
        (rendered, digest.join())
    });
    let rendered = rendered.map_err(|problems| Problems { source_name: name.clone(), problems })?;
    let digest = digest.unwrap_or_else(|e| std::panic::resume_unwind(e)).context("re-reading the spec")?;
    tracing::debug!(groups = rendered.groups.len(), elapsed = ?started.elapsed(), "rendered and checked");
    let bundle = Bundle::build(&rendered, digest);
    tracing::debug!(files = bundle.objects.len(), elapsed = ?started.elapsed(), "bundle built");
    let apps = spec.apps.values().filter(|a| a.enable).count();
    Ok((bundle, apps))
}

/// Where to publish and how to reach it; shared by the target commands.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// `s3://BUCKET/PREFIX`, `dir:///PATH` or a directory path
    #[arg(long = "to", value_name = "TARGET")]
    pub to: String,
    /// S3 endpoint URL (`https://host:port`; `http://` for plain HTTP); AWS when absent
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// S3 region (default `us-east-1` with a custom endpoint)
    #[arg(long)]
    pub region: Option<String>,
    /// AWS shared credentials file (`[default]`, `aws_access_key_id`,
    /// `aws_secret_access_key`); otherwise the standard AWS chain
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Profile in the credentials file
    #[arg(long)]
    pub profile: Option<String>,
    /// PEM file of CA certificates to trust for the S3 endpoint
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl TargetArgs {
    pub async fn open(&self) -> anyhow::Result<crate::publish::target::Target> {
        let url: crate::publish::target::TargetUrl =
            self.to.parse().map_err(|e: crate::publish::target::TargetUrlError| crate::cli::BadInput {
                message: e.to_string(),
                hint: None,
            })?;
        if matches!(url, crate::publish::target::TargetUrl::Dir { .. })
            && (self.endpoint.is_some() || self.credentials_file.is_some() || self.ca_file.is_some())
        {
            return Err(crate::cli::BadInput {
                message: format!("`{}` is a directory target; S3 options do not apply", self.to),
                hint: Some("write `s3://BUCKET/PREFIX` to publish to S3".into()),
            }
            .into());
        }
        let opts = crate::publish::s3::S3Options {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            credentials_file: self.credentials_file.clone(),
            profile: self.profile.clone(),
            ca_file: self.ca_file.clone(),
        };
        crate::publish::target::Target::open(url, &opts).await
    }
}

/// Runs a future on a small runtime: the target commands are I/O-bound.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    Ok(rt.block_on(f))
}

/// Turns a publish error into the CLI's error, with its exit code and hint.
pub fn publish_error(e: crate::publish::PublishError) -> anyhow::Error {
    let hint = e.hint().map(str::to_owned);
    if e.is_refusal() {
        crate::cli::BadInput { message: e.to_string(), hint }.into()
    } else {
        match hint {
            Some(h) => anyhow::Error::new(crate::cli::Hinted { error: e.into(), hint: h }),
            None => e.into(),
        }
    }
}

/// An inventory id `<ns>_<name>_<group>_<kind>` as people read it.
pub fn readable_id(id: &str) -> String {
    let parts: Vec<&str> = id.splitn(4, '_').collect();
    match parts.as_slice() {
        [ns, name, group, kind] => {
            let kind = if group.is_empty() { (*kind).to_owned() } else { format!("{kind}.{group}") };
            if ns.is_empty() {
                format!("{kind} `{name}`")
            } else {
                format!("{kind} `{ns}/{name}`")
            }
        }
        _ => id.to_owned(),
    }
}

/// Formats a byte count as people read it.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
