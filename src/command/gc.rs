//! `nixflux gc --to TARGET`: delete object files no retained generation uses.

use std::process::ExitCode;

use super::output::{Global, Output};
use crate::publish;

use super::target::{block_on, TargetArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Generations whose objects stay (the live one included)
    #[arg(long, default_value_t = publish::DEFAULT_KEEP, value_parser = clap::value_parser!(u64).range(1..))]
    pub keep: u64,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let deleted = block_on(async {
        let target = args.target.open().await?;
        anyhow::Ok(publish::gc(&target, args.keep as usize, publish::lease::DEFAULT_TTL).await?)
    })??;
    match global.output {
        Output::Json => outln!("{}", serde_json::json!({ "objectsDeleted": deleted })),
        Output::Text if !global.quiet => eprintln!("deleted {deleted} object files no retained generation uses"),
        Output::Text => {}
    }
    Ok(ExitCode::SUCCESS)
}
