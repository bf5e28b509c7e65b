//! Data is never pruned by accident: every PersistentVolumeClaim of the
//! bundle (raw ones too, not only those nixflux renders for volumes) and
//! every CloudNativePG `Cluster` (whose volumes the operator deletes with
//! it) keeps Flux's prune protection, and so does every Namespace of the bundle that
//! holds a protected claim (deleting a Namespace deletes what is in it).
//! An object opts out by carrying the annotation with another value
//! (`kustomize.toolkit.fluxcd.io/prune: enabled`), and a claim nixflux
//! renders with `prune: true` or a Cluster with `allowPrune: true` does the same.

use std::collections::{BTreeMap, BTreeSet};

use crate::object::Body;

use super::context::PRUNE_ANNOTATION;
use super::manifest::Group;

const DISABLED: &str = "disabled";

fn annotation(annotations: &Option<BTreeMap<String, String>>) -> Option<&str> {
    annotations.as_ref().and_then(|a| a.get(PRUNE_ANNOTATION)).map(String::as_str)
}

fn protect(annotations: &mut Option<BTreeMap<String, String>>) {
    annotations.get_or_insert_with(BTreeMap::new).insert(PRUNE_ANNOTATION.to_owned(), DISABLED.to_owned());
}

pub fn protect_data(groups: &mut [Group]) {
    let mut holding = BTreeSet::new();
    for m in groups.iter_mut().flat_map(|g| g.manifests.iter_mut()) {
        let namespace = m.namespace().map(str::to_owned);
        let meta = match &mut m.body {
            Body::PersistentVolumeClaim(pvc) => &mut pvc.metadata,
            // CloudNativePG deletes a Cluster's volumes with it.
            Body::Cluster(cluster) => &mut cluster.metadata,
            _ => continue,
        };
        if annotation(&meta.annotations).is_none() {
            protect(&mut meta.annotations);
        }
        if annotation(&meta.annotations) == Some(DISABLED) {
            holding.extend(namespace);
        }
    }
    for m in groups.iter_mut().flat_map(|g| g.manifests.iter_mut()) {
        if let Body::Namespace(ns) = &mut m.body {
            let holds = ns.metadata.name.as_ref().is_some_and(|n| holding.contains(n));
            if holds && annotation(&ns.metadata.annotations).is_none() {
                protect(&mut ns.metadata.annotations);
            }
        }
    }
}
