//! `nixflux check`: every check of `render`, nothing written.

use std::process::ExitCode;

use super::output::{Global, Output};

use super::exit::{format_warnings, warnings_json};
use super::input::{CrdInput, SpecBuild, SpecInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: SpecInput,
    #[command(flatten)]
    pub crds: CrdInput,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let crds = args.crds.load()?;
    let SpecBuild { bundle, apps, warnings, notes, public_apps } =
        super::input::build_bundle_with(&args.input, crds.as_ref(), super::input::Additions::default())?;
    let notes_json: Vec<_> =
        notes.iter().map(|n| serde_json::json!({ "path": n.path.to_string(), "message": n.message })).collect();
    match global.output {
        Output::Json => outln!(
            "{}",
            serde_json::json!({
                "ok": true,
                "apps": apps,
                "objects": bundle.object_count(),
                "digest": bundle.digest(),
                "warnings": warnings_json(&warnings),
                "notes": notes_json,
                "publicApps": public_apps,
            })
        ),
        Output::Text => {
            // Warnings show even with `--quiet`: they are what check is for.
            eprint!("{}", format_warnings(&warnings));
            if !global.quiet {
                for n in &notes {
                    eprintln!("note: at `{}`: {}", n.path, n.message);
                }
                if !public_apps.is_empty() {
                    let names: Vec<String> = public_apps.iter().map(|a| format!("`{a}`")).collect();
                    eprintln!("public: {} (their routes skip the auth middleware)", names.join(", "));
                }
                eprintln!("ok: {apps} apps, {} objects, digest {}", bundle.object_count(), bundle.digest())
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
