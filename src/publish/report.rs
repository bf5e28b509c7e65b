//! What a publish reports, and what its steps under the lease hand back.

use serde::Serialize;

use super::generation::Changes;
use super::plan::Plan;
use super::tracked::Tracked;
use crate::bundle::Sha256Digest;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub target: String,
    pub generation_before: Option<u64>,
    pub generation_after: Option<u64>,
    pub bundle_digest: Sha256Digest,
    pub unchanged: bool,
    pub dry_run: bool,
    pub changes: Changes,
    pub files_uploaded: usize,
    pub bytes_uploaded: u64,
    pub objects_deleted: usize,
    /// The revision Flux will compute for the target after this publish
    /// (not computed for a publish that changed nothing).
    pub flux_revision: Option<String>,
    /// When this publish of a bundle replaces a live generation that was a
    /// rollback (`generation_before`): the generation that rollback restored.
    /// The configured bundle wins again, as after a CLI rollback followed by
    /// a reboot or a `nixos-rebuild switch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_rollback_of: Option<u64>,
}

/// What a publish under the lease did.
pub(super) struct Outcome {
    pub(super) plan: Plan,
    pub(super) deleted: usize,
    pub(super) replaced_rollback_of: Option<u64>,
    /// What the target holds now; `None` when a step's effect is unsure.
    pub(super) tracked: Option<Tracked>,
    /// Whether garbage collection found the lease held as it ended.
    pub(super) lease_checked: bool,
}

impl Report {
    pub(super) fn unchanged(target: String, generation: u64, digest: Sha256Digest, dry_run: bool) -> Report {
        Report {
            target,
            generation_before: Some(generation),
            generation_after: Some(generation),
            bundle_digest: digest,
            unchanged: true,
            dry_run,
            changes: Changes::default(),
            files_uploaded: 0,
            bytes_uploaded: 0,
            objects_deleted: 0,
            flux_revision: None,
            replaced_rollback_of: None,
        }
    }

    pub(super) fn of_plan(
        target: String,
        before: Option<u64>,
        digest: Sha256Digest,
        outcome: Outcome,
        revision: String,
        dry_run: bool,
    ) -> Report {
        let Outcome { plan, deleted, replaced_rollback_of, .. } = outcome;
        Report {
            target,
            generation_before: before,
            generation_after: Some(plan.generation),
            bundle_digest: digest,
            unchanged: false,
            dry_run,
            files_uploaded: plan.uploads.len(),
            bytes_uploaded: plan.upload_bytes,
            changes: plan.changes,
            objects_deleted: deleted,
            flux_revision: Some(revision),
            replaced_rollback_of,
        }
    }
}
