//! A listing of the whole target taken in the background (rclone hashes
//! every file it lists, which makes it the slowest read), awaited only
//! where it decides something; or one known already from the live
//! record's manifest (`manifest.rs`).

use super::error::PublishError;
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
