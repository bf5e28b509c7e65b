//! The object files a publish uploads: which (`uploads_for`), and the
//! uploads themselves, a few at a time.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::desired::Loaded;
use super::error::PublishError;
use super::failpoint;
use super::options::Options;
use super::plan::{entering, missing_files};
use super::progress::{Phase, Progress};
use super::target::{Condition, ObjectInfo, Target, TargetError};
use crate::bundle::read::ReadError;

/// The files of `desired` to upload over `listed`. With the manifest
/// (`fast`), the live generation's files are known whole (and were not
/// read): only the files entering it are checked.
pub fn uploads_for(fast: bool, listed: &[ObjectInfo], desired: &Loaded, live: &BTreeSet<&str>) -> Vec<usize> {
    if fast {
        let entering = entering(desired, live);
        missing_files(listed, desired, &BTreeSet::new(), &not_in(desired, &entering))
    } else {
        missing_files(listed, desired, live, &BTreeSet::new())
    }
}

/// The indexes of `desired`'s files other than `entering`, by path.
fn not_in<'a>(desired: &'a Loaded, entering: &[usize]) -> BTreeSet<&'a str> {
    let entering: BTreeSet<usize> = entering.iter().copied().collect();
    (0..desired.files.len()).filter(|i| !entering.contains(i)).map(|i| desired.files[i].path.as_str()).collect()
}

/// Uploads `files`; returns each key with the ETag the target answered
/// (when it says) and the size.
pub async fn upload_all<T: Target>(
    target: &T,
    desired: &Loaded,
    indexes: &[usize],
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Vec<(String, Option<String>, u64)>, PublishError> {
    if indexes.is_empty() {
        return Ok(Vec::new());
    }
    // A live file kept unread (only to repair a target) is read again here.
    let files = indexes
        .iter()
        .map(|i| {
            let f = &desired.files[*i];
            Ok((f.path.clone(), f.content()?.into_owned()))
        })
        .collect::<Result<Vec<(String, Vec<u8>)>, ReadError>>()?;
    progress.start(Phase::Upload, files.len() as u64);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(opts.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (path, content) in files {
        let target = target.clone();
        let permit = semaphore.clone();
        tasks.spawn(async move {
            let _permit = permit.acquire_owned().await;
            let etag = target.put_tagged(&path, &content, &Condition::None).await?;
            Ok::<_, TargetError>((path, etag, content.len() as u64))
        });
    }
    let mut first_error = None;
    let mut written = Vec::new();
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(w)) => {
                written.push(w);
                failpoint::hit("upload");
                progress.advance();
            }
            Ok(Err(e)) => {
                first_error.get_or_insert(e);
                tasks.abort_all();
            }
            Err(join) if join.is_cancelled() => {}
            Err(join) => std::panic::resume_unwind(join.into_panic()),
        }
    }
    progress.finish();
    match first_error {
        Some(e) => Err(e.into()),
        None => Ok(written),
    }
}
