//! `bundle.json`: the index of a bundle. It says which file holds which
//! objects (by Flux inventory id), which images the bundle uses and where,
//! the Nix store paths those images need, and the digests that identify the
//! bundle and the spec it came from.

use serde::{Deserialize, Serialize};

use super::digest::Sha256Digest;
use super::object_file::ObjectFile;
use crate::image::ImageRef;
use crate::nix::StorePath;
use crate::object::ObjectId;

pub const INDEX_FILE: &str = "bundle.json";
/// At the root of a layered bundle (see `layered.rs`).
pub const LAYERS_FILE: &str = "layers.json";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BundleIndex {
    pub format_version: u32,
    /// `sha256:` + hex sha256 over the lines `<path> <sha256>\n` of
    /// `kustomization.yaml` and every object file, sorted by path.
    pub digest: Sha256Digest,
    /// `sha256:` + hex sha256 of the spec as canonical JSON (sorted keys).
    pub spec_digest: Sha256Digest,
    pub nixflux_version: String,
    pub files: Vec<IndexFile>,
    pub images: Vec<IndexImage>,
    /// Store paths of the bundle's `nix:0` images: what every node needs.
    pub store_paths: Vec<StorePath>,
}

/// How many objects `files` hold.
pub fn object_count(files: &[IndexFile]) -> usize {
    files.iter().map(|f| f.objects.len()).sum()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexFile {
    pub path: ObjectFile,
    pub sha256: String,
    pub owner: String,
    /// Shared, not copied, where the live generation's files are known to
    /// hold the same objects as the bundle's (`publish::state::hydrate`).
    pub objects: std::sync::Arc<[IndexObject]>,
}

/// One object of a file: its Flux inventory id (`<namespace>_<name>_<group>_<kind>`)
/// and the sha256 of its YAML document, so that generations can be compared
/// object by object without their contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexObject {
    pub id: ObjectId,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IndexImage {
    pub reference: ImageRef,
    pub used_by: Vec<ImageUser>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageUser {
    pub object: ObjectId,
    pub container: String,
}

/// The sha256 (hex) of a file's objects: their inventory ids and document
/// sha256s, in order. A generation record keeps it for each file, so that
/// what a bundle claims a live file holds can be checked without the
/// objects themselves.
pub fn objects_sha256(objects: &[IndexObject]) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for o in objects {
        for part in o.id.inventory_id_parts() {
            h.update(part.as_bytes());
        }
        h.update(b" ");
        h.update(o.sha256.as_bytes());
        h.update(b"\n");
    }
    super::digest::hex(&h.finalize())
}
