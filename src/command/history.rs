//! `nixflux history --to TARGET`: the retained generations, newest last.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::exit::escape_controls;
use super::output::{Global, Output};
use super::target::{block_on, BucketArgs, TargetArgs};
use crate::publish::{self, State};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub bucket: BucketArgs,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let (records, live, revision) = block_on(async {
        let target = args.target.open().await?;
        let spec_ignore = args.bucket.spec_ignore();
        let (state, ignore) = tokio::join!(State::load(&target), publish::bucket_ignore(&target, &spec_ignore));
        let state = state?;
        let records = publish::history(&target).await?;
        let revision = publish::flux_revision(&target, &state.listing, &ignore);
        anyhow::Ok((records, state.generation(), revision))
    })??;
    let mut out = std::io::stdout().lock();
    match global.output {
        Output::Json => {
            let list: Vec<serde_json::Value> = records
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "generation": r.generation,
                        "live": Some(r.generation) == live,
                        "wentLive": live.is_some_and(|l| r.generation <= l),
                        "publishedAt": r.published_at,
                        "publisher": r.publisher,
                        "bundleDigest": r.bundle_digest,
                        "objects": r.object_count(),
                        "changes": r.changes,
                        "source": r.source,
                    })
                })
                .collect();
            writeln!(out, "{}", serde_json::json!({ "live": live, "fluxRevision": revision, "generations": list }))
        }
        Output::Text => {
            let mut text = format!(
                "{:>5}  {:<20} {:<20} {:>7}  {:<16} {}\n",
                "GEN", "PUBLISHED", "PUBLISHER", "OBJECTS", "CHANGES", "BUNDLE"
            );
            // Records are read from the target: their free-text fields are
            // printed with control characters escaped.
            for r in &records {
                let marker = if Some(r.generation) == live { "*" } else { " " };
                let changes =
                    format!("+{} ~{} -{}", r.changes.added.len(), r.changes.changed.len(), r.changes.removed.len());
                let note = match r.source.rollback_of {
                    Some(g) => format!(" (rollback to {g})"),
                    None => String::new(),
                };
                // A record above the live generation is from a publish that
                // stopped before its switch.
                let note =
                    if live.is_none_or(|l| r.generation > l) { format!("{note} (never went live)") } else { note };
                text.push_str(&format!(
                    "{:>4}{marker}  {:<20} {:<20} {:>7}  {:<16} {}{note}\n",
                    r.generation,
                    escape_controls(&r.published_at),
                    escape_controls(&r.publisher),
                    r.object_count(),
                    changes,
                    r.bundle_digest.short()
                ));
            }
            if records.is_empty() {
                text = "no generations\n".into();
            }
            text.push_str(&format!("flux revision: {revision}\n"));
            write!(out, "{text}")
        }
    }
    .context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}
