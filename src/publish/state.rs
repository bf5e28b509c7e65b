//! What a target holds now: its listing, the live pointer (with the ETag it
//! was read with) and the live generation's record; and the revision Flux
//! computes from a listing.

use super::error::PublishError;
use super::generation::{record_key, Pointer, Record, POINTER_KEY};
use super::target::{ObjectInfo, Target, TargetError};
use crate::bundle::sha256_hex;

/// The live pointer and the ETag it was read with (the switch's condition).
#[derive(Debug, Clone)]
pub struct LivePointer {
    pub pointer: Pointer,
    pub etag: String,
}

#[derive(Debug, Clone)]
pub struct State {
    pub listing: Vec<ObjectInfo>,
    pub pointer: Option<LivePointer>,
    /// The live generation's record (absent for an empty target).
    pub live: Option<Record>,
}

impl State {
    pub async fn load(target: &impl Target) -> Result<State, PublishError> {
        let (listing, pointer) = load_pointer(target).await?;
        Self::with_record(target, listing, pointer).await
    }

    /// Completes a state from a listing and pointer read already.
    pub async fn with_record(
        target: &impl Target,
        listing: Vec<ObjectInfo>,
        pointer: Option<LivePointer>,
    ) -> Result<State, PublishError> {
        let live = match &pointer {
            Some(p) => {
                load_record(target, p.pointer.generation).await?.filter(|r| r.bundle_digest == p.pointer.bundle_digest)
            }
            None => None,
        };
        if let (Some(p), None) = (&pointer, &live) {
            tracing::warn!(
                generation = p.pointer.generation,
                "the live generation has no matching record; its history is lost"
            );
        }
        Ok(State { listing, pointer, live })
    }

    pub fn generation(&self) -> Option<u64> {
        self.pointer.as_ref().map(|p| p.pointer.generation)
    }

    pub fn pointer_etag(&self) -> Option<&str> {
        self.pointer.as_ref().map(|p| p.etag.as_str())
    }

    pub fn live_object_count(&self) -> usize {
        self.live.as_ref().map_or(0, Record::object_count)
    }
}

/// The listing and the live pointer, fetched together.
pub async fn load_pointer(target: &impl Target) -> Result<(Vec<ObjectInfo>, Option<LivePointer>), PublishError> {
    let (listing, pointer) = tokio::join!(target.list(), read_pointer(target));
    Ok((listing?, pointer?))
}

/// The live pointer and its ETag; an error if the prefix holds a
/// kustomization nixflux did not write.
pub async fn read_pointer(target: &impl Target) -> Result<Option<LivePointer>, PublishError> {
    match target.get(POINTER_KEY).await? {
        None => Ok(None),
        Some(fetched) => {
            let pointer = Pointer::parse(&fetched.bytes)
                .map_err(|why| PublishError::ForeignPointer { target: target.name(), why })?;
            Ok(Some(LivePointer { pointer, etag: fetched.etag }))
        }
    }
}

/// The ETag of the pointer now, if there is one.
pub async fn pointer_etag(target: &impl Target) -> Result<Option<String>, TargetError> {
    Ok(target.get(POINTER_KEY).await?.map(|f| f.etag))
}

/// A generation's record; `None` when it is missing or unreadable.
pub async fn load_record(target: &impl Target, generation: u64) -> Result<Option<Record>, TargetError> {
    Ok(target.get(&record_key(generation)).await?.and_then(|f| serde_json::from_slice(&f.bytes).ok()))
}

/// The revision Flux's Bucket source computes from a listing: sha256 over
/// `<key> <etag>\n` for every object, sorted by key (keys with the prefix).
pub fn flux_revision(prefix: &str, listing: &[ObjectInfo]) -> String {
    let mut lines: Vec<String> = listing.iter().map(|o| format!("{prefix}{} {}\n", o.key, o.etag)).collect();
    lines.sort();
    format!("sha256:{}", sha256_hex(lines.concat().as_bytes()))
}
