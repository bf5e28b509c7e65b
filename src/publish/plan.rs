//! The plan of a publish, computed from the target's state and the desired
//! bundle without touching the target: the next generation number, the
//! object-level changes, the prune guard's verdict, and the object files to
//! upload (those the target lacks, or holds only partly).

use std::collections::{BTreeMap, BTreeSet};

use super::desired::Loaded;
use super::error::PublishError;
use super::generation::Changes;
use super::options::Options;
use super::state::State;
use super::target::dir::md5_hex;
use super::target::ObjectInfo;
use crate::bundle::loaded::LoadedFile;
use crate::object::data::data_removals;

#[derive(Debug, Clone)]
pub struct Plan {
    /// The generation this publish creates.
    pub generation: u64,
    pub changes: Changes,
    /// Indexes into the desired files of those to upload.
    pub uploads: Vec<usize>,
    pub upload_bytes: u64,
}

impl Plan {
    /// Plans the publish of `desired` over `state`, refusing what the guard
    /// refuses. The uploads are left to `uploading`, for the state the
    /// upload starts from.
    pub fn new(target: &str, state: &State, desired: &Loaded, opts: &Options) -> Result<Plan, PublishError> {
        if let Some(why) = &state.live_unknown {
            if !opts.allow_prune {
                return Err(PublishError::LiveUnknown { target: target.to_owned(), why: why.clone() });
            }
            tracing::warn!(%why, "the live objects are unknown; publishing anyway, as --allow-prune says");
        }
        let changes = Changes::between(&state.live_files, &desired.index.files);
        guard(target, state.live_object_count(), desired.object_count(), changes.removed.len(), opts)?;
        let data = data_removals(state.live_ids(), &changes.removed);
        if !data.is_empty() && !opts.allow_data_removal {
            return Err(PublishError::DataRemoval { target: target.to_owned(), objects: data });
        }
        Ok(Plan { generation: state.generation().unwrap_or(0) + 1, changes, uploads: Vec::new(), upload_bytes: 0 })
    }

    /// The plan uploading these files of `desired` (indexes).
    pub fn uploading(mut self, uploads: Vec<usize>, desired: &Loaded) -> Plan {
        self.uploads = uploads;
        self.upload_bytes = self.uploads.iter().map(|i| desired.files[*i].size).sum();
        self
    }
}

/// Indexes of the files of `desired` the live generation (`live`, its
/// object files) does not hold, once each: what a publish uploads without
/// waiting for a listing.
pub fn entering(desired: &Loaded, live: &BTreeSet<&str>) -> Vec<usize> {
    let mut seen = BTreeSet::new();
    (0..desired.files.len())
        .filter(|i| {
            let path = desired.files[*i].path.as_str();
            !live.contains(path) && seen.insert(path)
        })
        .collect()
}

/// The prune guard: no empty generation, and no removal of more than the
/// allowed share of the live objects, unless the options allow it.
pub fn guard(target: &str, live: usize, objects: usize, removed: usize, opts: &Options) -> Result<(), PublishError> {
    if objects == 0 && !opts.allow_empty {
        return Err(PublishError::Empty { target: target.to_owned() });
    }
    if live > 0 && removed * 100 > opts.max_prune_percent as usize * live && !opts.allow_prune && objects > 0 {
        return Err(PublishError::Prune {
            target: target.to_owned(),
            removed,
            live,
            percent: removed * 100 / live,
            max: opts.max_prune_percent,
        });
    }
    Ok(())
}

/// Indexes of the files the target lacks, or holds only partly, once
/// each, leaving out those in `skip` (uploaded already). A file of the live
/// generation (`live`) was checked whole when it went live and is checked
/// by size alone; any other copy is checked by its MD5 where it can be.
pub fn missing_files(
    listing: &[ObjectInfo],
    desired: &Loaded,
    live: &BTreeSet<&str>,
    skip: &BTreeSet<&str>,
) -> Vec<usize> {
    let listed: BTreeMap<&str, &ObjectInfo> = listing.iter().map(|o| (o.key.as_str(), o)).collect();
    let files = &desired.files;
    let mut seen = BTreeSet::new();
    (0..files.len())
        .filter(|i| {
            let f = &files[*i];
            let path = f.path.as_str();
            if skip.contains(path) {
                return false;
            }
            let whole = match listed.get(path) {
                Some(o) if live.contains(path) => o.size == f.size,
                listed => has_whole_copy(listed.copied(), f),
            };
            !whole && seen.insert(path)
        })
        .collect()
}

/// Whether the target's copy of `file` is whole: its ETag is the MD5 of the
/// content where the server lists MD5 ETags, else its size matches.
/// A file whose bytes cannot be read again has no whole copy: its upload
/// reports why.
pub fn has_whole_copy(listed: Option<&ObjectInfo>, file: &LoadedFile) -> bool {
    let Some(o) = listed else { return false };
    let md5_like = o.etag.len() == 32 && o.etag.bytes().all(|c| c.is_ascii_hexdigit());
    if md5_like {
        file.content().is_ok_and(|content| o.etag.eq_ignore_ascii_case(&md5_hex(&content)))
    } else {
        o.size == file.size
    }
}
