//! `nixflux check`: every check of `render`, nothing written.

use std::process::ExitCode;

use super::output::{Global, Output};

use super::input::{CrdInput, SpecInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: SpecInput,
    #[command(flatten)]
    pub crds: CrdInput,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let crds = args.crds.load()?;
    let (bundle, apps) =
        super::input::build_bundle_with(&args.input, crds.as_ref(), super::input::Additions::default())?;
    match global.output {
        Output::Json => println!(
            "{}",
            serde_json::json!({ "ok": true, "apps": apps, "objects": bundle.object_count(), "digest": bundle.digest() })
        ),
        Output::Text if !global.quiet => {
            eprintln!("ok: {apps} apps, {} objects, digest {}", bundle.object_count(), bundle.digest())
        }
        Output::Text => {}
    }
    Ok(ExitCode::SUCCESS)
}
