//! Waiting for Flux to apply exactly the published revision: a watch on
//! the Bucket and on every Kustomization (`follow`), judged on every
//! change by `judge`.

use std::time::{Duration, Instant};

use kube::api::Api;
use serde::Serialize;
use tokio::sync::mpsc;

use super::access::FluxLoop;
use super::error::FluxError;
use super::follow::follow;
use super::judge::{judge, Failure, Verdict};
use super::trigger;
use crate::crd::flux::{Bucket, Kustomization};

#[derive(Debug, Clone)]
pub struct WaitOptions {
    pub timeout: Duration,
    /// How long a Bucket may fail after handling the request before the
    /// wait gives up on it.
    pub bucket_grace: Duration,
    /// How often a Bucket that handled the request but serves another
    /// revision (it listed the target while garbage was being collected)
    /// is asked again.
    pub retrigger_after: Duration,
}

impl WaitOptions {
    pub fn with_timeout(timeout: Duration) -> WaitOptions {
        WaitOptions { timeout, bucket_grace: Duration::from_secs(10), retrigger_after: Duration::from_secs(2) }
    }
}

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Outcome {
    #[serde(rename_all = "camelCase")]
    Applied { revision: String, elapsed_ms: u64 },
    #[serde(rename_all = "camelCase")]
    Failed { revision: String, elapsed_ms: u64, failure: Failure },
    #[serde(rename_all = "camelCase")]
    TimedOut { revision: String, elapsed_ms: u64, waiting_for: String },
}

enum Update {
    Bucket(Box<Bucket>),
    Kustomization(usize, Box<Kustomization>),
    Lost(FluxError),
}

/// Waits until Flux applied `revision`, failed it, or `opts.timeout`
/// passed. `token` is the request already sent; `progress` gets a line
/// whenever the state changes.
pub async fn wait(
    client: &kube::Client,
    flux: &FluxLoop,
    revision: &str,
    mut token: String,
    opts: &WaitOptions,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Outcome, FluxError> {
    let started = Instant::now();
    let elapsed = || started.elapsed().as_millis() as u64;
    let (tx, mut rx) = mpsc::channel(64);
    let mut tasks = tokio::task::JoinSet::new();
    {
        let api: Api<Bucket> = Api::namespaced(client.clone(), &flux.bucket.namespace);
        let (tx, name) = (tx.clone(), flux.bucket.clone());
        tasks.spawn(follow(api, name, tx, |b| Update::Bucket(Box::new(b)), Update::Lost));
    }
    for (i, k) in flux.kustomizations.iter().enumerate() {
        let api: Api<Kustomization> = Api::namespaced(client.clone(), &k.namespace);
        tasks.spawn(follow(api, k.clone(), tx.clone(), move |k| Update::Kustomization(i, Box::new(k)), Update::Lost));
    }
    drop(tx);

    let mut bucket: Option<Bucket> = None;
    let mut kustomizations: Vec<Option<Kustomization>> = vec![None; flux.kustomizations.len()];
    let mut failing_since: Option<Instant> = None;
    let mut last_request = Instant::now();
    let mut last_line = String::new();
    let deadline = tokio::time::Instant::now() + opts.timeout;
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            update = rx.recv() => match update {
                Some(Update::Bucket(b)) => bucket = Some(*b),
                Some(Update::Kustomization(i, k)) => kustomizations[i] = Some(*k),
                Some(Update::Lost(e)) => return Err(e),
                None => return Err(FluxError::NoAccess { message: "every watch ended".into() }),
            },
            _ = tick.tick() => {}
            _ = tokio::time::sleep_until(deadline) => {
                return Ok(Outcome::TimedOut { revision: revision.to_owned(), elapsed_ms: elapsed(), waiting_for: last_line });
            }
        }
        let (Some(b), Some(ks)) = (&bucket, kustomizations.iter().cloned().collect::<Option<Vec<_>>>()) else {
            continue;
        };
        let verdict = judge(b, &ks, revision, Some(&token));
        if !matches!(verdict, Verdict::BucketFailing(_)) {
            failing_since = None;
        }
        let line = match verdict {
            Verdict::Applied => return Ok(Outcome::Applied { revision: revision.to_owned(), elapsed_ms: elapsed() }),
            Verdict::Failed(failure) => {
                return Ok(Outcome::Failed { revision: revision.to_owned(), elapsed_ms: elapsed(), failure })
            }
            Verdict::BucketFailing(failure) => {
                let since = *failing_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= opts.bucket_grace {
                    return Ok(Outcome::Failed { revision: revision.to_owned(), elapsed_ms: elapsed(), failure });
                }
                format!("{}: {} (Flux retries)", failure.object, failure.reason)
            }
            Verdict::Pending(line) => line,
        };
        if handled_other_revision(b, revision, &token) && last_request.elapsed() >= opts.retrigger_after {
            token = trigger::request_token();
            trigger::request(client, &flux.bucket, &[], &token).await?;
            last_request = Instant::now();
            tracing::debug!(%token, "the Bucket listed the target before it settled; asked again");
        }
        if line != last_line {
            progress(&line);
            last_line = line;
        }
    }
}

/// The Bucket handled `token` and serves a revision other than `revision`.
fn handled_other_revision(b: &Bucket, revision: &str, token: &str) -> bool {
    b.status.as_ref().is_some_and(|s| {
        s.last_handled_reconcile_at.as_deref() == Some(token)
            && s.artifact.as_ref().is_some_and(|a| a.revision != revision)
    })
}
