//! What should become live: a bundle directory read only when there is
//! work to do (a no-op publish needs its digest alone), a bundle already in
//! memory, or a retained generation's record (a rollback, whose object files
//! must still be in the target).

use std::path::{Path, PathBuf};

use super::error::PublishError;
use super::generation::{Record, Source};
use crate::bundle::read::{read_digest, ReadError, Trusted, Unparsed};
use crate::bundle::{Bundle, BundleFile, BundleIndex, IndexFile, Sha256Digest};

pub enum Desired {
    /// A bundle directory, known by its digest until it is loaded.
    Lazy { dir: PathBuf, digest: Sha256Digest, source: Source },
    /// A bundle in memory, object files included.
    Bundle { bundle: Box<Bundle>, source: Source },
    /// A retained generation: its index, no files to upload.
    Retained { record: Box<Record>, source: Source },
}

/// A desired bundle with everything the protocol needs read and verified.
pub struct Loaded {
    pub index: BundleIndex,
    /// Object files to make sure the target has, every one read and
    /// checked against its name (live ones too: a damaged bundle is refused
    /// whatever the target holds).
    pub files: Vec<BundleFile>,
    pub source: Source,
    /// A retained generation: every file it lists must already be there.
    pub retained: bool,
}

impl Desired {
    /// The bundle at `dir`, known by its digest until `load` reads the rest.
    pub fn from_dir(dir: &Path, source: Source) -> Result<Desired, ReadError> {
        Ok(Desired::Lazy { digest: read_digest(dir)?, dir: dir.to_owned(), source })
    }

    pub fn digest(&self) -> &Sha256Digest {
        match self {
            Desired::Lazy { digest, .. } => digest,
            Desired::Bundle { bundle, .. } => &bundle.index.digest,
            Desired::Retained { record, .. } => &record.bundle.digest,
        }
    }

    /// Starts reading a lazy bundle's files on a blocking thread, so that
    /// it overlaps with the reads of the target; `load` finishes it.
    pub fn start_reading(self) -> Reading {
        match self {
            Desired::Lazy { dir, digest, source } => {
                let reading = {
                    let dir = dir.clone();
                    tokio::task::spawn_blocking(move || Bundle::read_unparsed(&dir))
                };
                Reading::Pending { dir, digest, source, reading }
            }
            other => Reading::Ready(other),
        }
    }
}

/// A desired bundle on its way to `Loaded` (see `Desired::start_reading`).
pub enum Reading {
    Pending {
        dir: PathBuf,
        digest: Sha256Digest,
        source: Source,
        reading: tokio::task::JoinHandle<Result<Unparsed, ReadError>>,
    },
    Ready(Desired),
}

impl Reading {
    /// Reads and verifies the bundle: its index and object files. Files of
    /// `live` (the live generation's, verified when published) are not
    /// parsed again.
    pub async fn load(self, live: &[IndexFile]) -> Result<Loaded, PublishError> {
        match self {
            Reading::Pending { dir, digest, source, reading } => {
                let unparsed = match reading.await {
                    Ok(read) => read,
                    Err(join) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                    Err(_) => {
                        return Err(ReadError::Damaged { bundle: dir, why: "its read was cancelled".into() }.into())
                    }
                };
                finish(dir, digest, source, unparsed, live)
            }
            Reading::Ready(Desired::Lazy { dir, digest, source }) => {
                let unparsed = Bundle::read_unparsed(&dir);
                finish(dir, digest, source, unparsed, live)
            }
            Reading::Ready(Desired::Bundle { bundle, source }) => {
                Ok(Loaded { index: bundle.index, files: bundle.objects, source, retained: false })
            }
            Reading::Ready(Desired::Retained { record, source }) => {
                Ok(Loaded { index: record.bundle, files: Vec::new(), source, retained: true })
            }
        }
    }
}

/// A lazy bundle's read verified against its digest and the live files.
fn finish(
    dir: PathBuf,
    digest: Sha256Digest,
    mut source: Source,
    unparsed: Result<Unparsed, ReadError>,
    live: &[IndexFile],
) -> Result<Loaded, PublishError> {
    let bundle = unparsed?.verify(&Trusted::new(live))?;
    if bundle.index.digest != digest {
        return Err(ReadError::Damaged { bundle: dir, why: "it changed while it was being published".into() }.into());
    }
    // A store-path bundle is recorded with its NAR hash; computed only
    // now, so that a no-op publish does not hash the whole bundle.
    if let Some(store_path) = &source.store_path {
        source.nar_hash = Some(crate::nix::nar::hash_path(&store_path.to_path_buf())?.to_nix_string());
    }
    Ok(Loaded { index: bundle.index, files: bundle.objects, source, retained: false })
}

impl Loaded {
    pub fn object_count(&self) -> usize {
        crate::bundle::index::object_count(&self.index.files)
    }
}
