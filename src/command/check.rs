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
    let (bundle, apps, notes) = super::input::build_bundle_noting(&args.input, crds.as_ref(), Vec::new())?;
    match global.output {
        Output::Json => {
            let notes: Vec<_> =
                notes.iter().map(|n| serde_json::json!({ "path": n.path.to_string(), "message": n.message })).collect();
            println!(
                "{}",
                serde_json::json!({
                    "ok": true, "apps": apps, "objects": bundle.object_count(), "digest": bundle.digest(), "notes": notes
                })
            )
        }
        Output::Text if !global.quiet => {
            for n in &notes {
                eprintln!("note: at `{}`: {}", n.path, n.message);
            }
            eprintln!("ok: {apps} apps, {} objects, digest {}", bundle.object_count(), bundle.digest())
        }
        Output::Text => {}
    }
    Ok(ExitCode::SUCCESS)
}
