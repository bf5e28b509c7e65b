//! Publish targets: where bundles go. A small async trait (list with ETags,
//! get, conditional put, delete, sync) over backends that hold the same
//! layout: an S3 bucket prefix (`s3.rs`), a local directory (`dir.rs`), and
//! memory (`memory.rs`, for unit tests of the protocol). Keys are always
//! relative to the target's root (bucket prefix or directory).
//! `any::AnyTarget` is what a `TargetUrl` opens to.

pub mod any;
pub mod credentials;
pub mod dir;
pub mod memory;
pub mod s3;
pub mod s3_wire;
pub mod url;

use std::future::Future;
use std::path::PathBuf;

/// One listed object: key relative to the target root, ETag without quotes, size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub etag: String,
    pub size: u64,
}

/// An object's content and the ETag it was read with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub etag: String,
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
    #[error("{op} `{key}` at {endpoint}: the server refused the conditional write (another publisher may have written it since it was read, or the server does not support conditional writes)")]
    PreconditionFailed { op: &'static str, key: String, endpoint: String },
    /// 403 `InvalidAccessKeyId`, `SignatureDoesNotMatch`: the server does not accept these credentials.
    #[error("{op} `{key}` at {endpoint} failed: {message}: the server rejected the credentials")]
    CredentialsRejected { op: &'static str, key: String, endpoint: String, message: String },
    #[error("{op} `{key}` at {endpoint} failed: {message}")]
    Failed { op: &'static str, key: String, endpoint: String, message: String },
}

pub type Result<T> = std::result::Result<T, TargetError>;

/// Why a target could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("creating the target directory `{}`: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials file `{}` does not exist", path.display())]
    NoCredentialsFile { path: PathBuf },
    #[error("reading credentials file `{}`: {source}", path.display())]
    CredentialsFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("credentials file `{}` has no profile `{profile}`; {}", path.display(), profiles_it_has(available))]
    UnknownProfile { path: PathBuf, profile: String, available: Vec<String> },
    #[error("profile `{profile}` in credentials file `{}` has no `{missing}`", path.display())]
    IncompleteProfile { path: PathBuf, profile: String, missing: &'static str },
    /// The default chain found nothing; `tried` says where it looked.
    #[error("no S3 credentials found; tried {tried}")]
    NoCredentials { tried: String },
    /// A credentials source was found but could not be used (one line, no secrets).
    #[error("loading S3 credentials: {0}")]
    Credentials(String),
    #[error("CA file `{}` does not exist", path.display())]
    NoCaFile { path: PathBuf },
    #[error("reading CA file `{}`: {source}", path.display())]
    CaFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("setting up TLS with the CA file: {0}")]
    Tls(String),
    #[error("endpoint `{endpoint}` has no scheme")]
    EndpointScheme { endpoint: String },
}

/// `it has `a`, `b``, for the unknown-profile message (names only, never values).
fn profiles_it_has(available: &[String]) -> String {
    if available.is_empty() {
        return "it has no profiles".to_owned();
    }
    let names: Vec<String> = available.iter().map(|p| format!("`{p}`")).collect();
    format!("it has {}", names.join(", "))
}

/// What the publish protocol needs of a target. Writes of object files
/// are atomic for readers (a temporary name renamed into place, or a
/// server that stores the whole body before it shows it).
pub trait Target: Clone + Send + Sync + 'static {
    /// How messages name the target (`s3://flux/home/`, `dir:///srv/b`).
    fn name(&self) -> String;

    /// The prefix Flux sees in front of our keys (the bucket prefix).
    fn key_prefix(&self) -> &str;

    /// The target at `<root><name>/`: a layer's own pointer, generations,
    /// lease and objects, beside the root's. `name` is one path segment.
    /// Its Flux key prefix and bucket root follow (`get_at_root` still
    /// reads the bucket's root).
    fn child(&self, name: &str) -> Self;

    /// Every object under the root, in any order.
    fn list_unsorted(&self) -> impl Future<Output = Result<Vec<ObjectInfo>>> + Send;

    /// The object's bytes and ETag, or `None` when it does not exist.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Fetched>>> + Send;

    /// Writes an object. The pointer is written so that no prefix of it
    /// parses (see `generation.rs`), for servers that write in place.
    fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> impl Future<Output = Result<()>> + Send;

    /// Writes like `put` and returns the ETag a listing will show for the
    /// object now, when the target knows it (S3 answers it; the local
    /// targets list MD5s). `None` means unknown, never absent.
    fn put_tagged(
        &self,
        key: &str,
        bytes: &[u8],
        condition: &Condition,
    ) -> impl Future<Output = Result<Option<String>>> + Send {
        async move { self.put(key, bytes, condition).await.map(|()| None) }
    }

    /// An object at the root of the bucket, outside the key prefix (Flux
    /// reads `.sourceignore` there); `key` is relative to the bucket root.
    /// Targets without a prefix have their root there.
    fn get_at_root(&self, key: &str) -> impl Future<Output = Result<Option<Fetched>>> + Send {
        self.get(key)
    }

    /// Deletes an object; a missing one is no error.
    fn delete(&self, key: &str) -> impl Future<Output = Result<()>> + Send;

    /// Makes what was written durable before the pointer may name it.
    /// S3 servers acknowledge writes only once they are stored.
    fn sync(&self) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// The objects directly under `sub` (`""`, the root, or a prefix ending
    /// in `/`) and the sub-prefixes below it (each ending in `/`): what a
    /// publish lists instead of everything when it knows the object files.
    fn list_shallow(&self, sub: &str) -> impl Future<Output = Result<(Vec<ObjectInfo>, Vec<String>)>> + Send {
        async move { Ok(shallow(self.list_unsorted().await?, sub)) }
    }

    /// Every object under the root, sorted by key.
    fn list(&self) -> impl Future<Output = Result<Vec<ObjectInfo>>> + Send {
        async {
            let mut v = self.list_unsorted().await?;
            v.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(v)
        }
    }
}

/// The objects of `all` directly under `sub`, and the sub-prefixes below it.
pub fn shallow(all: Vec<ObjectInfo>, sub: &str) -> (Vec<ObjectInfo>, Vec<String>) {
    let mut objects = Vec::new();
    let mut prefixes = std::collections::BTreeSet::new();
    for o in all {
        let Some(rest) = o.key.strip_prefix(sub) else { continue };
        match rest.find('/') {
            Some(at) => {
                prefixes.insert(format!("{sub}{}", &rest[..=at]));
            }
            None => objects.push(o),
        }
    }
    (objects, prefixes.into_iter().collect())
}
