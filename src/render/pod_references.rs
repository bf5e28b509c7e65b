//! What a reference is (the kind of object named, the name, the field
//! naming it), and the references a pod spec makes: its ServiceAccount,
//! pull secrets, `envFrom`, `env[].valueFrom` and volumes, of every
//! container. `references` resolves them.

use k8s_openapi::api::core::v1::{Container, PodSpec};

use super::manifest::Manifest;
use crate::object::Body;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Secret,
    ConfigMap,
    Service,
    ServiceAccount,
}

impl Kind {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Kind::Secret => "Secret",
            Kind::ConfigMap => "ConfigMap",
            Kind::Service => "Service",
            Kind::ServiceAccount => "ServiceAccount",
        }
    }

    /// The field of `external.<namespace>` that declares one.
    pub(super) fn external_field(self) -> &'static str {
        match self {
            Kind::Secret => "secrets",
            Kind::ConfigMap => "configMaps",
            Kind::Service => "services",
            Kind::ServiceAccount => "serviceAccounts",
        }
    }
}

/// One reference from a field of an object to another object.
pub(super) struct Reference<'a> {
    pub(super) kind: Kind,
    pub(super) name: &'a str,
    /// The field's path inside the referring object.
    pub(super) field: String,
}

/// The pod spec of a workload kind and its path inside the object.
pub(super) fn pod_spec(m: &Manifest) -> Option<(&PodSpec, &'static str)> {
    let (_, pod) = m.pod_template()?;
    let base = match &m.body {
        Body::Pod(_) => "spec",
        Body::CronJob(_) => "spec.jobTemplate.spec.template.spec",
        _ => "spec.template.spec",
    };
    Some((pod, base))
}

pub(super) fn pod_references<'a>(pod: &'a PodSpec, base: &str, refs: &mut Vec<Reference<'a>>) {
    let mut push = |kind, name: &'a str, field: String| {
        if !name.is_empty() {
            refs.push(Reference { kind, name, field });
        }
    };
    if let Some(sa) = pod.service_account_name.as_deref() {
        push(Kind::ServiceAccount, sa, format!("{base}.serviceAccountName"));
    }
    for (i, s) in pod.image_pull_secrets.iter().flatten().enumerate() {
        push(Kind::Secret, &s.name, format!("{base}.imagePullSecrets[{i}].name"));
    }
    for (i, v) in pod.volumes.iter().flatten().enumerate() {
        let at = format!("{base}.volumes[{i}]");
        if let Some(s) = v.secret.as_ref().filter(|s| s.optional != Some(true)) {
            if let Some(name) = &s.secret_name {
                push(Kind::Secret, name, format!("{at}.secret.secretName"));
            }
        }
        if let Some(c) = v.config_map.as_ref().filter(|c| c.optional != Some(true)) {
            push(Kind::ConfigMap, &c.name, format!("{at}.configMap.name"));
        }
        let sources = v.projected.iter().flat_map(|p| p.sources.iter().flatten());
        for (j, src) in sources.enumerate() {
            if let Some(s) = src.secret.as_ref().filter(|s| s.optional != Some(true)) {
                push(Kind::Secret, &s.name, format!("{at}.projected.sources[{j}].secret.name"));
            }
            if let Some(c) = src.config_map.as_ref().filter(|c| c.optional != Some(true)) {
                push(Kind::ConfigMap, &c.name, format!("{at}.projected.sources[{j}].configMap.name"));
            }
        }
    }
    let lists: [(&str, &'a [Container]); 2] =
        [("initContainers", pod.init_containers.as_deref().unwrap_or_default()), ("containers", &pod.containers)];
    for (list, containers) in lists {
        for (c, container) in containers.iter().enumerate() {
            let at = format!("{base}.{list}[{c}]");
            for (k, from) in container.env_from.iter().flatten().enumerate() {
                if let Some(s) = from.secret_ref.as_ref().filter(|s| s.optional != Some(true)) {
                    push(Kind::Secret, &s.name, format!("{at}.envFrom[{k}].secretRef.name"));
                }
                if let Some(cm) = from.config_map_ref.as_ref().filter(|c| c.optional != Some(true)) {
                    push(Kind::ConfigMap, &cm.name, format!("{at}.envFrom[{k}].configMapRef.name"));
                }
            }
            for (k, env) in container.env.iter().flatten().enumerate() {
                let Some(from) = &env.value_from else { continue };
                if let Some(s) = from.secret_key_ref.as_ref().filter(|s| s.optional != Some(true)) {
                    push(Kind::Secret, &s.name, format!("{at}.env[{k}].valueFrom.secretKeyRef.name"));
                }
                if let Some(cm) = from.config_map_key_ref.as_ref().filter(|c| c.optional != Some(true)) {
                    push(Kind::ConfigMap, &cm.name, format!("{at}.env[{k}].valueFrom.configMapKeyRef.name"));
                }
            }
        }
    }
}
