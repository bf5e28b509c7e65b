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
use super::listing::Listing;
use super::options::Options;
use super::plan::{entering, missing_files, Plan};
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
    // The listing goes out at once, beside the pointer read: rclone hashes
    // every file it lists, which makes it the slowest read of a publish.
    // Taken before the lease, it is used under the lease only while nobody
    // else can have written since (see `Listing::still_exact`).
    let mut listing = Listing::spawn(target);
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
    // The bundle's files are read and hashed meanwhile, on another thread.
    let desired = desired.start_reading();
    // What else is read before the lease goes out together: the live
    // record and the bucket's `.sourceignore`. A target without a pointer
    // needs the listing now (it says whether Flux builds stray files there).
    let load = async {
        match pointer {
            None => State::with_record(target, listing.get().await?.to_vec(), None).await,
            Some(live) => State::with_record(target, Vec::new(), Some(live)).await,
        }
    };
    let (planned, ignore) = tokio::join!(load, bucket_ignore(target, &opts.flux_ignore));
    let planned = planned?;
    tracing::debug!("live state read");
    let desired = desired.load(&planned.live_files).await?;
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
        let listed = listing.get().await?;
        let revision = flux_revision(target, listed, &ignore);
        let outcome = Outcome {
            plan: plan.with_uploads(listed, &desired, &live_resources(&planned)),
            deleted: 0,
            replaced_rollback_of: replaced_rollback(&planned, &desired),
            tracked: None,
        };
        return Ok(Report::of_plan(name, before, digest, outcome, revision, true));
    }

    let lease = Lease::acquire(target, opts.lease_ttl).await?;
    failpoint::hit("lease");
    let result = publish_under_lease(target, &desired, opts, &lease, (planned, plan, listing), progress).await;
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

/// The object files of the live generation, as its pointer lists them.
fn live_resources(state: &State) -> BTreeSet<&str> {
    state.pointer.iter().flat_map(|p| p.pointer.resources.iter().map(String::as_str)).collect()
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
    (planned, plan, mut listing): (State, Plan, Listing),
    progress: &dyn Progress,
) -> Result<Outcome, PublishError> {
    // The listing is awaited only where it decides something. A stale
    // lease's dead holder may have written after it was taken: list again.
    if lease.took_over() {
        listing = Listing::spawn(target);
    }
    // The plan holds if the pointer did not move before the lease was ours;
    // otherwise it is made again, guard and all, from the state now.
    let now = read_pointer(target).await?;
    let (state, plan) = if now.as_ref().map(|p| p.etag.as_str()) == planned.pointer_etag() {
        (planned, plan)
    } else {
        // Someone switched since: what the early listing saw is not the target now.
        listing = Listing::spawn(target);
        let state = State::with_record(target, listing.get().await?.to_vec(), now).await?;
        let plan = Plan::new(&target.name(), &state, desired, opts)?;
        if let Some(hooks) = &opts.hooks {
            hooks.check(&state.live_files, &desired.index).await?;
        }
        (state, plan)
    };
    let generation = plan.generation;
    // The live generation's object files are there and whole (every
    // publish leaves it so). A few files entering go out without waiting
    // for the listing; the listing then says whether anything else is
    // missing (a damaged target), which is uploaded before the switch.
    let live = live_resources(&state);
    let entering = entering(desired, &live);
    let eager = state.pointer.is_some() && !desired.retained && entering.len() <= EAGER_UPLOADS;
    let first: Vec<usize> = if eager {
        entering
    } else {
        let listed = listing.get().await?;
        missing_files(listed, desired, &live, &BTreeSet::new())
    };

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
    let files_of =
        |indexes: &[usize]| -> Vec<BundleFile> { indexes.iter().map(|i| desired.files[*i].clone()).collect() };
    let (mut written, record_etag, mut uploaded) = if desired.retained {
        // Every resource the new pointer lists must be in the target.
        let listed = listing.get().await?;
        let have: BTreeSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        if let Some(lost) = desired.index.files.iter().find(|f| !have.contains(f.path.as_str())) {
            return Err(PublishError::Unrestorable {
                target: target.name(),
                generation: desired.source.rollback_of.unwrap_or(0),
                why: format!("its object file `{}` is gone", lost.path),
            });
        }
        (Vec::new(), write_record.await?, first)
    } else {
        let (written, etag, listed) =
            tokio::join!(upload_all(target, files_of(&first), opts, progress), write_record, listing.get());
        let (written, etag) = (written?, etag?);
        listed?;
        (written, etag, first)
    };
    if !listing.still_exact(lease).await? {
        listing = Listing::spawn(target);
    }
    let listed = listing.get().await?;
    if eager {
        let done: BTreeSet<&str> = uploaded.iter().map(|i| desired.files[*i].path.as_str()).collect();
        let repair = missing_files(listed, desired, &live, &done);
        if !repair.is_empty() {
            tracing::warn!(
                files = repair.len(),
                "the target lacked object files of the live generation (it was damaged); uploading them again"
            );
            written.extend(upload_all(target, files_of(&repair), opts, progress).await?);
            uploaded.extend(repair);
        }
    }
    let plan = plan.uploading(uploaded, desired);
    // What the target holds, for garbage collection and Flux's revision, without listing it again.
    let mut tracked = Tracked::from_listing(listed);
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

/// Up to this many object files entering the live generation are uploaded
/// without waiting for the target's listing (which says whether a retained
/// generation holds them already): uploading a few small files again costs
/// less than the wait for a listing, which grows with the target.
const EAGER_UPLOADS: usize = 8;

/// The listing taken under the lease, awaited when first needed.
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
