//! What the target holds, known without listing every object file: the
//! live record's manifest (its files and `held`, with the ETags the target
//! gave) plus two cheap listings, the root's own keys and `generations/`.
//! rclone hashes every file it lists, so a listing of a thousand object
//! files costs more than the rest of a one-app publish together.
//!
//! The manifest is used only while nothing but nixflux publishes wrote the
//! prefix since its record: the root shows no sub-prefix but `objects/`
//! and `generations/`, no other publisher's lease, and `generations/` no
//! record above the live one (which a failed publish leaves, since the
//! record goes out before its files). Otherwise the target is listed whole.

use std::collections::{BTreeMap, BTreeSet};

use super::error::PublishError;
use super::generation::{parse_record_key, GENERATIONS_PREFIX, OBJECTS_PREFIX};
use super::record::{Held, Record};
use super::target::{ObjectInfo, Target, TargetError};

/// The root's keys and sub-prefixes, and the keys under `generations/`.
pub struct Overview {
    pub root: Vec<ObjectInfo>,
    pub prefixes: Vec<String>,
    pub generations: Vec<ObjectInfo>,
}

impl Overview {
    pub async fn read(target: &impl Target) -> Result<Overview, TargetError> {
        let (root, generations) = tokio::join!(target.list_shallow(""), target.list_shallow(GENERATIONS_PREFIX));
        let (root, prefixes) = root?;
        let (mut generations, deeper) = generations?;
        // Anything deeper under `generations/` is not ours: list it whole.
        let mut prefixes = prefixes;
        prefixes.extend(deeper);
        generations.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Overview { root, prefixes, generations })
    }

    /// Why the manifest of the live record `live` cannot stand in for a
    /// listing, if it cannot.
    pub fn unfit(&self, live: &Record) -> Option<String> {
        if live.held.is_none() {
            return Some("the live record has no manifest (format 1)".into());
        }
        if let Some(p) = self.prefixes.iter().find(|p| *p != OBJECTS_PREFIX && *p != GENERATIONS_PREFIX) {
            return Some(format!("the target holds `{p}`, which nixflux did not write"));
        }
        if let Some(n) = self.generations.iter().filter_map(|o| parse_record_key(&o.key)).find(|n| *n > live.generation)
        {
            return Some(format!("generation {n} has a record but never went live (a publish failed)"));
        }
        None
    }

    /// The listing the target would give: the root's keys, `generations/`,
    /// and the object files of the manifest.
    pub fn listing(&self, live: &Record) -> Vec<ObjectInfo> {
        let mut out: Vec<ObjectInfo> = self.root.iter().chain(&self.generations).cloned().collect();
        for (path, (etag, size, _)) in manifest(live) {
            out.push(ObjectInfo { key: path, etag: etag.unwrap_or_default(), size });
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}

/// Every object file a record knows the target holds: path → (ETag, size,
/// newest generation listing it).
pub fn manifest(record: &Record) -> BTreeMap<String, (Option<String>, u64, u64)> {
    let mut out: BTreeMap<String, (Option<String>, u64, u64)> = BTreeMap::new();
    for h in record.held.iter().flatten() {
        out.insert(h.path.to_string(), (h.etag.clone(), h.size, h.last_ref));
    }
    for f in &record.files {
        out.insert(f.path.to_string(), (f.etag.clone(), f.size, record.generation));
    }
    out
}

/// The newest generation listing each object file, over the retained
/// records `window` (read from the target): `None` when one is unreadable.
pub async fn last_refs(target: &impl Target, window: &[u64]) -> Result<Option<BTreeMap<String, u64>>, PublishError> {
    let reads = futures::future::join_all(window.iter().map(|n| super::gc::load_resources(target, *n))).await;
    let mut out = BTreeMap::new();
    for (n, read) in window.iter().zip(reads) {
        let Some(paths) = read? else { return Ok(None) };
        for p in paths {
            let e = out.entry(p).or_insert(*n);
            *e = (*e).max(*n);
        }
    }
    Ok(Some(out))
}

/// `held` of generation `generation`: the object files `listing` shows
/// that a retained generation other than it lists (by `last_refs`), not in
/// `own` (its own files).
pub fn held(
    listing: &[ObjectInfo],
    last_refs: &BTreeMap<String, u64>,
    own: &BTreeSet<&str>,
    oldest_kept: u64,
) -> Vec<Held> {
    listing
        .iter()
        .filter(|o| o.key.starts_with(OBJECTS_PREFIX) && !own.contains(o.key.as_str()))
        .filter_map(|o| {
            let last_ref = *last_refs.get(&o.key)?;
            let path = o.key.parse().ok()?;
            (last_ref >= oldest_kept).then(|| Held {
                path,
                etag: (!o.etag.is_empty()).then(|| o.etag.clone()),
                size: o.size,
                last_ref,
            })
        })
        .collect()
}

/// The records `generations/` holds, by number.
pub fn record_numbers(listing: &[ObjectInfo]) -> Vec<u64> {
    listing.iter().filter_map(|o| parse_record_key(&o.key)).collect()
}

/// Fills the ETags a manifest lacks (files whose upload answered none, or
/// that went out with the record) from the target itself.
pub async fn fill_etags(target: &impl Target, listing: &mut [ObjectInfo]) -> Result<(), TargetError> {
    let unknown: Vec<usize> = (0..listing.len())
        .filter(|i| listing[*i].etag.is_empty() && listing[*i].key.starts_with(OBJECTS_PREFIX))
        .collect();
    let got = futures::future::join_all(unknown.iter().map(|i| target.get(&listing[*i].key))).await;
    for (i, got) in unknown.into_iter().zip(got) {
        if let Some(f) = got? {
            listing[i].size = f.bytes.len() as u64;
            listing[i].etag = f.etag;
        }
    }
    Ok(())
}
