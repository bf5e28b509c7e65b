//! Following one Flux object through the API: list it by name, then
//! watch from the list's resourceVersion with bookmarks, relisting when the
//! server says the version is gone (410), so every change reaches the
//! caller. `wait` and `status --watch` both stand on it.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, ListParams, WatchEvent, WatchParams};
use kube::Resource;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::access::ObjectRef;
use super::error::FluxError;

/// Follows one object: sends it on every change, relists when the watch's
/// resourceVersion expired (410), and reports a lost object or access.
pub async fn follow<K, M>(
    api: Api<K>,
    name: ObjectRef,
    tx: mpsc::Sender<M>,
    wrap: impl Fn(K) -> M,
    lost: impl Fn(FluxError) -> M,
) where
    K: Resource + Clone + DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    let kind: &'static str = if std::any::type_name::<K>().ends_with("Bucket") { "Bucket" } else { "Kustomization" };
    let selector = format!("metadata.name={}", name.name);
    'relist: loop {
        let list = match api.list(&ListParams::default().fields(&selector)).await {
            Ok(l) => l,
            Err(e) => {
                let _ = tx.send(lost(FluxError::api("list", kind, &name, e))).await;
                return;
            }
        };
        let mut version = list.metadata.resource_version.clone().unwrap_or_default();
        match list.items.into_iter().next() {
            Some(o) => {
                if tx.send(wrap(o)).await.is_err() {
                    return;
                }
            }
            None => {
                let _ = tx.send(lost(FluxError::NotFound { kind, object: name.to_string() })).await;
                return;
            }
        }
        loop {
            let params = WatchParams::default().fields(&selector).timeout(290);
            let mut stream = match api.watch(&params, &version).await {
                Ok(s) => s.boxed(),
                Err(kube::Error::Api(s)) if s.code == 410 => continue 'relist,
                Err(e) => {
                    let _ = tx.send(lost(FluxError::api("watch", kind, &name, e))).await;
                    return;
                }
            };
            loop {
                match stream.try_next().await {
                    Ok(Some(WatchEvent::Added(o) | WatchEvent::Modified(o))) => {
                        if let Some(v) = o.meta().resource_version.clone() {
                            version = v;
                        }
                        if tx.send(wrap(o)).await.is_err() {
                            return;
                        }
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => version = b.metadata.resource_version,
                    Ok(Some(WatchEvent::Deleted(_))) => {
                        let _ = tx.send(lost(FluxError::NotFound { kind, object: name.to_string() })).await;
                        return;
                    }
                    Ok(Some(WatchEvent::Error(s))) if s.code == 410 => continue 'relist,
                    Err(kube::Error::Api(s)) if s.code == 410 => continue 'relist,
                    Ok(Some(WatchEvent::Error(s))) => {
                        let _ = tx.send(lost(FluxError::api("watch", kind, &name, kube::Error::Api(s)))).await;
                        return;
                    }
                    // The server closed the watch (its timeout): watch again from here.
                    Ok(None) => break,
                    Err(e) => {
                        tracing::debug!(error = %e, "watch broke; watching again");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        break;
                    }
                }
            }
        }
    }
}
