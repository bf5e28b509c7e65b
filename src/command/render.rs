//! `nixflux render`: spec -> bundle directory, or YAML on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use crate::cli::{BadInput, Global, Output};

use super::SpecInput;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: SpecInput,
    /// Write the bundle to this directory (replacing an earlier bundle there);
    /// without it the objects go to stdout as YAML
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    out: Option<String>,
    digest: &'a str,
    apps: usize,
    files: usize,
    objects: usize,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let (bundle, apps) = super::build_bundle(&args.input)?;
    let summary = Summary {
        out: args.out.as_ref().map(|p| p.display().to_string()),
        digest: &bundle.index.digest,
        apps,
        files: bundle.objects.len(),
        objects: bundle.object_count(),
    };
    match &args.out {
        Some(out) => {
            bundle.write_to(out).map_err(|e| match e {
                crate::bundle::write::WriteError::NotABundle(_) => anyhow::Error::new(BadInput {
                    message: e.to_string(),
                    hint: Some("choose a new directory, or remove this one".into()),
                }),
                other => anyhow::Error::new(other).context("writing the bundle"),
            })?;
            match global.output {
                Output::Json => println!("{}", serde_json::to_string(&summary)?),
                Output::Text if !global.quiet => eprintln!(
                    "rendered {} objects of {} apps into {} files in `{}`\ndigest {}",
                    summary.objects,
                    summary.apps,
                    summary.files,
                    out.display(),
                    summary.digest
                ),
                Output::Text => {}
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            match global.output {
                Output::Text => stdout.write_all(&bundle.yaml_stream()),
                Output::Json => {
                    let files: Vec<_> = bundle.objects.iter().map(|f| String::from_utf8_lossy(&f.content)).collect();
                    writeln!(
                        stdout,
                        "{}",
                        serde_json::json!({ "summary": summary, "index": bundle.index, "files": files })
                    )
                }
            }
            .context("writing to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
