//! A listing of the target taken in the background: the publish sends it
//! out first (rclone hashes every file it lists, which makes it the
//! slowest read) and awaits it only where it decides something.

use super::error::PublishError;
use super::generation::LEASE_KEY;
use super::lease::Lease;
use super::target::{ObjectInfo, Target, TargetError};

/// A listing of the target, taken in the background and awaited where it
/// decides something.
pub struct Listing(tokio::task::JoinSet<Result<Vec<ObjectInfo>, TargetError>>, Option<Vec<ObjectInfo>>);

impl Listing {
    pub fn spawn<T: Target>(target: &T) -> Listing {
        let mut task = tokio::task::JoinSet::new();
        let target = target.clone();
        task.spawn(async move { target.list().await });
        Listing(task, None)
    }

    /// A listing known already (see `manifest.rs`).
    pub fn ready(listing: Vec<ObjectInfo>) -> Listing {
        Listing(tokio::task::JoinSet::new(), Some(listing))
    }

    /// Whether a listing taken before the lease is still the target's
    /// content, the pointer being unchanged and no stale lease taken over:
    /// only a lease holder writes, and none held one while it was taken
    /// (it shows no lease but this run's own). The one case it cannot see, another publisher
    /// taking and releasing the lease inside this run's first milliseconds
    /// without switching, leaves its unreferenced files unseen: the next
    /// garbage collection removes them, and a revision computed without
    /// them is not Flux's, so `--wait` times out rather than passing.
    pub async fn still_exact(&mut self, lease: &Lease) -> Result<bool, PublishError> {
        Ok(!self.get().await?.iter().any(|o| o.key == LEASE_KEY && !lease.is_own_etag(&o.etag)))
    }

    pub async fn get(&mut self) -> Result<&[ObjectInfo], PublishError> {
        if self.1.is_none() {
            let listed = match self.0.join_next().await {
                Some(Ok(listed)) => listed?,
                Some(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
                Some(Err(_)) | None => {
                    return Err(TargetError::Failed {
                        op: "list",
                        key: String::new(),
                        endpoint: String::new(),
                        message: "the listing was cancelled".into(),
                    }
                    .into())
                }
            };
            self.1 = Some(listed);
        }
        Ok(self.1.as_deref().unwrap_or_default())
    }
}
