//! Where a spec comes from (a file, stdin, the built-in example, or a Nix
//! builder's environment) and the path from spec text to a bundle in
//! memory that `render` and `check` share.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::bundle::layered::Built;
use crate::bundle::{self};
use crate::crd::Crds;
use crate::render::render_with;
use crate::spec::{self, Problem, Problems};

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
            return Ok((read_file(&path)?, path.display().to_string()));
        }
        match (&self.spec, self.example) {
            (_, true) => Ok((EXAMPLE_SPEC.to_owned(), "<built-in example>".to_owned())),
            (Some(p), _) if p.as_os_str() == "-" => {
                let mut bytes = Vec::new();
                std::io::stdin().read_to_end(&mut bytes).context("reading the spec from stdin")?;
                Ok((utf8(bytes, "<stdin>")?, "<stdin>".to_owned()))
            }
            (Some(p), _) => Ok((read_file(p)?, p.display().to_string())),
            (None, false) => Err(BadInput {
                message: "no spec given".into(),
                hint: Some("pass a spec file, `-` for stdin, or `--example`".into()),
            }
            .into()),
        }
    }
}

/// Reads a spec file: one that does not exist, or is not UTF-8, is bad
/// input (exit 2); one that cannot be read for another reason (a directory,
/// no permission) is a failed operation (exit 1).
fn read_file(path: &Path) -> anyhow::Result<String> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(utf8(bytes, &path.display().to_string())?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(BadInput {
            message: format!("spec `{}` does not exist", path.display()),
            hint: Some("check the path; `-` reads the spec from stdin, `--example` uses the built-in example".into()),
        }
        .into()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("reading spec `{}`", path.display()))),
    }
}

/// The spec's text, or bad input naming the first byte that is not UTF-8.
fn utf8(bytes: Vec<u8>, name: &str) -> Result<String, BadInput> {
    String::from_utf8(bytes).map_err(|e| BadInput {
        message: format!(
            "spec `{name}` is not UTF-8: the byte at offset {} (0x{:02x}) is not valid UTF-8",
            e.utf8_error().valid_up_to(),
            e.as_bytes().get(e.utf8_error().valid_up_to()).copied().unwrap_or_default()
        ),
        hint: Some("a spec is JSON, which is UTF-8 text: convert the file, e.g. with `iconv -t UTF-8`".into()),
    })
}

/// `--crds`, shared by `check` and `render`.
#[derive(Debug, clap::Args)]
pub struct CrdInput {
    /// Also check every object whose kind a CustomResourceDefinition here
    /// defines against its schema: a directory of `.yaml`/`.yml` files
    /// (searched recursively; documents of other kinds are ignored) or one file
    #[arg(long, value_name = "DIR")]
    pub crds: Option<PathBuf>,
}

impl CrdInput {
    /// The loaded CRDs, if `--crds` was given.
    pub fn load(&self) -> anyhow::Result<Option<Crds>> {
        let Some(dir) = &self.crds else { return Ok(None) };
        let started = std::time::Instant::now();
        let crds = Crds::load_dir(dir)?;
        tracing::debug!(kinds = crds.len(), elapsed = ?started.elapsed(), "CRDs loaded");
        Ok(Some(crds))
    }
}

/// A spec read, rendered and bundled in memory.
pub struct SpecBuild {
    pub bundle: Built,
    /// How many apps are enabled.
    pub apps: usize,
    /// What the render found doubtful but not wrong.
    pub warnings: Problems,
    /// What `check` reports beside success: valid choices the reader
    /// should know about (an app on the host network).
    pub notes: Vec<Problem>,
    /// Apps whose routes skip the auth middleware.
    pub public_apps: Vec<String>,
}

/// Reads, parses, renders and bundles a spec: everything but writing.
pub fn build_bundle(input: &SpecInput) -> anyhow::Result<SpecBuild> {
    build_bundle_with(input, None, Additions::default())
}

/// What a Nix build adds to the spec: the Flux bootstrap's objects, and the
/// Secrets they read but never write (the user creates those by hand), which
/// are declared in `external` so that the references to them resolve.
#[derive(Debug, Default)]
pub struct Additions {
    pub objects: Vec<serde_json::Value>,
    /// Namespace and name of each Secret.
    pub external_secrets: Vec<(String, String)>,
}

/// `build_bundle`, with every object of a kind `crds` define checked
/// against its schema, and `extra` objects appended to the spec's top-level
/// `objects` (the Flux bootstrap a Nix build puts into the bundle): they
/// are checked, bundled and counted in the spec digest like any other.
pub fn build_bundle_with(input: &SpecInput, crds: Option<&Crds>, extra: Additions) -> anyhow::Result<SpecBuild> {
    let (mut text, name) = input.read()?;
    if !extra.objects.is_empty() || !extra.external_secrets.is_empty() {
        text = with_objects(&text, &name, extra)?;
    }
    let started = std::time::Instant::now();
    let spec = spec::parse(&text, &name)?;
    tracing::debug!(apps = spec.apps.len(), elapsed = ?started.elapsed(), "spec parsed");
    // The spec's digest needs the whole JSON tree; build it beside the render.
    let (rendered, digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| {
            // The text parsed as a spec, so it is valid JSON.
            bundle::canonical::digest_of_text(&text)
        });
        let rendered = render_with(&spec, crds);
        (rendered, digest.join())
    });
    let mut rendered = rendered.map_err(|problems| Problems { source_name: name.clone(), problems })?;
    let digest = digest.unwrap_or_else(|e| std::panic::resume_unwind(e)).context("re-reading the spec")?;
    tracing::debug!(groups = rendered.groups.len(), elapsed = ?started.elapsed(), "rendered and checked");
    let bundle = Built::build(&rendered, digest);
    tracing::debug!(files = bundle.file_count(), elapsed = ?started.elapsed(), "bundle built");
    let apps = spec.apps.values().filter(|a| a.enable).count();
    let warnings = Problems { source_name: name, problems: std::mem::take(&mut rendered.warnings) };
    let (notes, public_apps) = (std::mem::take(&mut rendered.notes), std::mem::take(&mut rendered.public_apps));
    // What follows (writing the files) needs neither the rendered objects
    // nor the spec, and every caller is a command that exits soon after:
    // freeing their many small allocations one by one (a tenth of a large
    // render's CPU) is left to the end of the process, which frees it all at once.
    std::mem::forget((rendered, spec));
    Ok(SpecBuild { bundle, apps, warnings, notes, public_apps })
}

/// The spec text with `extra` appended to its top-level `objects` and its
/// Secrets to `external.<namespace>.secrets`.
fn with_objects(text: &str, name: &str, extra: Additions) -> anyhow::Result<String> {
    use serde_json::Value;
    // A spec that is no JSON object is left for the parser to explain.
    let Ok(Value::Object(mut spec)) = serde_json::from_str::<Value>(text) else {
        return Ok(text.to_owned());
    };
    let not = |what: &str| BadInput {
        message: format!("spec `{name}`: `{what}` is not {}", if what == "objects" { "a list" } else { "an object" }),
        hint: None,
    };
    match spec.entry("objects").or_insert_with(|| Value::Array(Vec::new())) {
        Value::Array(objects) => objects.extend(extra.objects),
        _ => return Err(not("objects").into()),
    }
    for (ns, secret) in extra.external_secrets {
        let Value::Object(external) = spec.entry("external").or_insert_with(|| Value::Object(Default::default()))
        else {
            return Err(not("external").into());
        };
        let Value::Object(entry) = external.entry(ns).or_insert_with(|| Value::Object(Default::default())) else {
            return Err(not("external.<namespace>").into());
        };
        let Value::Array(secrets) = entry.entry("secrets").or_insert_with(|| Value::Array(Vec::new())) else {
            return Err(not("external.<namespace>.secrets").into());
        };
        if !secrets.iter().any(|s| s.as_str() == Some(secret.as_str())) {
            secrets.push(Value::String(secret));
        }
    }
    Ok(Value::Object(spec).to_string())
}
