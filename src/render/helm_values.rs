//! A HelmRelease's values: the app's `helm.values`, with each of its
//! `imageValues` resolved through the spec's `images` map (or read as a
//! full reference), held to the pinning policy, and written at its value
//! path, either whole (`reference`) or split into the `repository` and
//! `tag` keys most charts read (with the registry and the digest apart
//! when the chart keeps them apart). A value the user also set at a
//! written path is refused: one of the two would be silently lost.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::image::reference::NIX_SCHEME;
use crate::image::ImageRef;
use crate::object::ObjectId;
use crate::spec::helm::value_path;
use crate::spec::problem::{json_type, nearest};
use crate::spec::{Helm, ImageValue, ImageValueForm, JsonPath, Problem, Spec};

use super::images::{unpinned, ImageMap, ImageUse};

/// The values of `helm`'s HelmRelease (`object`), images written in.
pub fn values(
    spec: &Spec,
    images: &ImageMap,
    helm: &Helm,
    at: &JsonPath,
    object: &ObjectId,
    uses: &mut Vec<ImageUse>,
    problems: &mut Vec<Problem>,
) -> Map<String, Value> {
    let mut values = helm.values.clone();
    let mut written: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (i, iv) in helm.image_values.iter().enumerate() {
        let here = at.key("imageValues").index(i);
        let Some(keys) = value_path(&iv.path) else {
            problems.push(
                Problem::new(here.key("path"), format!("`{}` is not a value path", iv.path))
                    .with_hint("write keys joined by `.`, like `image` or `sidecar.image`"),
            );
            continue;
        };
        for (field, key) in [("registryKey", &iv.registry_key), ("digestKey", &iv.digest_key)] {
            if let Some(k) =
                key.as_deref().filter(|k| k.is_empty() || k.contains('.') || ["repository", "tag"].contains(k))
            {
                problems.push(
                    Problem::new(here.key(field), format!("`{k}` cannot be the `{field}`"))
                        .with_hint("name one key beside `repository` and `tag`, such as `registry` or `digest`"),
                );
            }
        }
        if iv.form == ImageValueForm::Reference {
            for (field, set) in [("registryKey", iv.registry_key.is_some()), ("digestKey", iv.digest_key.is_some())] {
                if set {
                    problems.push(
                        Problem::new(here.key(field), format!("`{field}` applies to the `split` form only"))
                            .with_hint("drop it, or set `form` to `split`"),
                    );
                }
            }
        }
        let Some(reference) = resolve(spec, images, &iv.image, &here.key("image"), problems) else { continue };
        let leaves = match iv.form {
            ImageValueForm::Reference => vec![(Vec::new(), Value::String(reference.to_string()))],
            ImageValueForm::Split => match split(&reference, iv, &here) {
                Ok(leaves) => leaves,
                Err(p) => {
                    problems.push(p);
                    continue;
                }
            },
        };
        for (sub, value) in leaves {
            let leaf: Vec<String> = keys.iter().map(|k| (*k).to_owned()).chain(sub).collect();
            if let Some(j) = written.insert(leaf.clone(), i) {
                problems.push(Problem::new(
                    here.key("path"),
                    format!("`values.{}` is already written by `imageValues[{j}]`", leaf.join(".")),
                ));
                continue;
            }
            if let Err(p) = set(&mut values, &helm.values, &leaf, value, at, &here) {
                problems.push(p);
            }
        }
        uses.push(ImageUse { reference, object: object.clone(), container: format!("values.{}", iv.path) });
    }
    values
}

/// The image an image value names: an `images` entry by its exact name, or
/// a full reference (it has a `/`, `:` or `@`), pinned unless allowed.
fn resolve(spec: &Spec, images: &ImageMap, text: &str, at: &JsonPath, problems: &mut Vec<Problem>) -> Option<ImageRef> {
    let reference = match images.entry(text) {
        Some(Ok(r)) => r.clone(),
        Some(Err(())) => return None, // reported at `images.<name>`
        None if !text.contains(['/', ':', '@']) => {
            let names = images.names();
            let p = Problem::new(at.clone(), format!("image `{text}` is not an entry of `images`"));
            problems.push(match nearest(text, &names) {
                Some(near) => p.with_hint(format!("did you mean `{near}`?")),
                None => p.with_hint(format!("add `{text}` to the `images` map, or write a full pinned reference")),
            });
            return None;
        }
        None => match text.parse::<ImageRef>() {
            Ok(r) if r.is_pinned() || spec.allow_unpinned_images => r,
            Ok(r) => {
                problems.push(unpinned(at.clone(), &r));
                return None;
            }
            Err(e) => {
                problems.push(Problem::new(at.clone(), e.to_string()));
                return None;
            }
        },
    };
    if let ImageRef::Nix { tag: Some(tag), .. } = &reference {
        if tag != "latest" {
            problems.push(
                Problem::new(
                    at.clone(),
                    format!("image `{reference}` has the tag `{tag}`, which nix-snapshotter cannot pull"),
                )
                .with_hint("drop the tag: the store path already pins the image"),
            );
            return None;
        }
    }
    Some(reference)
}

/// The keys (below the value path) and values of the `split` form.
fn split(r: &ImageRef, iv: &ImageValue, here: &JsonPath) -> Result<Vec<(Vec<String>, Value)>, Problem> {
    let leaf = |k: &str, v: String| (vec![k.to_owned()], Value::String(v));
    let mut out = Vec::new();
    match r {
        ImageRef::Nix { path, .. } => {
            // nix-snapshotter strips `:latest` (and only that), so charts
            // that always join `repository:tag` still give a pullable reference.
            match &iv.registry_key {
                Some(k) => {
                    out.push(leaf(k, NIX_SCHEME.to_owned()));
                    out.push(leaf("repository", path.to_string().trim_start_matches('/').to_owned()));
                }
                None => out.push(leaf("repository", format!("{NIX_SCHEME}{path}"))),
            }
            out.push(leaf("tag", "latest".to_owned()));
            if let Some(k) = &iv.digest_key {
                out.push(leaf(k, String::new()));
            }
        }
        ImageRef::Registry { domain, path, tag, digest } => {
            match (&iv.registry_key, domain) {
                (Some(k), d) => {
                    out.push(leaf(k, d.clone().unwrap_or_else(|| "docker.io".to_owned())));
                    out.push(leaf("repository", path.clone()));
                }
                (None, Some(d)) => out.push(leaf("repository", format!("{d}/{path}"))),
                (None, None) => out.push(leaf("repository", path.clone())),
            }
            let digest = digest.as_ref().map(|d| format!("{}:{}", d.algorithm, d.hex));
            match (&iv.digest_key, tag, digest) {
                (Some(k), tag, digest) => {
                    if let Some(t) = tag {
                        out.push(leaf("tag", t.clone()));
                    }
                    out.push(leaf(k, digest.unwrap_or_default()));
                }
                (None, Some(t), Some(d)) => out.push(leaf("tag", format!("{t}@{d}"))),
                (None, Some(t), None) => out.push(leaf("tag", t.clone())),
                (None, None, Some(_)) => return Err(Problem::new(
                    here.key("image"),
                    format!("image `{r}` has a digest but no tag, and the `split` form writes the digest into `tag`"),
                )
                .with_hint(
                    "give the reference a tag (`name:1.2.3@sha256:…`), or set `digestKey` to the chart's digest key",
                )),
                (None, None, None) => out.push(leaf("tag", "latest".to_owned())),
            }
        }
    }
    Ok(out)
}

/// Writes `value` at `leaf`, making the objects on the way; refuses a
/// leaf the user set in `values` and a non-object on the way.
fn set(
    values: &mut Map<String, Value>,
    user: &Map<String, Value>,
    leaf: &[String],
    value: Value,
    at: &JsonPath,
    here: &JsonPath,
) -> Result<(), Problem> {
    let mut user_at = Some(user);
    let mut path = at.key("values");
    let mut node = values;
    for (depth, key) in leaf.iter().enumerate() {
        path = path.key(key);
        let user_value = user_at.and_then(|m| m.get(key));
        if depth + 1 == leaf.len() {
            if user_value.is_some_and(|v| !v.is_null()) {
                return Err(Problem::new(
                    path,
                    format!("`values.{}` is also written by `imageValues`", leaf.join(".")),
                )
                .with_hint(format!("remove it from `values`: `{}` writes it from the `images` map", here)));
            }
            node.insert(key.clone(), value);
            return Ok(());
        }
        user_at = user_value.and_then(Value::as_object);
        let slot = node.entry(key.clone()).or_insert_with(|| Value::Object(Map::new()));
        if slot.is_null() {
            *slot = Value::Object(Map::new());
        }
        let found = json_type(slot);
        let Value::Object(next) = slot else {
            return Err(Problem::new(path, format!("`values.{}` is {found}, not an object", leaf[..=depth].join(".")))
                .with_hint("point `path` at an object of the values, or use `form = \"reference\"` for a value that is the whole reference"));
        };
        node = next;
    }
    Ok(())
}
