//! What a target holds now: its listing, the live pointer (with the ETag it
//! was read with), the live generation's record, and the objects Flux
//! builds from it; and the revision Flux computes from a listing.
//!
//! The live objects come from the live record when it agrees with the
//! pointer. When the record is missing, damaged or names another bundle,
//! they are read back from the object files the pointer lists, verified
//! against their names, with a loud warning: the prune guard always counts
//! what Flux would prune, never a silent "unknown".

use super::error::PublishError;
use super::generation::{record_key, Pointer, OBJECTS_PREFIX, POINTER_KEY};
use super::record::Record;
use super::target::{Fetched, ObjectInfo, Target, TargetError};
use crate::bundle::index::objects_sha256;
use crate::bundle::verify::objects_of;
use crate::bundle::{sha256_hex, IndexFile, IndexObject, ObjectFile};
use crate::flux::ignore::Ignore;
use crate::flux::revision::{self, SOURCEIGNORE_KEY};

/// The live pointer and the ETag it was read with (the switch's condition).
#[derive(Debug, Clone)]
pub struct LivePointer {
    pub pointer: Pointer,
    pub etag: String,
}

#[derive(Debug, Clone)]
pub struct State {
    pub listing: Vec<ObjectInfo>,
    pub pointer: Option<LivePointer>,
    /// The live generation's record, when it agrees with the pointer.
    pub live: Option<Record>,
    /// The files Flux builds now, with their objects.
    pub live_files: Vec<IndexFile>,
    /// Why the live objects could not be known, when they could not.
    pub live_unknown: Option<String>,
}

impl State {
    pub async fn load(target: &impl Target) -> Result<State, PublishError> {
        let (listing, pointer) = load_pointer(target).await?;
        Self::with_record(target, listing, pointer).await
    }

    /// Completes a state from a listing and pointer read already.
    pub async fn with_record(
        target: &impl Target,
        listing: Vec<ObjectInfo>,
        pointer: Option<LivePointer>,
    ) -> Result<State, PublishError> {
        let live = match &pointer {
            Some(p) => live_record(target, &p.pointer).await?,
            None => None,
        };
        Self::assemble(target, listing, pointer, live, &[]).await
    }

    /// Completes a state from what was read already. The live objects of
    /// a file `candidates` holds with the objects the record names (by
    /// their sha256) are taken from there; the others are read back from
    /// the target.
    pub async fn assemble(
        target: &impl Target,
        listing: Vec<ObjectInfo>,
        pointer: Option<LivePointer>,
        live: Option<Record>,
        candidates: &[IndexFile],
    ) -> Result<State, PublishError> {
        let (mut live_files, mut live_unknown) = (Vec::new(), None);
        match (&pointer, &live) {
            (_, Some(record)) => match hydrate(target, record, candidates).await? {
                Ok(files) => live_files = files,
                Err(why) => live_unknown = Some(why),
            },
            (Some(p), None) => match read_live_files(target, &p.pointer).await? {
                Ok(files) => {
                    tracing::warn!(
                        generation = p.pointer.generation,
                        objects = files.iter().map(|f| f.objects.len()).sum::<usize>(),
                        "the live generation has no matching record (its history is lost); its objects were read back from the target"
                    );
                    live_files = files;
                }
                Err(why) => live_unknown = Some(why),
            },
            (None, None) => {
                // No pointer: Flux builds every YAML file below the prefix.
                if let Some(o) = listing.iter().find(|o| o.key.starts_with(OBJECTS_PREFIX)) {
                    live_unknown = Some(format!(
                        "it holds object files (`{}`, ...) but no `{POINTER_KEY}`, so Flux builds every file below the prefix",
                        o.key
                    ));
                }
            }
        }
        Ok(State { listing, pointer, live, live_files, live_unknown })
    }

    pub fn generation(&self) -> Option<u64> {
        self.pointer.as_ref().map(|p| p.pointer.generation)
    }

    pub fn pointer_etag(&self) -> Option<&str> {
        self.pointer.as_ref().map(|p| p.etag.as_str())
    }

    pub fn live_object_count(&self) -> usize {
        crate::bundle::index::object_count(&self.live_files)
    }

    /// The ids of the objects Flux builds now.
    pub fn live_ids(&self) -> impl Iterator<Item = &crate::object::ObjectId> {
        self.live_files.iter().flat_map(|f| f.objects.iter().map(|o| &o.id))
    }
}

/// The object files a pointer lists, with the objects each holds as Flux
/// reads them; `Err` says why they cannot be known.
async fn read_live_files(
    target: &impl Target,
    pointer: &Pointer,
) -> Result<Result<Vec<IndexFile>, String>, TargetError> {
    let mut paths = Vec::with_capacity(pointer.resources.len());
    for resource in &pointer.resources {
        let Ok(path) = resource.parse::<ObjectFile>() else {
            return Ok(Err(format!("the pointer lists `{resource}`, which is not an object file")));
        };
        paths.push(path);
    }
    let fetched = fetch_files(target, &paths).await?;
    Ok(paths
        .into_iter()
        .zip(fetched)
        .map(|(path, objects)| {
            let sha256 = path.sha256().to_owned();
            Ok(IndexFile { path, sha256, owner: "(read from the target)".into(), objects: objects?.into() })
        })
        .collect())
}

/// The live generation's files with their objects: from `candidates` where
/// they hold the objects the record names, else read back from the target.
pub async fn hydrate(
    target: &impl Target,
    record: &Record,
    candidates: &[IndexFile],
) -> Result<Result<Vec<IndexFile>, String>, TargetError> {
    if let Some(files) = &record.objects {
        return Ok(Ok(files.clone()));
    }
    let known: foldhash::HashMap<&ObjectFile, &IndexFile> = candidates.iter().map(|f| (&f.path, f)).collect();
    let mut files: Vec<Option<IndexFile>> = Vec::with_capacity(record.files.len());
    let mut missing = Vec::new();
    for f in &record.files {
        match known.get(&f.path) {
            Some(c) if objects_sha256(&c.objects) == f.objects_sha256 => files.push(Some(IndexFile {
                path: f.path.clone(),
                sha256: f.path.sha256().to_owned(),
                owner: f.owner.clone(),
                objects: std::sync::Arc::clone(&c.objects),
            })),
            _ => {
                files.push(None);
                missing.push(f.path.clone());
            }
        }
    }
    let mut fetched = fetch_files(target, &missing).await?.into_iter();
    let mut out = Vec::with_capacity(files.len());
    for (slot, f) in files.into_iter().zip(&record.files) {
        let file = match slot {
            Some(file) => file,
            None => {
                let objects = match fetched.next() {
                    Some(Ok(objects)) => objects,
                    Some(Err(why)) => return Ok(Err(why)),
                    None => return Ok(Err(format!("its object file `{}` was not read", f.path))),
                };
                if objects_sha256(&objects) != f.objects_sha256 {
                    return Ok(Err(format!("its object file `{}` does not hold the objects its record lists", f.path)));
                }
                IndexFile {
                    path: f.path.clone(),
                    sha256: f.path.sha256().to_owned(),
                    owner: f.owner.clone(),
                    objects: objects.into(),
                }
            }
        };
        out.push(file);
    }
    Ok(Ok(out))
}

/// How many object files are read back from the target at once.
const FETCH_CONCURRENCY: usize = 16;

/// The objects of each of `paths` in the target, read as Flux reads them,
/// in order; `Err` says why a file's objects cannot be known.
async fn fetch_files(
    target: &impl Target,
    paths: &[ObjectFile],
) -> Result<Vec<Result<Vec<IndexObject>, String>>, TargetError> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(paths.iter().cloned())
        .map(|path| {
            let target = target.clone();
            async move {
                let Some(fetched) = target.get(path.as_str()).await? else {
                    return Ok(Err(format!("its object file `{path}` is missing")));
                };
                if sha256_hex(&fetched.bytes) != path.sha256() {
                    return Ok(Err(format!("its object file `{path}` does not hash to its name")));
                }
                Ok(objects_of(&fetched.bytes).map_err(|why| format!("its object file `{path}` cannot be read: {why}")))
            }
        })
        .buffered(FETCH_CONCURRENCY)
        .try_collect()
        .await
}

/// The listing and the live pointer, fetched together.
pub async fn load_pointer(target: &impl Target) -> Result<(Vec<ObjectInfo>, Option<LivePointer>), PublishError> {
    let (listing, pointer) = tokio::join!(target.list(), read_pointer(target));
    Ok((listing?, pointer?))
}

/// The live pointer and its ETag; an error if the prefix holds a
/// kustomization nixflux did not write.
pub async fn read_pointer(target: &impl Target) -> Result<Option<LivePointer>, PublishError> {
    live_pointer(target, target.get(POINTER_KEY).await?)
}

/// The pointer `fetched` from `target`, parsed.
pub fn live_pointer(target: &impl Target, fetched: Option<Fetched>) -> Result<Option<LivePointer>, PublishError> {
    match fetched {
        None => Ok(None),
        Some(fetched) => {
            let pointer = Pointer::parse(&fetched.bytes)
                .map_err(|why| PublishError::ForeignPointer { target: target.name(), why })?;
            Ok(Some(LivePointer { pointer, etag: fetched.etag }))
        }
    }
}

/// The ETag of the pointer now, if there is one.
pub async fn pointer_etag(target: &impl Target) -> Result<Option<String>, TargetError> {
    Ok(target.get(POINTER_KEY).await?.map(|f| f.etag))
}

/// A generation's record; `None` when it is missing or unreadable.
pub async fn load_record(target: &impl Target, generation: u64) -> Result<Option<Record>, TargetError> {
    Ok(target.get(&record_key(generation)).await?.and_then(|f| Record::parse(&f.bytes)))
}

/// The live generation's record, when it agrees with the pointer: a
/// record that names another bundle, or other files, is not this generation's.
pub async fn live_record(target: &impl Target, pointer: &Pointer) -> Result<Option<Record>, TargetError> {
    Ok(load_record(target, pointer.generation)
        .await?
        .filter(|r| r.bundle_digest == pointer.bundle_digest && r.resources() == pointer.resources))
}

/// The ignore rules of a Flux Bucket with `spec_ignore` reading `target`:
/// the bucket root's `.sourceignore`, then `spec_ignore`. A root that
/// cannot be read (credentials limited to the prefix) counts as having no
/// `.sourceignore`, with a warning.
pub async fn bucket_ignore(target: &impl Target, spec_ignore: &str) -> Ignore {
    let file = match target.get_at_root(SOURCEIGNORE_KEY).await {
        Ok(file) => file,
        Err(e) => {
            tracing::warn!(error = %e, "could not read the bucket's `{SOURCEIGNORE_KEY}`; the Flux revision assumes there is none");
            None
        }
    };
    revision::bucket_ignore(file.as_ref().map(|f| f.bytes.as_slice()), Some(spec_ignore))
}

/// The revision Flux's Bucket source computes from a listing of `target`
/// (see `flux::revision`).
pub fn flux_revision(target: &impl Target, listing: &[ObjectInfo], ignore: &Ignore) -> String {
    revision::bucket_revision(target.key_prefix(), listing, ignore).to_string()
}
