//! The nixflux generation behind a failing revision: when the failing
//! object reads a configured `[targets.<name>]` (the Bucket named by its
//! `bucket`, or a Kustomization of the same namespace and name, which is
//! what `nixflux flux bootstrap` renders), the target's generation record
//! that Flux's revision stands for.

use super::notification::{GenerationInfo, Notification};

/// The configured targets, and how to reach them.
#[derive(Default)]
pub struct Generations {}

impl Generations {
    pub fn from_config(_config: &super::config::Config) -> Generations {
        Generations {}
    }

    /// The generation behind `n`'s revision, when it can be told.
    pub async fn explain(&self, _n: &Notification) -> Option<GenerationInfo> {
        None
    }
}
