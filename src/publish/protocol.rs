//! The publish protocol (see `docs/publishing.md`): plan, then under the
//! lease upload the object files the target lacks (content-addressed, so
//! never overwritten), write the generation record, switch the pointer
//! `kustomization.yaml` in one conditional write, and collect garbage.
//! Readers see the old generation or the new one, never a mix; a crash
//! anywhere leaves the old one live and whole, and running again finishes
//! the job.

use std::collections::BTreeSet;

use super::desired::{Desired, Loaded};
use super::error::PublishError;
use super::failpoint;
use super::gc::{collect_garbage, Known};
use super::generation::{record_key, Pointer, LEASE_KEY, POINTER_KEY};
use super::lease::{Lease, LeaseError};
use super::listing::Listing;
use super::manifest::{fill_etags, Overview};
use super::next_record::{early_record, new_record};
use super::options::Options;
use super::plan::Plan;
use super::progress::Progress;
use super::record::Record;
use super::report::Outcome;
pub use super::report::Report;
use super::state::{bucket_ignore, flux_revision, live_pointer, live_record, pointer_etag, read_pointer, State};
use super::target::{Condition, Fetched, Target, TargetError};
use super::tracked::{revision_after, Tracked};
use super::upload::{upload_all, uploads_for};
use crate::parallel::Aborting;

/// Makes `desired` the live generation of `target`.
pub async fn publish<T: Target>(
    target: &T,
    desired: Desired,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Report, PublishError> {
    let name = target.name();
    // Publishing what is live writes nothing, so the bucket and Flux's
    // revision stay as they are. One read of the pointer says so. Beside
    // it go the two cheap listings (the root's keys and `generations/`)
    // that, with the live record, stand in for a listing of every object
    // file (see `manifest.rs`). The bundle is read meanwhile, on other threads.
    // The live record, the bucket's `.sourceignore` and the lease are
    // read meanwhile too (reads only: a publish of what is live drops
    // them), so that a publish with work to do finds them at hand.
    let mut reading = desired.start_reading();
    // (`.sourceignore` once the pointer is read: a target that cannot be
    // read fails with that error alone.)
    let pointer_read = async {
        let pointer = read_pointer(target).await?;
        tracing::debug!("pointer read");
        let record = pointer.as_ref().map(|p| {
            let (target, pointer) = (target.clone(), p.pointer.clone());
            Aborting(tokio::spawn(async move { live_record(&target, &pointer).await }))
        });
        let ignore = {
            let (target, spec_ignore) = (target.clone(), opts.flux_ignore.clone());
            Aborting(tokio::spawn(async move { bucket_ignore(&target, &spec_ignore).await }))
        };
        Ok::<_, PublishError>((pointer, record, ignore))
    };
    let lease_seen = async {
        if opts.dry_run {
            None
        } else {
            Some(Lease::look(target).await)
        }
    };
    let (digest, pointer_read, overview, lease_seen) =
        tokio::join!(reading.digest(), pointer_read, Overview::read(target), lease_seen);
    let digest = digest?;
    let (pointer, record, ignore) = pointer_read?;
    if let Some(live) = pointer.as_ref().filter(|p| p.pointer.bundle_digest == digest) {
        // A run after a crash past the switch ends here: clear the dead run's lease.
        if let Some(seen) = lease_seen {
            let cleared = match seen {
                Ok(seen) => Lease::clear_stale(target, seen).await.map(|_| ()),
                Err(e) => Err(e.into()),
            };
            if let Err(e) = cleared {
                tracing::warn!(error = %e, "could not remove a stale lease; it expires by itself");
            }
        }
        return Ok(Report::unchanged(name, live.pointer.generation, digest, opts.dry_run));
    }
    let overview = overview?;
    let lease_seen = lease_seen.transpose()?;
    let live = match record {
        Some(record) => record.join().await?,
        None => None,
    };
    let ignore = ignore.join().await;
    tracing::debug!("live record read");
    let indexing = reading.indexed().await?;
    tracing::debug!("bundle index read");
    let unfit = match &live {
        _ if opts.verify => Some("`--verify` lists it".to_owned()),
        _ if indexing.is_retained() => Some("a rollback checks its files are there".to_owned()),
        Some(record) => overview.unfit(record),
        None => Some("there is no live record".to_owned()),
    };
    let mut listing = match (&unfit, &live) {
        (None, Some(record)) => {
            let mut known = overview.listing(record);
            fill_etags(target, &mut known).await?;
            tracing::debug!("object files known from the live record");
            Listing::ready(known)
        }
        _ => {
            tracing::debug!(why = unfit.as_deref().unwrap_or_default(), "listing the whole target");
            Listing::spawn(target)
        }
    };
    let fast = unfit.is_none();
    // A target without a pointer needs the listing now (it says whether
    // Flux builds stray files there).
    let listed = if pointer.is_none() { listing.get().await?.to_vec() } else { Vec::new() };
    let planned = State::assemble(target, listed, pointer, live, &indexing.index().files).await?;
    tracing::debug!("live state read");
    // Every file is read and checked against its name, also those the
    // target holds already: a damaged bundle is refused whole.
    let desired = indexing.load(&planned.live_files).await?;
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
        let uploads = uploads_for(fast, listed, &desired, &live_resources(&planned));
        let outcome = Outcome {
            plan: plan.uploading(uploads, &desired),
            deleted: 0,
            replaced_rollback_of: replaced_rollback(&planned, &desired),
            tracked: None,
            lease_checked: false,
        };
        return Ok(Report::of_plan(name, before, digest, outcome, revision, true));
    }

    let seen = match lease_seen {
        Some(seen) => seen,
        None => Lease::look(target).await?,
    };
    // Taken, then read back at once with the pointer as the first step
    // under it; in the usual case the record is built meanwhile. Nothing
    // returns before the lease is known (a dropped task could leave it).
    let acquiring = {
        let (target, ttl) = (target.clone(), opts.lease_ttl);
        Aborting(tokio::spawn(async move {
            let lease = Lease::acquire_seen(&target, ttl, seen).await?;
            failpoint::hit("lease");
            let (held, now) = tokio::join!(lease.check(&target), target.get(POINTER_KEY));
            Ok::<_, PublishError>((lease, held, now))
        }))
    };
    let early = match fast {
        true => Some(early_record(target, &desired, opts, &planned, &plan, &mut listing).await),
        false => None,
    };
    let (lease, held, now) = acquiring.join().await?;
    tracing::debug!("lease taken and read back");
    let first = Under { held, now, early };
    let result =
        publish_under_lease(target, &desired, opts, &lease, (planned, plan, listing, fast), first, progress).await;
    let mut outcome = match result {
        Ok(outcome) => outcome,
        Err(e) => {
            lease.give_up(target).await;
            return Err(e);
        }
    };
    if let Some(t) = &mut outcome.tracked {
        // Released, or (rarely) left behind: Flux's default rules ignore it.
        t.unsure(LEASE_KEY);
    }
    // Where the Bucket's rules index the lease, the revision is what the
    // target holds once it is gone; else the note is written while it goes.
    let checked = outcome.lease_checked;
    let release = |lease: Lease| async move {
        match checked {
            true => lease.give_up_checked(target).await,
            false => lease.give_up(target).await,
        }
    };
    let lease = if crate::flux::revision::is_indexed(&format!("{}{LEASE_KEY}", target.key_prefix()), &ignore) {
        release(lease).await;
        None
    } else {
        Some(lease)
    };
    let revision = revision_after(target, outcome.tracked.as_ref(), &ignore).await;
    let note = async {
        if let Ok(revision) = &revision {
            super::revision_note::note(target, outcome.plan.generation, revision, &ignore).await;
        }
    };
    let releasing = async {
        if let Some(lease) = lease {
            release(lease).await;
        }
    };
    tokio::join!(releasing, note);
    crate::lifetime::let_go(desired);
    let revision = revision?;
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

/// What the first step under the lease found: the lease read back, the
/// pointer, and the record built meanwhile.
struct Under {
    held: Result<(), LeaseError>,
    /// The pointer, parsed only if it moved.
    now: Result<Option<Fetched>, TargetError>,
    early: Option<Result<(Record, Vec<u8>), PublishError>>,
}

/// How many uploads make the record worth writing again with their ETags.
const RECORD_AGAIN_AFTER: usize = 16;

async fn publish_under_lease<T: Target>(
    target: &T,
    desired: &Loaded,
    opts: &Options,
    lease: &Lease,
    (planned, plan, mut listing, fast): (State, Plan, Listing, bool),
    first: Under,
    progress: &dyn Progress,
) -> Result<Outcome, PublishError> {
    // A stale lease's dead holder may have written after it was taken, and
    // someone may have switched before the lease was ours: then the plan
    // is made again from a new listing. The lease was read back (at once
    // with the pointer) as the first step under it; a later check is
    // needed only after a slow re-plan.
    let Under { held, now, early } = first;
    held?;
    let now = now?;
    let early = early.transpose()?;
    let moved = now.as_ref().map(|p| p.etag.as_str()) != planned.pointer_etag();
    let now = if moved { live_pointer(target, now)? } else { None };
    let fast = fast && !moved && !lease.took_over();
    if lease.took_over() {
        listing = Listing::spawn(target);
    }
    let (state, plan) = if !moved {
        (planned, plan)
    } else {
        listing = Listing::spawn(target);
        let live = match &now {
            Some(p) => live_record(target, &p.pointer).await?,
            None => None,
        };
        let state = State::assemble(target, listing.get().await?.to_vec(), now, live, &desired.index.files).await?;
        let plan = Plan::new(&target.name(), &state, desired, opts)?;
        if let Some(hooks) = &opts.hooks {
            hooks.check(&state.live_files, &desired.index).await?;
        }
        (state, plan)
    };
    let generation = plan.generation;
    let live = live_resources(&state);
    let listed = listing.get().await?.to_vec();
    // Every file the new pointer lists must be in the target: a rollback's
    // are there already; a bundle's missing ones (entering, or lost from a
    // damaged target the listing shows) are uploaded.
    let uploads: Vec<usize> = if desired.retained {
        let have: BTreeSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        if let Some(lost) = desired.index.files.iter().find(|f| !have.contains(f.path.as_str())) {
            return Err(PublishError::Unrestorable {
                target: target.name(),
                generation: desired.source.rollback_of.unwrap_or(0),
                why: format!("its object file `{}` is gone", lost.path),
            });
        }
        Vec::new()
    } else {
        uploads_for(fast, &listed, desired, &live)
    };

    let (record, record_bytes) = match early {
        Some(early) if fast => early,
        _ => new_record(target, desired, opts, &state, &plan, &listed, fast).await?,
    };
    // The record goes out first: a publish that fails after it leaves a
    // record above the live generation, which sends the next publish to a
    // whole listing (and its garbage collection) instead of the manifest.
    if moved || lease.took_over() {
        lease.check(target).await?;
    }
    // The switch needs the lease still ours and the pointer still the one
    // this plan started from: both are read while the record and the
    // files go out.
    let lease_kept = Aborting(lease.check_spawned(target));
    let pointer_kept = {
        let target = target.clone();
        Aborting(tokio::spawn(async move { pointer_etag(&target).await }))
    };
    let mut record_etag = target.put_tagged(&record_key(generation), &record_bytes, &Condition::None).await?;
    let written = upload_all(target, desired, &uploads, opts, progress).await?;
    // The record went out before the files, so it knows none of their
    // ETags, and the next publish would ask for each one (a HEAD per file,
    // 0.6 s for a first publish of 1000 apps on rclone). After a bulk upload
    // it is written again with what the target answered.
    let mut record = record;
    let mut record_bytes = record_bytes;
    if written.len() >= RECORD_AGAIN_AFTER && record.learn(&written) {
        record_bytes = serde_json::to_vec(&record).map_err(PublishError::Encode)?;
        record_etag = target.put_tagged(&record_key(generation), &record_bytes, &Condition::None).await?;
    }
    let plan = plan.uploading(uploads, desired);
    // What the target holds, for garbage collection and Flux's revision, without listing it again.
    let mut tracked = Tracked::from_listing(&listed);
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
    lease_kept.join().await?;
    if pointer_kept.join().await? != base {
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

    tracked.put(POINTER_KEY, etag.clone(), pointer_bytes.len() as u64);
    let replaced_rollback_of = replaced_rollback(&state, desired);
    let retained = record.held.as_ref().map(|held| {
        record.files.iter().map(|f| f.path.to_string()).chain(held.iter().map(|h| h.path.to_string())).collect()
    });
    let known = Known { listing: tracked.listing(), pointer, retained, pointer_etag: etag };
    crate::lifetime::let_go((state, record, listed));
    let (deleted, tracked, lease_checked) = match collect_garbage(target, opts.keep, lease, Some(known)).await {
        Ok(collected) => {
            collected.keys.iter().for_each(|k| tracked.delete(k));
            (collected.object_files, Some(tracked), collected.lease_checked)
        }
        Err(e) => {
            tracing::warn!(error = %e, "garbage collection failed; `nixflux gc` retries it");
            (0, None, false)
        }
    };
    Ok(Outcome { plan, deleted, replaced_rollback_of, tracked, lease_checked })
}
