//! The text report of a publish or rollback (the JSON one is printed with
//! the Flux loop's, by `flux_run::conclude`).

use super::output::human_bytes;
use super::output::{Global, Output};
use crate::publish::Report;

/// Prints the text report (JSON is printed once the Flux loop is done).
pub fn print_report(r: &Report, global: Global) -> anyhow::Result<()> {
    match global.output {
        Output::Json => {}
        Output::Text if global.quiet => {}
        Output::Text => {
            let gen = |g: Option<u64>| g.map_or_else(|| "none".to_owned(), |g| g.to_string());
            if r.unchanged {
                eprintln!(
                    "{} already runs bundle {} as generation {}: nothing to publish",
                    r.target,
                    r.bundle_digest.short(),
                    gen(r.generation_after)
                );
            } else {
                let verb = if r.dry_run { "would publish" } else { "published" };
                eprintln!(
                    "{verb} generation {} to {} (live before: {})",
                    gen(r.generation_after),
                    r.target,
                    gen(r.generation_before)
                );
                eprintln!(
                    "  objects: +{} added, ~{} changed, -{} removed",
                    r.changes.added.len(),
                    r.changes.changed.len(),
                    r.changes.removed.len()
                );
                eprintln!(
                    "  files {}: {} ({}){}",
                    if r.dry_run { "to upload" } else { "uploaded" },
                    r.files_uploaded,
                    human_bytes(r.bytes_uploaded),
                    if r.objects_deleted > 0 {
                        format!("; old files deleted: {}", r.objects_deleted)
                    } else {
                        String::new()
                    }
                );
            }
            if let (Some(restored), Some(replaced)) = (r.replaced_rollback_of, r.generation_before) {
                let verb = if r.dry_run { "would replace" } else { "replaced" };
                eprintln!(
                    "  generation {replaced} was a rollback to generation {restored}; {verb} it with the configured bundle"
                );
            }
            if let Some(rev) = &r.flux_revision {
                eprintln!("  flux revision{}: {rev}", if r.dry_run { " (now)" } else { "" });
            }
        }
    }
    Ok(())
}
