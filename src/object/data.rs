//! Which objects hold data: deleting them deletes it. PersistentVolumeClaims
//! and PersistentVolumes, custom resources whose operator deletes its data
//! with them (a CloudNativePG `Cluster` drops its database), and a
//! Namespace that holds any of these (deleting a Namespace deletes what is
//! in it). The prune guard refuses to remove them unless told to.

use std::collections::BTreeSet;

use super::id::ObjectId;

/// (group, kind) of the kinds that hold data.
const DATA_KINDS: &[(&str, &str)] =
    &[("", "PersistentVolumeClaim"), ("", "PersistentVolume"), ("postgresql.cnpg.io", "Cluster")];

pub fn holds_data(id: &ObjectId) -> bool {
    DATA_KINDS.iter().any(|(g, k)| id.group == *g && id.kind == *k)
}

/// Of `removed`, those whose removal deletes data: objects that hold data,
/// and Namespaces in which `live` has an object that holds data.
pub fn data_removals<'a>(live: impl IntoIterator<Item = &'a ObjectId>, removed: &[ObjectId]) -> Vec<ObjectId> {
    let holding: BTreeSet<&str> =
        live.into_iter().filter(|id| holds_data(id)).filter_map(|id| id.namespace.as_deref()).collect();
    removed
        .iter()
        .filter(|id| {
            holds_data(id)
                || (id.group.is_empty()
                    && id.kind == "Namespace"
                    && id.namespace.is_none()
                    && holding.contains(id.name.as_str()))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_clusters_and_their_namespaces_hold_data() {
        let ids: Vec<ObjectId> = [
            "db_data__PersistentVolumeClaim",
            "_db__Namespace",
            "_web__Namespace",
            "db_pg_postgresql.cnpg.io_Cluster",
            "web_web_apps_Deployment",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let found = data_removals(&ids, &ids);
        let found: Vec<String> = found.iter().map(ObjectId::inventory_id).collect();
        assert_eq!(found, ["db_data__PersistentVolumeClaim", "_db__Namespace", "db_pg_postgresql.cnpg.io_Cluster"]);
    }
}
