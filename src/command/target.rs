//! The target flags shared by `publish`, `diff`, `history`, `rollback` and
//! `gc`, the Flux Bucket's ignore flags, and the small runtime the target
//! commands run on.

use std::path::PathBuf;

use crate::flux::revision::DEFAULT_BUCKET_IGNORE;
use crate::publish::target::any::AnyTarget;
use crate::publish::target::s3::S3Options;
use crate::publish::target::url::TargetUrl;

use super::exit::BadInput;

/// Where to publish and how to reach it; shared by the target commands.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// `s3://BUCKET/PREFIX`, `dir:///PATH` or a directory path
    #[arg(long = "to", value_name = "TARGET")]
    pub to: String,
    /// S3 endpoint URL (`https://host:port`; `http://` for plain HTTP); AWS when absent
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// S3 region (default `us-east-1` with a custom endpoint)
    #[arg(long)]
    pub region: Option<String>,
    /// AWS shared credentials file (`[default]`, `aws_access_key_id`,
    /// `aws_secret_access_key`); otherwise the standard AWS chain
    #[arg(long, value_name = "FILE")]
    pub credentials_file: Option<PathBuf>,
    /// Profile in the credentials file
    #[arg(long)]
    pub profile: Option<String>,
    /// PEM file of CA certificates to trust for the S3 endpoint
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

impl TargetArgs {
    pub async fn open(&self) -> anyhow::Result<AnyTarget> {
        let url: TargetUrl = self.to.parse()?;
        if matches!(url, TargetUrl::Dir { .. })
            && (self.endpoint.is_some() || self.credentials_file.is_some() || self.ca_file.is_some())
        {
            return Err(BadInput {
                message: format!("`{}` is a directory target; S3 options do not apply", self.to),
                hint: Some("write `s3://BUCKET/PREFIX` to publish to S3".into()),
            }
            .into());
        }
        let opts = S3Options {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            credentials_file: self.credentials_file.clone(),
            profile: self.profile.clone(),
            ca_file: self.ca_file.clone(),
        };
        Ok(AnyTarget::open(url, &opts).await?)
    }
}

/// How the Flux Bucket reading the target is set up, for the revision
/// `publish`, `rollback` and `history` print.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct BucketArgs {
    /// One line of the Flux Bucket's `spec.ignore` (repeat for more; replaces
    /// nixflux's default `generations/` and `nixflux.lock`; `''` for a Bucket
    /// without `ignore`)
    #[arg(long = "flux-ignore", value_name = "PATTERN")]
    pub flux_ignore: Vec<String>,
}

impl BucketArgs {
    /// The Bucket's `spec.ignore` text.
    pub fn spec_ignore(&self) -> String {
        if self.flux_ignore.is_empty() {
            DEFAULT_BUCKET_IGNORE.to_owned()
        } else {
            self.flux_ignore.join("\n")
        }
    }
}

/// Runs a future on a small runtime: the target commands are I/O-bound.
pub fn block_on<F: std::future::Future>(f: F) -> anyhow::Result<F::Output> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let out = rt.block_on(f);
    if crate::lifetime::ends_with_command_set() {
        // Its threads stop with the process; shutting them down one by one
        // would only delay the command's output.
        std::mem::forget(rt);
    }
    Ok(out)
}
