//! `nixflux publish BUNDLE --to TARGET`: make a bundle the live generation.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::flux_args::LoopArgs;
use super::flux_run;
use super::output::Global;
use super::progress;
use super::target::{block_on, BucketArgs, TargetArgs};
use crate::publish::generation::Source;
use crate::publish::{self, Desired, Options};

/// Safety settings shared by `publish` and `rollback`.
#[derive(Debug, Clone, clap::Args)]
pub struct GuardArgs {
    /// Generations whose objects stay in the target (the live one included)
    #[arg(long, default_value_t = publish::DEFAULT_KEEP, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: u64,
    /// Allow a generation with no objects (Flux prunes everything it applied)
    #[arg(long)]
    pub allow_empty: bool,
    /// Allow removing more than --max-prune-percent of the live objects
    #[arg(long)]
    pub allow_prune: bool,
    /// The share of live objects a generation may remove without --allow-prune
    #[arg(long, default_value_t = publish::DEFAULT_MAX_PRUNE_PERCENT, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_prune_percent: u32,
    /// Allow removing objects that hold data: claims, volumes, CloudNativePG
    /// clusters, and the namespaces holding them
    #[arg(long)]
    pub allow_data_removal: bool,
    /// Show what would change; write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// List every object file of the target and upload any the live
    /// generations lack (a damaged target), instead of trusting the live
    /// record's manifest
    #[arg(long)]
    pub verify: bool,
}

impl GuardArgs {
    pub fn options(&self) -> Options {
        Options {
            keep: self.keep as usize,
            allow_empty: self.allow_empty,
            allow_prune: self.allow_prune,
            max_prune_percent: self.max_prune_percent,
            allow_data_removal: self.allow_data_removal,
            dry_run: self.dry_run,
            verify: self.verify,
            lease_ttl: publish::lease::DEFAULT_TTL,
            concurrency: 16,
            flux_ignore: crate::flux::revision::DEFAULT_BUCKET_IGNORE.to_owned(),
            hooks: None,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle directory (`nixflux render --out`, or a Nix build result)
    pub bundle: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub guard: GuardArgs,
    #[command(flatten)]
    pub bucket: BucketArgs,
    #[command(flatten)]
    pub flux: LoopArgs,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    tracing::debug!("publish starts");
    let source = source_of(&args.bundle)?;
    let mut opts = args.guard.options();
    opts.flux_ignore = args.bucket.spec_ignore();
    let progress = progress::for_global(global);
    if let Some(layers) = crate::bundle::layered::read_layers(&args.bundle).map_err(publish::PublishError::Bundle)? {
        let (report, flux) = block_on(async {
            let target = args.target.open().await?;
            super::publish_layers::publish_layered(
                &target,
                &args.bundle,
                &layers,
                source,
                opts,
                &args.flux,
                global,
                progress.as_ref(),
            )
            .await
        })??;
        return super::publish_layers::conclude(&report, flux.as_ref(), global);
    }
    let (report, flux) = block_on(async {
        let target = args.target.open().await?;
        tracing::debug!("target opened");
        let desired = Desired::from_dir(&args.bundle, source).map_err(publish::PublishError::Bundle)?;
        flux_run::publish_followed(&target, desired, opts, &args.flux, global, progress.as_ref()).await
    })??;
    flux_run::conclude(&report, flux.as_ref(), global)
}

/// Records where the bundle came from: its path and, when it is a Nix store
/// path, that path (the publish adds its NAR hash if it uploads anything).
fn source_of(path: &std::path::Path) -> anyhow::Result<Source> {
    let resolved = match std::fs::canonicalize(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(
                crate::bundle::read::ReadError::NotABundle { dir: path.to_owned(), why: "it does not exist" }.into()
            )
        }
        other => other.with_context(|| format!("reading bundle `{}`", path.display()))?,
    };
    let store_path = resolved.to_str().and_then(|s| s.parse::<crate::nix::StorePath>().ok());
    Ok(Source { bundle_path: Some(path.display().to_string()), store_path, nar_hash: None, rollback_of: None })
}
