//! The app's workload: its pod template, shared by the Deployment and the
//! CronJob (`cronjob.rs`), and the Deployment itself. The pod gets the
//! secure defaults (seccomp `RuntimeDefault`, no service-account token, no
//! service links; the containers' defaults are in `container.rs`), the
//! app's pod settings and volumes, then its patches (`patch.rs`), and is
//! checked as it finally is (`hardening.rs`).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EmptyDirVolumeSource, HostPathVolumeSource, LocalObjectReference,
    PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec, PodTemplateSpec, SeccompProfile as K8sSeccomp,
    SecretVolumeSource, Toleration as K8sToleration, Volume as K8sVolume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::spec::pod::{TaintEffect, TolerationOperator};
use crate::spec::{AccessMode, App, JsonPath, Problem, SeccompProfile};

use super::container;
use super::context::{to_strings, AppContext};
use super::{hardening, patch};

pub use super::container::non_empty;

/// The pod template and, for messages, where each container's image was
/// set in the spec (by container name).
pub struct Template {
    pub template: PodTemplateSpec,
    pub image_origins: BTreeMap<String, JsonPath>,
}

pub fn deployment(cx: &AppContext, template: PodTemplateSpec) -> Deployment {
    let app = cx.app;
    Deployment {
        metadata: cx.meta(cx.name.as_str()),
        spec: Some(DeploymentSpec {
            replicas: Some(app.replicas),
            selector: LabelSelector { match_labels: Some(cx.selector_labels()), ..Default::default() },
            strategy: needs_recreate(app)
                .then(|| DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() }),
            template,
            ..Default::default()
        }),
        status: None,
    }
}

/// A claim that only one node can mount cannot be handed over by a rolling
/// update: the new pod would wait for the old one forever.
fn needs_recreate(app: &App) -> bool {
    app.volumes.values().any(|v| {
        v.existing_claim.is_some()
            || v.persistent_volume_claim
                .as_ref()
                .is_some_and(|c| matches!(c.access_mode, AccessMode::ReadWriteOnce | AccessMode::ReadWriteOncePod))
    })
}

/// The app's pod template, patched and checked. `restart_policy` is the
/// pod's (a Job's `OnFailure` or `Never`; none for a Deployment).
pub fn pod_template(
    cx: &AppContext,
    image: &str,
    restart_policy: Option<&str>,
    problems: &mut Vec<Problem>,
) -> Template {
    let app = cx.app;
    let mut spec = pod_spec(cx, image);
    spec.restart_policy = restart_policy.map(str::to_owned);
    let container_patch = app.container_patch.as_ref().map(|p| (p, cx.at.key("containerPatch")));
    let pod_patch = app.pod_patch.as_ref().map(|p| (p, cx.at.key("podPatch")));
    let before = problems.len();
    let defaults = container::security_context(cx);
    patch::apply(&mut spec, cx.name.as_str(), container_patch, pod_patch, &defaults, problems);
    if problems.len() == before {
        hardening::check(cx, &spec, problems);
    }
    let annotations = to_strings(&app.pod_annotations);
    Template {
        template: PodTemplateSpec {
            metadata: Some(ObjectMeta {
                labels: Some(cx.labels()),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            }),
            spec: Some(spec),
        },
        image_origins: image_origins(cx),
    }
}

fn image_origins(cx: &AppContext) -> BTreeMap<String, JsonPath> {
    let app = cx.app;
    let mut out = BTreeMap::from([(cx.name.to_string(), cx.at.key("image"))]);
    for (list, extras) in [("initContainers", &app.init_containers), ("sidecars", &app.sidecars)] {
        for (i, c) in extras.iter().enumerate() {
            out.insert(c.name.clone(), cx.at.key(list).index(i).key("image"));
        }
    }
    if app.container_patch.as_ref().is_some_and(|p| p.0.contains_key("image")) {
        out.insert(cx.name.to_string(), cx.at.key("containerPatch").key("image"));
    }
    for list in ["initContainers", "containers"] {
        let items = app.pod_patch.as_ref().and_then(|p| p.0.get(list)).and_then(|v| v.as_array());
        for (i, item) in items.into_iter().flatten().enumerate() {
            let Some(name) = item.get("name").and_then(|n| n.as_str()) else { continue };
            let here = cx.at.key("podPatch").key(list).index(i);
            if item.get("image").is_some() {
                out.insert(name.to_owned(), here.key("image"));
            } else if !out.contains_key(name) {
                // A container the patch adds without an image: its item says where.
                out.insert(name.to_owned(), here);
            }
        }
    }
    out
}

fn pod_spec(cx: &AppContext, image: &str) -> PodSpec {
    let app = cx.app;
    let sec = &app.security;
    let extras = app.init_containers.iter().map(|c| container::extra(cx, c, false));
    let sidecars = app.sidecars.iter().map(|c| container::extra(cx, c, true));
    PodSpec {
        service_account_name: Some(cx.name.to_string()),
        automount_service_account_token: Some(app.service_account.automount_token),
        enable_service_links: Some(false),
        host_network: app.host_network.then_some(true),
        // On the host network, in-cluster names still resolve.
        dns_policy: app.host_network.then(|| "ClusterFirstWithHostNet".to_owned()),
        node_selector: (!app.node_selector.is_empty()).then(|| to_strings(&app.node_selector)),
        tolerations: non_empty(app.tolerations.iter().map(toleration).collect()),
        runtime_class_name: app.runtime_class_name.clone(),
        image_pull_secrets: non_empty(
            app.image_pull_secrets.iter().map(|name| LocalObjectReference { name: name.clone() }).collect(),
        ),
        security_context: Some(PodSecurityContext {
            seccomp_profile: Some(K8sSeccomp {
                type_: match sec.seccomp_profile {
                    SeccompProfile::RuntimeDefault => "RuntimeDefault".into(),
                    SeccompProfile::Unconfined => "Unconfined".into(),
                },
                localhost_profile: None,
            }),
            run_as_user: sec.run_as_user,
            run_as_group: sec.run_as_group,
            run_as_non_root: sec.run_as_non_root,
            fs_group: sec.fs_group,
            ..Default::default()
        }),
        init_containers: non_empty(extras.chain(sidecars).collect()),
        containers: vec![container::main(cx, image)],
        volumes: non_empty(
            app.volumes
                .iter()
                .map(|(name, v)| volume(cx, name.as_str(), v))
                .chain(super::secrets::volumes(cx))
                .collect(),
        ),
        ..Default::default()
    }
}

fn volume(cx: &AppContext, name: &str, v: &crate::spec::Volume) -> K8sVolume {
    K8sVolume {
        name: name.to_owned(),
        persistent_volume_claim: v
            .persistent_volume_claim
            .as_ref()
            .map(|_| cx.claim_name(name))
            .or_else(|| v.existing_claim.clone())
            .map(|claim_name| PersistentVolumeClaimVolumeSource { claim_name, read_only: None }),
        host_path: v.host_path.clone().map(|path| HostPathVolumeSource { path, type_: None }),
        empty_dir: v.empty_dir.as_ref().map(|e| EmptyDirVolumeSource {
            medium: e.medium.clone(),
            size_limit: e.size_limit.as_ref().map(|q| Quantity(q.to_string())),
        }),
        config_map: v.config_map.clone().map(|name| ConfigMapVolumeSource { name, ..Default::default() }),
        secret: v
            .secret
            .clone()
            .map(|secret_name| SecretVolumeSource { secret_name: Some(secret_name), ..Default::default() }),
        ..Default::default()
    }
}

fn toleration(t: &crate::spec::Toleration) -> K8sToleration {
    K8sToleration {
        key: t.key.clone(),
        operator: Some(
            match t.operator {
                TolerationOperator::Equal => "Equal",
                TolerationOperator::Exists => "Exists",
            }
            .to_owned(),
        ),
        value: t.value.clone(),
        effect: t.effect.map(|e| {
            match e {
                TaintEffect::NoSchedule => "NoSchedule",
                TaintEffect::PreferNoSchedule => "PreferNoSchedule",
                TaintEffect::NoExecute => "NoExecute",
            }
            .to_owned()
        }),
        toleration_seconds: t.toleration_seconds,
    }
}
