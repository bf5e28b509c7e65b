//! What should become live: a bundle directory read only when there is
//! work to do (a no-op publish needs its digest alone), a bundle already in
//! memory, or a retained generation's record (a rollback, whose object files
//! must still be in the target).

use std::path::{Path, PathBuf};

use super::error::PublishError;
use super::generation::{Record, Source};
use crate::bundle::read::{read_digest, ReadError, Trusted};
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
    /// Object files to make sure the target has. The live generation's are
    /// left unread (empty) until one turns out to be missing: see `file`.
    pub files: Vec<BundleFile>,
    /// Which of `files` were left unread, and the directory to read them from.
    unread: Vec<bool>,
    dir: Option<PathBuf>,
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

    /// Reads and verifies a lazy bundle: its index and object files.
    /// Files of `live` (the live generation's, verified when published)
    /// are not parsed again.
    pub fn load(self, live: &[IndexFile]) -> Result<Loaded, PublishError> {
        match self {
            Desired::Lazy { dir, digest, mut source } => {
                // Every file is read and hashed against its name, live ones
                // too: a damaged bundle is refused whatever the target holds
                // (`Trusted::leaving_unread` would skip them; not used here).
                let trusted = Trusted::new(live);
                let bundle = Bundle::read_trusting(&dir, &trusted)?;
                let unread = vec![false; bundle.index.files.len()];
                if bundle.index.digest != digest {
                    return Err(ReadError::Damaged {
                        bundle: dir,
                        why: "it changed while it was being published".into(),
                    }
                    .into());
                }
                // A store-path bundle is recorded with its NAR hash; computed only
                // now, so that a no-op publish does not hash the whole bundle.
                if let Some(store_path) = &source.store_path {
                    source.nar_hash = Some(crate::nix::nar::hash_path(&store_path.to_path_buf())?.to_nix_string());
                }
                Ok(Loaded {
                    index: bundle.index,
                    files: bundle.objects,
                    unread,
                    dir: Some(dir),
                    source,
                    retained: false,
                })
            }
            Desired::Bundle { bundle, source } => Ok(Loaded {
                index: bundle.index,
                files: bundle.objects,
                unread: Vec::new(),
                dir: None,
                source,
                retained: false,
            }),
            Desired::Retained { record, source } => Ok(Loaded {
                index: record.bundle,
                files: Vec::new(),
                unread: Vec::new(),
                dir: None,
                source,
                retained: true,
            }),
        }
    }
}

impl Loaded {
    pub fn object_count(&self) -> usize {
        crate::bundle::index::object_count(&self.index.files)
    }

    /// Whether file `i` is one of the live generation's, left unread.
    pub fn is_unread(&self, i: usize) -> bool {
        self.unread.get(i).copied().unwrap_or(false)
    }

    /// The size of file `i` (from the file system when it was left unread).
    pub fn size(&self, i: usize) -> u64 {
        match (&self.dir, self.is_unread(i)) {
            (Some(dir), true) => std::fs::metadata(dir.join(&self.files[i].path)).map_or(0, |m| m.len()),
            _ => self.files[i].content.len() as u64,
        }
    }

    /// File `i` with its content, read and checked against its name now
    /// if it was left unread (a live file the target turned out to lack).
    pub fn file(&self, i: usize) -> Result<BundleFile, PublishError> {
        let file = &self.files[i];
        let (Some(dir), true) = (&self.dir, self.is_unread(i)) else { return Ok(file.clone()) };
        let path = dir.join(&file.path);
        let content = std::fs::read(&path).map_err(|source| ReadError::Io { path: path.clone(), source })?;
        if crate::bundle::sha256_hex(&content) != self.index.files[i].sha256 {
            return Err(ReadError::Damaged {
                bundle: dir.clone(),
                why: format!("`{}` does not hash to its name", file.path),
            }
            .into());
        }
        Ok(BundleFile { path: file.path.clone(), content })
    }
}
