//! What the target holds after a publish, kept from what the publish did
//! instead of listed again: the listing taken under the lease, the writes
//! with the ETags the server answered, minus the deletes. Nobody else
//! writes while the lease is held, so this is the listing a reader takes
//! once the publish is done; the Flux revision follows from it without a
//! second listing (rclone hashes every file on every listing). Where an
//! object Flux indexes has no known ETag, the target is listed after all.

use std::collections::BTreeMap;

use super::state::flux_revision;
use super::target::{ObjectInfo, Target, TargetError};
use crate::bundle::Sha256Digest;
use crate::flux::ignore::Ignore;
use crate::flux::revision::{index_of_sorted, is_indexed};

#[derive(Debug, Clone, Default)]
pub struct Tracked {
    /// Key → (ETag when known, size).
    objects: BTreeMap<String, (Option<String>, u64)>,
}

impl Tracked {
    pub fn from_listing(listing: &[ObjectInfo]) -> Tracked {
        Tracked { objects: listing.iter().map(|o| (o.key.clone(), (Some(o.etag.clone()), o.size))).collect() }
    }

    /// `key` now holds `size` bytes with this ETag (`None`: unknown).
    pub fn put(&mut self, key: &str, etag: Option<String>, size: u64) {
        self.objects.insert(key.to_owned(), (etag, size));
    }

    pub fn delete(&mut self, key: &str) {
        self.objects.remove(key);
    }

    /// Whether `key` exists is no longer known for sure.
    pub fn unsure(&mut self, key: &str) {
        self.objects.insert(key.to_owned(), (None, 0));
    }

    /// The listing, as far as it is known.
    pub fn listing(&self) -> Vec<ObjectInfo> {
        self.objects
            .iter()
            .map(|(key, (etag, size))| ObjectInfo {
                key: key.clone(),
                etag: etag.clone().unwrap_or_default(),
                size: *size,
            })
            .collect()
    }

    /// The revision Flux computes from what is known, if every object it
    /// indexes has a known ETag.
    fn revision(&self, prefix: &str, ignore: &Ignore) -> Option<String> {
        let mut key = String::with_capacity(prefix.len() + 96);
        let mut entries = Vec::with_capacity(self.objects.len());
        for (relative, (etag, _)) in &self.objects {
            match etag {
                Some(etag) => entries.push((relative.as_str(), etag.as_str())),
                None => {
                    key.clear();
                    key.push_str(prefix);
                    key.push_str(relative);
                    if is_indexed(&key, ignore) {
                        return None;
                    }
                }
            }
        }
        Some(Sha256Digest::of(index_of_sorted(prefix, &entries, ignore).as_bytes()).to_string())
    }
}

/// The revision Flux computes for `target` now: from `tracked` when it
/// knows every ETag Flux hashes, else from a new listing.
pub async fn revision_after(
    target: &impl Target,
    tracked: Option<&Tracked>,
    ignore: &Ignore,
) -> Result<String, TargetError> {
    if let Some(revision) = tracked.and_then(|t| t.revision(target.key_prefix(), ignore)) {
        return Ok(revision);
    }
    tracing::debug!("listing the target for the Flux revision");
    let listing = target.list().await?;
    Ok(flux_revision(target, &listing, ignore))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flux::revision::bucket_ignore;

    fn info(key: &str, etag: &str) -> ObjectInfo {
        ObjectInfo { key: key.into(), etag: etag.into(), size: 1 }
    }

    #[test]
    fn unknown_etags_matter_only_where_flux_looks() {
        let ignore = bucket_ignore(None, Some("generations/\nnixflux.lock\n"));
        let mut t = Tracked::from_listing(&[info("kustomization.yaml", "a"), info("objects/x.yaml", "b")]);
        t.unsure("nixflux.lock");
        t.put("generations/2.json", None, 10);
        assert!(t.revision("p/", &ignore).is_some());
        t.put("objects/y.yaml", None, 10);
        assert!(t.revision("p/", &ignore).is_none());
        t.put("objects/y.yaml", Some("c".into()), 10);
        t.delete("objects/x.yaml");
        // What Flux computes from a listing of what is there (the record
        // and the lease are ignored by these rules).
        let listed = [info("objects/y.yaml", "c"), info("kustomization.yaml", "a")];
        let want = crate::flux::revision::bucket_revision("p/", &listed, &ignore).to_string();
        assert_eq!(t.revision("p/", &ignore), Some(want));
    }
}
