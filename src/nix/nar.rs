//! NAR (Nix ARchive) serialisation and the NAR hash of a file system tree,
//! as `nix-store --dump` writes it and `nix-hash --type sha256` hashes it.
//!
//! The format: every token is a string (a little-endian u64 length, the
//! bytes, zero padding to a multiple of 8). An archive is `nix-archive-1`
//! then one node:
//!
//! ```text
//! ( type regular [executable ""] contents <bytes> )
//! ( type symlink target <target> )
//! ( type directory { entry ( name <name> node <node> ) }* )   entries sorted by name
//! ```
//!
//! Written here on `sha2` rather than with a crate: the format is this small,
//! and hashing streams file contents straight into the digest.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error)]
pub enum NarError {
    #[error("`{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`{0}` is neither a regular file, a directory nor a symlink: NAR cannot hold it")]
    UnsupportedType(PathBuf),
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> NarError + '_ {
    move |source| NarError::Io { path: path.to_owned(), source }
}

/// Writes NAR tokens into any `Write` (a file, a buffer, a hasher).
struct NarWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
}

impl<W: Write> NarWriter<W> {
    fn bytes(&mut self, s: &[u8], at: &Path) -> Result<(), NarError> {
        self.out.write_all(&(s.len() as u64).to_le_bytes()).map_err(io_at(at))?;
        self.out.write_all(s).map_err(io_at(at))?;
        self.pad(s.len() as u64, at)
    }

    fn pad(&mut self, len: u64, at: &Path) -> Result<(), NarError> {
        let pad = (8 - (len % 8) as usize) % 8;
        self.out.write_all(&[0u8; 8][..pad]).map_err(io_at(at))
    }

    fn strs(&mut self, tokens: &[&str], at: &Path) -> Result<(), NarError> {
        for t in tokens {
            self.bytes(t.as_bytes(), at)?;
        }
        Ok(())
    }

    fn node(&mut self, path: &Path) -> Result<(), NarError> {
        let meta = fs::symlink_metadata(path).map_err(io_at(path))?;
        let kind = meta.file_type();
        self.strs(&["("], path)?;
        if kind.is_symlink() {
            let target = fs::read_link(path).map_err(io_at(path))?;
            self.strs(&["type", "symlink", "target"], path)?;
            self.bytes(target.as_os_str().as_bytes(), path)?;
        } else if kind.is_file() {
            self.strs(&["type", "regular"], path)?;
            if meta.permissions().mode() & 0o100 != 0 {
                self.strs(&["executable", ""], path)?;
            }
            self.strs(&["contents"], path)?;
            self.contents(path, meta.len())?;
        } else if kind.is_dir() {
            self.strs(&["type", "directory"], path)?;
            let mut names: Vec<_> = fs::read_dir(path)
                .map_err(io_at(path))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<_, _>>()
                .map_err(io_at(path))?;
            // NAR sorts entries by their bytes.
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                let child = path.join(&name);
                self.strs(&["entry", "(", "name"], &child)?;
                self.bytes(name.as_bytes(), &child)?;
                self.strs(&["node"], &child)?;
                self.node(&child)?;
                self.strs(&[")"], &child)?;
            }
        } else {
            return Err(NarError::UnsupportedType(path.to_owned()));
        }
        self.strs(&[")"], path)
    }

    /// Streams a file's bytes; the length written is the length read, so a
    /// file that changes size while it is read is an error, not a bad NAR.
    fn contents(&mut self, path: &Path, len: u64) -> Result<(), NarError> {
        self.out.write_all(&len.to_le_bytes()).map_err(io_at(path))?;
        let mut file = fs::File::open(path).map_err(io_at(path))?;
        let mut done = 0u64;
        loop {
            let n = file.read(&mut self.buf).map_err(io_at(path))?;
            if n == 0 {
                break;
            }
            done += n as u64;
            if done > len {
                break;
            }
            self.out.write_all(&self.buf[..n]).map_err(io_at(path))?;
        }
        if done != len {
            return Err(NarError::Io {
                path: path.to_owned(),
                source: io::Error::other(format!("the file changed size while it was read ({len} bytes, then {done})")),
            });
        }
        self.pad(len, path)
    }
}

/// Writes the NAR serialisation of the tree at `path` into `out`.
pub fn dump(path: &Path, out: impl Write) -> Result<(), NarError> {
    let mut w = NarWriter { out, buf: vec![0; 1 << 20] };
    w.strs(&["nix-archive-1"], path)?;
    w.node(path)
}

/// A `Write` that feeds a sha256 digest and counts bytes.
struct HashingWriter {
    hasher: Sha256,
    size: u64,
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The sha256 of a NAR and its size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NarHash {
    pub sha256: [u8; 32],
    pub size: u64,
}

impl NarHash {
    /// Nix's own notation: `sha256:` and the Nix base32 digest.
    pub fn to_nix_string(&self) -> String {
        format!("sha256:{}", super::base32::encode(&self.sha256))
    }
}

/// Hashes the NAR serialisation of the tree at `path` without building it.
pub fn hash_path(path: &Path) -> Result<NarHash, NarError> {
    let mut sink = HashingWriter { hasher: Sha256::new(), size: 0 };
    dump(path, &mut sink)?;
    Ok(NarHash { sha256: sink.hasher.finalize().into(), size: sink.size })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_file_layout() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        fs::write(&f, b"hi").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        let mut nar = Vec::new();
        dump(&f, &mut nar).unwrap();
        let mut want = Vec::new();
        for tok in [&b"nix-archive-1"[..], b"(", b"type", b"regular", b"contents", b"hi", b")"] {
            want.extend_from_slice(&(tok.len() as u64).to_le_bytes());
            want.extend_from_slice(tok);
            want.extend(std::iter::repeat_n(0u8, (8 - tok.len() % 8) % 8));
        }
        assert_eq!(nar, want);
        assert_eq!(hash_path(&f).unwrap().size, want.len() as u64);
    }

    #[test]
    fn missing_path_names_it() {
        let err = hash_path(Path::new("/nonexistent/nixflux")).unwrap_err();
        assert!(err.to_string().starts_with("`/nonexistent/nixflux`"), "{err}");
    }
}
