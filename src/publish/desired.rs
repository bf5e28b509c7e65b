//! What should become live: a bundle directory (its index parsed once,
//! its digest all a no-op publish takes from it; its object files verified
//! only when there is work to do), a bundle already in
//! memory, or a retained generation's index (a rollback, whose object files
//! must still be in the target).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::error::PublishError;
use super::generation::Source;
use crate::bundle::loaded::LoadedFile;
use crate::bundle::read::{check_is_bundle, read_digest, Indexed, ReadAhead, ReadError, Trusted, Unparsed};
use crate::bundle::{Bundle, BundleIndex, IndexFile, Sha256Digest};

pub enum Desired {
    /// A bundle directory, read once the publish starts.
    Lazy { dir: PathBuf, source: Source },
    /// A bundle in memory, object files included.
    Bundle { bundle: Box<Bundle>, source: Source },
    /// A retained generation: its index, no files to upload.
    Retained { index: Box<BundleIndex>, source: Source },
}

/// A desired bundle with everything the protocol needs read and verified.
pub struct Loaded {
    pub index: BundleIndex,
    /// Object files to make sure the target has, every one read and
    /// checked against its name (live ones too: a damaged bundle is refused
    /// whatever the target holds; their bytes are read again if needed).
    pub files: Vec<LoadedFile>,
    pub source: Source,
    /// A retained generation: every file it lists must already be there.
    pub retained: bool,
}

impl Desired {
    /// The bundle at `dir` (refused at once when `dir` holds none), read
    /// when the publish starts.
    pub fn from_dir(dir: &Path, source: Source) -> Result<Desired, ReadError> {
        check_is_bundle(dir)?;
        Ok(Desired::Lazy { dir: dir.to_owned(), source })
    }

    /// Starts reading a lazy bundle on two blocking threads, its index on
    /// one and its object files on the other, so that both overlap with
    /// the reads of the target; `digest`, `indexed` and `Indexing::load`
    /// finish them.
    pub fn start_reading(self) -> Reading {
        match self {
            Desired::Lazy { dir, source } => {
                let stop = Arc::new(AtomicBool::new(false));
                let reading = {
                    let dir = dir.clone();
                    tokio::task::spawn_blocking(move || {
                        let read = Indexed::read(&dir);
                        tracing::debug!("bundle index parsed");
                        read
                    })
                };
                let ahead = {
                    let (dir, stop) = (dir.clone(), stop.clone());
                    tokio::task::spawn_blocking(move || {
                        let read = ReadAhead::read(&dir, &stop);
                        tracing::debug!("object files read ahead");
                        read
                    })
                };
                let index = IndexRead::Pending(reading);
                Reading::Pending { dir, source, index, ahead: Ahead { handle: ahead, stop } }
            }
            other => Reading::Ready(other),
        }
    }
}

/// A bundle directory's index: being read, or read.
pub enum IndexRead {
    Pending(tokio::task::JoinHandle<Result<Indexed, ReadError>>),
    Done(Box<Result<Indexed, ReadError>>),
}

impl IndexRead {
    /// Waits for the read (kept for `finish`).
    async fn settle(&mut self, dir: &Path) {
        if let IndexRead::Pending(handle) = self {
            *self = IndexRead::Done(Box::new(joined(handle, dir).await));
        }
    }

    /// The index, read to the end.
    async fn finish(self, dir: &Path) -> Result<Indexed, ReadError> {
        match self {
            IndexRead::Done(read) => *read,
            IndexRead::Pending(mut handle) => joined(&mut handle, dir).await,
        }
    }
}

async fn joined(
    handle: &mut tokio::task::JoinHandle<Result<Indexed, ReadError>>,
    dir: &Path,
) -> Result<Indexed, ReadError> {
    match handle.await {
        Ok(read) => read,
        Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Err(_) => Err(ReadError::Damaged { bundle: dir.to_owned(), why: "its read was cancelled".into() }),
    }
}

/// The object files being read ahead (see `ReadAhead`).
pub struct Ahead {
    handle: tokio::task::JoinHandle<ReadAhead>,
    stop: Arc<AtomicBool>,
}

impl Ahead {
    async fn get(mut self) -> ReadAhead {
        match (&mut self.handle).await {
            Ok(read) => read,
            Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
            // Cancelled: `read_files_ahead` reads every file itself.
            Err(_) => ReadAhead::default(),
        }
    }
}

impl Drop for Ahead {
    /// A publish that needs no files (nothing changed, or an error) stops the reading.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A desired bundle on its way to `Loaded` (see `Desired::start_reading`).
pub enum Reading {
    Pending { dir: PathBuf, source: Source, index: IndexRead, ahead: Ahead },
    Ready(Desired),
}

impl Reading {
    /// The bundle's digest, from its index. An index that does not parse
    /// whole still names its digest: a publish of what is live writes
    /// nothing and needs nothing else of it (a bundle that is to be
    /// published is refused by `indexed`).
    pub async fn digest(&mut self) -> Result<Sha256Digest, PublishError> {
        match self {
            Reading::Pending { dir, index, .. } => {
                index.settle(dir).await;
                match index {
                    IndexRead::Done(read) => match read.as_ref() {
                        Ok(indexed) => Ok(indexed.index.digest.clone()),
                        Err(_) => Ok(read_digest(dir)?),
                    },
                    IndexRead::Pending(_) => Ok(read_digest(dir)?),
                }
            }
            Reading::Ready(Desired::Lazy { dir, .. }) => Ok(read_digest(dir)?),
            Reading::Ready(Desired::Bundle { bundle, .. }) => Ok(bundle.index.digest.clone()),
            Reading::Ready(Desired::Retained { index, .. }) => Ok(index.digest.clone()),
        }
    }

    /// The bundle with its index read (not yet verified against its files).
    pub async fn indexed(self) -> Result<Indexing, PublishError> {
        match self {
            Reading::Pending { dir, source, index, ahead } => {
                let indexed = index.finish(&dir).await?;
                Ok(Indexing::Dir { dir, source, indexed, ahead: Some(ahead) })
            }
            Reading::Ready(Desired::Lazy { dir, source }) => {
                let indexed = Indexed::read(&dir)?;
                Ok(Indexing::Dir { dir, source, indexed, ahead: None })
            }
            Reading::Ready(Desired::Bundle { bundle, source }) => {
                let files = bundle.objects.into_iter().map(LoadedFile::from).collect();
                Ok(Indexing::Ready(Loaded { index: bundle.index, files, source, retained: false }))
            }
            Reading::Ready(Desired::Retained { index, source }) => {
                Ok(Indexing::Ready(Loaded { index: *index, files: Vec::new(), source, retained: true }))
            }
        }
    }
}

/// A desired bundle whose index is known (see `Reading::indexed`).
pub enum Indexing {
    Dir { dir: PathBuf, source: Source, indexed: Indexed, ahead: Option<Ahead> },
    Ready(Loaded),
}

impl Indexing {
    /// Whether this is a retained generation (a rollback).
    pub fn is_retained(&self) -> bool {
        matches!(self, Indexing::Ready(l) if l.retained)
    }

    /// The index, as the bundle claims it (verified by `load`).
    pub fn index(&self) -> &BundleIndex {
        match self {
            Indexing::Dir { indexed, .. } => &indexed.index,
            Indexing::Ready(loaded) => &loaded.index,
        }
    }

    /// Reads and verifies the bundle's object files. Files of `live` (the
    /// live generation's, verified when published) are not parsed again.
    pub async fn load(self, live: &[IndexFile]) -> Result<Loaded, PublishError> {
        match self {
            Indexing::Dir { dir, source, indexed, ahead } => {
                let ahead = match ahead {
                    Some(ahead) => ahead.get().await,
                    None => ReadAhead::default(),
                };
                // One trust for both: a file left unread is not checked again.
                let trusted = Trusted::new(live);
                let unread_ok = indexed.unread_ok(&ahead, &trusted);
                let read = tokio::task::spawn_blocking(move || indexed.read_files_ahead(ahead, &unread_ok));
                let unparsed = match read.await {
                    Ok(read) => read,
                    Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                    Err(_) => {
                        return Err(ReadError::Damaged { bundle: dir, why: "its read was cancelled".into() }.into())
                    }
                };
                finish(source, unparsed, &trusted)
            }
            Indexing::Ready(loaded) => Ok(loaded),
        }
    }
}

/// A lazy bundle's read verified against the live files (`trusted`, the
/// trust its read left files unread by). Its digest (the one the no-op
/// check took) comes from the same read of its index.
fn finish(
    mut source: Source,
    unparsed: Result<Unparsed, ReadError>,
    trusted: &Trusted,
) -> Result<Loaded, PublishError> {
    let (index, files, _) = unparsed?.verify_loaded(trusted)?;
    // A store-path bundle is recorded with its NAR hash; computed only
    // now, so that a no-op publish does not hash the whole bundle.
    if let Some(store_path) = &source.store_path {
        source.nar_hash = Some(crate::nix::nar::hash_path(&store_path.to_path_buf())?.to_nix_string());
    }
    Ok(Loaded { index, files, source, retained: false })
}

impl Loaded {
    pub fn object_count(&self) -> usize {
        crate::bundle::index::object_count(&self.index.files)
    }
}
