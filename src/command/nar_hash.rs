//! `nixflux nar-hash PATH`: the NAR hash of a file or tree, as Nix computes
//! it (`nix-hash --type sha256`), without Nix.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use super::output::{Global, Output};
use crate::nix::{base32, nar};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `sha256:` and Nix base32, as in narinfo files
    Nix,
    /// Nix base32 alone, as `nix-hash --type sha256 --base32` prints it
    Base32,
    /// lowercase hex, as `nix-hash --type sha256` and `sha256sum` print it
    Hex,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A file, directory or symlink
    pub path: PathBuf,
    /// How to print the hash
    #[arg(long, value_enum, default_value_t = Format::Nix)]
    pub format: Format,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    let hash = nar::hash_path(&args.path).with_context(|| format!("hashing `{}`", args.path.display()))?;
    let text = match args.format {
        Format::Nix => hash.to_nix_string(),
        Format::Base32 => base32::encode(&hash.sha256),
        Format::Hex => crate::bundle::hex(&hash.sha256),
    };
    match global.output {
        Output::Text => outln!("{text}"),
        Output::Json => outln!("{}", serde_json::json!({ "path": args.path, "hash": text, "narSize": hash.size })),
    }
    Ok(ExitCode::SUCCESS)
}
