//! A layered bundle: one ordinary bundle per layer of the spec, each in a
//! directory named after its layer, and `layers.json` at the root naming
//! the layers in order with each one's bundle digest.
//!
//! ```text
//! layers.json               format version, digest, spec digest, layers in order
//! <layer>/                  an ordinary bundle (kustomization.yaml, objects/, bundle.json)
//! ```
//!
//! Without layers a render is one ordinary bundle, as it always was: `Built`
//! is either.

use serde::{Deserialize, Serialize};

use super::read::ReadError;
use super::{Bundle, Sha256Digest, DOCUMENT_SEPARATOR};
use crate::render::Rendered;
use crate::spec::LayerName;

pub use super::index::LAYERS_FILE;
pub const LAYERS_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayersIndex {
    pub format_version: u32,
    /// sha256 over the lines `<layer> <bundle digest>\n`, in layer order.
    pub digest: Sha256Digest,
    pub spec_digest: Sha256Digest,
    pub layers: Vec<LayerEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LayerEntry {
    pub name: LayerName,
    /// The digest of the layer's bundle (its `bundle.json` says the same).
    pub digest: Sha256Digest,
}

fn digest_of(layers: &[LayerEntry]) -> Sha256Digest {
    let listing: String = layers.iter().map(|l| format!("{} {}\n", l.name, l.digest)).collect();
    Sha256Digest::of(listing.as_bytes())
}

#[derive(Debug, Clone)]
pub struct LayeredBundle {
    pub layers: Vec<(LayerName, Bundle)>,
    pub index: LayersIndex,
}

impl LayeredBundle {
    pub fn build(rendered: &Rendered, spec_digest: Sha256Digest) -> LayeredBundle {
        let layers: Vec<(LayerName, Bundle)> = rendered
            .split()
            .into_iter()
            .map(|(name, part)| (name, Bundle::build(&part, spec_digest.clone())))
            .collect();
        let entries: Vec<LayerEntry> =
            layers.iter().map(|(name, b)| LayerEntry { name: name.clone(), digest: b.index.digest.clone() }).collect();
        let index = LayersIndex {
            format_version: LAYERS_FORMAT_VERSION,
            digest: digest_of(&entries),
            spec_digest,
            layers: entries,
        };
        LayeredBundle { layers, index }
    }

    /// `layers.json`'s bytes: pretty JSON with a final newline.
    pub fn index_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(&self.index).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// What a render builds: one bundle, or one per layer.
#[derive(Debug, Clone)]
pub enum Built {
    Single(Bundle),
    Layered(LayeredBundle),
}

impl Built {
    pub fn build(rendered: &Rendered, spec_digest: Sha256Digest) -> Built {
        if rendered.is_layered() {
            Built::Layered(LayeredBundle::build(rendered, spec_digest))
        } else {
            Built::Single(Bundle::build(rendered, spec_digest))
        }
    }

    /// The bundles with their layer names (`None`: the one unlayered bundle).
    pub fn bundles(&self) -> Vec<(Option<&LayerName>, &Bundle)> {
        match self {
            Built::Single(b) => vec![(None, b)],
            Built::Layered(l) => l.layers.iter().map(|(n, b)| (Some(n), b)).collect(),
        }
    }

    /// The bundle's digest, or for layers the digest of `layers.json`'s list.
    pub fn digest(&self) -> &Sha256Digest {
        match self {
            Built::Single(b) => &b.index.digest,
            Built::Layered(l) => &l.index.digest,
        }
    }

    pub fn object_count(&self) -> usize {
        self.bundles().iter().map(|(_, b)| b.object_count()).sum()
    }

    pub fn file_count(&self) -> usize {
        self.bundles().iter().map(|(_, b)| b.objects.len()).sum()
    }

    /// Every object as one YAML stream, layer after layer.
    pub fn yaml_stream(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (_, b) in self.bundles().into_iter().filter(|(_, b)| !b.objects.is_empty()) {
            if !out.is_empty() {
                out.extend_from_slice(DOCUMENT_SEPARATOR.as_bytes());
            }
            out.extend_from_slice(&b.yaml_stream());
        }
        out
    }
}

/// Reads `layers.json` of the bundle at `dir`: `None` when there is none
/// (an unlayered bundle, or no bundle at all).
pub fn read_layers(dir: &std::path::Path) -> Result<Option<LayersIndex>, ReadError> {
    let path = dir.join(LAYERS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ReadError::Io { path, source }),
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Version {
        format_version: u32,
    }
    if let Ok(v) = serde_json::from_slice::<Version>(&bytes) {
        if v.format_version != LAYERS_FORMAT_VERSION {
            return Err(ReadError::Format { path, found: v.format_version });
        }
    }
    let index: LayersIndex =
        serde_json::from_slice(&bytes).map_err(|source| ReadError::Index { path: path.clone(), source })?;
    let damaged = |why: String| ReadError::Damaged { bundle: dir.to_owned(), why };
    if index.layers.is_empty() {
        return Err(damaged(format!("`{LAYERS_FILE}` names no layers")));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = index.layers.iter().find(|l| !seen.insert(l.name.as_str())) {
        return Err(damaged(format!("`{LAYERS_FILE}` names layer `{}` twice", twice.name)));
    }
    if digest_of(&index.layers) != index.digest {
        return Err(damaged(format!("`{LAYERS_FILE}`'s digest does not match its layers")));
    }
    for l in &index.layers {
        let found = super::read::read_digest(&dir.join(l.name.as_str()))?;
        if found != l.digest {
            return Err(damaged(format!(
                "layer `{}` has digest {found}, but `{LAYERS_FILE}` says {}",
                l.name, l.digest
            )));
        }
    }
    Ok(Some(index))
}
