//! The watcher's options, and the one thing it reports besides
//! observations: which source each Kustomization reads.

use std::time::Duration;

use tokio::sync::mpsc;

use super::kinds::FluxKind;
use crate::notify::Subject;

/// What to watch, and how patiently.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Empty: all namespaces (one list + watch per kind).
    pub namespaces: Vec<String>,
    /// Empty: all six.
    pub kinds: Vec<FluxKind>,
    /// The first wait after a failed list or watch; doubled up to `backoff_max`.
    pub backoff_initial: Duration,
    pub backoff_max: Duration,
    /// How often the Deployments of every Kustomization's inventory are read
    /// again (`None` or zero: only when the Kustomization changes).
    pub app_resync: Option<Duration>,
    /// The server-side timeout of each watch request, in seconds (below
    /// 295: the kube client refuses longer ones).
    pub watch_timeout: u32,
    /// Where each Kustomization's `spec.sourceRef` goes, when wanted
    /// (sent once, and again when it changes).
    pub links: Option<mpsc::Sender<SourceLink>>,
}

impl Default for WatchOptions {
    fn default() -> WatchOptions {
        WatchOptions {
            namespaces: Vec::new(),
            kinds: Vec::new(),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(30),
            app_resync: Some(Duration::from_secs(60)),
            watch_timeout: 290,
            links: None,
        }
    }
}

/// A Kustomization and the source it reads (`spec.sourceRef`, its
/// namespace defaulted to the Kustomization's): how the notifier tells that
/// a Kustomization reads a nixflux target's Bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLink {
    pub kustomization: Subject,
    /// Kind (`Bucket`, `GitRepository`, `OCIRepository`), namespace and name.
    pub source: Subject,
}
