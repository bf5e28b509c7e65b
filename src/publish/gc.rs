//! Garbage collection: deletes the object files no retained generation
//! references, and the records (with their revision notes) of generations that fell out of the
//! retention window (or never went live above it). Never deletes what the
//! live pointer, read again just before deleting, references; keeps
//! everything when a retained record cannot be read.

use std::collections::BTreeSet;
use std::time::Duration;

use super::error::PublishError;
use super::failpoint;
use super::generation::{parse_record_key, record_key, Pointer, OBJECTS_PREFIX, POINTER_KEY};
use super::lease::Lease;
use super::revision_note::{note_key, parse_note_key};
use super::state::load_pointer;
use super::target::{ObjectInfo, Target, TargetError};

/// How many retained records garbage collection reads at once.
const RECORD_BATCH: usize = 3;
/// How many deletes garbage collection has in flight at once.
const DELETE_BATCH: usize = 8;

/// The listing and live pointer, when the caller has them (right after a publish).
pub struct Known {
    pub listing: Vec<ObjectInfo>,
    pub pointer: Pointer,
    /// The object files the retained generations list, when the caller
    /// knows them (from the records' manifest): no record is read then.
    pub retained: Option<BTreeSet<String>>,
    /// The ETag `pointer` was written with, when the caller wrote it: a
    /// pointer read again with that ETag is that one, not parsed again.
    pub pointer_etag: Option<String>,
}

/// What a collection deleted: object files and records.
#[derive(Debug, Default)]
pub struct Collected {
    pub keys: Vec<String>,
    pub object_files: usize,
    /// Whether it found the lease still held as it began deleting.
    pub lease_checked: bool,
}

/// Collects garbage under `lease`, keeping `keep` generations (the live one
/// included).
pub async fn collect_garbage<T: Target>(
    target: &T,
    keep: usize,
    lease: &Lease,
    known: Option<Known>,
) -> Result<Collected, PublishError> {
    let Known { listing, pointer, retained: known_retained, pointer_etag } = match known {
        Some(k) => k,
        None => match load_pointer(target).await? {
            (listing, Some(live)) => Known { listing, pointer: live.pointer, retained: None, pointer_etag: None },
            (_, None) => return Ok(Collected::default()),
        },
    };
    let live = pointer.generation;
    let oldest_kept = live.saturating_sub(keep.max(1) as u64 - 1);
    let records: Vec<u64> = listing.iter().filter_map(|o| parse_record_key(&o.key)).collect();
    let stale_records: Vec<u64> = records.iter().copied().filter(|n| *n < oldest_kept || *n > live).collect();
    let stale_notes: Vec<u64> =
        listing.iter().filter_map(|o| parse_note_key(&o.key)).filter(|n| *n < oldest_kept || *n > live).collect();

    let known = known_retained.is_some();
    let mut retained: BTreeSet<String> = pointer.resources.iter().cloned().collect();
    retained.extend(known_retained.into_iter().flatten());
    let mut candidates: Vec<&str> = listing
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| k.starts_with(OBJECTS_PREFIX) && !retained.contains(*k))
        .collect();
    if !candidates.is_empty() && !known {
        // Only the retained records' file lists matter. A candidate is most
        // often held by a recent generation (the one just replaced), so the
        // records are read newest first, a few at a time, until every
        // candidate is found held or every record was read.
        let mut window: Vec<u64> = records.iter().copied().filter(|n| (oldest_kept..live).contains(n)).collect();
        window.sort_unstable_by(|a, b| b.cmp(a));
        for batch in window.chunks(RECORD_BATCH) {
            let mut tasks = tokio::task::JoinSet::new();
            for n in batch.iter().copied() {
                let target = target.clone();
                tasks.spawn(async move { (n, load_resources(&target, n).await) });
            }
            while let Some(done) = tasks.join_next().await {
                let (n, resources) = match done {
                    Ok(v) => v,
                    Err(e) => std::panic::resume_unwind(e.into_panic()),
                };
                match resources? {
                    Some(r) => retained.extend(r),
                    None => {
                        tracing::warn!(
                            generation = n,
                            "a retained generation record is unreadable; keeping every object"
                        );
                        return Ok(Collected::default());
                    }
                }
            }
            candidates.retain(|k| !retained.contains(*k));
            if candidates.is_empty() {
                break;
            }
        }
    }
    if candidates.is_empty() && stale_records.is_empty() && stale_notes.is_empty() {
        return Ok(Collected::default());
    }
    // The pointer once more: whatever is live now is never deleted.
    let (held, pointer_now) = tokio::join!(lease.check(target), target.get(POINTER_KEY));
    held?;
    let mut collected = Collected { lease_checked: true, ..Collected::default() };
    if let Some(fetched) = pointer_now?.filter(|f| pointer_etag.as_ref() != Some(&f.etag)) {
        if let Ok(p) = Pointer::parse(&fetched.bytes) {
            let now: BTreeSet<String> = p.resources.into_iter().collect();
            candidates.retain(|k| !now.contains(*k));
        }
    }
    // Object files first, then the records and notes.
    delete_all(target, &candidates, |key| {
        collected.keys.push(key.to_owned());
        collected.object_files += 1;
        failpoint::hit("gc");
    })
    .await?;
    let stale: Vec<String> =
        stale_records.into_iter().map(record_key).chain(stale_notes.into_iter().map(note_key)).collect();
    delete_all(target, &stale, |key| collected.keys.push(key.to_owned())).await?;
    tracing::info!(deleted = collected.object_files, "garbage collected");
    Ok(collected)
}

/// Deletes `keys`, `DELETE_BATCH` at a time, calling `deleted` for each
/// one gone (in order, up to the first that failed).
async fn delete_all<K: AsRef<str>>(
    target: &impl Target,
    keys: &[K],
    mut deleted: impl FnMut(&str),
) -> Result<(), TargetError> {
    for batch in keys.chunks(DELETE_BATCH) {
        let done = futures::future::join_all(batch.iter().map(|key| target.delete(key.as_ref()))).await;
        for (key, done) in batch.iter().zip(done) {
            done?;
            deleted(key.as_ref());
        }
    }
    Ok(())
}

/// The object files a generation's record lists, reading nothing else of it.
pub async fn load_resources(target: &impl Target, generation: u64) -> Result<Option<Vec<String>>, TargetError> {
    /// Format 2 lists `files`, format 1 `bundle.files`.
    #[derive(serde::Deserialize)]
    struct Files {
        files: Option<Vec<Path>>,
        bundle: Option<Paths>,
    }
    #[derive(serde::Deserialize)]
    struct Paths {
        files: Vec<Path>,
    }
    #[derive(serde::Deserialize)]
    struct Path {
        path: crate::bundle::ObjectFile,
    }
    Ok(target
        .get(&record_key(generation))
        .await?
        .and_then(|f| serde_json::from_slice::<Files>(&f.bytes).ok())
        .and_then(|f| f.files.or(f.bundle.map(|b| b.files)))
        .map(|files| files.into_iter().map(|p| p.path.to_string()).collect()))
}

/// `nixflux gc`: garbage collection under the lease.
pub async fn gc(target: &impl Target, keep: usize, ttl: Duration) -> Result<usize, PublishError> {
    let lease = Lease::acquire(target, ttl).await?;
    let result = collect_garbage(target, keep, &lease, None).await;
    let _ = lease.release(target).await;
    result.map(|c| c.object_files)
}
