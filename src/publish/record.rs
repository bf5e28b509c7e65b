//! `generations/<n>.json`: the record of a generation, written before the
//! pointer switches to it.
//!
//! A record lists its generation's object files, not their objects: a file
//! is content-addressed, so the objects of a file the next bundle still has
//! are that bundle's own (checked against the sha256 of the objects recorded
//! here), and the few files that leave are read back from the target. A
//! one-app change thus reads and writes a record of a few hundred bytes per
//! file instead of the whole bundle index. With the files, a record keeps
//! what the target held after its publish: the ETag of each object file
//! and, for the files of older retained generations, the newest generation
//! that lists them (`held`), which is what garbage collection and Flux's
//! revision need without listing every object file again.
//!
//! Format 1 records (the whole bundle index) are still read.

use serde::{Deserialize, Serialize};

use super::generation::{Changes, Source};
use crate::bundle::index::objects_sha256;
use crate::bundle::{BundleIndex, IndexFile, ObjectFile, Sha256Digest};

pub const RECORD_FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Record {
    pub format_version: u32,
    pub generation: u64,
    pub bundle_digest: Sha256Digest,
    /// The digest of the spec the bundle came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_digest: Option<Sha256Digest>,
    /// RFC 3339 time of the publish.
    pub published_at: String,
    /// `user@host` of the publisher.
    pub publisher: String,
    pub nixflux_version: String,
    pub source: Source,
    pub changes: Changes,
    /// The generation's object files, in the bundle's order.
    pub files: Vec<RecordFile>,
    /// The object files of older retained generations that this one does
    /// not list, as the target held them after this publish. `None`: not
    /// known (a format 1 record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Vec<Held>>,
    /// A format 1 record's files with their objects.
    #[serde(skip)]
    pub objects: Option<Vec<IndexFile>>,
}

/// One object file of a generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordFile {
    pub path: ObjectFile,
    /// The app (or group) the file belongs to.
    pub owner: String,
    /// How many objects it holds.
    pub objects: usize,
    /// `bundle::index::objects_sha256` of its objects, verified when it
    /// went live.
    pub objects_sha256: String,
    /// The ETag the target listed or answered for it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub size: u64,
}

/// An object file of an older retained generation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Held {
    pub path: ObjectFile,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default)]
    pub size: u64,
    /// The newest generation that lists it.
    pub last_ref: u64,
}

/// A format 1 record: the whole bundle index.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RecordV1 {
    #[allow(dead_code)]
    format_version: u32,
    generation: u64,
    bundle_digest: Sha256Digest,
    published_at: String,
    publisher: String,
    nixflux_version: String,
    source: Source,
    changes: Changes,
    bundle: BundleIndex,
}

impl Record {
    /// Reads a record; `None` when it is not one nixflux can read.
    pub fn parse(bytes: &[u8]) -> Option<Record> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Format {
            format_version: u32,
        }
        // The current format first: the version is looked up (a second
        // pass over the whole text) only for a record that is not one.
        if let Ok(record) = serde_json::from_slice::<Record>(bytes) {
            return (record.format_version == RECORD_FORMAT).then_some(record);
        }
        match serde_json::from_slice::<Format>(bytes).ok()?.format_version {
            1 => serde_json::from_slice::<RecordV1>(bytes).ok().map(Record::from_v1),
            _ => None,
        }
    }

    /// Takes in the ETags and sizes the target answered for the files
    /// `written` (key, ETag, size); whether any file learnt one.
    pub fn learn(&mut self, written: &[(String, Option<String>, u64)]) -> bool {
        let answered: std::collections::HashMap<&str, (&str, u64)> =
            written.iter().filter_map(|(key, etag, size)| Some((key.as_str(), (etag.as_deref()?, *size)))).collect();
        let mut learnt = false;
        for file in self.files.iter_mut().filter(|f| f.etag.is_none()) {
            if let Some((etag, size)) = answered.get(file.path.as_str()) {
                file.etag = Some((*etag).to_owned());
                file.size = *size;
                learnt = true;
            }
        }
        learnt
    }

    fn from_v1(r: RecordV1) -> Record {
        Record {
            format_version: RECORD_FORMAT,
            generation: r.generation,
            bundle_digest: r.bundle_digest,
            spec_digest: Some(r.bundle.spec_digest),
            published_at: r.published_at,
            publisher: r.publisher,
            nixflux_version: r.nixflux_version,
            source: r.source,
            changes: r.changes,
            files: record_files(&r.bundle.files, |_, _| None),
            held: None,
            objects: Some(r.bundle.files),
        }
    }

    pub fn object_count(&self) -> usize {
        self.files.iter().map(|f| f.objects).sum()
    }

    pub fn resources(&self) -> Vec<String> {
        let mut seen = std::collections::BTreeSet::new();
        self.files.iter().map(|f| f.path.to_string()).filter(|p| seen.insert(p.clone())).collect()
    }
}

/// A bundle's files as a record lists them (ETags and sizes unknown).
/// `known` may give a file's `objects_sha256` (by its index in `files`)
/// where it is known already.
pub fn record_files(files: &[IndexFile], known: impl Fn(usize, &IndexFile) -> Option<String>) -> Vec<RecordFile> {
    files
        .iter()
        .enumerate()
        .map(|(i, f)| RecordFile {
            path: f.path.clone(),
            owner: f.owner.clone(),
            objects: f.objects.len(),
            objects_sha256: known(i, f).unwrap_or_else(|| objects_sha256(&f.objects)),
            etag: None,
            size: 0,
        })
        .collect()
}
