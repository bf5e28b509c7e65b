//! The record a publish writes for its new generation.

use std::collections::{BTreeMap, BTreeSet};

use super::desired::Loaded;
use super::lease;
use super::manifest::manifest;
use super::plan::Plan;
use super::record::{record_files, Held, Record, RECORD_FORMAT};
use super::target::ObjectInfo;

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
pub fn record_of(
    generation: u64,
    desired: &Loaded,
    plan: &Plan,
    listed: &[ObjectInfo],
    held: Option<Vec<Held>>,
) -> Record {
    let by_key: BTreeMap<&str, &ObjectInfo> = listed.iter().map(|o| (o.key.as_str(), o)).collect();
    let mut files = record_files(&desired.index.files);
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
