//! Image resolution and the pinning policy, applied to every container of
//! every workload in the bundle (generated or raw): symbolic names go
//! through the spec's `images` map, the result must parse as an `ImageRef`
//! and be pinned unless the spec allows otherwise.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;

use crate::image::ImageRef;
use crate::spec::{JsonPath, Problem, Spec};

use super::manifest::Manifest;
use crate::object::ObjectId;

/// One container's use of an image.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ImageUse {
    pub reference: ImageRef,
    pub object: ObjectId,
    pub container: String,
}

/// The `images` map, parsed once. Entries that do not parse are reported.
pub struct ImageMap {
    entries: BTreeMap<String, Result<ImageRef, ()>>,
}

impl ImageMap {
    pub fn new(spec: &Spec, problems: &mut Vec<Problem>) -> Self {
        let mut entries = BTreeMap::new();
        for (key, value) in &spec.images {
            let at = JsonPath::root().key("images").key(key);
            if key.is_empty() || key.chars().any(char::is_whitespace) {
                problems.push(Problem::new(at.clone(), format!("image name `{key}` is empty or has white space")));
            }
            let parsed = value.parse::<ImageRef>().map_err(|e| {
                problems.push(Problem::new(at.clone(), e.to_string()));
            });
            if let Ok(r) = &parsed {
                if !r.is_pinned() && !spec.allow_unpinned_images {
                    problems.push(unpinned(at, r));
                }
            }
            entries.insert(key.clone(), parsed);
        }
        ImageMap { entries }
    }

    /// Looks `image` up by its whole text, then by its name without tag or
    /// digest (as kustomize's image transformer does).
    fn lookup(&self, image: &str) -> Option<&Result<ImageRef, ()>> {
        self.entries.get(image).or_else(|| self.entries.get(strip_tag_and_digest(image)))
    }

    /// The entry named exactly `name` (`Err` when it did not parse: reported
    /// at `images.<name>`), for image values (`helm_values.rs`).
    pub(super) fn entry(&self, name: &str) -> Option<&Result<ImageRef, ()>> {
        self.entries.get(name)
    }

    /// The names of the map's entries.
    pub(super) fn names(&self) -> Vec<&str> {
        self.entries.keys().map(String::as_str).collect()
    }
}

fn strip_tag_and_digest(image: &str) -> &str {
    let name = image.split('@').next().unwrap_or(image);
    let last_slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[last_slash..].rfind(':') {
        Some(i) => &name[..last_slash + i],
        None => name,
    }
}

pub(super) fn unpinned(at: JsonPath, r: &ImageRef) -> Problem {
    Problem::new(at, format!("image `{r}` is not pinned: a tag can point at different content tomorrow")).with_hint(
        "pin it by digest (`name@sha256:<64 hex digits>`), use a nix-snapshotter image (`nix:0/nix/store/...`), \
         or set `allowUnpinnedImages: true`",
    )
}

/// Resolves, checks and pins every container image in `manifests`.
pub fn pin(
    spec: &Spec,
    map: &ImageMap,
    manifests: &mut [Manifest],
    uses: &mut Vec<ImageUse>,
    problems: &mut Vec<Problem>,
) {
    for m in manifests {
        if matches!(m.body, crate::object::Body::Cluster(_)) {
            let at = if m.generated { m.origin.key("image") } else { m.origin.key("spec").key("imageName") };
            let object = m.id();
            let crate::object::Body::Cluster(cluster) = &mut m.body else { continue };
            if let Some(text) = cluster.spec.image_name.clone() {
                if let Some(reference) = resolve(spec, map, &text, at, "", problems) {
                    cluster.spec.image_name = Some(reference.to_string());
                    uses.push(ImageUse { reference, object, container: "postgres".to_owned() });
                }
            }
            continue;
        }
        if m.pod_template().is_none() {
            continue;
        }
        let object = m.id();
        let origin = m.origin.clone();
        let generated = m.generated;
        let image_origins = std::mem::take(&mut m.image_origins);
        let Some((pod, pod_path)) = m.pod_spec_mut() else { continue };
        let pod_at = JsonPath::raw(format!("{origin}.{pod_path}"));
        for_each_container(pod, |list, i, container| {
            let at = match image_origins.get(&container.name) {
                Some(at) => at.clone(),
                None if generated => origin.key("image"),
                None => pod_at.key(list).index(i).key("image"),
            };
            // Generated containers are the app's own: the path says enough.
            let whose = if generated { String::new() } else { format!("container `{}` of {object}: ", container.name) };
            let Some(text) = container.image.clone() else {
                problems.push(Problem::new(at, format!("{whose}no image")));
                return;
            };
            let (reference, mapped) = match map.lookup(&text) {
                Some(Ok(mapped)) => (mapped.clone(), true),
                Some(Err(())) => return, // reported at `images.<name>`
                None => match text.parse::<ImageRef>() {
                    Ok(r) if r.is_pinned() || spec.allow_unpinned_images => (r, false),
                    Ok(r) => {
                        let p = unpinned(at, &r);
                        let hint = p.hint.clone().unwrap_or_default();
                        problems.push(if spec.images.is_empty() {
                            Problem { message: format!("{whose}{}", p.message), ..p }
                        } else {
                            Problem {
                                message: format!("{whose}image `{text}` has no entry in `images` and is not pinned"),
                                ..p
                            }
                            .with_hint(format!("add `{}` to the `images` map, or {hint}", strip_tag_and_digest(&text)))
                        });
                        return;
                    }
                    Err(e) => {
                        problems.push(Problem::new(at, format!("{whose}{e}")));
                        return;
                    }
                },
            };
            if let ImageRef::Nix { tag: Some(tag), .. } = &reference {
                if tag != "latest" {
                    problems.push(
                        Problem::new(
                            at,
                            format!("{whose}image `{reference}` has the tag `{tag}`, which nix-snapshotter cannot pull"),
                        )
                        .with_hint("drop the tag: the store path already pins the image (nix-snapshotter only understands tagless or `:latest` references)"),
                    );
                    return;
                }
            }
            if reference.is_pinned() && container.image_pull_policy.is_none() {
                // Pinned content never changes. For `nix:0` images this also
                // avoids the default `Always` (a tagless reference counts as
                // `latest`): nix-snapshotter would re-import the archive on
                // every start, and re-fetch it once the node's GC took it.
                container.image_pull_policy = Some("IfNotPresent".into());
            }
            if mapped {
                // A parsed reference displays as its input: only mapped ones change.
                container.image = Some(reference.to_string());
            }
            uses.push(ImageUse { reference, object: object.clone(), container: container.name.clone() });
        });
    }
}

/// A CloudNativePG `imageName` (which has no pull policy or tag rule of
/// nix-snapshotter's to follow): through the `images` map, then pinned.
fn resolve(
    spec: &Spec,
    map: &ImageMap,
    text: &str,
    at: JsonPath,
    whose: &str,
    problems: &mut Vec<Problem>,
) -> Option<ImageRef> {
    match map.lookup(text) {
        Some(Ok(mapped)) => Some(mapped.clone()),
        Some(Err(())) => None,
        None => match text.parse::<ImageRef>() {
            Ok(r) if r.is_pinned() || spec.allow_unpinned_images => Some(r),
            Ok(r) => {
                let p = unpinned(at, &r);
                problems.push(Problem { message: format!("{whose}{}", p.message), ..p });
                None
            }
            Err(e) => {
                problems.push(Problem::new(at, format!("{whose}{e}")));
                None
            }
        },
    }
}

/// Calls `f(list name, index, container)` for containers, init containers
/// and ephemeral containers (which have their own type in Kubernetes).
fn for_each_container(pod: &mut PodSpec, mut f: impl FnMut(&str, usize, &mut k8s_openapi::api::core::v1::Container)) {
    for (i, c) in pod.init_containers.iter_mut().flatten().enumerate() {
        f("initContainers", i, c);
    }
    for (i, c) in pod.containers.iter_mut().enumerate() {
        f("containers", i, c);
    }
    for (i, e) in pod.ephemeral_containers.iter_mut().flatten().enumerate() {
        // Give ephemeral containers the same treatment through a Container view.
        let mut c = k8s_openapi::api::core::v1::Container {
            name: e.name.clone(),
            image: e.image.clone(),
            image_pull_policy: e.image_pull_policy.clone(),
            ..Default::default()
        };
        f("ephemeralContainers", i, &mut c);
        e.image = c.image;
        e.image_pull_policy = c.image_pull_policy;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_tag_and_digest_but_not_port() {
        assert_eq!(strip_tag_and_digest("nginx:1.27"), "nginx");
        assert_eq!(strip_tag_and_digest("localhost:5000/app:dev"), "localhost:5000/app");
        assert_eq!(strip_tag_and_digest("localhost:5000/app"), "localhost:5000/app");
        assert_eq!(strip_tag_and_digest("app@sha256:abc"), "app");
    }
}
