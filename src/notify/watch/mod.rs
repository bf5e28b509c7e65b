//! The notifier's Kubernetes source: it watches Flux objects
//! (Kustomization, HelmRelease, Bucket, GitRepository, OCIRepository,
//! HelmRepository) in the configured namespaces, or all, and turns each
//! one's `Ready` condition, and each app of a Kustomization's inventory,
//! into [`Observation`]s. Only what changed is sent; deleted objects (and
//! apps that left an inventory) are sent as ready, reason `Deleted`, so a
//! pending failure recovers. Each kind and scope is followed on its own
//! (list + watch with bookmarks, relist on 410, backoff when the API goes
//! away: `stream`); a kind the cluster does not serve is logged once and
//! skipped. Kinds are read as `DynamicObject`s: the watcher needs only
//! their status, and needs no struct for HelmRelease or the Git, OCI and
//! Helm sources.

mod apps;
pub mod kinds;
mod options;
mod status;
mod stream;
mod tracker;

use tokio::sync::mpsc;

pub use kinds::{FluxKind, UnknownKind};
pub use options::{SourceLink, WatchOptions};

use crate::notify::Observation;
use stream::Ended;
use tracker::Tracker;

#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Not one of the configured kinds is served anywhere it was asked for.
    #[error("the Kubernetes API serves none of the watched kinds ({kinds}); is Flux installed?")]
    NothingServed { kinds: String },
}

/// Watches until `tx`'s receiver is dropped (then `Ok`), or until none of
/// the kinds is served.
pub async fn run(client: kube::Client, opts: WatchOptions, tx: mpsc::Sender<Observation>) -> Result<(), WatchError> {
    let kinds = if opts.kinds.is_empty() { FluxKind::ALL.to_vec() } else { opts.kinds.clone() };
    let scopes: Vec<Option<&str>> = match opts.namespaces.as_slice() {
        [] => vec![None],
        namespaces => namespaces.iter().map(|n| Some(n.as_str())).collect(),
    };
    let follows = kinds.iter().flat_map(|&kind| {
        let (client, opts, tx) = (&client, &opts, &tx);
        scopes.iter().map(move |&scope| {
            let tracker = Tracker::new(kind, client.clone(), tx.clone(), opts.links.clone());
            stream::follow(client, kind, scope, opts, tracker)
        })
    });
    let ended = tokio::select! {
        ended = futures::future::join_all(follows) => ended,
        () = tx.closed() => return Ok(()),
    };
    if ended.iter().all(|e| *e == Ended::NotServed) {
        let kinds = kinds.iter().map(|k| k.kind()).collect::<Vec<_>>().join(", ");
        return Err(WatchError::NothingServed { kinds });
    }
    Ok(())
}
