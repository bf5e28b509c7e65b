//! The publish lease: `nixflux.lock` under the target root, held while a
//! publish, rollback or gc changes the target.
//!
//! Taking it is a conditional write: create-if-absent, or replace-if-match
//! for a stale lease. Servers that enforce conditions (AWS S3, MinIO, and
//! the directory target, which uses `link(2)`) make that exact. rclone
//! ignores `If-None-Match`/`If-Match`, so the lease is also read back after
//! writing and checked again before each step that changes what readers see
//! (the generation record and the pointer switch); the pointer's ETag is
//! checked too. A lease is stale when it expired, or when it names this host
//! and a process that no longer runs (a publisher killed mid-way).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::generation::LEASE_KEY;
use super::target::{Condition, Target, TargetError};

pub const DEFAULT_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaseBody {
    owner: String,
    host: String,
    pid: u32,
    acquired_at: String,
    expires_at_unix: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("another publisher holds the lease on {target}: {holder}")]
    Held { target: String, holder: String },
    #[error("the lease on {target} was taken over by {holder} while this publish ran")]
    Lost { target: String, holder: String },
    #[error(transparent)]
    Target(#[from] TargetError),
    #[error("encoding the lease: {0}")]
    Encode(#[source] serde_json::Error),
}

/// A held lease. Release it with `release`; if the process dies, it goes
/// stale (see the module doc).
#[derive(Debug)]
pub struct Lease {
    owner: String,
    /// Whether a stale lease was taken over: its dead holder may have
    /// written to the target until it died.
    took_over: bool,
}

fn now_unix() -> i64 {
    jiff::Timestamp::now().as_second()
}

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown-host".into();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Fails unless the lease on the target is `owner`'s.
async fn check_owner(target: &impl Target, owner: &str) -> Result<(), LeaseError> {
    match read(target).await? {
        Some((body, _)) if body.owner == owner => Ok(()),
        Some((body, _)) => Err(LeaseError::Lost { target: target.name(), holder: body.describe() }),
        None => Err(LeaseError::Lost { target: target.name(), holder: "nobody (it was deleted)".into() }),
    }
}

impl LeaseBody {
    fn stale(&self) -> bool {
        self.expires_at_unix <= now_unix() || (self.host == hostname() && !process_alive(self.pid))
    }

    fn describe(&self) -> String {
        format!("process {} on `{}` since {}", self.pid, self.host, self.acquired_at)
    }
}

async fn read(target: &impl Target) -> Result<Option<(LeaseBody, String)>, TargetError> {
    // The lease is the one contended object: a read can race a release that
    // deletes it (rclone then ends the body with a streaming error). Such a
    // read is tried again; the next one sees the new state.
    let mut attempt = 0;
    let fetched = loop {
        match target.get(LEASE_KEY).await {
            Err(TargetError::Failed { .. }) if attempt < 2 => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => break other?,
        }
    };
    Ok(fetched.map(|fetched| {
        let (bytes, etag) = (fetched.bytes, fetched.etag);
        // An unreadable lease file is treated as held by someone unknown
        // until it expires: give it an owner that matches no one.
        let body = serde_json::from_slice(&bytes).unwrap_or(LeaseBody {
            owner: "unreadable".into(),
            host: "unknown".into(),
            pid: 0,
            acquired_at: "unknown".into(),
            expires_at_unix: now_unix() + DEFAULT_TTL.as_secs() as i64,
        });
        (body, etag)
    }))
}

/// The lease as a publish found it before it knew it had work to do (see
/// `Lease::look`): read at once with the pointer, so that taking it later
/// is one write.
#[derive(Debug)]
pub struct Seen(Option<(LeaseBody, String)>);

impl Lease {
    pub async fn acquire(target: &impl Target, ttl: Duration) -> Result<Lease, LeaseError> {
        let seen = Self::look(target).await?;
        let lease = Self::acquire_seen(target, ttl, seen).await?;
        lease.check(target).await?;
        tracing::debug!(owner = %lease.owner, "lease acquired");
        Ok(lease)
    }

    /// Reads the lease without taking it.
    pub async fn look(target: &impl Target) -> Result<Seen, TargetError> {
        Ok(Seen(read(target).await?))
    }

    /// Takes the lease as `seen` found it (held: an error; stale: taken
    /// over; none: created), and does not read it back: the caller's next
    /// step must be `check` (a publish reads the pointer with it). A lease
    /// another publisher took since `seen` is refused by the servers that
    /// enforce conditions; on the others the check finds who holds it,
    /// and whoever lost stops at its next check, before it switches.
    pub async fn acquire_seen(target: &impl Target, ttl: Duration, seen: Seen) -> Result<Lease, LeaseError> {
        let condition = match seen.0 {
            Some((body, _)) if !body.stale() => {
                return Err(LeaseError::Held { target: target.name(), holder: body.describe() })
            }
            Some((body, etag)) => {
                tracing::warn!(holder = %body.describe(), "taking over a stale lease");
                Condition::IfMatch(etag)
            }
            None => Condition::IfAbsent,
        };
        let mut lease = Self::write(target, &condition, ttl).await?;
        lease.took_over = matches!(condition, Condition::IfMatch(_));
        Ok(lease)
    }

    /// Whether `etag` is that of this lease's body as written.
    /// Whether this lease replaced a stale one (see `took_over`).
    pub fn took_over(&self) -> bool {
        self.took_over
    }

    /// Writes a new lease under `condition` and reads it back.
    async fn take(target: &impl Target, condition: &Condition, ttl: Duration) -> Result<Lease, LeaseError> {
        let lease = Self::write(target, condition, ttl).await?;
        lease.check(target).await?;
        Ok(lease)
    }

    /// Writes a new lease under `condition`.
    async fn write(target: &impl Target, condition: &Condition, ttl: Duration) -> Result<Lease, LeaseError> {
        let owner = {
            let seed = format!("{}:{}:{}", hostname(), std::process::id(), jiff::Timestamp::now().as_nanosecond());
            crate::bundle::sha256_hex(seed.as_bytes())[..16].to_owned()
        };
        let body = LeaseBody {
            owner: owner.clone(),
            host: hostname(),
            pid: std::process::id(),
            acquired_at: jiff::Timestamp::now().to_string(),
            expires_at_unix: now_unix() + ttl.as_secs() as i64,
        };
        let bytes = serde_json::to_vec(&body).map_err(LeaseError::Encode)?;
        match target.put(LEASE_KEY, &bytes, condition).await {
            Ok(()) => {}
            Err(TargetError::PreconditionFailed { .. }) => {
                let holder = read(target).await?.map_or_else(|| "unknown".to_owned(), |(b, _)| b.describe());
                return Err(LeaseError::Held { target: target.name(), holder });
            }
            Err(e) => return Err(e.into()),
        }
        Ok(Lease { owner, took_over: false })
    }

    /// Removes a stale lease (its holder is gone), as a publish with
    /// nothing left to do finds it after its own crash past the switch, so
    /// that it does not block other hosts until it expires. It is taken
    /// over first (a conditional write), so a live publisher's fresh lease
    /// is never deleted. Returns whether one was removed.
    pub async fn clear_stale(target: &impl Target, seen: Seen) -> Result<bool, LeaseError> {
        match seen.0 {
            Some((body, etag)) if body.stale() => {
                tracing::warn!(holder = %body.describe(), "removing a stale lease");
                let lease = Self::take(target, &Condition::IfMatch(etag), Duration::from_secs(60)).await?;
                lease.release(target).await?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Fails unless the lease on the target is still this one.
    pub async fn check(&self, target: &impl Target) -> Result<(), LeaseError> {
        check_owner(target, &self.owner).await
    }

    /// `check`, as a future that borrows nothing (to spawn it).
    pub fn check_spawned<T: Target>(&self, target: &T) -> tokio::task::JoinHandle<Result<(), LeaseError>> {
        let (target, owner) = (target.clone(), self.owner.clone());
        tokio::spawn(async move { check_owner(&target, &owner).await })
    }

    /// `release`, warning when it cannot: a lease left behind expires by itself.
    pub async fn give_up(self, target: &impl Target) {
        if let Err(e) = self.release(target).await {
            tracing::warn!(error = %e, "could not release the lease; it expires by itself");
        }
    }

    /// `give_up` right after a `check` found the lease still this one
    /// (garbage collection's, moments before): deleted without reading it again.
    pub async fn give_up_checked(self, target: &impl Target) {
        if let Err(e) = target.delete(LEASE_KEY).await {
            tracing::warn!(error = %e, "could not release the lease; it expires by itself");
        }
    }

    /// Deletes the lease if it is still this one.
    pub async fn release(self, target: &impl Target) -> Result<(), TargetError> {
        match read(target).await? {
            Some((body, _)) if body.owner == self.owner => target.delete(LEASE_KEY).await,
            _ => Ok(()),
        }
    }
}
