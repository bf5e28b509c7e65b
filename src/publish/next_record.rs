//! The record a publish writes for its new generation.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::Loaded;
use super::error::PublishError;
use super::lease;
use super::listing::Listing;
use super::manifest::{held, last_refs, manifest, record_numbers};
use super::options::Options;
use super::plan::Plan;
use super::record::{record_files, Held, Record, RECORD_FORMAT};
use super::state::State;
use super::target::{ObjectInfo, Target};

/// `held` of the next generation from the live record's manifest: the
/// object files a retained generation still lists that `desired` does not.
pub fn held_from(live: &Record, desired: &Loaded, oldest_kept: u64) -> Vec<Held> {
    let own: BTreeSet<&str> = desired.index.files.iter().map(|f| f.path.as_str()).collect();
    manifest(live)
        .into_iter()
        .filter(|(path, (_, _, last_ref))| *last_ref >= oldest_kept && !own.contains(path.as_str()))
        .filter_map(|(path, (etag, size, last_ref))| Some(Held { path: path.parse().ok()?, etag, size, last_ref }))
        .collect()
}

/// The record of `generation`: its files with the ETags `listed` shows.
/// A file `desired` left unread holds the objects the live record `live`
/// lists for it (see `Indexed::unread_ok`): their sha256 is taken from
/// there instead of hashed again.
pub fn record_of(
    generation: u64,
    desired: &Loaded,
    plan: &Plan,
    listed: &[ObjectInfo],
    held: Option<Vec<Held>>,
    live: Option<&Record>,
) -> Record {
    let by_key: BTreeMap<&str, &ObjectInfo> = listed.iter().map(|o| (o.key.as_str(), o)).collect();
    let live_sha: foldhash::HashMap<&str, &str> =
        live.iter().flat_map(|r| r.files.iter().map(|f| (f.path.as_str(), f.objects_sha256.as_str()))).collect();
    let known = |i: usize, f: &crate::bundle::IndexFile| -> Option<String> {
        let unread = desired.files.get(i).is_some_and(|l| l.is_unread() && l.path == f.path.as_str());
        unread.then(|| live_sha.get(f.path.as_str()).map(|s| (*s).to_owned())).flatten()
    };
    let mut files = record_files(&desired.index.files, known);
    for f in &mut files {
        if let Some(o) = by_key.get(f.path.as_str()).filter(|o| !o.etag.is_empty()) {
            f.etag = Some(o.etag.clone());
            f.size = o.size;
        }
    }
    Record {
        format_version: RECORD_FORMAT,
        generation,
        bundle_digest: desired.index.digest.clone(),
        spec_digest: Some(desired.index.spec_digest.clone()),
        published_at: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        publisher: publisher(),
        nixflux_version: env!("CARGO_PKG_VERSION").to_owned(),
        source: desired.source.clone(),
        changes: plan.changes.clone(),
        files,
        held,
        objects: None,
    }
}

pub fn publisher() -> String {
    // SAFETY: getuid has no preconditions and cannot fail.
    let user = std::env::var("USER").unwrap_or_else(|_| format!("uid{}", unsafe { libc::getuid() }));
    format!("{user}@{}", lease::hostname())
}

/// The record of `plan`'s generation: the generation's files and what
/// else the target holds for the retained generations, with the ETags
/// known so far; and its bytes.
pub async fn new_record<T: Target>(
    target: &T,
    desired: &Loaded,
    opts: &Options,
    state: &State,
    plan: &Plan,
    listed: &[ObjectInfo],
    fast: bool,
) -> Result<(Record, Vec<u8>), PublishError> {
    let generation = plan.generation;
    let oldest_kept = generation.saturating_sub(opts.keep.max(1) as u64 - 1);
    let held = match (fast, &state.live) {
        (true, Some(live_record)) => Some(held_from(live_record, desired, oldest_kept)),
        _ => {
            let window: Vec<u64> =
                record_numbers(listed).into_iter().filter(|n| (oldest_kept..generation).contains(n)).collect();
            let own: BTreeSet<&str> = desired.index.files.iter().map(|f| f.path.as_str()).collect();
            last_refs(target, &window).await?.map(|refs| held(listed, &refs, &own, oldest_kept))
        }
    };
    // Only the state the bundle was read against vouches for its unread files.
    let live = if fast { state.live.as_ref() } else { None };
    let record = record_of(generation, desired, plan, listed, held, live);
    let bytes = serde_json::to_vec(&record).map_err(PublishError::Encode)?;
    Ok((record, bytes))
}

/// The record of the plan as made before the lease, for the usual case
/// that nothing moved meanwhile.
pub async fn early_record<T: Target>(
    target: &T,
    desired: &Loaded,
    opts: &Options,
    planned: &State,
    plan: &Plan,
    listing: &mut Listing,
) -> Result<(Record, Vec<u8>), PublishError> {
    let listed = listing.get().await?;
    new_record(target, desired, opts, planned, plan, listed, true).await
}
