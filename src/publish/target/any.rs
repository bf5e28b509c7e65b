//! `AnyTarget`: what a `TargetUrl` opens to, a directory or an S3 prefix,
//! dispatching the `Target` calls to the backend.

use super::dir::DirTarget;
use super::s3::{S3Options, S3Target};
use super::url::TargetUrl;
use super::{Condition, Fetched, ObjectInfo, OpenError, Result, Target};

/// A target opened from a `TargetUrl`.
#[derive(Debug, Clone)]
pub struct AnyTarget {
    backend: Backend,
    url: TargetUrl,
}

#[derive(Debug, Clone)]
enum Backend {
    Dir(DirTarget),
    S3(S3Target),
}

impl AnyTarget {
    pub async fn open(url: TargetUrl, s3: &S3Options) -> std::result::Result<AnyTarget, OpenError> {
        let backend = match &url {
            TargetUrl::Dir { path } => Backend::Dir(DirTarget::open(path)?),
            TargetUrl::S3 { bucket, prefix } => Backend::S3(S3Target::open(bucket, prefix, s3).await?),
        };
        Ok(AnyTarget { backend, url })
    }

    pub fn url(&self) -> &TargetUrl {
        &self.url
    }
}

impl Target for AnyTarget {
    fn name(&self) -> String {
        self.url.to_string()
    }

    fn key_prefix(&self) -> &str {
        match &self.backend {
            Backend::Dir(d) => d.key_prefix(),
            Backend::S3(s) => s.key_prefix(),
        }
    }

    fn child(&self, name: &str) -> Self {
        let (backend, url) = match (&self.backend, &self.url) {
            (Backend::Dir(d), TargetUrl::Dir { path }) => {
                (Backend::Dir(d.child(name)), TargetUrl::Dir { path: path.join(name) })
            }
            (Backend::S3(s), TargetUrl::S3 { bucket, prefix }) => (
                Backend::S3(s.child(name)),
                TargetUrl::S3 { bucket: bucket.clone(), prefix: format!("{prefix}{name}/") },
            ),
            // `open` pairs every URL with its backend.
            (Backend::Dir(d), url) => (Backend::Dir(d.child(name)), url.clone()),
            (Backend::S3(s), url) => (Backend::S3(s.child(name)), url.clone()),
        };
        AnyTarget { backend, url }
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        match &self.backend {
            Backend::Dir(d) => d.list_unsorted().await,
            Backend::S3(s) => s.list_unsorted().await,
        }
    }

    async fn list_shallow(&self, sub: &str) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        match &self.backend {
            Backend::Dir(d) => d.list_shallow(sub).await,
            Backend::S3(s) => s.list_shallow(sub).await,
        }
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        match &self.backend {
            Backend::Dir(d) => d.get(key).await,
            Backend::S3(s) => s.get(key).await,
        }
    }

    async fn get_at_root(&self, key: &str) -> Result<Option<Fetched>> {
        match &self.backend {
            Backend::Dir(d) => d.get_at_root(key).await,
            Backend::S3(s) => s.get_at_root(key).await,
        }
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.put(key, bytes, condition).await,
            Backend::S3(s) => s.put(key, bytes, condition).await,
        }
    }

    async fn put_tagged(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<Option<String>> {
        match &self.backend {
            Backend::Dir(d) => d.put_tagged(key, bytes, condition).await,
            Backend::S3(s) => s.put_tagged(key, bytes, condition).await,
        }
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.delete(key).await,
            Backend::S3(s) => s.delete(key).await,
        }
    }

    async fn sync(&self) -> Result<()> {
        match &self.backend {
            Backend::Dir(d) => d.sync().await,
            Backend::S3(s) => s.sync().await,
        }
    }
}
