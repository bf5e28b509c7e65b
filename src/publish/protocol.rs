//! The publish protocol (see `docs/publishing.md`): plan, then under the
//! lease upload the object files the target lacks (content-addressed, so
//! never overwritten), write the generation record, switch the pointer
//! `kustomization.yaml` in one conditional write, and collect garbage.
//! Readers see the old generation or the new one, never a mix; a crash
//! anywhere leaves the old one live and whole, and running again finishes
//! the job.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;

use super::desired::{Desired, Loaded};
use super::error::PublishError;
use super::failpoint;
use super::gc::{collect_garbage, Known};
use super::generation::{record_key, Changes, Pointer, Record, LEASE_KEY, POINTER_KEY, RECORD_FORMAT};
use super::lease::{self, Lease};
use super::options::Options;
use super::plan::Plan;
use super::progress::{Phase, Progress};
use super::state::{bucket_ignore, flux_revision, pointer_etag, read_pointer, State};
use super::target::{Condition, Target, TargetError};
use super::tracked::{revision_after, Tracked};
use crate::bundle::{BundleFile, Sha256Digest};

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
struct Outcome {
    plan: Plan,
    deleted: usize,
    replaced_rollback_of: Option<u64>,
    /// What the target holds now; `None` when a step's effect is unsure.
    tracked: Option<Tracked>,
}

impl Report {
    fn unchanged(target: String, generation: u64, digest: Sha256Digest, dry_run: bool) -> Report {
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

    fn of_plan(
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

fn publisher() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let user = std::env::var("USER").unwrap_or_else(|_| format!("uid{}", unsafe { libc::getuid() }));
    format!("{user}@{}", lease::hostname())
}

/// Makes `desired` the live generation of `target`.
pub async fn publish<T: Target>(
    target: &T,
    desired: Desired,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Report, PublishError> {
    let name = target.name();
    // Publishing what is live writes nothing, so the bucket and Flux's
    // revision stay as they are. One read of the pointer says so; the
    // listing (which only the printed revision would need) is skipped.
    let pointer = read_pointer(target).await?;
    tracing::debug!("pointer read");
    if let Some(live) = pointer.as_ref().filter(|p| &p.pointer.bundle_digest == desired.digest()) {
        // A run after a crash past the switch ends here: clear the dead run's lease.
        if !opts.dry_run {
            if let Err(e) = Lease::clear_stale(target).await {
                tracing::warn!(error = %e, "could not remove a stale lease; it expires by itself");
            }
        }
        return Ok(Report::unchanged(name, live.pointer.generation, desired.digest().clone(), opts.dry_run));
    }
    // What else is read before the lease goes out together: the live
    // record and the bucket's `.sourceignore`. The listing is taken under
    // the lease, where nobody else writes; only a dry run (no lease) and a
    // target without a pointer (whose listing says whether Flux builds
    // stray files there) need one now.
    let load = async {
        match pointer {
            None => State::with_record(target, target.list().await?, None).await,
            Some(live) => {
                let listing = async {
                    if opts.dry_run {
                        target.list().await
                    } else {
                        Ok(Vec::new())
                    }
                };
                let (listing, state) = tokio::join!(listing, State::with_record(target, Vec::new(), Some(live)));
                Ok(State { listing: listing?, ..state? })
            }
        }
    };
    let (planned, ignore) = tokio::join!(load, bucket_ignore(target, &opts.flux_ignore));
    let planned = planned?;
    tracing::debug!("live state read");
    let desired = desired.load(&planned.live_files)?;
    tracing::debug!("bundle read and verified");
    let before = planned.generation();
    let digest = desired.index.digest.clone();
    // Checked before the lease is taken; a dry run also reports the uploads.
    let plan = Plan::new(&name, &planned, &desired, opts)?;
    tracing::debug!("planned");
    if let Some(hooks) = &opts.hooks {
        hooks.check(&planned.live_files, &desired.index).await?;
        tracing::debug!("hooks checked the plan");
    }
    if opts.dry_run {
        let revision = flux_revision(target, &planned.listing, &ignore);
        let outcome = Outcome {
            plan: plan.with_uploads(&planned.listing, &desired),
            deleted: 0,
            replaced_rollback_of: replaced_rollback(&planned, &desired),
            tracked: None,
        };
        return Ok(Report::of_plan(name, before, digest, outcome, revision, true));
    }

    let lease = Lease::acquire(target, opts.lease_ttl).await?;
    failpoint::hit("lease");
    let result = publish_under_lease(target, &desired, opts, &lease, (planned, plan), progress).await;
    let release = lease.release(target).await;
    let mut outcome = result?;
    if let Err(e) = release {
        tracing::warn!(error = %e, "could not release the lease; it expires by itself");
    }
    if let Some(t) = &mut outcome.tracked {
        // Released, or (rarely) left behind: Flux's default rules ignore it.
        t.unsure(LEASE_KEY);
    }
    let revision = revision_after(target, outcome.tracked.as_ref(), &ignore).await?;
    super::revision_note::note(target, outcome.plan.generation, &revision, &ignore).await;
    // Changes and uploads as planned under the lease, which the record holds too.
    Ok(Report::of_plan(name, before, digest, outcome, revision, false))
}

/// The generation a live rollback restored, when `desired` is a bundle
/// (not itself a rollback) that replaces it.
fn replaced_rollback(state: &State, desired: &Loaded) -> Option<u64> {
    if desired.source.rollback_of.is_some() {
        return None;
    }
    state.live.as_ref().and_then(|r| r.source.rollback_of)
}

async fn publish_under_lease<T: Target>(
    target: &T,
    desired: &Loaded,
    opts: &Options,
    lease: &Lease,
    (planned, plan): (State, Plan),
    progress: &dyn Progress,
) -> Result<Outcome, PublishError> {
    // The plan holds if the pointer did not move before the lease was ours;
    // otherwise it is made again, guard and all, from the state now. The
    // listing taken now is exact: nobody else writes while the lease is held.
    let (now, listing) = tokio::join!(read_pointer(target), target.list());
    let (now, listing) = (now?, listing?);
    tracing::debug!(keys = listing.len(), "listed under the lease");
    let (state, plan) = if now.as_ref().map(|p| p.etag.as_str()) == planned.pointer_etag() {
        (State { listing, ..planned }, plan)
    } else {
        let state = State::with_record(target, listing, now).await?;
        let plan = Plan::new(&target.name(), &state, desired, opts)?;
        if let Some(hooks) = &opts.hooks {
            hooks.check(&state.live_files, &desired.index).await?;
        }
        (state, plan)
    };
    let plan = plan.with_uploads(&state.listing, desired);
    let generation = plan.generation;

    let uploads: Vec<BundleFile> = plan.uploads.iter().map(|i| desired.files[*i].clone()).collect();
    // What the target holds, for garbage collection and Flux's revision, without listing it again.
    let mut tracked = Tracked::from_listing(&state.listing);
    let record = Record {
        format_version: RECORD_FORMAT,
        generation,
        bundle_digest: desired.index.digest.clone(),
        published_at: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        publisher: publisher(),
        nixflux_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: desired.source.clone(),
        changes: plan.changes.clone(),
        bundle: desired.index.clone(),
    };
    let record_bytes = serde_json::to_vec(&record).map_err(PublishError::Encode)?;
    // The record names a generation no pointer names yet, so it goes out
    // with the object files (garbage collection removes it if the switch
    // never happens). A rollback writes it only once its files are known
    // to be there.
    let write_record = async {
        lease.check(target).await?;
        Ok::<_, PublishError>(target.put_tagged(&record_key(generation), &record_bytes, &Condition::None).await?)
    };
    let (written, record_etag) = if desired.retained {
        let written = upload_all(target, uploads, opts, progress).await?;
        // Every resource the new pointer lists must be in the target.
        let after = target.list().await?;
        let have: BTreeSet<&str> = after.iter().map(|o| o.key.as_str()).collect();
        if let Some(lost) = desired.index.files.iter().find(|f| !have.contains(f.path.as_str())) {
            return Err(PublishError::Unrestorable {
                target: target.name(),
                generation: desired.source.rollback_of.unwrap_or(0),
                why: format!("its object file `{}` is gone", lost.path),
            });
        }
        (written, write_record.await?)
    } else {
        let (written, etag) = tokio::join!(upload_all(target, uploads, opts, progress), write_record);
        (written?, etag?)
    };
    for (key, etag, size) in written {
        tracked.put(&key, etag, size);
    }
    tracked.put(&record_key(generation), record_etag, record_bytes.len() as u64);
    target.sync().await?;
    failpoint::hit("record");
    tracing::debug!(bytes = record_bytes.len(), "objects and record written");

    // The switch: only if the lease is still ours and the pointer still the
    // one this plan started from (both read at once).
    let base = state.pointer_etag().map(str::to_owned);
    let (held, now) = tokio::join!(lease.check(target), pointer_etag(target));
    held?;
    if now? != base {
        return Err(PublishError::Changed { target: target.name() });
    }
    let condition = base.map_or(Condition::IfAbsent, Condition::IfMatch);
    let pointer = Pointer { generation, bundle_digest: desired.index.digest.clone(), resources: record.resources() };
    let pointer_bytes = pointer.to_bytes();
    let etag = target.put_tagged(POINTER_KEY, &pointer_bytes, &condition).await.map_err(|e| match e {
        TargetError::PreconditionFailed { .. } => PublishError::Changed { target: target.name() },
        other => other.into(),
    })?;
    failpoint::hit("switch");
    tracing::info!(generation, "switched");
    if let Some(hooks) = &opts.hooks {
        hooks.switched(generation);
    }

    tracked.put(POINTER_KEY, etag, pointer_bytes.len() as u64);
    let replaced_rollback_of = replaced_rollback(&state, desired);
    let known = Known { listing: tracked.listing(), pointer };
    let (deleted, tracked) = match collect_garbage(target, opts.keep, lease, Some(known)).await {
        Ok(collected) => {
            collected.keys.iter().for_each(|k| tracked.delete(k));
            (collected.object_files, Some(tracked))
        }
        Err(e) => {
            tracing::warn!(error = %e, "garbage collection failed; `nixflux gc` retries it");
            (0, None)
        }
    };
    Ok(Outcome { plan, deleted, replaced_rollback_of, tracked })
}

/// Uploads `files`; returns each key with the ETag the target answered
/// (when it says) and the size.
async fn upload_all<T: Target>(
    target: &T,
    files: Vec<BundleFile>,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Vec<(String, Option<String>, u64)>, PublishError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    progress.start(Phase::Upload, files.len() as u64);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for f in files {
        let target = target.clone();
        let permit = semaphore.clone();
        tasks.spawn(async move {
            let _permit = permit.acquire_owned().await;
            let etag = target.put_tagged(&f.path, &f.content, &Condition::None).await?;
            Ok::<_, TargetError>((f.path.to_string(), etag, f.content.len() as u64))
        });
    }
    let mut first_error = None;
    let mut written = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(w)) => {
                written.push(w);
                failpoint::hit("upload");
                progress.advance();
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
                tasks.abort_all();
            }
            Err(join) if join.is_cancelled() => {}
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    progress.finish();
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(written),
    }
}
