//! `nixflux render`: spec -> bundle directory, or YAML on stdout.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use serde::Serialize;

use super::exit::{format_warnings, BadInput};
use super::output::{Global, Output};
use crate::bundle::layered::Built;
use crate::bundle::write::WriteError;
use crate::bundle::{Bundle, Sha256Digest};

use super::input::{CrdInput, SpecBuild, SpecInput};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub input: SpecInput,
    /// Write the bundle to this directory (replacing an earlier bundle there);
    /// without it the objects go to stdout as YAML
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Fail when a store path of the bundle's `nix:0` images is not in the
    /// local Nix store (useful outside a Nix build)
    #[arg(long)]
    pub check_store: bool,
    #[command(flatten)]
    pub crds: CrdInput,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary<'a> {
    out: Option<String>,
    digest: &'a Sha256Digest,
    apps: usize,
    files: usize,
    objects: usize,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    if args.input.from_env {
        return from_env(args, global);
    }
    let crds = args.crds.load()?;
    let SpecBuild { bundle, apps, warnings, .. } =
        super::input::build_bundle_with(&args.input, crds.as_ref(), super::input::Additions::default())?;
    eprint!("{}", format_warnings(&warnings));
    if args.check_store {
        for (_, b) in bundle.bundles() {
            check_store(b)?;
        }
    }
    let summary = Summary {
        out: args.out.as_ref().map(|p| p.display().to_string()),
        digest: bundle.digest(),
        apps,
        files: bundle.file_count(),
        objects: bundle.object_count(),
    };
    match &args.out {
        Some(out) => {
            bundle.write_to(out).map_err(|e| match e {
                WriteError::NotABundle(_) => anyhow::Error::new(e),
                WriteError::Io { .. } => anyhow::Error::new(e).context("writing the bundle"),
            })?;
            match global.output {
                Output::Json => outln!("{}", serde_json::to_string(&summary)?),
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
                Output::Json => writeln!(stdout, "{}", json_stream(&summary, &bundle)),
            }
            .context("writing to stdout")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `render --output json` without `--out`: the summary, and the index and
/// files of the bundle (or of each layer's bundle under `layers`).
fn json_stream(summary: &Summary, built: &Built) -> serde_json::Value {
    let files = |b: &Bundle| -> Vec<String> {
        b.objects.iter().map(|f| String::from_utf8_lossy(&f.content).into_owned()).collect()
    };
    match built {
        Built::Single(b) => serde_json::json!({ "summary": summary, "index": b.index, "files": files(b) }),
        Built::Layered(l) => {
            let layers: Vec<_> = l
                .layers
                .iter()
                .map(|(name, b)| serde_json::json!({ "name": name, "index": b.index, "files": files(b) }))
                .collect();
            serde_json::json!({ "summary": summary, "layersIndex": l.index, "layers": layers })
        }
    }
}

/// Every store path the bundle's images need must be in the local store.
fn check_store(bundle: &Bundle) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for path in &bundle.index.store_paths {
        if !path.is_present() {
            let users: Vec<String> = bundle
                .index
                .images
                .iter()
                .filter(|i| i.reference.store_path() == Some(path))
                .flat_map(|i| i.used_by.iter().map(|u| format!("{} ({})", u.object.inventory_id(), u.container)))
                .collect();
            missing.push(format!("  {path}, used by {}", users.join(", ")));
        }
    }
    tracing::info!(store_paths = bundle.index.store_paths.len(), missing = missing.len(), "store check");
    if missing.is_empty() {
        return Ok(());
    }
    anyhow::bail!(
        "{} of the bundle's {} image store paths are not in the local store:\n{}\nhint: build or copy them here first (`nix-build`, `nix copy`); a node that lacks them cannot start these pods",
        missing.len(),
        bundle.index.store_paths.len(),
        missing.join("\n")
    )
}

/// `render --from-env`: the builder of `nix/mk-bundle.nix`. Nix creates no
/// `$out` for us and deletes it if the build fails, so the bundle is
/// written straight into it.
fn from_env(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    if args.out.is_some() {
        return Err(
            BadInput { message: "`--from-env` writes to `$out`; `--out` does not apply".into(), hint: None }.into()
        );
    }
    let out = std::env::var_os("out").map(PathBuf::from).ok_or_else(|| BadInput {
        message: "`--from-env` needs the environment variable `out`".into(),
        hint: Some("it is meant for Nix builds: see `nix/mk-bundle.nix`".into()),
    })?;
    let crds = args.crds.load()?;
    let extra = super::flux::objects_from_env()?;
    let SpecBuild { bundle, apps, warnings, .. } = super::input::build_bundle_with(&args.input, crds.as_ref(), extra)?;
    eprint!("{}", format_warnings(&warnings));
    bundle.write_into(&out).context("writing the bundle to `$out`")?;
    if !global.quiet {
        eprintln!("rendered {} objects of {apps} apps into {}", bundle.object_count(), out.display());
    }
    Ok(ExitCode::SUCCESS)
}
