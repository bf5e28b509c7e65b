//! What a caller can add to a publish without the protocol knowing about
//! it: a check of the plan against something outside the target (Flux's
//! live inventory, the cluster binding) that may refuse before anything is
//! written, and a call the moment the new generation is live (to ask Flux
//! to reconcile at once).

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use super::error::PublishError;
use crate::bundle::{BundleIndex, IndexFile};

pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Result<(), PublishError>> + Send + 'a>>;

pub trait Hooks: Debug + Send + Sync {
    /// Runs once the plan holds (a dry run too), before the lease is taken
    /// and again if the plan is made again under it; an error refuses.
    fn check<'a>(&'a self, live_files: &'a [IndexFile], desired: &'a BundleIndex) -> CheckFuture<'a>;

    /// The pointer now names `generation` (called once, right after the switch).
    fn switched(&self, generation: u64);
}
