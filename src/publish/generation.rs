//! Generations in a target: the pointer (`kustomization.yaml`, the one
//! mutable object) and the generation records under `generations/`.
//!
//! The pointer is written as one line of JSON, which is YAML too. A reader
//! that catches it half-written (rclone writes in place) holds a prefix of
//! a JSON object, which never parses: the build fails and Flux prunes
//! nothing, instead of building a shorter list of resources and pruning the
//! rest. Its `metadata` (which kustomize does not pass on to objects) names
//! the generation and the bundle, so the pointer describes itself.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::bundle::{IndexFile, ObjectFile, Sha256Digest};
use crate::nix::StorePath;
use crate::object::ObjectId;

pub const POINTER_KEY: &str = "kustomization.yaml";
pub const OBJECTS_PREFIX: &str = "objects/";
pub const GENERATIONS_PREFIX: &str = "generations/";
pub const LEASE_KEY: &str = "nixflux.lock";
pub const GENERATION_ANNOTATION: &str = "nixflux.dev/generation";
pub const BUNDLE_ANNOTATION: &str = "nixflux.dev/bundle";

/// What the live `kustomization.yaml` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    pub generation: u64,
    pub bundle_digest: Sha256Digest,
    pub resources: Vec<String>,
}

impl Pointer {
    pub fn to_bytes(&self) -> Vec<u8> {
        let v = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "metadata": {
                "name": "nixflux",
                "annotations": {
                    GENERATION_ANNOTATION: self.generation.to_string(),
                    BUNDLE_ANNOTATION: self.bundle_digest.as_str(),
                },
            },
            "resources": self.resources,
        });
        let mut bytes = v.to_string().into_bytes();
        bytes.push(b'\n');
        bytes
    }

    /// Reads a pointer nixflux wrote; anything else is an error saying why.
    pub fn parse(bytes: &[u8]) -> Result<Pointer, String> {
        let v: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|_| "it is not a kustomization nixflux wrote (not one line of JSON)".to_owned())?;
        let annotations = &v["metadata"]["annotations"];
        let generation = annotations[GENERATION_ANNOTATION]
            .as_str()
            .and_then(|g| g.parse::<u64>().ok())
            .ok_or_else(|| format!("it has no `{GENERATION_ANNOTATION}` annotation"))?;
        let bundle_digest = annotations[BUNDLE_ANNOTATION]
            .as_str()
            .ok_or_else(|| format!("it has no `{BUNDLE_ANNOTATION}` annotation"))?
            .parse()
            .map_err(|e| format!("its `{BUNDLE_ANNOTATION}` annotation: {e}"))?;
        let resources = v["resources"]
            .as_array()
            .ok_or("it has no `resources`")?
            .iter()
            .map(|r| match r.as_str().map(str::parse::<ObjectFile>) {
                Some(Ok(file)) => Ok(file.to_string()),
                Some(Err(e)) => Err(format!("a resource is not an object file: {e}")),
                None => Err("a resource is not a string".to_owned()),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pointer { generation, bundle_digest, resources })
    }
}

pub fn record_key(generation: u64) -> String {
    format!("{GENERATIONS_PREFIX}{generation:08}.json")
}

pub fn parse_record_key(key: &str) -> Option<u64> {
    key.strip_prefix(GENERATIONS_PREFIX)?.strip_suffix(".json")?.parse().ok()
}

/// Where a generation came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Source {
    /// The bundle path given to `publish` (absent for a rollback).
    pub bundle_path: Option<String>,
    /// When the bundle is a Nix store path: that path and its NAR hash.
    pub store_path: Option<StorePath>,
    pub nar_hash: Option<String>,
    /// For a rollback: the generation whose objects it restores.
    pub rollback_of: Option<u64>,
}

/// Objects by Flux inventory id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Changes {
    pub added: Vec<ObjectId>,
    pub changed: Vec<ObjectId>,
    pub removed: Vec<ObjectId>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    /// Compares the objects of two sets of files. Each list is in the
    /// order of the inventory ids, as records have always listed them.
    pub fn between(old: &[IndexFile], new: &[IndexFile]) -> Changes {
        use std::collections::{HashMap, HashSet};
        // A file both sides hold (its name is its content's hash) holds the
        // same objects on both: only the other files' objects are compared.
        fn objects<'a>(files: &'a [IndexFile], other: &HashSet<&str>) -> HashMap<&'a ObjectId, &'a str> {
            files
                .iter()
                .filter(|f| !other.contains(f.path.as_str()))
                .flat_map(|f| f.objects.iter().map(|o| (&o.id, o.sha256.as_str())))
                .collect()
        }
        fn paths(files: &[IndexFile]) -> HashSet<&str> {
            files.iter().map(|f| f.path.as_str()).collect()
        }
        let (before, after) = (objects(old, &paths(new)), objects(new, &paths(old)));
        let mut c = Changes::default();
        for (id, sha) in &after {
            match before.get(id) {
                None => c.added.push((*id).clone()),
                Some(old_sha) if old_sha != sha => c.changed.push((*id).clone()),
                Some(_) => {}
            }
        }
        c.removed = before.keys().filter(|id| !after.contains_key(*id)).map(|id| (*id).clone()).collect();
        for list in [&mut c.added, &mut c.changed, &mut c.removed] {
            list.sort_by_cached_key(ObjectId::inventory_id);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_round_trips_and_every_prefix_is_invalid_json() {
        let p = Pointer {
            generation: 42,
            bundle_digest: Sha256Digest::of(b"abc"),
            resources: vec![format!("objects/{}.yaml", "a".repeat(64))],
        };
        let bytes = p.to_bytes();
        assert_eq!(Pointer::parse(&bytes).unwrap(), p);
        for n in 0..bytes.len() - 1 {
            assert!(serde_json::from_slice::<serde_json::Value>(&bytes[..n]).is_err(), "prefix {n} parses");
        }
    }

    #[test]
    fn foreign_kustomization_is_refused() {
        let err = Pointer::parse(b"resources:\n- a.yaml\n").unwrap_err();
        assert!(err.contains("not a kustomization nixflux wrote"), "{err}");
    }

    #[test]
    fn record_keys_sort_by_generation() {
        assert_eq!(record_key(7), "generations/00000007.json");
        assert_eq!(parse_record_key("generations/00000007.json"), Some(7));
        assert_eq!(parse_record_key("generations/x.json"), None);
    }
}
