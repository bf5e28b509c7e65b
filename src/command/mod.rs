//! One file per subcommand. Commands read inputs, call the domain modules
//! and print; the domain modules never print.

pub mod check;
pub mod render;

use std::io::Read;
use std::path::PathBuf;

use anyhow::Context;

use crate::bundle::{self, Bundle};
use crate::render::render;
use crate::spec::{self, Problems};

/// The example spec built into the binary (`--example`).
pub const EXAMPLE_SPEC: &str = include_str!("../../docs/examples/homelab.json");

/// Where a spec comes from: a file, `-` for stdin, or the built-in example.
#[derive(Debug, clap::Args)]
pub struct SpecInput {
    /// The spec (JSON); `-` reads stdin
    #[arg(value_name = "SPEC", required_unless_present = "example")]
    pub spec: Option<PathBuf>,
    /// Use the built-in example spec (docs/examples/homelab.json)
    #[arg(long, conflicts_with = "spec")]
    pub example: bool,
}

impl SpecInput {
    /// Reads the spec text and the name errors use for it.
    fn read(&self) -> anyhow::Result<(String, String)> {
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
            (None, false) => Err(crate::cli::BadInput {
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
    let spec = spec::parse(&text, &name)?;
    tracing::info!(apps = spec.apps.len(), "spec parsed");
    let rendered = render(&spec).map_err(|problems| Problems { source_name: name.clone(), problems })?;
    // The text parsed as a spec, so it is valid JSON.
    let value: serde_json::Value = serde_json::from_str(&text).context("re-reading the spec")?;
    let bundle = Bundle::build(&rendered, bundle::spec_digest(&value));
    let apps = spec.apps.values().filter(|a| a.enable).count();
    Ok((bundle, apps))
}
