//! The containers of an app's pod: the app's own, its init containers and
//! its sidecars. All get the same secure defaults (no privilege escalation,
//! all capabilities dropped except those `security` adds back), the same
//! environment rules and the app's volumes at their mount paths.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapKeySelector, Container, ContainerPort, EnvFromSource, EnvVar, EnvVarSource,
    ObjectFieldSelector, ResourceRequirements, SecretEnvSource, SecretKeySelector, SecurityContext, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::spec::names::VolumeName;
use crate::spec::pod::{EnvSource, EnvValue};
use crate::spec::{Env, ExtraContainer, ResourceList, Resources};

use super::context::{AppContext, HTTP_PORT};
use super::probes;

/// The app's own container, named after the app.
pub fn main(cx: &AppContext, image: &str) -> Container {
    let app = cx.app;
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
    let probes = probes::render(app);
    Container {
        name: cx.name.to_string(),
        image: Some(image.to_owned()),
        command: app.command.clone(),
        args: app.args.clone(),
        env: with(env(&app.env), super::secrets::env_vars(cx).into_iter().chain(super::postgres::env_vars(cx))),
        env_from: env_from(&app.env_from_secrets),
        ports: non_empty(ports),
        resources: app.resources.as_ref().map(resources),
        startup_probe: probes.startup,
        readiness_probe: probes.readiness,
        liveness_probe: probes.liveness,
        security_context: Some(security_context(cx)),
        volume_mounts: with(mounts(cx, app.volumes.keys()), super::secrets::mounts(cx)),
        ..Default::default()
    }
}

/// `list` with `more` appended (none when both are empty).
fn with<T>(list: Option<Vec<T>>, more: impl IntoIterator<Item = T>) -> Option<Vec<T>> {
    non_empty(list.unwrap_or_default().into_iter().chain(more).collect())
}

/// An init container or sidecar. Sidecars are native sidecars: init
/// containers with `restartPolicy: Always`, started before the app's
/// container and stopped after it, so a Job still completes.
pub fn extra(cx: &AppContext, c: &ExtraContainer, sidecar: bool) -> Container {
    Container {
        name: c.name.clone(),
        image: Some(c.image.clone()),
        command: c.command.clone(),
        args: c.args.clone(),
        env: env(&c.env),
        env_from: env_from(&c.env_from_secrets),
        resources: c.resources.as_ref().map(resources),
        restart_policy: sidecar.then(|| "Always".to_owned()),
        security_context: Some(security_context(cx)),
        volume_mounts: mounts(cx, c.volumes.iter()),
        ..Default::default()
    }
}

/// The security settings of every container nixflux renders for the app.
pub fn security_context(cx: &AppContext) -> SecurityContext {
    let sec = &cx.app.security;
    SecurityContext {
        allow_privilege_escalation: Some(sec.allow_privilege_escalation || sec.privileged),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: non_empty(sec.add_capabilities.clone()),
        }),
        read_only_root_filesystem: sec.read_only_root_filesystem.then_some(true),
        privileged: sec.privileged.then_some(true),
        ..Default::default()
    }
}

fn mounts<'a>(cx: &AppContext, names: impl Iterator<Item = &'a VolumeName>) -> Option<Vec<VolumeMount>> {
    non_empty(
        names
            .filter_map(|name| cx.app.volumes.get(name).map(|v| (name, v)))
            .map(|(name, v)| VolumeMount {
                name: name.to_string(),
                mount_path: v.mount_path.clone(),
                read_only: v.read_only.then_some(true),
                sub_path: v.sub_path.clone(),
                ..Default::default()
            })
            .collect(),
    )
}

fn env(vars: &Env) -> Option<Vec<EnvVar>> {
    non_empty(
        vars.iter()
            .map(|(k, v)| match v {
                EnvValue::Value(s) => EnvVar { name: k.to_string(), value: Some(s.clone()), value_from: None },
                EnvValue::From(from) => EnvVar { name: k.to_string(), value: None, value_from: Some(source(from)) },
            })
            .collect(),
    )
}

fn source(from: &EnvSource) -> EnvVarSource {
    match from {
        EnvSource::SecretKeyRef(r) => EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: r.name.clone(),
                key: r.key.clone(),
                optional: r.optional.then_some(true),
            }),
            ..Default::default()
        },
        EnvSource::ConfigMapKeyRef(r) => EnvVarSource {
            config_map_key_ref: Some(ConfigMapKeySelector {
                name: r.name.clone(),
                key: r.key.clone(),
                optional: r.optional.then_some(true),
            }),
            ..Default::default()
        },
        EnvSource::FieldRef(f) => EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: f.field_path.clone(), api_version: None }),
            ..Default::default()
        },
    }
}

fn env_from(secrets: &[String]) -> Option<Vec<EnvFromSource>> {
    non_empty(
        secrets
            .iter()
            .map(|name| EnvFromSource {
                secret_ref: Some(SecretEnvSource { name: name.clone(), optional: None }),
                ..Default::default()
            })
            .collect(),
    )
}

/// Requests and limits. An extended resource given only as a limit is
/// also requested by the API server (requests default to limits).
fn resources(r: &Resources) -> ResourceRequirements {
    ResourceRequirements {
        requests: r.requests.as_ref().map(resource_list),
        limits: r.limits.as_ref().map(resource_list),
        ..Default::default()
    }
}

fn resource_list(r: &ResourceList) -> BTreeMap<String, Quantity> {
    let mut out: BTreeMap<String, Quantity> =
        [("cpu", &r.cpu), ("memory", &r.memory), ("ephemeral-storage", &r.ephemeral_storage)]
            .into_iter()
            .filter_map(|(k, q)| q.as_ref().map(|q| (k.to_owned(), Quantity(q.to_string()))))
            .collect();
    out.extend(r.extended.iter().map(|(k, n)| (k.clone(), Quantity(n.to_string()))));
    out
}

pub fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}
