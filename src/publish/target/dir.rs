//! The directory target: the bucket layout as files. Every write goes to a
//! temporary file beside its key and is renamed into place (atomic for a
//! reader); `IfAbsent` uses `link(2)`, which fails when the name exists, so
//! the lease is exact here. ETags are the MD5 of the content, as
//! `rclone serve s3` would list the same directory.
//!
//! Nothing outside the root is ever read, written or deleted: keys are
//! relative paths of plain segments, and a symlink anywhere below the root
//! (where a key's path goes) is refused rather than followed. Opening
//! creates nothing; the root is made by the first write. Files get the
//! permissions the umask allows (0644 under 022), so that a server running
//! as another user (`rclone serve s3`, a web server) can serve them.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use md5::{Digest, Md5};

use super::{Condition, Fetched, ObjectInfo, OpenError, Result, Target, TargetError};

const TMP_PREFIX: &str = ".nixflux-tmp-";

#[derive(Debug, Clone)]
pub struct DirTarget {
    root: PathBuf,
    /// The directory a server exports as the bucket (the root of the
    /// target opened; a child's parent), and the child's path below it.
    bucket_root: PathBuf,
    prefix: String,
}

/// 0666: `open(2)` takes the umask off, as for any file a program writes.
fn file_mode() -> fs::Permissions {
    use std::os::unix::fs::PermissionsExt;
    fs::Permissions::from_mode(0o666)
}

pub fn md5_hex(bytes: &[u8]) -> String {
    crate::bundle::hex(&Md5::digest(bytes))
}

impl DirTarget {
    pub fn open(root: &Path) -> std::result::Result<DirTarget, OpenError> {
        match fs::metadata(root) {
            Ok(meta) if !meta.is_dir() => Err(OpenError::CreateDir {
                path: root.to_owned(),
                source: io::Error::new(io::ErrorKind::AlreadyExists, "it exists and is not a directory"),
            }),
            _ => Ok(DirTarget { root: root.to_owned(), bucket_root: root.to_owned(), prefix: String::new() }),
        }
    }

    fn endpoint(&self) -> String {
        format!("`{}`", self.root.display())
    }

    fn failed(&self, op: &'static str, key: &str, e: impl std::fmt::Display) -> TargetError {
        TargetError::Failed { op, key: key.to_owned(), endpoint: self.endpoint(), message: e.to_string() }
    }

    /// The path of `key`, after checking that the key is relative and plain
    /// and that no directory on the way below the root is a symlink.
    fn path(&self, op: &'static str, key: &str) -> Result<PathBuf> {
        let segments: Vec<&str> = key.split('/').collect();
        if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
            return Err(self.failed(op, key, "the key is not a plain relative path"));
        }
        let mut path = self.root.clone();
        for (i, segment) in segments.iter().enumerate() {
            path.push(segment);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(self.failed(
                        op,
                        key,
                        format!("`{}` is a symlink; the target holds none", path.display()),
                    ));
                }
                Ok(meta) if i + 1 < segments.len() && !meta.is_dir() => {
                    return Err(self.failed(op, key, format!("`{}` is not a directory", path.display())));
                }
                Ok(_) => {}
                // Whatever is missing from here on cannot be a symlink.
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => return Err(self.failed(op, key, e)),
            }
        }
        Ok(self.root.join(key))
    }

    fn list_files(&self) -> Result<Vec<ObjectInfo>> {
        Ok(self.list_below(self.root.clone(), true)?.0)
    }

    /// The files below `start` (every one, or with `recursive` off those
    /// directly in it), and the directories in it as key prefixes.
    fn list_below(&self, start: PathBuf, recursive: bool) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        let mut out = Vec::new();
        let mut prefixes = Vec::new();
        let mut stack = vec![start.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                // A target (or part) nothing was written to yet is empty.
                Err(e) if e.kind() == io::ErrorKind::NotFound && dir == start => return Ok((out, prefixes)),
                other => other.map_err(|e| self.failed("listing", &dir.display().to_string(), e))?,
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.failed("listing", &dir.display().to_string(), e))?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with(TMP_PREFIX) {
                    continue;
                }
                let kind = entry.file_type().map_err(|e| self.failed("listing", &path.display().to_string(), e))?;
                if kind.is_symlink() {
                    let key = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().into_owned();
                    return Err(self.failed("listing", &key, "it is a symlink; the target holds none"));
                } else if kind.is_dir() && recursive {
                    stack.push(path);
                } else if kind.is_dir() {
                    let key = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().into_owned();
                    prefixes.push(format!("{key}/"));
                } else if kind.is_file() {
                    let key = path.strip_prefix(&self.root).unwrap_or(&path).to_string_lossy().into_owned();
                    let bytes = fs::read(&path).map_err(|e| self.failed("reading", &key, e))?;
                    out.push(ObjectInfo { etag: md5_hex(&bytes), size: bytes.len() as u64, key });
                }
            }
        }
        Ok((out, prefixes))
    }

    fn read(&self, key: &str) -> Result<Option<Fetched>> {
        match fs::read(self.path("reading", key)?) {
            Ok(bytes) => {
                let etag = md5_hex(&bytes);
                Ok(Some(Fetched { bytes, etag }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed("reading", key, e)),
        }
    }

    fn write(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        let dest = self.path("writing", key)?;
        let parent = dest.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&parent).map_err(|e| self.failed("writing", key, e))?;
        // Created 0666 less the umask, as any file a program writes.
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .permissions(file_mode())
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
        match fs::remove_file(self.path("deleting", key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed("deleting", key, e)),
        }
    }

    /// Flushes everything written so far to disk (one `syncfs`), so that a
    /// power loss cannot leave the pointer naming files that were lost.
    fn sync_all(&self) -> Result<()> {
        let dir = match fs::File::open(&self.root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            other => other.map_err(|e| self.failed("syncing", ".", e))?,
        };
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
        &self.prefix
    }

    fn child(&self, name: &str) -> Self {
        DirTarget {
            root: self.root.join(name),
            bucket_root: self.bucket_root.clone(),
            prefix: format!("{}{name}/", self.prefix),
        }
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        self.list_files()
    }

    async fn list_shallow(&self, sub: &str) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        let start = if sub.is_empty() { self.root.clone() } else { self.path("listing", sub.trim_end_matches('/'))? };
        self.list_below(start, false)
    }

    async fn get_at_root(&self, key: &str) -> Result<Option<Fetched>> {
        let root =
            DirTarget { root: self.bucket_root.clone(), bucket_root: self.bucket_root.clone(), prefix: String::new() };
        root.read(key)
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        self.read(key)
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        self.write(key, bytes, condition)
    }

    async fn put_tagged(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<Option<String>> {
        self.write(key, bytes, condition).map(|()| Some(md5_hex(bytes)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.remove(key)
    }

    async fn sync(&self) -> Result<()> {
        self.sync_all()
    }
}
