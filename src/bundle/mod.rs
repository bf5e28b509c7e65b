//! The bundle: rendered objects as content-addressed files, the
//! `kustomization.yaml` that lists them and the `bundle.json` index, built in
//! memory and written to a directory all at once or not at all.
//!
//! ```text
//! kustomization.yaml        lists the object files of this bundle
//! objects/<sha256>.yaml     one file per app / top-level object
//! bundle.json               index (see `index.rs`)
//! ```

pub mod canonical;
pub mod digest;
pub mod index;
pub mod layered;
pub mod loaded;
pub mod object_file;
pub mod read;
mod read_error;
pub mod verify;
pub mod write;
pub mod yaml;
mod yaml_key;
pub mod yaml_ser;
#[cfg(test)]
mod yaml_ser_tests;

use std::collections::BTreeMap;

use crate::image::ImageRef;
use crate::nix::StorePath;
use crate::render::Rendered;
pub use digest::{hex, sha256_hex, DigestError, Sha256Digest};
pub use index::{BundleIndex, ImageUser, IndexFile, IndexImage, IndexObject, INDEX_FILE};
pub use object_file::{ObjectFile, ObjectFileError, OBJECTS_DIR};

pub const KUSTOMIZATION_FILE: &str = "kustomization.yaml";
/// Between the YAML documents of an object file. Our emitter indents all
/// nested text, so this line occurs nowhere else in a file.
pub const DOCUMENT_SEPARATOR: &str = "---\n";

/// One file of a bundle: its path relative to the bundle root and content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    pub path: String,
    pub content: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Bundle {
    /// The object files, in kustomization order.
    pub objects: Vec<BundleFile>,
    pub kustomization: BundleFile,
    pub index: BundleIndex,
}

/// The bundle digest: sha256 over the lines `<path> <sha256>\n` of the
/// kustomization and every object file, sorted by path.
/// The object files' hashes are those their names carry (computed when
/// built, checked against the content when read), so none is hashed again.
pub(crate) fn digest_of(files: &[IndexFile], kustomization: &BundleFile) -> Sha256Digest {
    let mut lines: Vec<(&str, String)> = files.iter().map(|f| (f.path.as_str(), f.sha256.clone())).collect();
    lines.push((kustomization.path.as_str(), sha256_hex(&kustomization.content)));
    lines.sort();
    lines.dedup();
    let mut listing = String::with_capacity(lines.iter().map(|(p, h)| p.len() + h.len() + 2).sum());
    for (p, h) in &lines {
        listing.push_str(p);
        listing.push(' ');
        listing.push_str(h);
        listing.push('\n');
    }
    Sha256Digest::of(listing.as_bytes())
}

/// Digest of a spec independent of key order and formatting.
pub fn spec_digest(spec: &serde_json::Value) -> Sha256Digest {
    // serde_json's map is ordered by key, so this is canonical.
    Sha256Digest::of(spec.to_string().as_bytes())
}

impl Bundle {
    pub fn build(rendered: &Rendered, spec_digest: Sha256Digest) -> Bundle {
        // Each thread writes its files into one buffer it reuses (and the
        // entries of the maps being written into another); a file keeps a
        // copy of its exact size.
        let serialized = crate::parallel::map_with(
            &rendered.groups,
            || (String::new(), Vec::new()),
            |(text, entries), group| {
                text.clear();
                let mut ids = Vec::with_capacity(group.manifests.len());
                for (i, m) in group.manifests.iter().enumerate() {
                    if i > 0 {
                        text.push_str(DOCUMENT_SEPARATOR);
                    }
                    let start = text.len();
                    if yaml_ser::write_document(text, entries, &m.body).is_err() {
                        text.truncate(start);
                        yaml::write_document(text, &m.body.to_json());
                    }
                    ids.push(IndexObject { id: m.id(), sha256: sha256_hex(&text.as_bytes()[start..]) });
                }
                let content = text.as_bytes().to_vec();
                // A file of one object is that object's document: one hash.
                let sha = match &ids[..] {
                    [only] => only.sha256.clone(),
                    _ => sha256_hex(&content),
                };
                let file = ObjectFile::of_hash(&sha);
                (content, file, sha, ids)
            },
        );
        let mut objects = Vec::with_capacity(serialized.len());
        let mut files = Vec::with_capacity(serialized.len());
        for (group, (content, file, sha, ids)) in rendered.groups.iter().zip(serialized) {
            objects.push(BundleFile { path: file.to_string(), content });
            files.push(IndexFile { path: file, sha256: sha, owner: group.owner.clone(), objects: ids.into() });
        }

        // Two groups with identical content would be one file listed twice;
        // the duplicate-object check makes that impossible, but never list a
        // resource twice regardless.
        let mut listed = std::collections::BTreeSet::new();
        let resources: Vec<&str> = objects.iter().map(|f| f.path.as_str()).filter(|p| listed.insert(*p)).collect();
        let kustomization = serde_json::json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
        });
        let kustomization =
            BundleFile { path: KUSTOMIZATION_FILE.into(), content: yaml::to_string(&kustomization).into_bytes() };

        let digest = digest_of(&files, &kustomization);

        // By the reference as written, the order `bundle.json` has always had.
        let mut by_image: BTreeMap<String, (&ImageRef, Vec<ImageUser>)> = BTreeMap::new();
        for u in &rendered.images {
            by_image
                .entry(u.reference.to_string())
                .or_insert_with(|| (&u.reference, Vec::new()))
                .1
                .push(ImageUser { object: u.object.clone(), container: u.container.clone() });
        }
        let mut store_paths: Vec<StorePath> =
            rendered.images.iter().filter_map(|u| u.reference.store_path()).cloned().collect();
        store_paths.sort();
        store_paths.dedup();
        let index = BundleIndex {
            format_version: index::FORMAT_VERSION,
            digest,
            spec_digest,
            nixflux_version: env!("CARGO_PKG_VERSION").to_owned(),
            files,
            images: by_image
                .into_values()
                .map(|(reference, used_by)| IndexImage { reference: reference.clone(), used_by })
                .collect(),
            store_paths,
        };
        Bundle { objects, kustomization, index }
    }

    /// `bundle.json`'s bytes: pretty JSON with a final newline.
    pub fn index_bytes(&self) -> Vec<u8> {
        // About what the entries take, so that the buffer seldom grows.
        let users: usize = self.index.images.iter().map(|i| i.used_by.len()).sum();
        let estimate = 4096 + 300 * self.index.files.len() + 256 * self.object_count() + 192 * users;
        let mut v = Vec::with_capacity(estimate);
        // A struct of strings and vectors always serialises.
        if serde_json::to_writer_pretty(&mut v, &self.index).is_err() {
            v.clear();
        }
        v.push(b'\n');
        v
    }

    /// All objects as one multi-document YAML stream, in file order.
    pub fn yaml_stream(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, f) in self.objects.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(DOCUMENT_SEPARATOR.as_bytes());
            }
            out.extend_from_slice(&f.content);
        }
        out
    }

    /// The digest computed from the files (`index.digest` records it).
    pub fn digest(&self) -> Sha256Digest {
        digest_of(&self.index.files, &self.kustomization)
    }

    pub fn object_count(&self) -> usize {
        index::object_count(&self.index.files)
    }
}
