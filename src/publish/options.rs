//! The settings of a publish: retention, the prune guard, dry runs, the
//! lease, upload concurrency, and the Flux Bucket's ignore rules.

use std::sync::Arc;
use std::time::Duration;

use super::hooks::Hooks;

use super::lease;
use crate::flux::revision::DEFAULT_BUCKET_IGNORE;

pub const DEFAULT_KEEP: u64 = 10;
pub const DEFAULT_MAX_PRUNE_PERCENT: u32 = 50;

#[derive(Debug, Clone)]
pub struct Options {
    /// Generations whose objects are kept (the live one included).
    pub keep: usize,
    pub allow_empty: bool,
    pub allow_prune: bool,
    /// The share of live objects a generation may remove without `allow_prune`.
    pub max_prune_percent: u32,
    /// Allow removing objects that hold data (see `object::data`).
    pub allow_data_removal: bool,
    pub dry_run: bool,
    /// List the whole target (and repair what it lacks) instead of using
    /// the live record's manifest (see `manifest.rs`).
    pub verify: bool,
    pub lease_ttl: Duration,
    /// Object uploads in flight at once.
    pub concurrency: usize,
    /// The `spec.ignore` of the Flux Bucket that reads the target, for the
    /// revision a publish reports ("" when the Bucket has none).
    pub flux_ignore: String,
    /// The caller's check and switch call (the Flux loop), if any.
    pub hooks: Option<Arc<dyn Hooks>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep: DEFAULT_KEEP as usize,
            allow_empty: false,
            allow_prune: false,
            max_prune_percent: DEFAULT_MAX_PRUNE_PERCENT,
            allow_data_removal: false,
            dry_run: false,
            verify: false,
            lease_ttl: lease::DEFAULT_TTL,
            concurrency: 16,
            flux_ignore: DEFAULT_BUCKET_IGNORE.to_owned(),
            hooks: None,
        }
    }
}
