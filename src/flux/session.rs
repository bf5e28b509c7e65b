//! One publish's conversation with Flux, as publish hooks: before anything
//! is written, the cluster binding and the prune gate against the live
//! inventory (fetched while the publish reads the target); the moment the
//! pointer switches, the reconcile request (annotation or Receiver).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::access::{self, FluxLoop};
use super::binding::{self, Binding};
use super::error::FluxError;
use super::prune::{self, PrunePreview};
use super::trigger;
use crate::bundle::{BundleIndex, IndexFile};
use crate::object::ObjectId;
use crate::publish::hooks::{CheckFuture, Hooks};
use crate::publish::target::Target;
use crate::publish::PublishError;

/// What the cluster said before the publish wrote anything.
#[derive(Debug, Clone)]
struct ClusterFacts {
    uid: String,
    binding: Option<Binding>,
    /// The union of `inventories` when there are several.
    union: Option<Vec<ObjectId>>,
    /// Each Kustomization's inventory with its path (for layers).
    inventories: Vec<prune::LiveInventory>,
}

impl ClusterFacts {
    fn new(uid: String, binding: Option<Binding>, inventories: Vec<prune::LiveInventory>) -> ClusterFacts {
        let union = (inventories.len() > 1).then(|| prune::union(&inventories));
        ClusterFacts { uid, binding, union, inventories }
    }

    /// Every id Flux applied: one inventory is its own union (6,000 ids for
    /// 1,000 apps, not copied).
    fn inventory(&self) -> &[ObjectId] {
        match &self.union {
            Some(union) => union,
            None => self.inventories.first().map_or(&[], |one| &one.ids),
        }
    }
}

/// How a reconcile was requested.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Requested {
    /// `api` (annotation) or `receiver`.
    pub via: &'static str,
    /// The annotation value (`api`), which the controllers echo back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// From the switch to the request being answered.
    pub after_switch_ms: u64,
}

pub struct Session<T: Target> {
    flux: FluxLoop,
    target: T,
    /// Built in the background (kubeconfig, TLS roots) while the publish reads the target.
    client: Arc<tokio::sync::OnceCell<kube::Client>>,
    http: Option<trigger::HttpClient>,
    receiver_token: Option<String>,
    allowed_prune_kinds: Vec<String>,
    /// A dry run reports what the gate would refuse instead of refusing.
    dry_run: bool,
    prefetch: Mutex<Option<JoinHandle<Result<ClusterFacts, FluxError>>>>,
    facts: tokio::sync::OnceCell<ClusterFacts>,
    preview: Mutex<Option<PrunePreview>>,
    switched: watch::Sender<Switch>,
}

#[derive(Debug, Clone, Copy)]
enum Switch {
    Waiting,
    Done(u64, Instant),
    Ended,
}

impl<T: Target> std::fmt::Debug for Session<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("flux", &self.flux).finish_non_exhaustive()
    }
}

impl<T: Target> Session<T> {
    /// Starts setting up the API client and reading the cluster (binding,
    /// uid, inventory) in the background, so that neither delays the
    /// publish; no write happens here.
    pub async fn start(
        flux: FluxLoop,
        target: T,
        allowed_prune_kinds: Vec<String>,
        dry_run: bool,
    ) -> Result<Session<T>, FluxError> {
        let client = Arc::new(tokio::sync::OnceCell::new());
        let (http, receiver_token) = match &flux.receiver {
            Some(r) => (Some(trigger::http_client()?), Some(trigger::read_token(&r.token_file)?)),
            None => (None, None),
        };
        let prefetch = flux.kube.clone().map(|access| {
            let (target, kustomizations, cell) = (target.clone(), flux.kustomizations.clone(), client.clone());
            tokio::spawn(async move {
                let client = cell.get_or_try_init(|| access::client(&access)).await?.clone();
                let (uid, inventory, binding) = tokio::join!(
                    binding::cluster_uid(&client),
                    prune::live_inventories(&client, &kustomizations),
                    binding::read(&target)
                );
                let binding = binding.map_err(|e| FluxError::Api {
                    verb: "read",
                    kind: "binding",
                    object: binding::BINDING_KEY.into(),
                    message: e.to_string(),
                })?;
                Ok(ClusterFacts::new(uid?, binding, inventory?))
            })
        });
        Ok(Session {
            flux,
            target,
            client,
            http,
            receiver_token,
            allowed_prune_kinds,
            dry_run,
            prefetch: Mutex::new(prefetch),
            facts: tokio::sync::OnceCell::new(),
            preview: Mutex::new(None),
            switched: watch::channel(Switch::Waiting).0,
        })
    }

    /// The API client, once set up (the request at the switch sets it up at the latest).
    /// The API client, set up now if the background has not yet; `None` without API access.
    pub async fn api(&self) -> Result<Option<&kube::Client>, FluxError> {
        match &self.flux.kube {
            Some(a) => Ok(Some(self.client.get_or_try_init(|| access::client(a)).await?)),
            None => Ok(None),
        }
    }

    pub fn flux(&self) -> &FluxLoop {
        &self.flux
    }

    /// What Flux would prune, as the last check saw it.
    pub fn prune_preview(&self) -> Option<PrunePreview> {
        self.preview.lock().ok().and_then(|p| p.clone())
    }

    async fn facts(&self) -> Result<Option<&ClusterFacts>, FluxError> {
        if self.flux.kube.is_none() {
            return Ok(None);
        }
        let handle = self.prefetch.lock().ok().and_then(|mut h| h.take());
        let facts = self
            .facts
            .get_or_try_init(|| async {
                match handle {
                    Some(h) => h.await.map_err(|e| FluxError::NoAccess { message: e.to_string() })?,
                    None => {
                        let client = self
                            .api()
                            .await?
                            .ok_or_else(|| FluxError::NoAccess { message: "no API access is configured".into() })?;
                        let inventory = prune::live_inventories(client, &self.flux.kustomizations).await?;
                        let uid = binding::cluster_uid(client).await?;
                        let binding = binding::read(&self.target).await.map_err(|e| FluxError::Api {
                            verb: "read",
                            kind: "binding",
                            object: binding::BINDING_KEY.into(),
                            message: e.to_string(),
                        })?;
                        Ok(ClusterFacts::new(uid, binding, inventory))
                    }
                }
            })
            .await?;
        Ok(Some(facts))
    }

    async fn check_plan(&self, live_files: &[IndexFile], desired: &BundleIndex) -> Result<(), PublishError> {
        self.check_across(&[(&self.target, live_files)], Gate::One(desired)).await
    }

    /// The binding and the prune gate for a publish whose live files are
    /// in `live` (each with the target holding them: one for a plain
    /// publish, one per layer for a layered one) and that makes `desired` live.
    pub async fn check_across(&self, live: &[(&T, &[IndexFile])], desired: Gate<'_>) -> Result<(), PublishError> {
        let Some(facts) = self.facts().await? else { return Ok(()) };
        tracing::debug!("cluster facts at hand");
        binding::check(&self.target.name(), facts.binding.as_ref(), &facts.uid)?;
        let gone = desired.gone(facts);
        let protected: Vec<ObjectId> = gone.iter().filter(|id| prune::is_protected(id)).cloned().collect();
        let mut never = BTreeSet::new();
        for (target, files) in live {
            never.extend(prune::prune_disabled(*target, files, &protected).await?);
        }
        let preview = prune::preview(&gone, &BTreeSet::new(), &never, &self.allowed_prune_kinds);
        let refused = preview.refused.clone();
        if let Ok(mut p) = self.preview.lock() {
            *p = Some(preview);
        }
        if !refused.is_empty() && !self.dry_run {
            return Err(PublishError::PruneKind { target: self.target.name(), objects: refused });
        }
        Ok(())
    }

    /// Waits for the switch, then asks Flux to reconcile. `None` when the
    /// publish ended without a switch (the session was dropped or
    /// `no_switch` called).
    pub fn trigger_on_switch(self: &Arc<Self>) -> JoinHandle<Result<Option<Requested>, FluxError>> {
        let me = Arc::clone(self);
        let mut rx = self.switched.subscribe();
        tokio::spawn(async move {
            // A kubeconfig that cannot be used fails the publish even when nothing switches.
            me.api().await?;
            let (generation, at) = loop {
                match *rx.borrow_and_update() {
                    Switch::Done(generation, at) => break (generation, at),
                    Switch::Ended => return Ok(None),
                    Switch::Waiting => {}
                }
                if rx.changed().await.is_err() {
                    return Ok(None);
                }
            };
            me.request(generation, at).await.map(Some)
        })
    }

    /// Ends the wait of `trigger_on_switch` when nothing was switched.
    pub fn no_switch(&self) {
        self.switched.send_if_modified(|s| {
            let waiting = matches!(s, Switch::Waiting);
            if waiting {
                *s = Switch::Ended;
            }
            waiting
        });
    }

    /// Asks Flux to reconcile now.
    pub async fn request(&self, generation: u64, switched_at: Instant) -> Result<Requested, FluxError> {
        if let Some(client) = self.api().await? {
            let token = trigger::request_token();
            trigger::request(client, &self.flux.bucket, &self.flux.kustomizations, &token).await?;
            return Ok(Requested { via: "api", token: Some(token), after_switch_ms: ms(switched_at) });
        }
        if let (Some(http), Some(receiver), Some(token)) = (&self.http, &self.flux.receiver, &self.receiver_token) {
            trigger::request_via_receiver(http, receiver, token, generation).await?;
            return Ok(Requested { via: "receiver", token: None, after_switch_ms: ms(switched_at) });
        }
        Err(FluxError::NoAccess { message: "neither API access nor a Receiver is configured".into() })
    }
}

fn ms(since: Instant) -> u64 {
    since.elapsed().as_millis() as u64
}

/// What a publish makes live, for the prune gate.
#[derive(Debug, Clone, Copy)]
pub enum Gate<'a> {
    /// One bundle, applied by every Kustomization of the loop.
    One(&'a BundleIndex),
    /// Layers in apply order, each with the path (`home/crds`; for a
    /// directory target the end of it, `crds`) its Kustomization applies. A Kustomization prunes what it applied and
    /// its layer no longer has, unless a layer before it took the object
    /// over (applied first, it carries that layer's owner labels): an
    /// object moved to a later layer is deleted and created again.
    Layers(&'a [(String, BundleIndex)]),
}

impl<'a> Gate<'a> {
    /// What Flux would delete: live inventory no layer keeps.
    fn gone(&self, facts: &ClusterFacts) -> Vec<ObjectId> {
        let ids = |indexes: &[&'a BundleIndex]| -> foldhash::HashSet<&'a ObjectId> {
            indexes.iter().flat_map(|d| d.files.iter().flat_map(|f| f.objects.iter().map(|o| &o.id))).collect()
        };
        match self {
            Gate::One(desired) => {
                let kept = ids(&[*desired]);
                let mut gone: Vec<ObjectId> =
                    facts.inventory().iter().filter(|id| !kept.contains(id)).cloned().collect();
                gone.sort_unstable();
                gone
            }
            Gate::Layers(layers) => {
                let mut gone = BTreeSet::new();
                for inv in &facts.inventories {
                    // A Kustomization of no layer's path: kept is what any layer has.
                    // A directory target knows its path below the bucket only: match the end.
                    let applies = |path: &String| inv.path == *path || inv.path.ends_with(&format!("/{path}"));
                    let upto = layers.iter().position(|(path, _)| applies(path)).map_or(layers.len(), |i| i + 1);
                    let kept = ids(&layers[..upto].iter().map(|(_, d)| d).collect::<Vec<_>>());
                    gone.extend(inv.ids.iter().filter(|id| !kept.contains(id)).cloned());
                }
                gone.into_iter().collect()
            }
        }
    }
}

impl<T: Target> Hooks for Session<T> {
    fn check<'a>(&'a self, live_files: &'a [IndexFile], desired: &'a BundleIndex) -> CheckFuture<'a> {
        Box::pin(self.check_plan(live_files, desired))
    }

    fn switched(&self, generation: u64) {
        self.switched.send_replace(Switch::Done(generation, Instant::now()));
    }
}
