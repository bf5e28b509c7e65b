//! Where a spec comes from (a file, stdin, the built-in example, or a Nix
//! builder's environment) and the path from spec text to a bundle in
//! memory that `render` and `check` share.

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;

use crate::bundle::{self, Bundle};
use crate::render::render;
use crate::spec::{self, Problems};

use super::exit::BadInput;

/// The example spec built into the binary (`--example`).
pub const EXAMPLE_SPEC: &str = include_str!("../../docs/examples/homelab.json");

/// Where a spec comes from: a file, `-` for stdin, or the built-in example.
#[derive(Debug, clap::Args)]
pub struct SpecInput {
    /// The spec (JSON); `-` reads stdin
    #[arg(value_name = "SPEC", required_unless_present_any = ["example", "from_env"])]
    pub spec: Option<PathBuf>,
    /// Use the built-in example spec (docs/examples/homelab.json)
    #[arg(long, conflicts_with = "spec")]
    pub example: bool,
    /// Run as a Nix builder: read the spec from the file `$specPath` (a
    /// derivation attribute `spec` with `passAsFile`); `render` writes the
    /// bundle to `$out`
    #[arg(long, conflicts_with_all = ["spec", "example"])]
    pub from_env: bool,
}

impl SpecInput {
    /// Reads the spec text and the name errors use for it.
    fn read(&self) -> anyhow::Result<(String, String)> {
        if self.from_env {
            let path = std::env::var_os("specPath").map(PathBuf::from).ok_or_else(|| BadInput {
                message: "`--from-env` needs the environment variable `specPath`".into(),
                hint: Some("it is meant for Nix builds: see `nix/mk-bundle.nix`".into()),
            })?;
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading spec `{}`", path.display()))?;
            return Ok((text, path.display().to_string()));
        }
        match (&self.spec, self.example) {
            (_, true) => Ok((EXAMPLE_SPEC.to_owned(), "<built-in example>".to_owned())),
            (Some(p), _) if p.as_os_str() == "-" => {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text).context("reading the spec from stdin")?;
                Ok((text, "<stdin>".to_owned()))
            }
            (Some(p), _) => {
                let text = std::fs::read_to_string(p).with_context(|| format!("reading spec `{}`", p.display()))?;
                Ok((text, p.display().to_string()))
            }
            (None, false) => Err(BadInput {
                message: "no spec given".into(),
                hint: Some("pass a spec file, `-` for stdin, or `--example`".into()),
            }
            .into()),
        }
    }
}

/// Reads, parses, renders and bundles a spec: everything but writing.
pub fn build_bundle(input: &SpecInput) -> anyhow::Result<(Bundle, usize)> {
    let (text, name) = input.read()?;
    let started = std::time::Instant::now();
    let spec = spec::parse(&text, &name)?;
    tracing::debug!(apps = spec.apps.len(), elapsed = ?started.elapsed(), "spec parsed");
    // The spec's digest needs the whole JSON tree; build it beside the render.
    let (rendered, digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| {
            // The text parsed as a spec, so it is valid JSON.
            serde_json::from_str::<serde_json::Value>(&text).map(|v| bundle::spec_digest(&v))
        });
        let rendered = render(&spec);
        (rendered, digest.join())
    });
    let rendered = rendered.map_err(|problems| Problems { source_name: name.clone(), problems })?;
    let digest = digest.unwrap_or_else(|e| std::panic::resume_unwind(e)).context("re-reading the spec")?;
    tracing::debug!(groups = rendered.groups.len(), elapsed = ?started.elapsed(), "rendered and checked");
    let bundle = Bundle::build(&rendered, digest);
    tracing::debug!(files = bundle.objects.len(), elapsed = ?started.elapsed(), "bundle built");
    let apps = spec.apps.values().filter(|a| a.enable).count();
    Ok((bundle, apps))
}
