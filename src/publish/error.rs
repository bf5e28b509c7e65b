//! `PublishError`: everything that can stop a publish, rollback, history
//! or gc, with the cause kept. Which of these are the user's to fix (exit 2)
//! and what to do about them is said in one place, `command/exit.rs`.

use super::lease::LeaseError;
use super::target::TargetError;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("refusing to publish an empty generation to {target}: Flux would prune every object it applied")]
    Empty { target: String },
    #[error("refusing to publish to {target}: the new generation removes {removed} of the {live} live objects ({percent}%, more than {max}%)")]
    Prune { target: String, removed: usize, live: usize, percent: usize, max: u32 },
    #[error("refusing to publish to {target}: the new generation removes objects that hold data: {}", list(objects))]
    DataRemoval { target: String, objects: Vec<crate::object::ObjectId> },
    #[error("{target} holds a `kustomization.yaml` that nixflux did not write: {why}")]
    ForeignPointer { target: String, why: String },
    #[error("the live objects of {target} cannot be known: {why}; the prune guard cannot tell what Flux would delete")]
    LiveUnknown { target: String, why: String },
    #[error("the live generation of {target} changed while publishing (another publisher?); nothing was switched")]
    Changed { target: String },
    #[error("generation {generation} is not retained in {target}")]
    NoSuchGeneration { target: String, generation: u64 },
    #[error("generation {generation} in {target} cannot be restored: {why}")]
    Unrestorable { target: String, generation: u64, why: String },
    #[error("{target} has no live generation")]
    NothingLive { target: String },
    #[error("encoding the generation record: {0}")]
    Encode(#[source] serde_json::Error),
    #[error(transparent)]
    Bundle(#[from] crate::bundle::read::ReadError),
    #[error(transparent)]
    Nar(#[from] crate::nix::nar::NarError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("refusing to publish to {target}: Flux would prune {} (the live inventory of its Kustomization has them, the new generation does not)", list(objects))]
    PruneKind { target: String, objects: Vec<crate::object::ObjectId> },
    #[error(transparent)]
    Flux(#[from] crate::flux::error::FluxError),
}

fn list(ids: &[crate::object::ObjectId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}
