//! List + watch of one kind in one scope (a namespace, or all), as
//! `flux::follow` does for one object, generalised: list, then watch from
//! the list's resourceVersion with bookmarks; a watch the server closes is
//! opened again from the last version seen; a 410 (version too old, as an
//! HTTP answer or an `ERROR` event) lists again; an API that answers
//! nothing or errors is retried with exponential backoff, forever. A kind
//! the API does not serve (404 on every version the watcher knows) ends
//! the scope's watch.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::core::DynamicObject;

use super::kinds::FluxKind;
use super::options::WatchOptions;
use super::tracker::{Closed, Tracker};

/// Why a scope's watch ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// No version of the kind is served.
    NotServed,
    /// The receiver is gone.
    Closed,
}

impl From<Closed> for Ended {
    fn from(_: Closed) -> Ended {
        Ended::Closed
    }
}

/// Exponential backoff between `initial` and `max`.
struct Backoff {
    initial: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    fn new(opts: &WatchOptions) -> Backoff {
        Backoff { initial: opts.backoff_initial, max: opts.backoff_max, next: opts.backoff_initial }
    }

    async fn wait(&mut self) {
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(self.max);
    }

    fn reset(&mut self) {
        self.next = self.initial;
    }
}

fn is_gone(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 410)
}

fn api(client: &kube::Client, kind: FluxKind, version: &str, namespace: Option<&str>) -> Api<DynamicObject> {
    let resource = kind.api_resource(version);
    match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    }
}

/// Follows every object of `kind` in `namespace` (all when `None`).
pub async fn follow(
    client: &kube::Client,
    kind: FluxKind,
    namespace: Option<&str>,
    opts: &WatchOptions,
    mut tracker: Tracker,
) -> Ended {
    let scope = namespace.unwrap_or("(all namespaces)");
    let mut versions = kind.versions().iter();
    let Some(mut version) = versions.next() else { return Ended::NotServed };
    let mut backoff = Backoff::new(opts);
    // (`interval` refuses a zero period.)
    let mut resync = opts.app_resync.filter(|p| kind == FluxKind::Kustomization && !p.is_zero()).map(|period| {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick
    });
    'relist: loop {
        let api = api(client, kind, version, namespace);
        let list = match api.list(&ListParams::default()).await {
            Ok(list) => list,
            Err(kube::Error::Api(s)) if s.code == 404 => match versions.next() {
                Some(next) => {
                    version = next;
                    continue 'relist;
                }
                None => {
                    tracing::warn!(%kind, namespace = scope, "the API serves no version of this kind (is its Flux controller installed?); not watching it");
                    return Ended::NotServed;
                }
            },
            Err(e) => {
                tracing::warn!(%kind, namespace = scope, error = %e, "listing failed; trying again");
                backoff.wait().await;
                continue 'relist;
            }
        };
        backoff.reset();
        let mut resource_version = list.metadata.resource_version.clone().unwrap_or_default();
        if let Err(closed) = tracker.relisted(list.items).await {
            return closed.into();
        }
        loop {
            let params = WatchParams::default().timeout(opts.watch_timeout);
            let mut stream = match api.watch(&params, &resource_version).await {
                Ok(s) => s.boxed(),
                Err(e) if is_gone(&e) => continue 'relist,
                Err(e) => {
                    tracing::warn!(%kind, namespace = scope, error = %e, "watching failed; trying again");
                    backoff.wait().await;
                    continue;
                }
            };
            loop {
                let next = match resync.as_mut() {
                    Some(tick) => tokio::select! {
                        next = stream.try_next() => next,
                        _ = tick.tick() => {
                            if let Err(closed) = tracker.resync_apps().await {
                                return closed.into();
                            }
                            continue;
                        }
                    },
                    None => stream.try_next().await,
                };
                let sent = match next {
                    Ok(Some(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        if let Some(v) = o.metadata.resource_version.clone() {
                            resource_version = v;
                        }
                        backoff.reset();
                        tracker.seen(o).await
                    }
                    Ok(Some(WatchEvent::Deleted(o))) => {
                        if let Some(v) = o.metadata.resource_version.clone() {
                            resource_version = v;
                        }
                        tracker.gone(&o).await
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => {
                        resource_version = b.metadata.resource_version;
                        Ok(())
                    }
                    Ok(Some(WatchEvent::Error(s))) if s.code == 410 => continue 'relist,
                    Err(e) if is_gone(&e) => continue 'relist,
                    Ok(Some(WatchEvent::Error(s))) => {
                        tracing::warn!(%kind, namespace = scope, error = %s.message, code = s.code, "the watch failed; listing again");
                        backoff.wait().await;
                        continue 'relist;
                    }
                    // The server closed the watch (its timeout): watch again from here.
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(%kind, namespace = scope, error = %e, "the watch broke; watching again");
                        backoff.wait().await;
                        break;
                    }
                };
                if let Err(closed) = sent {
                    return closed.into();
                }
            }
        }
    }
}
