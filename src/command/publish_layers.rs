//! `publish` of a layered bundle: each layer, in order, becomes the live
//! generation of its own sub-target `<prefix><layer>/` (own pointer,
//! generations, lease and GC), so a reader of one layer's path sees one
//! whole generation of it. The Flux loop goes around all of them: the
//! prune gate sees every layer's objects, the reconcile request goes out
//! once (at the last layer's switch, or after the last layer when only
//! earlier ones changed), and `--wait` waits for the Bucket revision of
//! the whole prefix, which every layer's Kustomization reports.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;

use super::flux_args::LoopArgs;
use super::flux_run::{FluxReport, FluxRun};
use super::output::{Global, Output};
use super::report::print_report;
use crate::bundle::layered::LayersIndex;
use crate::bundle::read::read_index;
use crate::bundle::BundleIndex;
use crate::flux::access::ObjectRef;
use crate::flux::layer_hooks::Layers;
use crate::publish::generation::Source;
use crate::publish::target::any::AnyTarget;
use crate::publish::target::Target;
use crate::publish::{self, Desired, Report, State};

/// One layer's publish.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerReport {
    pub layer: String,
    #[serde(flatten)]
    pub report: Report,
}

/// A layered publish: every layer's report, and the revision Flux's
/// Bucket computes for the whole prefix afterwards.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayeredReport {
    pub target: String,
    pub bundle_digest: crate::bundle::Sha256Digest,
    pub dry_run: bool,
    pub layers: Vec<LayerReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flux_revision: Option<String>,
}

/// Publishes the layered bundle at `dir` (whose `layers.json` is `layers`).
#[allow(clippy::too_many_arguments)]
pub async fn publish_layered(
    target: &AnyTarget,
    dir: &Path,
    layers: &LayersIndex,
    source: Source,
    mut opts: publish::Options,
    args: &LoopArgs,
    global: Global,
    progress: &dyn publish::progress::Progress,
) -> anyhow::Result<(LayeredReport, Option<FluxReport>)> {
    let names: Vec<&str> = layers.layers.iter().map(|l| l.name.as_str()).collect();
    let children: Vec<AnyTarget> = names.iter().map(|n| target.child(n)).collect();
    verify_changed(layers, &children, dir).await?;
    let mut flux_loop = args.flux.to_loop(target.key_prefix());
    if let Some(l) = flux_loop.as_mut().filter(|_| args.flux.flux_kustomizations.is_empty()) {
        // Bootstrap's names: one Kustomization `<bucket>-<layer>` per layer.
        l.kustomizations = names
            .iter()
            .map(|n| ObjectRef { namespace: l.bucket.namespace.clone(), name: format!("{}-{n}", l.bucket.name) })
            .collect();
    }
    let flux = FluxRun::start(flux_loop, target, args.allow_prune_kinds.clone(), args.wait, opts.dry_run).await?;
    let shared = match &flux {
        Some(f) => Some(gate_inputs(f, &children, dir, &names).await?),
        None => None,
    };
    let mut reports = Vec::with_capacity(names.len());
    for (i, (name, child)) in names.iter().zip(&children).enumerate() {
        let desired = Desired::from_dir(&dir.join(name), source.clone()).map_err(publish::PublishError::Bundle)?;
        opts.hooks = shared.as_ref().map(|s| s.hooks(i));
        let report = match publish::publish(child, desired, &opts, progress).await {
            // A layer's own revision is no Bucket's: the whole prefix's is computed below.
            Ok(r) => Report { flux_revision: None, ..r },
            Err(e) => {
                if i > 0 && !opts.dry_run {
                    eprintln!(
                        "error: layer `{name}` was not published; the layers before it ({}) are live",
                        names[..i].join(", ")
                    );
                }
                return Err(e.into());
            }
        };
        print_report(&report, global)?;
        reports.push(LayerReport { layer: name.to_string(), report });
    }
    if let Some(s) = &shared {
        s.forward();
    }
    let changed = reports.iter().any(|r| !r.report.unchanged);
    let flux_revision = if changed && !opts.dry_run {
        let listing = target.list().await?;
        let ignore = publish::bucket_ignore(target, &opts.flux_ignore).await;
        Some(publish::flux_revision(target, &listing, &ignore))
    } else {
        None
    };
    if let Some(rev) = flux_revision.as_ref().filter(|_| global.output == Output::Text && !global.quiet) {
        eprintln!("  Flux revision of {}: {rev}", target.name());
    }
    let layered = LayeredReport {
        target: target.name(),
        bundle_digest: layers.digest.clone(),
        dry_run: opts.dry_run,
        layers: reports,
        flux_revision,
    };
    let flux = match flux {
        Some(f) => {
            // The loop reads the last layer's generation (for a Receiver)
            // and the whole prefix's revision.
            let last = layered.layers.last().map(|l| &l.report);
            let whole = Report {
                flux_revision: layered.flux_revision.clone(),
                ..last.cloned().expect("a layered bundle has a layer")
            };
            Some(f.finish(&whole, target, &opts.flux_ignore, global).await?)
        }
        None => None,
    };
    Ok((layered, flux))
}

/// Reads and verifies every layer that is not live already, so that a
/// damaged file in a later layer refuses the publish before the first
/// layer switches (each layer's publish reads its own again).
async fn verify_changed(layers: &LayersIndex, children: &[AnyTarget], dir: &Path) -> anyhow::Result<()> {
    for (layer, child) in layers.layers.iter().zip(children) {
        let live = publish::state::read_pointer(child).await?;
        if live.is_some_and(|p| p.pointer.bundle_digest == layer.digest) {
            continue;
        }
        let layer_dir = dir.join(layer.name.as_str());
        crate::bundle::Bundle::read(&layer_dir).map_err(publish::PublishError::Bundle)?;
    }
    Ok(())
}

/// What the prune gate of every layer needs: each layer's live files (read
/// now; the layer being published reads its own again) and each layer's
/// desired objects with its path.
async fn gate_inputs(
    flux: &FluxRun,
    children: &[AnyTarget],
    dir: &Path,
    names: &[&str],
) -> anyhow::Result<std::sync::Arc<Layers<AnyTarget>>> {
    let mut live = Vec::with_capacity(children.len());
    let mut desired: Vec<(String, BundleIndex)> = Vec::with_capacity(children.len());
    for (child, name) in children.iter().zip(names) {
        let state = State::load(child).await?;
        live.push((child.clone(), state.live_files));
        let index = read_index(&dir.join(name)).map_err(publish::PublishError::Bundle)?;
        // The path a Kustomization of this layer applies, as `prune::normal_path` has it.
        desired.push((crate::flux::prune::normal_path(child.key_prefix()), index));
    }
    Ok(Layers::new(flux.session(), live, desired))
}

/// The JSON a layered publish prints, and its exit code.
pub fn conclude(report: &LayeredReport, flux: Option<&FluxReport>, global: Global) -> anyhow::Result<ExitCode> {
    #[derive(Serialize)]
    struct Printed<'a> {
        #[serde(flatten)]
        report: &'a LayeredReport,
        #[serde(skip_serializing_if = "Option::is_none")]
        flux: Option<&'a FluxReport>,
    }
    if global.output == Output::Json {
        outln!("{}", serde_json::to_string(&Printed { report, flux })?);
    }
    Ok(flux.map_or(ExitCode::SUCCESS, FluxReport::exit_code))
}
