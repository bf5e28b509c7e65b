//! The in-memory target: a map of keys to bytes behind a lock, with MD5
//! ETags and conditions enforced as AWS S3 enforces them. It exists for
//! unit tests of the protocol, the guard and garbage collection, which need
//! a target whose every state they can set up and inspect; clones share
//! the same objects, like two clients of one bucket.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::dir::md5_hex;
use super::{Condition, Fetched, ObjectInfo, Result, Target, TargetError};

#[derive(Debug, Clone, Default)]
pub struct MemoryTarget {
    objects: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    /// In front of every key: empty, or `<layer>/` for a child.
    prefix: String,
    full_listings: Arc<AtomicUsize>,
}

impl MemoryTarget {
    pub fn new() -> MemoryTarget {
        MemoryTarget::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        // A test that panicked while holding the lock left whole values behind.
        self.objects.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// How many times the whole target was listed (shallow listings aside).
    pub fn full_listings(&self) -> usize {
        self.full_listings.load(Ordering::Relaxed)
    }

    fn all(&self) -> Vec<ObjectInfo> {
        self.lock()
            .iter()
            .filter_map(|(key, bytes)| Some((key.strip_prefix(self.prefix.as_str())?, bytes)))
            .map(|(key, bytes)| ObjectInfo { key: key.to_owned(), etag: md5_hex(bytes), size: bytes.len() as u64 })
            .collect()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// The bytes at `key`, if any.
    pub fn read(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().get(key).cloned()
    }

    /// Sets or (with `None`) removes a key behind the protocol's back.
    pub fn set(&self, key: &str, bytes: Option<Vec<u8>>) {
        match bytes {
            Some(b) => self.lock().insert(key.to_owned(), b),
            None => self.lock().remove(key),
        };
    }

    fn precondition(op: &'static str, key: &str) -> TargetError {
        TargetError::PreconditionFailed { op, key: key.to_owned(), endpoint: "memory".into() }
    }
}

impl Target for MemoryTarget {
    fn name(&self) -> String {
        "memory://".to_owned()
    }

    fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn child(&self, name: &str) -> Self {
        MemoryTarget {
            objects: Arc::clone(&self.objects),
            prefix: format!("{}{name}/", self.prefix),
            full_listings: Arc::clone(&self.full_listings),
        }
    }

    async fn list_unsorted(&self) -> Result<Vec<ObjectInfo>> {
        self.full_listings.fetch_add(1, Ordering::Relaxed);
        Ok(self.all())
    }

    async fn list_shallow(&self, sub: &str) -> Result<(Vec<ObjectInfo>, Vec<String>)> {
        Ok(super::shallow(self.all(), sub))
    }

    async fn get_at_root(&self, key: &str) -> Result<Option<Fetched>> {
        Ok(self.lock().get(key).map(|bytes| Fetched { etag: md5_hex(bytes), bytes: bytes.clone() }))
    }

    async fn get(&self, key: &str) -> Result<Option<Fetched>> {
        let key = &format!("{}{key}", self.prefix);
        Ok(self.lock().get(key).map(|bytes| Fetched { etag: md5_hex(bytes), bytes: bytes.clone() }))
    }

    async fn put(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<()> {
        let key = &format!("{}{key}", self.prefix);
        let mut objects = self.lock();
        match condition {
            Condition::None => {}
            Condition::IfAbsent if objects.contains_key(key) => return Err(Self::precondition("writing", key)),
            Condition::IfAbsent => {}
            Condition::IfMatch(etag) => {
                if objects.get(key).map(|b| md5_hex(b)).as_deref() != Some(etag.as_str()) {
                    return Err(Self::precondition("replacing", key));
                }
            }
        }
        objects.insert(key.to_owned(), bytes.to_vec());
        Ok(())
    }

    async fn put_tagged(&self, key: &str, bytes: &[u8], condition: &Condition) -> Result<Option<String>> {
        self.put(key, bytes, condition).await.map(|()| Some(md5_hex(bytes)))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        self.lock().remove(&format!("{}{key}", self.prefix));
        Ok(())
    }
}
