//! `nixflux rollback --to TARGET [--generation N]`: make an earlier
//! generation's objects live again, as a new generation (history only grows).

use std::process::ExitCode;

use super::output::Global;
use crate::publish;

use super::progress;
use super::publish::{print_report, GuardArgs};
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
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let mut opts = args.guard.options();
    opts.flux_ignore = args.bucket.spec_ignore();
    let progress = progress::for_global(global);
    let report = block_on(async {
        let target = args.target.open().await?;
        let desired = publish::rollback_target(&target, args.generation).await?;
        anyhow::Ok(publish::publish(&target, desired, &opts, progress.as_ref()).await?)
    })??;
    print_report(&report, global)?;
    Ok(ExitCode::SUCCESS)
}
