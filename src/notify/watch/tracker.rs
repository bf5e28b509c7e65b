//! What the watcher remembers of one kind in one scope: the last
//! observation sent per subject (so a relist or an unchanged status sends
//! nothing new), each Kustomization's inventory and apps (so its apps can
//! be read again), and which objects a relist no longer shows (deleted
//! while the watch was away).

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use kube::core::DynamicObject;
use tokio::sync::mpsc;

use super::kinds::FluxKind;
use super::options::SourceLink;
use super::{apps, status};
use crate::notify::{Observation, Readiness, Subject};
use crate::object::ObjectId;

/// The receiver is gone: the watcher stops.
#[derive(Debug)]
pub struct Closed;

/// What an observation says, without its time: what must change for it
/// to be sent again.
type Said = (Readiness, String, String, Option<String>);

struct Kustomization {
    inventory: Vec<ObjectId>,
    revision: Option<String>,
    apps: BTreeSet<String>,
}

pub struct Tracker {
    kind: FluxKind,
    client: kube::Client,
    tx: mpsc::Sender<Observation>,
    links: Option<mpsc::Sender<SourceLink>>,
    said: BTreeMap<Subject, Said>,
    /// Objects seen, by (namespace, name).
    objects: BTreeSet<(String, String)>,
    kustomizations: BTreeMap<(String, String), Kustomization>,
    link_sent: BTreeMap<(String, String), SourceLink>,
}

impl Tracker {
    pub fn new(
        kind: FluxKind,
        client: kube::Client,
        tx: mpsc::Sender<Observation>,
        links: Option<mpsc::Sender<SourceLink>>,
    ) -> Tracker {
        Tracker {
            kind,
            client,
            tx,
            links,
            said: BTreeMap::new(),
            objects: BTreeSet::new(),
            kustomizations: BTreeMap::new(),
            link_sent: BTreeMap::new(),
        }
    }

    async fn send(&mut self, o: Observation) -> Result<(), Closed> {
        let said = (o.readiness, o.reason.clone(), o.message.clone(), o.revision.clone());
        if self.said.get(&o.subject) == Some(&said) {
            return Ok(());
        }
        self.said.insert(o.subject.clone(), said);
        tracing::debug!(subject = %o.subject, readiness = ?o.readiness, reason = %o.reason, "observed");
        self.tx.send(o).await.map_err(|_| Closed)
    }

    /// An object as listed or watched.
    pub async fn seen(&mut self, object: DynamicObject) -> Result<(), Closed> {
        let now = SystemTime::now();
        let observation = status::observe(self.kind, &object, now);
        let subject = observation.subject.clone();
        let key = (subject.namespace.clone(), subject.name.clone());
        self.objects.insert(key.clone());
        let revision = observation.revision.clone();
        self.send(observation).await?;
        if self.kind == FluxKind::Kustomization {
            self.link(&subject, &object).await?;
            let inventory = apps::inventory(&object);
            let entry = self.kustomizations.entry(key.clone()).or_insert_with(|| Kustomization {
                inventory: Vec::new(),
                revision: None,
                apps: BTreeSet::new(),
            });
            entry.inventory = inventory;
            entry.revision = revision;
            self.read_apps(&key).await?;
        }
        Ok(())
    }

    /// The Kustomization's `spec.sourceRef`, sent when it changes.
    async fn link(&mut self, subject: &Subject, object: &DynamicObject) -> Result<(), Closed> {
        let Some(links) = &self.links else { return Ok(()) };
        let source = &object.data["spec"]["sourceRef"];
        let (Some(kind), Some(name)) = (source["kind"].as_str(), source["name"].as_str()) else { return Ok(()) };
        let namespace = source["namespace"].as_str().unwrap_or(&subject.namespace);
        let link = SourceLink {
            kustomization: subject.clone(),
            source: Subject {
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                app: None,
            },
        };
        let key = (subject.namespace.clone(), subject.name.clone());
        if self.link_sent.get(&key) == Some(&link) {
            return Ok(());
        }
        self.link_sent.insert(key, link.clone());
        links.send(link).await.map_err(|_| Closed)
    }

    /// Reads the apps of one Kustomization and sends what changed; an app
    /// that left the inventory is sent as gone.
    async fn read_apps(&mut self, key: &(String, String)) -> Result<(), Closed> {
        let Some(k) = self.kustomizations.get(key) else { return Ok(()) };
        let (inventory, revision) = (k.inventory.clone(), k.revision.clone());
        let found = apps::read(&self.client, &inventory).await;
        let now = SystemTime::now();
        let parent =
            Subject { kind: self.kind.kind().to_owned(), namespace: key.0.clone(), name: key.1.clone(), app: None };
        let names: BTreeSet<String> = found.iter().map(|a| a.name.clone()).collect();
        let before = self.kustomizations.get_mut(key).map(|k| std::mem::replace(&mut k.apps, names.clone()));
        for app in &found {
            if let Some(o) = apps::observe(&parent, app, revision.clone(), now) {
                self.send(o).await?;
            }
        }
        for gone in before.unwrap_or_default().difference(&names) {
            let subject = Subject { app: Some(gone.clone()), ..parent.clone() };
            self.forget(subject, now).await?;
        }
        Ok(())
    }

    /// Reads the apps of every Kustomization again.
    pub async fn resync_apps(&mut self) -> Result<(), Closed> {
        let keys: Vec<_> = self.kustomizations.keys().cloned().collect();
        for key in keys {
            self.read_apps(&key).await?;
        }
        Ok(())
    }

    async fn forget(&mut self, subject: Subject, now: SystemTime) -> Result<(), Closed> {
        self.send(status::deleted(subject.clone(), now)).await?;
        self.said.remove(&subject);
        Ok(())
    }

    /// An object deleted: it and its apps are gone.
    pub async fn gone(&mut self, object: &DynamicObject) -> Result<(), Closed> {
        let key =
            (object.metadata.namespace.clone().unwrap_or_default(), object.metadata.name.clone().unwrap_or_default());
        self.gone_key(key).await
    }

    async fn gone_key(&mut self, key: (String, String)) -> Result<(), Closed> {
        let now = SystemTime::now();
        let subject =
            Subject { kind: self.kind.kind().to_owned(), namespace: key.0.clone(), name: key.1.clone(), app: None };
        self.objects.remove(&key);
        self.link_sent.remove(&key);
        if let Some(k) = self.kustomizations.remove(&key) {
            for app in k.apps {
                self.forget(Subject { app: Some(app), ..subject.clone() }, now).await?;
            }
        }
        self.forget(subject, now).await
    }

    /// A full list: objects not in it were deleted while unwatched.
    pub async fn relisted(&mut self, items: Vec<DynamicObject>) -> Result<(), Closed> {
        let listed: BTreeSet<(String, String)> = items
            .iter()
            .map(|o| (o.metadata.namespace.clone().unwrap_or_default(), o.metadata.name.clone().unwrap_or_default()))
            .collect();
        let missing: Vec<_> = self.objects.difference(&listed).cloned().collect();
        for key in missing {
            self.gone_key(key).await?;
        }
        for item in items {
            self.seen(item).await?;
        }
        Ok(())
    }
}
