//! The app's Deployment: pod template, container, ports, probes, volumes and
//! the secure defaults (no privilege escalation, all capabilities dropped,
//! seccomp `RuntimeDefault`, no service-account token, no service links).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, EmptyDirVolumeSource, EnvFromSource, EnvVar,
    HTTPGetAction, HostPathVolumeSource, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile as K8sSeccomp, SecretEnvSource, SecretVolumeSource,
    SecurityContext, Volume as K8sVolume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::spec::{AccessMode, App, ResourceList, SeccompProfile};

use super::context::{AppContext, HTTP_PORT};

pub fn deployment(cx: &AppContext, image: &str) -> Deployment {
    let app = cx.app;
    Deployment {
        metadata: cx.meta(cx.name.as_str()),
        spec: Some(DeploymentSpec {
            replicas: Some(app.replicas),
            selector: LabelSelector { match_labels: Some(cx.selector_labels()), ..Default::default() },
            strategy: needs_recreate(app)
                .then(|| DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(cx.labels()), ..Default::default() }),
                spec: Some(pod_spec(cx, image)),
            },
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

fn pod_spec(cx: &AppContext, image: &str) -> PodSpec {
    let app = cx.app;
    let sec = &app.security;
    PodSpec {
        service_account_name: Some(cx.name.to_string()),
        automount_service_account_token: Some(app.service_account.automount_token),
        enable_service_links: Some(false),
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
        containers: vec![container(cx, image)],
        volumes: non_empty(
            app.volumes
                .iter()
                .map(|(name, v)| K8sVolume {
                    name: name.to_string(),
                    persistent_volume_claim: v
                        .persistent_volume_claim
                        .as_ref()
                        .map(|_| cx.claim_name(name.as_str()))
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
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn container(cx: &AppContext, image: &str) -> Container {
    let app = cx.app;
    let sec = &app.security;
    let mut ports = Vec::new();
    if let Some(port) = app.port {
        ports.push(ContainerPort {
            name: Some(HTTP_PORT.into()),
            container_port: i32::from(port.0),
            protocol: Some("TCP".into()),
            ..Default::default()
        });
    }
    for (name, p) in &app.extra_ports {
        ports.push(ContainerPort {
            name: Some(name.to_string()),
            container_port: i32::from(p.port.0),
            protocol: Some(p.protocol.as_str().into()),
            host_port: p.host_port.map(|h| i32::from(h.0)),
            ..Default::default()
        });
    }
    let probe = |failure_threshold: i32, period: i32| {
        app.health.as_ref().map(|path| Probe {
            http_get: Some(HTTPGetAction {
                path: Some(path.clone()),
                port: IntOrString::String(HTTP_PORT.into()),
                ..Default::default()
            }),
            period_seconds: Some(period),
            failure_threshold: Some(failure_threshold),
            ..Default::default()
        })
    };
    Container {
        name: cx.name.to_string(),
        image: Some(image.to_owned()),
        command: app.command.clone(),
        args: app.args.clone(),
        env: non_empty(
            app.env
                .iter()
                .map(|(k, v)| EnvVar { name: k.to_string(), value: Some(v.clone()), value_from: None })
                .collect(),
        ),
        env_from: non_empty(
            app.env_from_secrets
                .iter()
                .map(|name| EnvFromSource {
                    secret_ref: Some(SecretEnvSource { name: name.clone(), optional: None }),
                    ..Default::default()
                })
                .collect(),
        ),
        ports: non_empty(ports),
        resources: app.resources.as_ref().map(|r| ResourceRequirements {
            requests: r.requests.as_ref().map(resource_list),
            limits: r.limits.as_ref().map(resource_list),
            ..Default::default()
        }),
        // Startup allows five minutes for a slow first start; after it,
        // readiness reacts in 10 s and liveness restarts after 30 s.
        startup_probe: probe(30, 10),
        readiness_probe: probe(1, 10),
        liveness_probe: probe(3, 10),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(sec.allow_privilege_escalation),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                add: non_empty(sec.add_capabilities.clone()),
            }),
            read_only_root_filesystem: sec.read_only_root_filesystem.then_some(true),
            ..Default::default()
        }),
        volume_mounts: non_empty(
            app.volumes
                .iter()
                .map(|(name, v)| VolumeMount {
                    name: name.to_string(),
                    mount_path: v.mount_path.clone(),
                    read_only: v.read_only.then_some(true),
                    sub_path: v.sub_path.clone(),
                    ..Default::default()
                })
                .collect(),
        ),
        ..Default::default()
    }
}

fn resource_list(r: &ResourceList) -> BTreeMap<String, Quantity> {
    [("cpu", &r.cpu), ("memory", &r.memory), ("ephemeral-storage", &r.ephemeral_storage)]
        .into_iter()
        .filter_map(|(k, q)| q.as_ref().map(|q| (k.to_owned(), Quantity(q.to_string()))))
        .collect()
}

pub fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}
