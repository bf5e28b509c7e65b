//! The directory target: the bucket layout as files. Every write goes to a
//! temporary file beside its key and is renamed into place (atomic for a
//! reader); `IfAbsent` uses `link(2)`, which fails when the name exists, so
//! the lease is exact here. ETags are the MD5 of the content, as
//! `rclone serve s3` would list the same directory.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::{Condition, Fetched, ObjectInfo, OpenError, Result, Target, TargetError};

const TMP_PREFIX: &str = ".nixflux-tmp-";

#[derive(Debug, Clone)]
pub struct DirTarget {
    root: PathBuf,
}

pub fn md5_hex(bytes: &[u8]) -> String {
    crate::bundle::hex(&Md5::digest(bytes))
}

impl DirTarget {
    pub fn open(root: &Path) -> std::result::Result<DirTarget, OpenError> {
        fs::create_dir_all(root).map_err(|source| OpenError::CreateDir { path: root.to_owned(), source })?;
        Ok(DirTarget { root: root.to_owned() })
    }

    fn endpoint(&self) -> String {
        format!("`{}`", self.root.display())
    }

    fn failed(&self, op: &'static str, key: &str, e: impl std::fmt::Display) -> TargetError {
        TargetError::Failed { op, key: key.to_owned(), endpoint: self.endpoint(), message: e.to_string() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn list_files(&self) -> Result<Vec<ObjectInfo>> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = fs::read_dir(&dir).map_err(|e| self.failed("listing", &dir.display().to_string(), e))?;
            for entry in entries {
                let entry = entry.map_err(|e| self.failed("listing", &dir.display().to_string(), e))?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with(TMP_PREFIX) {
                    continue;
                }
                let kind = entry.file_type().map_err(|e| self.failed("listing", &path.display().to_string(), e))?;
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let key = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().into_owned();
                    let bytes = fs::read(&path).map_err(|e| self.failed("reading", &key, e))?;
                    out.push(ObjectInfo { etag: md5_hex(&bytes), size: bytes.len() as u64, key });
                }
            }
        }
        Ok(out)
    }

    fn read(&self, key: &str) -> Result<Option<Fetched>> {
        match fs::read(self.path(key)) {
            Ok(bytes) => {
                let etag = md5_hex(&bytes);
                Ok(Some(Fetched { bytes, etag }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed("reading", key, e)),
        }
    }

    fn write(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        let dest = self.path(key);
        let parent = dest.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent).map_err(|e| self.failed("writing", key, e))?;
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&parent)
            .map_err(|e| self.failed("writing", key, e))?;
        tmp.write_all(bytes).map_err(|e| self.failed("writing", key, e))?;
        match condition {
            Condition::IfAbsent => {
                // link(2) refuses an existing name: an exact create-if-absent.
                match fs::hard_link(tmp.path(), &dest) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(TargetError::PreconditionFailed {
                        op: "writing",
                        key: key.to_owned(),
                        endpoint: self.endpoint(),
                    }),
                    Err(e) => Err(self.failed("writing", key, e)),
                }
            }
            Condition::IfMatch(etag) => {
                let current = self.read(key)?.map(|f| f.etag);
                if current.as_deref() != Some(etag.as_str()) {
                    return Err(TargetError::PreconditionFailed {
                        op: "replacing",
                        key: key.to_owned(),
                        endpoint: self.endpoint(),
                    });
                }
                tmp.persist(&dest).map_err(|e| self.failed("writing", key, e.error))?;
                Ok(())
            }
            Condition::None => {
                tmp.persist(&dest).map_err(|e| self.failed("writing", key, e.error))?;
                Ok(())
            }
        }
    }

    fn remove(&self, key: &str) -> Result<()> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed("deleting", key, e)),
        }
    }

    /// Flushes everything written so far to disk (one `syncfs`), so that a
    /// power loss cannot leave the pointer naming files that were lost.
    fn sync_all(&self) -> Result<()> {
        let dir = fs::File::open(&self.root).map_err(|e| self.failed("syncing", ".", e))?;
        #[cfg(target_os = "linux")]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: syncfs only reads the descriptor, which `dir` keeps open.
            if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
                return Err(self.failed("syncing", ".", io::Error::last_os_error()));
            }
        }
        #[cfg(not(target_os = "linux"))]
        dir.sync_all().map_err(|e| self.failed("syncing", ".", e))?;
        Ok(())
    }
}

impl Target for DirTarget {
    fn name(&self) -> String {
        self.endpoint()
    }

    fn key_prefix(&self) -> &str {
        ""
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        self.list_files()
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        self.read(key)
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        self.write(key, bytes, condition)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.remove(key)
    }

    async fn sync(&self) -> Result<()> {
        self.sync_all()
    }
}
