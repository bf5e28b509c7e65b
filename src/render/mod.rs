//! spec -> typed Kubernetes objects, grouped into the files of a bundle.
//!
//! Each enabled app becomes one group (its file), each top-level object and
//! each namespace shared by several apps one more. Then images are pinned and
//! the bundle-wide checks run; any problem fails the whole render.

pub mod app;
pub mod checks;
pub mod container;
pub mod context;
pub mod cronjob;
pub mod hardening;
pub mod helm;
pub mod helm_values;
pub mod images;
pub mod ingress_route;
pub mod layers;
pub mod manifest;
pub mod network_policy;
pub mod patch;
pub mod pod_fields;
pub mod pod_references;
pub mod postgres;
pub mod probes;
pub mod reach;
#[cfg(test)]
mod reach_tests;
pub mod references;
pub mod retention;
pub mod route_view;
pub mod routes;
pub mod rules;
pub mod secrets;
pub mod sops;
pub mod traefik;
pub mod traffic;
pub mod validation;
pub mod vars;
pub mod workload;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::crd::Crds;
use crate::spec::{JsonPath, LayerName, Problem, Spec};

pub use crate::object::ObjectId;
pub use images::ImageUse;
pub use manifest::{Group, Manifest};

#[derive(Debug, Clone)]
pub struct Rendered {
    pub groups: Vec<Group>,
    pub images: Vec<ImageUse>,
    /// The spec's layers in order; empty for an unlayered render.
    pub layers: Vec<LayerName>,
    /// What the render found doubtful but not wrong (`check` shows them).
    pub warnings: Vec<Problem>,
    /// What `check` reports beside success: choices that are valid but
    /// that the reader should know about (an app on the host network).
    pub notes: Vec<Problem>,
    /// Apps whose routes skip the auth middleware (`public: true`).
    pub public_apps: Vec<String>,
}

impl Rendered {
    /// Whether the spec declared layers (then the bundle is layered).
    pub fn is_layered(&self) -> bool {
        !self.layers.is_empty()
    }

    /// One render per layer, in layer order, each with its groups and the
    /// image uses of its objects.
    pub fn split(&self) -> Vec<(LayerName, Rendered)> {
        self.layers
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let groups: Vec<Group> = self.groups.iter().filter(|g| g.layer == i).cloned().collect();
                let ids: BTreeSet<_> = groups.iter().flat_map(|g| g.manifests.iter().map(|m| m.id())).collect();
                let images = self.images.iter().filter(|u| ids.contains(&u.object)).cloned().collect();
                (
                    name.clone(),
                    Rendered {
                        groups,
                        images,
                        layers: Vec::new(),
                        warnings: Vec::new(),
                        notes: Vec::new(),
                        public_apps: Vec::new(),
                    },
                )
            })
            .collect()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

pub fn render(spec: &Spec) -> Result<Rendered, Vec<Problem>> {
    render_with(spec, None)
}

/// `render`, and with `crds` every object of a kind they define is also
/// checked against its CRD's schema (`nixflux check --crds`).
pub fn render_with(spec: &Spec, crds: Option<&Crds>) -> Result<Rendered, Vec<Problem>> {
    let mut problems = Vec::new();
    layers::check(spec, &mut problems);
    vars::check_vars(&spec.vars, &mut problems);
    let profiles = network_policy::Profiles::new(spec, &mut problems);
    let traffic = traffic::Traffic::new(spec, &mut problems);
    let image_map = images::ImageMap::new(spec, &mut problems);
    traefik::validate(spec, &mut problems);

    let apps: Vec<context::AppContext> =
        spec.apps.iter().filter(|(_, a)| a.enable).map(|(name, a)| context::AppContext::new(spec, name, a)).collect();

    // A namespace wanted by several apps gets a file of its own, so that
    // removing one of the apps does not prune it from under the others.
    let mut namespace_users: BTreeMap<&str, Vec<&context::AppContext>> = BTreeMap::new();
    for cx in apps.iter().filter(|cx| cx.wants_namespace()) {
        namespace_users.entry(cx.namespace.as_str()).or_default().push(cx);
    }

    // Apps render (and pin their images) independently, so in parallel.
    // CPU time spent rendering apps and, of that, resolving their images
    // (nanoseconds, summed over threads): `-vv` logs the share.
    let (render_ns, images_ns) = (AtomicU64::new(0), AtomicU64::new(0));
    let per_app = crate::parallel::map(&apps, |cx| {
        let started = Instant::now();
        let own =
            cx.wants_namespace() && namespace_users.get(cx.namespace.as_str()).is_some_and(|users| users.len() == 1);
        let (mut problems, mut uses) = (Vec::new(), Vec::new());
        let mut manifests = app::render(cx, &profiles, &traffic, own, &mut problems);
        let pinning = Instant::now();
        images::pin(spec, &image_map, &mut manifests, &mut uses, &mut problems);
        manifests.extend(helm::render(cx, &image_map, &mut uses, &mut problems));
        images_ns.fetch_add(nanos(pinning.elapsed()), Ordering::Relaxed);
        render_ns.fetch_add(nanos(started.elapsed()), Ordering::Relaxed);
        let layer = layers::of_app(spec, cx.app);
        (Group { owner: format!("app `{}`", cx.name), manifests, layer }, problems, uses)
    });
    tracing::debug!(
        render_cpu_ms = render_ns.load(Ordering::Relaxed) / 1_000_000,
        image_resolution_cpu_ms = images_ns.load(Ordering::Relaxed) / 1_000_000,
        "apps rendered"
    );
    let mut groups = Vec::with_capacity(per_app.len() + spec.objects.len());
    let mut uses = Vec::new();
    for (group, app_problems, app_uses) in per_app {
        groups.push(group);
        problems.extend(app_problems);
        uses.extend(app_uses);
    }
    let first_shared = groups.len();
    for (ns, users) in namespace_users.iter().filter(|(_, users)| users.len() > 1) {
        let retain = users.iter().any(|cx| cx.retains_data());
        let origin = users[0].at.key("namespace");
        let object = app::namespace_object(spec, ns, None, retain);
        // Before any of its users: in the first of their layers.
        let layer = users.iter().map(|cx| layers::of_app(spec, cx.app)).min().unwrap_or_default();
        groups.push(Group {
            owner: format!("namespace `{ns}`"),
            manifests: vec![Manifest::new(object, origin)],
            layer,
        });
    }
    // The shared CloudNativePG Cluster (and its Namespace unless an app's
    // file has it), in the first layer so its apps' Databases find it.
    if let Some(cluster) = postgres::shared_cluster(spec, &apps, &mut problems) {
        let origin = cluster.origin.clone();
        let ns = cluster.namespace().unwrap_or_default().to_owned();
        let mut manifests = Vec::new();
        let has_ns = namespace_users.contains_key(ns.as_str()) || context::SYSTEM_NAMESPACES.contains(&ns.as_str());
        if spec.defaults.create_namespaces && !has_ns {
            manifests.push(Manifest::new(app::namespace_object(spec, &ns, None, true), origin.key("namespace")));
        }
        manifests.push(cluster);
        groups.push(Group { owner: format!("`{origin}`"), manifests, layer: 0 });
    }
    let layer_objects = spec.layers.iter().enumerate().flat_map(|(l, layer)| {
        let at = JsonPath::root().key("layers").index(l).key("objects");
        layer.objects.iter().enumerate().map(move |(i, obj)| (l, at.index(i), obj))
    });
    let top_objects = spec
        .objects
        .iter()
        .enumerate()
        .map(|(i, obj)| (layers::last(spec), JsonPath::root().key("objects").index(i), obj));
    for (layer, origin, obj) in layer_objects.chain(top_objects) {
        let obj = vars::substitute(&obj.0, &spec.vars, &origin, &mut problems);
        match Manifest::from_raw(&obj, origin.clone()) {
            Ok(m) => groups.push(Group { owner: format!("`{origin}`"), manifests: vec![m], layer }),
            Err(ps) => problems.extend(ps),
        }
    }

    let cluster = traefik::cluster_objects(spec, &apps);
    if !cluster.is_empty() {
        groups.push(Group { owner: "`defaults.traefik`".into(), manifests: cluster, layer: layers::last(spec) });
    }
    for g in &mut groups[first_shared..] {
        images::pin(spec, &image_map, &mut g.manifests, &mut uses, &mut problems);
    }
    retention::protect_data(&mut groups);
    checks::run(spec, &groups, &mut problems);
    if let Some(crds) = crds {
        for m in groups.iter().flat_map(|g| &g.manifests) {
            problems.extend(crds.validate_at(&m.body.to_json(), &m.origin));
        }
    }

    if problems.is_empty() {
        uses.sort();
        let layers = spec.layers.iter().map(|l| l.name.clone()).collect();
        let mut warnings = reach::warnings(spec, &groups);
        let sops: Vec<JsonPath> = groups
            .iter()
            .flat_map(|g| &g.manifests)
            .filter(|m| matches!(&m.body, crate::object::Body::Dynamic(o) if sops::is_sops(o)))
            .map(|m| m.origin.clone())
            .collect();
        warnings.extend(sops::sops_warning(&sops));
        let notes = apps.iter().flat_map(pod_fields::notes).collect();
        let public_apps = traefik::public_apps(spec, &apps);
        Ok(Rendered { groups, images: uses, layers, warnings, notes, public_apps })
    } else {
        let mut seen = std::collections::HashSet::new();
        problems.retain(|p| seen.insert((p.path.clone(), p.message.clone())));
        // Read top to bottom like the spec: by path, then in order found.
        problems.sort_by(|a, b| a.path.cmp(&b.path));
        Err(problems)
    }
}
