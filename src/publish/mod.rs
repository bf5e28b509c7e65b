//! Publishing bundles into targets as generations.
//!
//! The protocol (see `docs/publishing.md`): upload the object files the
//! target lacks (content-addressed, so never overwritten), write the
//! generation record, then switch the pointer `kustomization.yaml` in one
//! atomic write, then delete what no retained generation needs. Readers see
//! the old generation or the new one, never a mix; a crash anywhere leaves
//! the old one live and whole, and running again finishes the job.

pub mod dir;
pub mod failpoint;
pub mod generation;
pub mod lease;
pub mod s3;
pub mod target;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::bundle::{sha256_hex, Bundle, BundleFile, BundleIndex};
use generation::{
    parse_record_key, record_key, Changes, Pointer, Record, Source, OBJECTS_PREFIX, POINTER_KEY, RECORD_FORMAT,
};
use lease::{Lease, LeaseError};
use target::{Condition, ObjectInfo, Target, TargetError};

#[derive(Debug, Clone)]
pub struct Options {
    /// Generations whose objects are kept (the live one included).
    pub keep: usize,
    pub allow_empty: bool,
    pub allow_prune: bool,
    /// The share of live objects a generation may remove without `allow_prune`.
    pub max_prune_percent: u32,
    pub dry_run: bool,
    pub lease_ttl: Duration,
    /// Object uploads in flight at once.
    pub concurrency: usize,
    /// Show a progress bar (on a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keep: DEFAULT_KEEP as usize,
            allow_empty: false,
            allow_prune: false,
            max_prune_percent: DEFAULT_MAX_PRUNE_PERCENT,
            dry_run: false,
            lease_ttl: lease::DEFAULT_TTL,
            concurrency: 16,
            progress: false,
        }
    }
}

pub const DEFAULT_KEEP: u64 = 10;
pub const DEFAULT_MAX_PRUNE_PERCENT: u32 = 50;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("refusing to publish an empty generation to {target}: Flux would prune every object it applied")]
    Empty { target: String },
    #[error("refusing to publish to {target}: the new generation removes {removed} of the {live} live objects ({percent}%, more than {max}%)")]
    Prune { target: String, removed: usize, live: usize, percent: usize, max: u32 },
    #[error("{target} holds a `kustomization.yaml` that nixflux did not write: {why}")]
    ForeignPointer { target: String, why: String },
    #[error("the live generation of {target} changed while publishing (another publisher?); nothing was switched")]
    Changed { target: String },
    #[error("generation {generation} is not retained in {target}")]
    NoSuchGeneration { target: String, generation: u64 },
    #[error("generation {generation} in {target} cannot be restored: {why}")]
    Unrestorable { target: String, generation: u64, why: String },
    #[error("{target} has no live generation")]
    NothingLive { target: String },
    #[error(transparent)]
    Bundle(crate::bundle::read::ReadError),
    #[error(transparent)]
    Nar(#[from] crate::nix::nar::NarError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
    #[error(transparent)]
    Target(#[from] TargetError),
}

impl PublishError {
    /// Refusals caused by what the user asked for (exit code 2).
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            PublishError::Empty { .. }
                | PublishError::Bundle(
                    crate::bundle::read::ReadError::Damaged { .. }
                        | crate::bundle::read::ReadError::Format { .. }
                        | crate::bundle::read::ReadError::Index { .. }
                )
                | PublishError::Prune { .. }
                | PublishError::ForeignPointer { .. }
                | PublishError::NoSuchGeneration { .. }
                | PublishError::NothingLive { .. }
        )
    }

    pub fn hint(&self) -> Option<&'static str> {
        match self {
            PublishError::Empty { .. } => Some("if you really mean to remove everything, pass `--allow-empty`"),
            PublishError::Prune { .. } => {
                Some("check `nixflux diff`; if the removals are intended, pass `--allow-prune`")
            }
            PublishError::ForeignPointer { .. } => Some("publish to an empty prefix, or remove what is there first"),
            PublishError::Changed { .. } | PublishError::Lease(_) => {
                Some("run the command again once the other publisher is done")
            }
            PublishError::NoSuchGeneration { .. } => Some("`nixflux history` lists the retained generations"),
            PublishError::Bundle(_) => Some("render it again with `nixflux render SPEC --out DIR`"),
            _ => None,
        }
    }
}

/// What a target holds now.
#[derive(Debug, Clone)]
pub struct State {
    pub listing: Vec<ObjectInfo>,
    /// The live pointer and its ETag.
    pub pointer: Option<(Pointer, String)>,
    /// The live generation's record (absent for an empty target).
    pub live: Option<Record>,
}

impl State {
    pub async fn load(target: &Target) -> Result<State, PublishError> {
        let (listing, pointer) = Self::load_pointer(target).await?;
        Self::with_record(target, listing, pointer).await
    }

    /// The listing and the live pointer, fetched together.
    async fn load_pointer(target: &Target) -> Result<(Vec<ObjectInfo>, Option<(Pointer, String)>), PublishError> {
        let (listing, pointer) = tokio::join!(target.list(), read_pointer(target));
        Ok((listing?, pointer?))
    }

    async fn with_record(
        target: &Target,
        listing: Vec<ObjectInfo>,
        pointer: Option<(Pointer, String)>,
    ) -> Result<State, PublishError> {
        let live = match &pointer {
            Some((p, _)) => load_record(target, p.generation).await?.filter(|r| r.bundle_digest == p.bundle_digest),
            None => None,
        };
        if let (Some((p, _)), None) = (&pointer, &live) {
            tracing::warn!(
                generation = p.generation,
                "the live generation has no matching record; its history is lost"
            );
        }
        Ok(State { listing, pointer, live })
    }

    pub fn generation(&self) -> Option<u64> {
        self.pointer.as_ref().map(|(p, _)| p.generation)
    }

    fn live_object_count(&self) -> usize {
        self.live.as_ref().map_or(0, Record::object_count)
    }
}

/// The live pointer and its ETag; an error if the prefix holds a
/// kustomization nixflux did not write.
pub async fn read_pointer(target: &Target) -> Result<Option<(Pointer, String)>, PublishError> {
    match target.get(POINTER_KEY).await? {
        None => Ok(None),
        Some((bytes, etag)) => {
            let p = Pointer::parse(&bytes)
                .map_err(|why| PublishError::ForeignPointer { target: target.url().to_string(), why })?;
            Ok(Some((p, etag)))
        }
    }
}

pub async fn load_record(target: &Target, generation: u64) -> Result<Option<Record>, TargetError> {
    Ok(target.get(&record_key(generation)).await?.and_then(|(bytes, _)| serde_json::from_slice(&bytes).ok()))
}

/// The revision Flux's Bucket source computes from a listing: sha256 over
/// `<key> <etag>\n` for every object, sorted by key (keys with the prefix).
pub fn flux_revision(prefix: &str, listing: &[ObjectInfo]) -> String {
    let mut lines: Vec<String> = listing.iter().map(|o| format!("{prefix}{} {}\n", o.key, o.etag)).collect();
    lines.sort();
    format!("sha256:{}", sha256_hex(lines.concat().as_bytes()))
}

/// What should become live.
pub struct Desired {
    /// The bundle digest: all a no-op publish needs.
    pub digest: String,
    /// The bundle's index; for a lazy bundle, filled by `load`.
    pub index: BundleIndex,
    /// Object files to make sure the target has (empty for a rollback,
    /// whose files must already be there).
    pub files: Vec<BundleFile>,
    /// A bundle directory whose index and files are read (and verified)
    /// only when the publish has something to do.
    pub lazy: Option<std::path::PathBuf>,
    pub source: Source,
}

impl Desired {
    pub fn from_bundle(bundle: Bundle, source: Source) -> Desired {
        Desired { digest: bundle.index.digest.clone(), index: bundle.index, files: bundle.objects, lazy: None, source }
    }

    pub fn from_record(record: Record, source: Source) -> Desired {
        Desired { digest: record.bundle.digest.clone(), index: record.bundle, files: Vec::new(), lazy: None, source }
    }

    /// The bundle at `dir`, known by its digest until `load` reads the rest.
    pub fn from_dir(dir: &std::path::Path, source: Source) -> Result<Desired, crate::bundle::read::ReadError> {
        let digest = crate::bundle::read::read_digest(dir)?;
        let index = BundleIndex {
            format_version: crate::bundle::index::FORMAT_VERSION,
            digest: digest.clone(),
            spec_digest: String::new(),
            nixflux_version: String::new(),
            files: Vec::new(),
            images: Vec::new(),
            store_paths: Vec::new(),
        };
        Ok(Desired { digest, index, files: Vec::new(), lazy: Some(dir.to_owned()), source })
    }

    /// Reads and verifies a lazy bundle: its index and object files.
    fn load(&mut self) -> Result<(), PublishError> {
        if let Some(dir) = self.lazy.take() {
            let bundle = Bundle::read(&dir).map_err(PublishError::Bundle)?;
            if bundle.index.digest != self.digest {
                return Err(PublishError::Bundle(crate::bundle::read::ReadError::Damaged {
                    bundle: dir,
                    why: "it changed while it was being published".into(),
                }));
            }
            self.index = bundle.index;
            self.files = bundle.objects;
            // A store-path bundle is recorded with its NAR hash; computed only
            // now, so that a no-op publish does not hash the whole bundle.
            if let Some(store_path) = &self.source.store_path {
                self.source.nar_hash =
                    Some(crate::nix::nar::hash_path(std::path::Path::new(store_path))?.to_nix_string());
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub target: String,
    pub generation_before: Option<u64>,
    pub generation_after: Option<u64>,
    pub bundle_digest: String,
    pub unchanged: bool,
    pub dry_run: bool,
    pub changes: Changes,
    pub files_uploaded: usize,
    pub bytes_uploaded: u64,
    pub objects_deleted: usize,
    /// The revision Flux will compute for the target after this publish
    /// (not computed for a publish that changed nothing).
    pub flux_revision: Option<String>,
}

/// The object files the target lacks, or holds only partly.
fn missing_files<'a>(listing: &[ObjectInfo], files: &'a [BundleFile]) -> Vec<&'a BundleFile> {
    let listed: BTreeMap<&str, &ObjectInfo> = listing.iter().map(|o| (o.key.as_str(), o)).collect();
    files.iter().filter(|f| !has_whole_copy(listed.get(f.path.as_str()).copied(), f)).collect()
}

/// Whether the target's copy of `file` is whole: its ETag is the MD5 of the
/// content where the server lists MD5 ETags, else its size matches.
fn has_whole_copy(listed: Option<&ObjectInfo>, file: &BundleFile) -> bool {
    let Some(o) = listed else { return false };
    let md5_like = o.etag.len() == 32 && o.etag.bytes().all(|c| c.is_ascii_hexdigit());
    if md5_like {
        o.etag.eq_ignore_ascii_case(&dir::md5_hex(&file.content))
    } else {
        o.size == file.content.len() as u64
    }
}

fn guard(
    target: &Target,
    state: &State,
    desired: &Desired,
    changes: &Changes,
    opts: &Options,
) -> Result<(), PublishError> {
    let name = target.url().to_string();
    let objects: usize = desired.index.files.iter().map(|f| f.objects.len()).sum();
    if objects == 0 && !opts.allow_empty {
        return Err(PublishError::Empty { target: name });
    }
    let live = state.live_object_count();
    let removed = changes.removed.len();
    if live > 0 && removed * 100 > opts.max_prune_percent as usize * live && !opts.allow_prune && objects > 0 {
        return Err(PublishError::Prune {
            target: name,
            removed,
            live,
            percent: removed * 100 / live,
            max: opts.max_prune_percent,
        });
    }
    Ok(())
}

fn publisher() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| format!("uid{}", unsafe { libc::getuid() }));
    format!("{user}@{}", lease::hostname())
}

/// Makes `desired` the live generation of `target`.
pub async fn publish(target: &Target, mut desired: Desired, opts: &Options) -> Result<Report, PublishError> {
    let name = target.url().to_string();
    // Publishing what is live writes nothing, so the bucket and Flux's
    // revision stay as they are. One read of the pointer says so; the
    // listing (which only the printed revision would need) is skipped.
    let pointer = read_pointer(target).await?;
    if let Some((p, _)) = pointer.as_ref().filter(|(p, _)| p.bundle_digest == desired.digest) {
        return Ok(Report {
            target: name,
            generation_before: Some(p.generation),
            generation_after: Some(p.generation),
            bundle_digest: desired.digest.clone(),
            unchanged: true,
            dry_run: opts.dry_run,
            changes: Changes::default(),
            files_uploaded: 0,
            bytes_uploaded: 0,
            objects_deleted: 0,
            flux_revision: None,
        });
    }
    let listing = target.list().await?;
    desired.load()?;
    let planned = State::with_record(target, listing, pointer).await?;
    let before = planned.generation();
    let changes = Changes::between(planned.live.as_ref().map(|r| &r.bundle), &desired.index);
    let digest = desired.index.digest.clone();
    let report =
        |after: Option<u64>, state_listing: &[ObjectInfo], uploaded: usize, bytes: u64, deleted: usize| Report {
            target: name.clone(),
            generation_before: before,
            generation_after: after,
            bundle_digest: digest.clone(),
            unchanged: false,
            dry_run: opts.dry_run,
            changes: changes.clone(),
            files_uploaded: uploaded,
            bytes_uploaded: bytes,
            objects_deleted: deleted,
            flux_revision: Some(flux_revision(target.key_prefix(), state_listing)),
        };
    guard(target, &planned, &desired, &changes, opts)?;
    if opts.dry_run {
        let missing = missing_files(&planned.listing, &desired.files);
        let bytes = missing.iter().map(|f| f.content.len() as u64).sum();
        return Ok(report(Some(before.unwrap_or(0) + 1), &planned.listing, missing.len(), bytes, 0));
    }

    let lease = Lease::acquire(target, opts.lease_ttl).await?;
    failpoint::hit("lease");
    let result = publish_under_lease(target, &desired, opts, &lease, planned).await;
    let release = lease.release(target).await;
    let (changes, generation, uploaded, bytes, deleted) = result?;
    if let Err(e) = release {
        tracing::warn!(error = %e, "could not release the lease; it expires by itself");
    }
    let listing = target.list().await?;
    // Against the state under the lease, which the record holds too.
    let mut r = report(Some(generation), &listing, uploaded, bytes, deleted);
    r.changes = changes;
    Ok(r)
}

async fn publish_under_lease(
    target: &Target,
    desired: &Desired,
    opts: &Options,
    lease: &Lease,
    planned: State,
) -> Result<(Changes, u64, usize, u64, usize), PublishError> {
    // The plan holds if the pointer did not move before the lease was ours.
    let current = target.get(POINTER_KEY).await?.map(|(_, etag)| etag);
    let state =
        if current == planned.pointer.as_ref().map(|(_, e)| e.clone()) { planned } else { State::load(target).await? };
    let changes = Changes::between(state.live.as_ref().map(|r| &r.bundle), &desired.index);
    guard(target, &state, desired, &changes, opts)?;
    let generation = state.generation().unwrap_or(0) + 1;

    let missing: Vec<BundleFile> = missing_files(&state.listing, &desired.files).into_iter().cloned().collect();
    let bytes: u64 = missing.iter().map(|f| f.content.len() as u64).sum();
    let uploaded = missing.len();
    // What the target will hold, for garbage collection, without listing it again.
    let mut known = state.listing.clone();
    known.extend(missing.iter().map(|f| ObjectInfo {
        key: f.path.clone(),
        etag: String::new(),
        size: f.content.len() as u64,
    }));
    upload_all(target, missing, opts).await?;
    // Every resource the new pointer lists must now be in the target.
    if desired.files.is_empty() {
        let after = target.list().await?;
        let have: BTreeSet<&str> = after.iter().map(|o| o.key.as_str()).collect();
        if let Some(lost) = desired.index.files.iter().find(|f| !have.contains(f.path.as_str())) {
            return Err(PublishError::Unrestorable {
                target: target.url().to_string(),
                generation: desired.source.rollback_of.unwrap_or(0),
                why: format!("its object file `{}` is gone", lost.path),
            });
        }
    }
    target.sync().await?;

    lease.check(target).await?;
    let record = Record {
        format_version: RECORD_FORMAT,
        generation,
        bundle_digest: desired.index.digest.clone(),
        published_at: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        publisher: publisher(),
        nixflux_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: desired.source.clone(),
        changes,
        bundle: desired.index.clone(),
    };
    let record_bytes = serde_json::to_vec(&record).unwrap_or_default();
    target.put(&record_key(generation), &record_bytes, &Condition::None).await?;
    failpoint::hit("record");

    // The switch: only if the pointer is still the one this plan started from.
    lease.check(target).await?;
    let current = target.get(POINTER_KEY).await?.map(|(_, etag)| etag);
    let base = state.pointer.as_ref().map(|(_, etag)| etag.clone());
    if current != base {
        return Err(PublishError::Changed { target: target.url().to_string() });
    }
    let condition = base.map_or(Condition::IfAbsent, Condition::IfMatch);
    let pointer = Pointer { generation, bundle_digest: desired.index.digest.clone(), resources: record.resources() };
    target.put(POINTER_KEY, &pointer.to_bytes(), &condition).await.map_err(|e| match e {
        TargetError::PreconditionFailed { .. } => PublishError::Changed { target: target.url().to_string() },
        other => other.into(),
    })?;
    failpoint::hit("switch");
    tracing::info!(generation, "switched");

    known.push(ObjectInfo { key: record_key(generation), etag: String::new(), size: record_bytes.len() as u64 });
    let deleted = match collect_garbage(target, opts.keep, lease, Some((known, pointer.clone()))).await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "garbage collection failed; `nixflux gc` retries it");
            0
        }
    };
    Ok((record.changes, generation, uploaded, bytes, deleted))
}

async fn upload_all(target: &Target, files: Vec<BundleFile>, opts: &Options) -> Result<(), PublishError> {
    if files.is_empty() {
        return Ok(());
    }
    let bar = opts.progress.then(|| {
        let bar = indicatif::ProgressBar::new(files.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("uploading {pos}/{len} object files [{bar:30}] {per_sec} {eta}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for f in files {
        let target = target.clone();
        let permit = semaphore.clone();
        tasks.spawn(async move {
            let _permit = permit.acquire_owned().await;
            target.put(&f.path, &f.content, &Condition::None).await
        });
    }
    let mut first_error = None;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(())) => {
                failpoint::hit("upload");
                if let Some(b) = &bar {
                    b.inc(1);
                }
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
                tasks.abort_all();
            }
            Err(join) if join.is_cancelled() => {}
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Deletes object files no retained generation references, and records of
/// generations that fell out of the window. Never deletes what the live
/// pointer (read again just before deleting) references. `known` is the
/// listing and live pointer when the caller has them (right after a publish).
pub async fn collect_garbage(
    target: &Target,
    keep: usize,
    lease: &Lease,
    known: Option<(Vec<ObjectInfo>, Pointer)>,
) -> Result<usize, PublishError> {
    let (listing, pointer) = match known {
        Some(k) => k,
        None => {
            let (listing, pointer) = State::load_pointer(target).await?;
            match pointer {
                Some((p, _)) => (listing, p),
                None => return Ok(0),
            }
        }
    };
    let live = pointer.generation;
    let oldest_kept = live.saturating_sub(keep.max(1) as u64 - 1);
    let records: Vec<u64> = listing.iter().filter_map(|o| parse_record_key(&o.key)).collect();
    let stale_records: Vec<u64> = records.iter().copied().filter(|n| *n < oldest_kept || *n > live).collect();

    let mut retained: BTreeSet<String> = pointer.resources.iter().cloned().collect();
    let mut candidates: Vec<&str> = listing
        .iter()
        .map(|o| o.key.as_str())
        .filter(|k| k.starts_with(OBJECTS_PREFIX) && !retained.contains(*k))
        .collect();
    if !candidates.is_empty() {
        // Only the retained records' file lists matter: fetch those together.
        let mut tasks = tokio::task::JoinSet::new();
        for n in records.iter().copied().filter(|n| (oldest_kept..live).contains(n)) {
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
                    tracing::warn!(generation = n, "a retained generation record is unreadable; keeping every object");
                    return Ok(0);
                }
            }
        }
        candidates.retain(|k| !retained.contains(*k));
    }
    if candidates.is_empty() && stale_records.is_empty() {
        return Ok(0);
    }
    lease.check(target).await?;
    // The pointer once more: whatever is live now is never deleted.
    if let Some((bytes, _)) = target.get(POINTER_KEY).await? {
        if let Ok(p) = Pointer::parse(&bytes) {
            let now: BTreeSet<String> = p.resources.into_iter().collect();
            candidates.retain(|k| !now.contains(*k));
        }
    }
    let mut deleted = 0;
    for key in candidates {
        target.delete(key).await?;
        deleted += 1;
        failpoint::hit("gc");
    }
    for n in stale_records {
        target.delete(&record_key(n)).await?;
    }
    tracing::info!(deleted, "garbage collected");
    Ok(deleted)
}

/// The object files a generation's record lists, reading nothing else of it.
async fn load_resources(target: &Target, generation: u64) -> Result<Option<Vec<String>>, TargetError> {
    #[derive(serde::Deserialize)]
    struct Files {
        bundle: Paths,
    }
    #[derive(serde::Deserialize)]
    struct Paths {
        files: Vec<Path>,
    }
    #[derive(serde::Deserialize)]
    struct Path {
        path: String,
    }
    Ok(target
        .get(&record_key(generation))
        .await?
        .and_then(|(bytes, _)| serde_json::from_slice::<Files>(&bytes).ok())
        .map(|f| f.bundle.files.into_iter().map(|p| p.path).collect()))
}

/// `nixflux gc`: garbage collection under the lease.
pub async fn gc(target: &Target, keep: usize, ttl: Duration) -> Result<usize, PublishError> {
    let lease = Lease::acquire(target, ttl).await?;
    let result = collect_garbage(target, keep, &lease, None).await;
    let _ = lease.release(target).await;
    result
}

/// The retained generation records, oldest first.
pub async fn history(target: &Target) -> Result<Vec<Record>, PublishError> {
    let listing = target.list().await?;
    let mut out = Vec::new();
    for n in listing.iter().filter_map(|o| parse_record_key(&o.key)) {
        if let Some(r) = load_record(target, n).await? {
            out.push(r);
        }
    }
    out.sort_by_key(|r| r.generation);
    Ok(out)
}

/// What a rollback to `generation` (default: the one before the live one) publishes.
pub async fn rollback_target(target: &Target, generation: Option<u64>) -> Result<Desired, PublishError> {
    let state = State::load(target).await?;
    let name = target.url().to_string();
    let live = state.generation().ok_or(PublishError::NothingLive { target: name.clone() })?;
    let wanted =
        match generation {
            Some(n) => n,
            None => {
                let records = history(target).await?;
                records.iter().rev().map(|r| r.generation).find(|n| *n < live).ok_or(
                    PublishError::NoSuchGeneration { target: name.clone(), generation: live.saturating_sub(1) },
                )?
            }
        };
    let record = load_record(target, wanted)
        .await?
        .ok_or(PublishError::NoSuchGeneration { target: name.clone(), generation: wanted })?;
    if wanted > live {
        return Err(PublishError::NoSuchGeneration { target: name, generation: wanted });
    }
    let have: BTreeSet<&str> = state.listing.iter().map(|o| o.key.as_str()).collect();
    if let Some(lost) = record.bundle.files.iter().find(|f| !have.contains(f.path.as_str())) {
        return Err(PublishError::Unrestorable {
            target: name,
            generation: wanted,
            why: format!("its object file `{}` was garbage-collected", lost.path),
        });
    }
    Ok(Desired::from_record(
        record,
        Source { bundle_path: None, store_path: None, nar_hash: None, rollback_of: Some(wanted) },
    ))
}

/// The object files of the live generation, keyed by path.
pub async fn live_files(target: &Target, record: &Record) -> Result<BTreeMap<String, Vec<u8>>, PublishError> {
    let mut out = BTreeMap::new();
    for f in &record.bundle.files {
        if let Some((bytes, _)) = target.get(&f.path).await? {
            out.insert(f.path.clone(), bytes);
        }
    }
    Ok(out)
}
