//! `nixflux diff BUNDLE --to TARGET`: what publishing the bundle would
//! change, object by object, with a YAML diff of each changed object.
//! Exit 0 when the target already runs the same objects, 1 when not.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::flux_args::FluxArgs;
use super::output::{Global, Output};
use super::target::{block_on, TargetArgs};
use crate::bundle::read::{read_digest, Trusted};
use crate::bundle::verify::split_documents;
use crate::bundle::{Bundle, IndexFile};
use crate::flux::session::Session;
use crate::object::data::data_removals;
use crate::object::ObjectId;
use crate::publish::generation::Changes;
use crate::publish::hooks::Hooks;
use crate::publish::target::Target;
use crate::publish::{self, State};
use crate::render::context::PRUNE_ANNOTATION;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bundle directory
    pub bundle: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    /// With API access, also what Flux would prune against the
    /// Kustomization's live inventory
    #[command(flatten)]
    pub flux: FluxArgs,
}

/// Each object's YAML document, by object.
fn documents(index: &[IndexFile], files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<ObjectId, String> {
    let mut out = BTreeMap::new();
    for f in index {
        let Some(bytes) = files.get(f.path.as_str()) else { continue };
        let text = String::from_utf8_lossy(bytes);
        for (object, doc) in f.objects.iter().zip(split_documents(&text)) {
            out.insert(object.id.clone(), doc.to_owned());
        }
    }
    out
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    // Read before the target is opened (a bad bundle is reported first), and
    // again, verified, once the live files are known.
    read_digest(&args.bundle)?;
    let (bundle, changes, old_docs, live, data, flux_prune) = block_on(async {
        let target = args.target.open().await?;
        let session = match args.flux.to_loop(target.key_prefix()).filter(|l| l.has_api()) {
            Some(l) => Some(Session::start(l, target.clone(), Vec::new(), true).await?),
            None => None,
        };
        let state = State::load(&target).await?;
        let bundle = Bundle::read_trusting(&args.bundle, &Trusted::new(&state.live_files))?;
        if let Some(why) = &state.live_unknown {
            tracing::warn!(%why, "the live objects are unknown: every object shows as added");
        }
        let changes = Changes::between(&state.live_files, &bundle.index.files);
        let old_docs = if changes.changed.is_empty() && changes.removed.is_empty() {
            BTreeMap::new()
        } else {
            let files = publish::live_files(&target, &state.live_files).await?;
            documents(&state.live_files, &files)
        };
        let data = data_removals(state.live_ids(), &changes.removed);
        let flux_prune = match &session {
            Some(s) => match s.check(&state.live_files, &bundle.index).await {
                Ok(()) => s.prune_preview(),
                Err(e) => return Err(e.into()),
            },
            None => None,
        };
        anyhow::Ok((bundle, changes, old_docs, state.generation(), data, flux_prune))
    })??;
    // What a removal means for the data, as the text output says it.
    let removal_note = |id: &ObjectId| {
        let protected = old_docs.get(id).is_some_and(|doc| prune_disabled(doc));
        match (data.contains(id), protected) {
            (true, true) => " (holds data; protected: Flux leaves it in the cluster)",
            (true, false) => " (holds data: deleted with it)",
            (false, true) => " (protected: Flux leaves it in the cluster)",
            (false, false) => "",
        }
    };
    let new_files: BTreeMap<String, Vec<u8>> =
        bundle.objects.iter().map(|f| (f.path.clone(), f.content.clone())).collect();
    let new_docs = documents(&bundle.index.files, &new_files);

    let mut out = std::io::stdout().lock();
    match global.output {
        Output::Json => {
            let diffs: BTreeMap<String, String> = changes
                .changed
                .iter()
                .map(|id| {
                    (
                        id.inventory_id(),
                        unified(
                            old_docs.get(id).map_or("", String::as_str),
                            new_docs.get(id).map_or("", String::as_str),
                            id,
                        ),
                    )
                })
                .collect();
            writeln!(
                out,
                "{}",
                serde_json::json!({ "liveGeneration": live, "changes": changes, "dataRemovals": data, "diffs": diffs, "fluxPrune": flux_prune })
            )
        }
        Output::Text => {
            let mut text = String::new();
            for id in &changes.added {
                text.push_str(&format!("+ {}\n", id));
            }
            for id in &changes.changed {
                text.push_str(&format!("~ {}\n", id));
            }
            for id in &changes.removed {
                text.push_str(&format!("- {id}{}\n", removal_note(id)));
            }
            if let Some(p) = flux_prune.as_ref().filter(|p| !p.would_prune.is_empty()) {
                text.push_str("flux would prune (from the Kustomization's live inventory):\n");
                for id in &p.would_prune {
                    let refused = if p.refused.contains(id) { " (refused without --allow-prune-kind)" } else { "" };
                    text.push_str(&format!("  - {id}{refused}\n"));
                }
            }
            for id in &changes.changed {
                text.push('\n');
                text.push_str(&unified(
                    old_docs.get(id).map_or("", String::as_str),
                    new_docs.get(id).map_or("", String::as_str),
                    id,
                ));
            }
            if changes.is_empty() && text.is_empty() {
                if !global.quiet {
                    eprintln!("no changes: the target runs these objects");
                }
            } else {
                write!(out, "{text}")?;
            }
            Ok(())
        }
    }
    .context("writing to stdout")?;
    let prunes = flux_prune.is_some_and(|p| !p.would_prune.is_empty());
    Ok(if changes.is_empty() && !prunes { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn unified(old: &str, new: &str, id: &ObjectId) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live {id}"), &format!("bundle {id}"))
        .to_string()
}

/// Whether an object's YAML carries Flux's prune protection.
fn prune_disabled(doc: &str) -> bool {
    serde_norway::from_str::<serde_json::Value>(doc)
        .is_ok_and(|v| v["metadata"]["annotations"][PRUNE_ANNOTATION] == "disabled")
}
