//! The prune gate against what Flux really applied: the Kustomizations'
//! live `status.inventory` minus the objects of the generation about to go
//! live is what Flux will delete. Objects of the protected kinds (data,
//! namespaces, CRDs, whose deletion takes more with it) are refused unless
//! their kind is allowed by name; objects annotated
//! `kustomize.toolkit.fluxcd.io/prune: disabled` are never pruned by Flux
//! and so never refused.

use std::collections::BTreeSet;

use serde_json::Value;

use super::access::ObjectRef;
use super::error::FluxError;
use crate::bundle::verify::{objects_of, split_documents};
use crate::bundle::IndexFile;
use crate::crd::flux::Kustomization;
use crate::object::{ObjectId, ObjectIdError};
use crate::publish::target::{Target, TargetError};

/// (group, kind) of the kinds whose pruning is refused unless allowed.
pub const PROTECTED_KINDS: &[(&str, &str)] = &[
    ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"),
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("postgresql.cnpg.io", "Cluster"),
];

const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

fn rbac(group: &str) -> bool {
    group == "rbac.authorization.k8s.io"
}

/// Parses an inventory entry id. Flux writes `:` in the names of RBAC
/// objects as `__` (cli-utils' transcoding); this undoes it.
pub fn parse_inventory_id(id: &str) -> Result<ObjectId, ObjectIdError> {
    let mut parsed: ObjectId = id.parse()?;
    if rbac(&parsed.group) {
        parsed.name = parsed.name.replace("__", ":");
    }
    Ok(parsed)
}

/// The union of the inventories of `kustomizations` (none yet: empty).
pub async fn live_inventory(client: &kube::Client, kustomizations: &[ObjectRef]) -> Result<Vec<ObjectId>, FluxError> {
    Ok(union(&live_inventories(client, kustomizations).await?))
}

/// One Kustomization's live inventory, and the `spec.path` it applies
/// (without `./` and a trailing `/`: `home/crds`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInventory {
    pub path: String,
    pub ids: Vec<ObjectId>,
}

/// A Kustomization `path` as a key prefix without its trailing `/`.
pub fn normal_path(path: &str) -> String {
    path.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/').to_owned()
}

/// Every id of `inventories`, once each: one inventory in its own order,
/// several sorted.
pub fn union(inventories: &[LiveInventory]) -> Vec<ObjectId> {
    if let [one] = inventories {
        return one.ids.clone();
    }
    let ids: BTreeSet<&ObjectId> = inventories.iter().flat_map(|i| &i.ids).collect();
    ids.into_iter().cloned().collect()
}

/// The inventory of each of `kustomizations`, in their order.
///
/// Only `spec.path` and the inventory's ids are read from each
/// Kustomization (borrowed from the answer, not copied): a large app set's
/// inventory is thousands of entries, and the full typed object is not
/// needed to know what Flux applied.
pub async fn live_inventories(
    client: &kube::Client,
    kustomizations: &[ObjectRef],
) -> Result<Vec<LiveInventory>, FluxError> {
    use kube::Resource;
    let mut out = Vec::with_capacity(kustomizations.len());
    for k in kustomizations {
        let url = Kustomization::url_path(&(), Some(&k.namespace));
        let request = kube::core::Request::new(url)
            .get(&k.name, &kube::api::GetParams::default())
            .map_err(|e| FluxError::api("get", "Kustomization", k, kube::Error::BuildRequest(e)))?;
        let text = client.request_text(request).await.map_err(|e| FluxError::api("get", "Kustomization", k, e))?;
        let live: Applied<'_> = serde_json::from_str(&text)
            .map_err(|e| FluxError::api("get", "Kustomization", k, kube::Error::SerdeError(e)))?;
        let path = normal_path(live.spec.path.as_deref().unwrap_or_default());
        let entries = live.status.and_then(|s| s.inventory).map(|i| i.entries).unwrap_or_default();
        let mut ids = Vec::with_capacity(entries.len());
        for entry in entries {
            match parse_inventory_id(&entry.id) {
                Ok(id) => ids.push(id),
                Err(e) => tracing::warn!(kustomization = %k, error = %e, "skipping an inventory entry"),
            }
        }
        // Flux lists each object once, in its own order; sorting thousands
        // of ids costs more than the rest of the gate, so only a list with
        // repeats (which no Flux writes) is sorted to drop them.
        if ids.iter().collect::<foldhash::HashSet<_>>().len() != ids.len() {
            ids.sort_unstable();
            ids.dedup();
        }
        out.push(LiveInventory { path, ids });
    }
    Ok(out)
}

/// What the prune gate reads of a live Kustomization.
#[derive(serde::Deserialize)]
struct Applied<'a> {
    #[serde(borrow, default)]
    spec: AppliedSpec<'a>,
    #[serde(borrow, default)]
    status: Option<AppliedStatus<'a>>,
}

#[derive(serde::Deserialize, Default)]
struct AppliedSpec<'a> {
    #[serde(borrow, default)]
    path: Option<std::borrow::Cow<'a, str>>,
}

#[derive(serde::Deserialize)]
struct AppliedStatus<'a> {
    #[serde(borrow, default)]
    inventory: Option<AppliedInventory<'a>>,
}

#[derive(serde::Deserialize)]
struct AppliedInventory<'a> {
    #[serde(borrow, default)]
    entries: Vec<AppliedEntry<'a>>,
}

#[derive(serde::Deserialize)]
struct AppliedEntry<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
}

/// What Flux would prune, and which of it the gate refuses.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrunePreview {
    pub would_prune: Vec<ObjectId>,
    pub refused: Vec<ObjectId>,
}

pub fn is_protected(id: &ObjectId) -> bool {
    PROTECTED_KINDS.iter().any(|(g, k)| id.group == *g && id.kind == *k)
}

/// `inventory` minus `desired`, less what Flux never prunes; refused are
/// the protected ones whose kind `allowed_kinds` does not name.
pub fn preview(
    inventory: &[ObjectId],
    desired: &BTreeSet<&ObjectId>,
    never_pruned: &BTreeSet<ObjectId>,
    allowed_kinds: &[String],
) -> PrunePreview {
    let mut would_prune: Vec<ObjectId> =
        inventory.iter().filter(|id| !desired.contains(id) && !never_pruned.contains(*id)).cloned().collect();
    would_prune.sort_unstable();
    let refused = would_prune
        .iter()
        .filter(|id| is_protected(id) && !allowed_kinds.iter().any(|k| k.eq_ignore_ascii_case(&id.kind)))
        .cloned()
        .collect();
    PrunePreview { would_prune, refused }
}

/// Of `candidates`, those the live files of the target mark
/// `prune: disabled` (reading only the files that hold candidates).
pub async fn prune_disabled(
    target: &impl Target,
    live_files: &[IndexFile],
    candidates: &[ObjectId],
) -> Result<BTreeSet<ObjectId>, TargetError> {
    let wanted: BTreeSet<&ObjectId> = candidates.iter().collect();
    let mut found = BTreeSet::new();
    for file in live_files.iter().filter(|f| f.objects.iter().any(|o| wanted.contains(&o.id))) {
        let Some(fetched) = target.get(file.path.as_str()).await? else { continue };
        let (Ok(text), Ok(objects)) = (std::str::from_utf8(&fetched.bytes), objects_of(&fetched.bytes)) else {
            continue;
        };
        for (doc, object) in split_documents(text).into_iter().zip(objects) {
            if wanted.contains(&object.id) && annotated_disabled(doc) {
                found.insert(object.id);
            }
        }
    }
    Ok(found)
}

fn annotated_disabled(doc: &str) -> bool {
    serde_norway::from_str::<Value>(doc)
        .ok()
        .and_then(|v| v.pointer("/metadata/annotations").and_then(|a| a.get(PRUNE_ANNOTATION)).cloned())
        .is_some_and(|v| v == "disabled")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ObjectId {
        parse_inventory_id(s).unwrap()
    }

    #[test]
    fn rbac_names_are_transcoded_back() {
        let role = id("_system__nixflux_rbac.authorization.k8s.io_ClusterRole");
        assert_eq!(role.name, "system:nixflux");
        assert_eq!(id("apps_a__b_apps_Deployment").name, "a__b");
    }

    #[test]
    fn the_gate_refuses_protected_kinds_unless_allowed() {
        let inventory = vec![
            id("apps_web_apps_Deployment"),
            id("apps_data__PersistentVolumeClaim"),
            id("_apps__Namespace"),
            id("_things.example.com_apiextensions.k8s.io_CustomResourceDefinition"),
            id("apps_keep__PersistentVolumeClaim"),
        ];
        let kept = id("apps_keep__PersistentVolumeClaim");
        let never = BTreeSet::from([kept.clone()]);
        let p = preview(&inventory, &BTreeSet::new(), &never, &[]);
        assert_eq!(p.would_prune.len(), 4);
        assert_eq!(p.refused.len(), 3);
        assert!(!p.would_prune.contains(&kept));
        let p = preview(&inventory, &BTreeSet::new(), &never, &["namespace".into(), "PersistentVolumeClaim".into()]);
        assert_eq!(p.refused, [id("_things.example.com_apiextensions.k8s.io_CustomResourceDefinition")]);
        let desired: BTreeSet<&ObjectId> = inventory.iter().collect();
        assert_eq!(preview(&inventory, &desired, &never, &[]), PrunePreview::default());
    }

    #[test]
    fn the_annotation_is_read_from_the_document() {
        assert!(annotated_disabled(
            "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a\n  annotations:\n    kustomize.toolkit.fluxcd.io/prune: disabled\n"
        ));
        assert!(!annotated_disabled("apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: a\n"));
        assert!(!annotated_disabled(": : :"));
    }
}
