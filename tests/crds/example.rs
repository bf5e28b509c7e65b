//! The built-in example uses every integration: each custom resource it
//! renders (Traefik, cert-manager, External Secrets, CloudNativePG, Flux's
//! Helm kinds) is served by an upstream CRD of `../shared/crds` and valid
//! for it, and typed unless it is a raw object of a kind nixflux does not
//! type (the ClusterIssuer). Skipped with a message when `../shared/crds`
//! is absent.

use std::collections::BTreeMap;

use nixflux::crd::Crds;
use nixflux::object::Body;
use serde_json::Value;

use super::shared_crds;
use crate::common::root;

/// Kinds of the example's raw objects that nixflux keeps as written.
const UNTYPED: &[&str] = &["ClusterIssuer"];

#[test]
fn every_custom_resource_of_the_example_passes_the_upstream_schemas() {
    let Some(dir) = shared_crds("") else { return };
    let crds = Crds::load_dir(&dir).unwrap();
    let text = std::fs::read_to_string(root().join("docs/examples/homelab.json")).unwrap();
    let spec = nixflux::spec::parse(&text, "homelab.json").unwrap();
    let rendered = nixflux::render::render(&spec).unwrap();
    let mut checked = BTreeMap::<String, usize>::new();
    let mut failures = Vec::new();
    for m in rendered.groups.iter().flat_map(|g| &g.manifests) {
        let group = m.body.api_version().rsplit_once('/').map_or("", |(g, _)| g);
        if !group.contains('.') || group.ends_with("k8s.io") {
            continue;
        }
        let kind = m.body.kind().to_owned();
        let typed = !matches!(m.body, Body::Dynamic(_));
        assert!(typed || UNTYPED.contains(&kind.as_str()), "{kind} {} is not typed", m.name());
        assert!(crds.covers(m.body.api_version(), &kind), "no upstream CRD serves {} {kind}", m.body.api_version());
        let object: Value = m.body.to_json();
        failures.extend(crds.validate(&object).iter().map(|p| format!("{kind} {}: {p}", m.name())));
        *checked.entry(kind).or_default() += 1;
    }
    assert_eq!(failures, Vec::<String>::new());
    let counts: Vec<(&str, usize)> = checked.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        counts,
        [
            ("Certificate", 2),
            ("Cluster", 1),
            ("ClusterIssuer", 1),
            ("Database", 2),
            ("ExternalSecret", 6),
            ("HelmRelease", 1),
            ("HelmRepository", 1),
            ("IngressRoute", 22),
            ("Middleware", 8),
            ("TLSStore", 1),
        ]
    );
    assert_eq!(rendered.public_apps, ["blog"]);
}
