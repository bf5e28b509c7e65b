//! Publish targets: where bundles go. One small set of operations (list with
//! ETags, get, conditional put, delete, sync) over two backends
//! that hold the same layout: an S3 bucket prefix, or a local directory.
//! Keys are always relative to the target's root (bucket prefix or directory).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::dir::DirBackend;
use super::s3::{S3Backend, S3Options};

/// Where to publish: `s3://BUCKET[/PREFIX]`, `dir:///PATH` or a plain path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetUrl {
    S3 { bucket: String, prefix: String },
    Dir { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetUrlError {
    #[error("`{0}` has no bucket: write `s3://BUCKET` or `s3://BUCKET/PREFIX`")]
    NoBucket(String),
    #[error("`{url}`: `{bucket}` is not a valid bucket name (3 to 63 lowercase letters, digits, `.` and `-`, starting and ending with a letter or digit)")]
    Bucket { url: String, bucket: String },
    #[error("`{url}`: the prefix segment `{segment}` is not allowed (segments are non-empty, not `.` or `..`, and use letters, digits and `._-`)")]
    Prefix { url: String, segment: String },
    #[error("`{0}`: unsupported scheme; use `s3://BUCKET/PREFIX`, `dir:///PATH` or a plain directory path")]
    Scheme(String),
    #[error("`{0}`: a `dir://` URL takes an absolute path (`dir:///srv/bundles`)")]
    DirNotAbsolute(String),
}

fn valid_bucket(b: &str) -> bool {
    let bytes = b.as_bytes();
    (3..=63).contains(&bytes.len())
        && bytes.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'.' || *c == b'-')
        && bytes[0].is_ascii_alphanumeric()
        && bytes[bytes.len() - 1].is_ascii_alphanumeric()
        && !b.contains("..")
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && s.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

impl FromStr for TargetUrl {
    type Err = TargetUrlError;

    fn from_str(url: &str) -> std::result::Result<Self, TargetUrlError> {
        if let Some(rest) = url.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(TargetUrlError::NoBucket(url.to_owned()));
            }
            if !valid_bucket(bucket) {
                return Err(TargetUrlError::Bucket { url: url.to_owned(), bucket: bucket.to_owned() });
            }
            let mut normalized = String::new();
            for segment in prefix.split('/').filter(|s| !s.is_empty()) {
                if !valid_segment(segment) {
                    return Err(TargetUrlError::Prefix { url: url.to_owned(), segment: segment.to_owned() });
                }
                normalized.push_str(segment);
                normalized.push('/');
            }
            if prefix.split('/').any(|s| s == ".." || s == ".") {
                return Err(TargetUrlError::Prefix { url: url.to_owned(), segment: "..".into() });
            }
            return Ok(TargetUrl::S3 { bucket: bucket.to_owned(), prefix: normalized });
        }
        if let Some(path) = url.strip_prefix("dir://") {
            if !path.starts_with('/') {
                return Err(TargetUrlError::DirNotAbsolute(url.to_owned()));
            }
            return Ok(TargetUrl::Dir { path: PathBuf::from(path) });
        }
        if url.contains("://") {
            return Err(TargetUrlError::Scheme(url.to_owned()));
        }
        Ok(TargetUrl::Dir { path: PathBuf::from(url) })
    }
}

impl fmt::Display for TargetUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TargetUrl::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            TargetUrl::Dir { path } if path.is_absolute() => write!(f, "dir://{}", path.display()),
            TargetUrl::Dir { path } => write!(f, "`{}`", path.display()),
        }
    }
}

/// One listed object: key relative to the target root, ETag without quotes, size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// A precondition on a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    None,
    /// Only if the key does not exist.
    IfAbsent,
    /// Only if the key's current ETag is this one.
    IfMatch(String),
}

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{op} `{key}` at {endpoint}: the precondition failed (someone else wrote it)")]
    PreconditionFailed { op: &'static str, key: String, endpoint: String },
    #[error("{op} `{key}` at {endpoint} failed: {message}")]
    Failed { op: &'static str, key: String, endpoint: String, message: String },
}

pub type Result<T> = std::result::Result<T, TargetError>;

#[derive(Debug, Clone)]
enum Backend {
    Dir(DirBackend),
    S3(S3Backend),
}

/// A publish target, ready to use.
#[derive(Debug, Clone)]
pub struct Target {
    backend: Backend,
    url: TargetUrl,
}

impl Target {
    pub async fn open(url: TargetUrl, s3: &S3Options) -> anyhow::Result<Target> {
        let backend = match &url {
            TargetUrl::Dir { path } => Backend::Dir(DirBackend::open(path)?),
            TargetUrl::S3 { bucket, prefix } => Backend::S3(S3Backend::open(bucket, prefix, s3).await?),
        };
        Ok(Target { backend, url })
    }

    pub fn url(&self) -> &TargetUrl {
        &self.url
    }

    /// The prefix Flux sees in front of our keys (the bucket prefix).
    pub fn key_prefix(&self) -> &str {
        match &self.url {
            TargetUrl::S3 { prefix, .. } => prefix,
            TargetUrl::Dir { .. } => "",
        }
    }

    /// Every object under the root, sorted by key.
    pub async fn list(&self) -> Result<Vec<ObjectInfo>> {
        let mut v = match &self.backend {
            Backend::Dir(d) => d.list()?,
            Backend::S3(s) => s.list().await?,
        };
        v.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(v)
    }

    /// The object's bytes and ETag, or `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>> {
        match &self.backend {
            Backend::Dir(d) => d.get(key),
            Backend::S3(s) => s.get(key).await,
        }
    }

    /// Writes an object. A directory renames it into place; S3 servers
    /// mostly do the same, but one that writes in place lets a reader see a
    /// prefix of the new bytes: the pointer is written so that no prefix of it
    /// parses (see `generation.rs`). (A one-part multipart upload would be
    /// atomic on rclone, but rclone 1.75 answers CreateMultipartUpload with
    /// an XML root that aws-sdk-s3 rejects.)
    pub async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.put(key, bytes, condition),
            Backend::S3(s) => s.put(key, bytes, condition).await,
        }
    }

    /// Makes what was written durable before the pointer may name it.
    /// S3 servers acknowledge writes only once they are stored.
    pub async fn sync(&self) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.sync(),
            Backend::S3(_) => Ok(()),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.delete(key),
            Backend::S3(s) => s.delete(key).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_targets() {
        assert_eq!(
            "s3://flux/home".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "home/".into() }
        );
        assert_eq!(
            "s3://flux/a/b/".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "a/b/".into() }
        );
        assert_eq!(
            "s3://flux".parse::<TargetUrl>().unwrap(),
            TargetUrl::S3 { bucket: "flux".into(), prefix: "".into() }
        );
        assert_eq!("dir:///srv/b".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "/srv/b".into() });
        assert_eq!("out/b".parse::<TargetUrl>().unwrap(), TargetUrl::Dir { path: "out/b".into() });
        for bad in ["s3://", "s3://Flux/x", "s3://fl/x", "s3://flux/../x", "s3://flux/a b", "http://x", "dir://rel"] {
            assert!(bad.parse::<TargetUrl>().is_err(), "{bad}");
        }
    }
}
