//! Reading a target's past: the retained generation records, what a
//! rollback restores, and the object files of the live generation (for
//! `diff`).

use std::collections::{BTreeMap, BTreeSet};

use super::desired::Desired;
use super::error::PublishError;
use super::generation::{parse_record_key, Source};
use super::record::Record;
use super::state::{hydrate, load_record, State};
use super::target::Target;
use crate::bundle::{BundleIndex, IndexFile};

/// The retained generation records, oldest first.
pub async fn history(target: &impl Target) -> Result<Vec<Record>, PublishError> {
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
pub async fn rollback_target(target: &impl Target, generation: Option<u64>) -> Result<Desired, PublishError> {
    let state = State::load(target).await?;
    let name = target.name();
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
    if let Some(lost) = record.files.iter().find(|f| !have.contains(f.path.as_str())) {
        return Err(PublishError::Unrestorable {
            target: name,
            generation: wanted,
            why: format!("its object file `{}` was garbage-collected", lost.path),
        });
    }
    // Its objects: those it shares with the live generation, the rest read back.
    let files = match hydrate(target, &record, &state.live_files).await? {
        Ok(files) => files,
        Err(why) => return Err(PublishError::Unrestorable { target: name, generation: wanted, why }),
    };
    let index = BundleIndex {
        format_version: crate::bundle::index::FORMAT_VERSION,
        digest: record.bundle_digest.clone(),
        spec_digest: record.spec_digest.clone().unwrap_or_else(|| record.bundle_digest.clone()),
        nixflux_version: record.nixflux_version.clone(),
        files,
        images: Vec::new(),
        store_paths: Vec::new(),
    };
    let source = Source { bundle_path: None, store_path: None, nar_hash: None, rollback_of: Some(wanted) };
    Ok(Desired::Retained { index: Box::new(index), source })
}

/// The contents of `files` in the target, keyed by path.
pub async fn live_files(target: &impl Target, files: &[IndexFile]) -> Result<BTreeMap<String, Vec<u8>>, PublishError> {
    let mut out = BTreeMap::new();
    for f in files {
        if let Some(fetched) = target.get(f.path.as_str()).await? {
            out.insert(f.path.to_string(), fetched.bytes);
        }
    }
    Ok(out)
}
