//! The object files of a bundle being published. Each is read and checked
//! against its name; a live file (one the live generation's record knows,
//! with the same objects) whose read-ahead hashed it right is not kept in
//! memory, and is read again (and checked again) only where its bytes are
//! needed: an upload that repairs a damaged target, or a comparison with a
//! copy the target lists under another generation. A one-app publish of a
//! thousand apps so holds one file's bytes, not four megabytes.

use std::borrow::Cow;
use std::fs;
use std::path::Path;
use std::sync::Arc;

use super::read_error::ReadError;
use super::{sha256_hex, BundleFile, ObjectFile};

#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// Path in the bundle (`objects/<sha256>.yaml`).
    pub path: String,
    pub size: u64,
    body: Body,
}

#[derive(Debug, Clone)]
enum Body {
    Read(Vec<u8>),
    /// Checked against its name as it was read ahead, in bundle `dir`.
    Unread {
        dir: Arc<Path>,
    },
}

impl LoadedFile {
    pub fn read(path: String, content: Vec<u8>) -> LoadedFile {
        LoadedFile { path, size: content.len() as u64, body: Body::Read(content) }
    }

    /// A file of bundle `dir` that was read, matched its name and was not kept.
    pub(super) fn unread(path: String, size: u64, dir: Arc<Path>) -> LoadedFile {
        LoadedFile { path, size, body: Body::Unread { dir } }
    }

    /// Whether the bytes were not kept (see `Indexed::unread_ok`).
    pub fn is_unread(&self) -> bool {
        matches!(self.body, Body::Unread { .. })
    }

    /// The file's bytes: kept, or read again and checked against its name
    /// (a file changed since it was first read is an error).
    pub fn content(&self) -> Result<Cow<'_, [u8]>, ReadError> {
        let dir = match &self.body {
            Body::Read(content) => return Ok(Cow::Borrowed(content)),
            Body::Unread { dir } => dir,
        };
        let damaged = |why: String| ReadError::Damaged { bundle: dir.to_path_buf(), why };
        let path = dir.join(&self.path);
        let content = fs::read(&path).map_err(|source| ReadError::Io { path, source })?;
        let named = self.path.parse::<ObjectFile>().map_err(|e| damaged(format!("`{}`: {e}", self.path)))?;
        if sha256_hex(&content) != named.sha256() {
            return Err(damaged(format!("`{}` changed while it was being published", self.path)));
        }
        Ok(Cow::Owned(content))
    }

    pub fn into_bundle_file(self) -> Result<BundleFile, ReadError> {
        let content = match self.body {
            Body::Read(content) => content,
            Body::Unread { .. } => self.content()?.into_owned(),
        };
        Ok(BundleFile { path: self.path, content })
    }
}

impl From<BundleFile> for LoadedFile {
    fn from(f: BundleFile) -> LoadedFile {
        LoadedFile::read(f.path, f.content)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unread_file_is_read_again_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("objects")).unwrap();
        let body = b"kind: ConfigMap\n".to_vec();
        let path = format!("objects/{}.yaml", sha256_hex(&body));
        std::fs::write(dir.path().join(&path), &body).unwrap();
        let at: Arc<Path> = Arc::from(dir.path());
        let f = LoadedFile::unread(path.clone(), body.len() as u64, at.clone());
        assert_eq!(f.content().unwrap().as_ref(), body.as_slice());
        assert_eq!(f.clone().into_bundle_file().unwrap().content, body);
        std::fs::write(dir.path().join(&path), b"kind: Secret\n").unwrap();
        let err = f.content().unwrap_err().to_string();
        assert!(err.contains("changed while it was being published"), "{err}");
        std::fs::remove_file(dir.path().join(&path)).unwrap();
        assert!(matches!(f.content(), Err(ReadError::Io { .. })));
    }
}
