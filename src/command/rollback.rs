//! `nixflux rollback --to TARGET [--generation N]`: make an earlier
//! generation's objects live again, as a new generation (history only grows).

use std::process::ExitCode;

use super::output::Global;
use crate::publish;

use super::flux_args::LoopArgs;
use super::flux_run;
use super::progress;
use super::publish::GuardArgs;
use super::target::{block_on, BucketArgs, TargetArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The generation to restore (default: the one before the live one)
    #[arg(long, short = 'g')]
    pub generation: Option<u64>,
    #[command(flatten)]
    pub guard: GuardArgs,
    #[command(flatten)]
    pub bucket: BucketArgs,
    #[command(flatten)]
    pub flux: LoopArgs,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let mut opts = args.guard.options();
    opts.flux_ignore = args.bucket.spec_ignore();
    let progress = progress::for_global(global);
    let (report, flux) = block_on(async {
        let target = args.target.open().await?;
        let desired = publish::rollback_target(&target, args.generation).await?;
        flux_run::publish_followed(&target, desired, opts, &args.flux, global, progress.as_ref()).await
    })??;
    flux_run::conclude(&report, flux.as_ref(), global)
}
