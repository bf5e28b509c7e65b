//! The nixflux generation behind a failing revision. When the failing
//! object reads a configured `[targets.<name>]` (the Bucket its `bucket`
//! names, or the Kustomization of the same namespace and name, which is
//! what `nixflux flux bootstrap` renders), the target is read: if the
//! revision Flux reports is the one Flux computes from the target's
//! listing now, the live generation's record is the one behind it;
//! otherwise the revision notes a publish leaves beside each record
//! (`publish::revision_note`) say which retained generation went live as
//! that revision. The record's number, publisher, store path and bundle
//! digest go with the notification. A revision no retained generation
//! went live as (published before the notes existed, or garbage
//! collected) goes without. Reading is bounded by a timeout, and answers
//! are remembered per revision, so a reminder does not read the target
//! again.

use std::collections::HashMap;
use std::time::Duration;

use tokio::sync::{Mutex, OnceCell};

use super::config::Config;
use super::notification::{GenerationInfo, Notification, Severity};
use crate::flux::revision::DEFAULT_BUCKET_IGNORE;
use crate::publish::state::load_record;
use crate::publish::target::any::AnyTarget;
use crate::publish::target::s3::S3Options;
use crate::publish::target::url::TargetUrl;
use crate::publish::{bucket_ignore, flux_revision, revision_note, State};

/// How long one look-up may take (the loop waits for it).
const LOOKUP: Duration = Duration::from_secs(5);

struct Watched {
    name: String,
    url: String,
    s3: S3Options,
    namespace: String,
    bucket: String,
    target: OnceCell<AnyTarget>,
}

/// The configured targets, opened on first use.
#[derive(Default)]
pub struct Generations {
    targets: Vec<Watched>,
    known: Mutex<HashMap<(String, String), Option<GenerationInfo>>>,
}

impl Generations {
    pub fn from_config(config: &Config) -> Generations {
        let targets = config
            .targets
            .iter()
            .filter_map(|(name, t)| {
                let (namespace, bucket) = t.bucket.split_once('/')?;
                Some(Watched {
                    name: name.clone(),
                    url: t.to.clone(),
                    s3: S3Options {
                        endpoint: t.endpoint.clone(),
                        region: None,
                        credentials_file: t.credentials_file.clone(),
                        profile: None,
                        ca_file: None,
                    },
                    namespace: namespace.to_owned(),
                    bucket: bucket.to_owned(),
                    target: OnceCell::new(),
                })
            })
            .collect();
        Generations { targets, known: Mutex::new(HashMap::new()) }
    }

    /// The generation behind `n`'s revision, when it can be told.
    pub async fn explain(&self, n: &Notification) -> Option<GenerationInfo> {
        if n.severity == Severity::Recovery {
            return None;
        }
        let revision = n.revision.as_deref()?;
        let s = &n.subject;
        let watched = self.targets.iter().find(|t| {
            matches!(s.kind.as_str(), "Bucket" | "Kustomization") && s.namespace == t.namespace && s.name == t.bucket
        })?;
        let key = (watched.name.clone(), revision.to_owned());
        if let Some(known) = self.known.lock().await.get(&key) {
            return known.clone();
        }
        let found = match tokio::time::timeout(LOOKUP, look_up(watched, revision)).await {
            Ok(Ok(found)) => found,
            Ok(Err(e)) => {
                tracing::warn!(target = %watched.name, error = %e, "reading the target for the generation behind a failure");
                return None;
            }
            Err(_) => {
                tracing::warn!(target = %watched.name, "reading the target took longer than {LOOKUP:?}; no generation");
                return None;
            }
        };
        self.known.lock().await.insert(key, found.clone());
        found
    }
}

async fn look_up(watched: &Watched, revision: &str) -> anyhow::Result<Option<GenerationInfo>> {
    let target = watched
        .target
        .get_or_try_init(|| async {
            let url: TargetUrl = watched.url.parse()?;
            anyhow::Ok(AnyTarget::open(url, &watched.s3).await?)
        })
        .await?;
    let (state, ignore) = tokio::join!(State::load(target), bucket_ignore(target, DEFAULT_BUCKET_IGNORE));
    let state = state?;
    let record = if flux_revision(target, &state.listing, &ignore) == revision {
        state.live
    } else {
        match revision_note::generation_of(target, &state.listing, revision).await? {
            Some(n) => load_record(target, n).await?,
            None => {
                tracing::debug!(target = %watched.name, revision, "no retained generation went live as this revision");
                None
            }
        }
    };
    Ok(record.map(|record| GenerationInfo {
        target: watched.name.clone(),
        number: record.generation,
        publisher: record.publisher.clone(),
        store_path: record.source.store_path.as_ref().map(|p| p.to_string()),
        bundle: record.bundle_digest.to_string(),
    }))
}
