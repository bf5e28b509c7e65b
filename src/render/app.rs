//! One app of the spec -> its objects, in apply order: Namespace,
//! ServiceAccount, PersistentVolumeClaims, Deployment, Service, Ingress,
//! NetworkPolicy, then the app's raw objects. Also the checks that only need
//! the app itself (a port for the ingress, one source per volume, ...).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    Namespace, PersistentVolumeClaim, PersistentVolumeClaimSpec, Service, ServiceAccount, ServicePort, ServiceSpec,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::spec::names::{is_dns1123_subdomain, AppName};
use crate::spec::{JsonPath, Problem, Protocol, Spec};

use super::context::{to_strings, AppContext, HTTP_PORT, MANAGED_BY_LABEL, MANAGER, NAME_LABEL, PRUNE_ANNOTATION};
use super::manifest::Manifest;
use super::network_policy::Profiles;
use super::traffic::Traffic;
use super::{cronjob, pod_fields, routes, workload};

/// The Namespace object for `namespace`, owned by one app or shared by several.
pub fn namespace_object(spec: &Spec, namespace: &str, owner: Option<&AppName>, retain: bool) -> Namespace {
    let mut labels = to_strings(&spec.defaults.labels);
    labels.insert(MANAGED_BY_LABEL.to_owned(), MANAGER.to_owned());
    if let Some(app) = owner {
        labels.insert(NAME_LABEL.to_owned(), app.to_string());
    }
    Namespace {
        metadata: ObjectMeta {
            name: Some(namespace.to_owned()),
            labels: Some(labels),
            annotations: retain.then(|| BTreeMap::from([(PRUNE_ANNOTATION.to_owned(), "disabled".to_owned())])),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Renders an enabled app. `own_namespace` says whether its Namespace goes
/// into its own file (false when shared or not rendered).
pub fn render(
    cx: &AppContext,
    profiles: &Profiles,
    traffic: &Traffic,
    own_namespace: bool,
    problems: &mut Vec<Problem>,
) -> Vec<Manifest> {
    let app = cx.app;
    let at = &cx.at;
    validate(cx, problems);
    let mut out = Vec::new();
    if own_namespace {
        out.push(Manifest::new(namespace_object(cx.spec, &cx.namespace, Some(cx.name), cx.retains_data()), at.clone()));
    }
    if let Some(image) = &app.image {
        out.push(Manifest::new(
            ServiceAccount {
                metadata: ObjectMeta {
                    annotations: (!app.service_account.annotations.is_empty())
                        .then(|| to_strings(&app.service_account.annotations)),
                    ..cx.meta(cx.name.as_str())
                },
                automount_service_account_token: Some(app.service_account.automount_token),
                ..Default::default()
            },
            at.key("serviceAccount"),
        ));
        for (name, v) in &app.volumes {
            if let Some(claim) = &v.persistent_volume_claim {
                let mut meta = cx.meta(&cx.claim_name(name.as_str()));
                if !claim.prune {
                    meta.annotations
                        .get_or_insert_with(BTreeMap::new)
                        .insert(PRUNE_ANNOTATION.into(), "disabled".into());
                }
                out.push(Manifest::new(
                    PersistentVolumeClaim {
                        metadata: meta,
                        spec: Some(PersistentVolumeClaimSpec {
                            access_modes: Some(vec![claim.access_mode.as_str().into()]),
                            storage_class_name: claim.storage_class_name.clone(),
                            resources: Some(VolumeResourceRequirements {
                                requests: Some(BTreeMap::from([("storage".into(), Quantity(claim.size.to_string()))])),
                                limits: None,
                            }),
                            ..Default::default()
                        }),
                        status: None,
                    },
                    at.key("volumes").key(name.as_str()),
                ));
            }
        }
        let restart_policy = app.schedule.as_ref().map(|_| cronjob::restart_policy(cx));
        let pod = workload::pod_template(cx, image, restart_policy, problems);
        let workload = match &app.schedule {
            Some(schedule) => Manifest::generated(cronjob::cron_job(cx, schedule, pod.template), at.clone()),
            None => Manifest::generated(workload::deployment(cx, pod.template), at.clone()),
        };
        out.push(workload.with_image_origins(pod.image_origins));
        if let Some(service) = service(cx) {
            out.push(Manifest::new(service, at.key("port")));
        }
        out.extend(routes::ingresses(cx));
        let profile_at = if app.network_policy.profile.is_some() {
            at.key("networkPolicy").key("profile")
        } else {
            JsonPath::root().key("defaults").key("networkPolicyProfile")
        };
        let profile = app.network_policy.profile.as_ref().unwrap_or(&cx.spec.defaults.network_policy_profile);
        match profiles.network_policy(cx, profile, traffic) {
            Ok(Some(policy)) => out.push(Manifest::new(policy, profile_at)),
            Ok(None) => {}
            Err(p) => problems.push(Problem { path: profile_at, ..p }),
        }
    } else {
        // Routes to other Services need no workload of the app's own.
        out.extend(routes::ingresses(cx));
    }
    out.extend(super::secrets::render(cx, problems));
    out.extend(super::postgres::render(cx, problems));
    let mut raw = Vec::new();
    for (i, obj) in app.objects.iter().enumerate() {
        let origin = at.key("objects").index(i);
        let obj = super::vars::substitute(&obj.0, &cx.spec.vars, &origin, problems);
        match Manifest::from_raw(&obj, origin) {
            Ok(mut m) => {
                if m.namespace().is_none() && crate::object::kind_info(m.body.api_version(), m.body.kind()).namespaced {
                    m.set_namespace(&cx.namespace);
                }
                raw.push(m);
            }
            Err(ps) => problems.extend(ps),
        }
    }
    raw.sort_by_cached_key(|m| (m.kind_rank(), m.id()));
    out.extend(raw);
    out
}

fn service(cx: &AppContext) -> Option<Service> {
    let app = cx.app;
    app.port?;
    let mut ports = vec![ServicePort {
        name: Some(HTTP_PORT.into()),
        port: i32::from(app.service_port.0),
        target_port: Some(IntOrString::String(HTTP_PORT.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    }];
    for (name, p) in &app.extra_ports {
        ports.push(ServicePort {
            name: Some(name.to_string()),
            port: i32::from(p.service_port.unwrap_or(p.port).0),
            target_port: Some(IntOrString::String(name.to_string())),
            protocol: Some(p.protocol.as_str().into()),
            ..Default::default()
        });
    }
    Some(Service {
        metadata: cx.meta(cx.name.as_str()),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            selector: Some(cx.selector_labels()),
            ports: Some(ports),
            ..Default::default()
        }),
        status: None,
    })
}

/// Checks that need only the app: fields that make no sense together,
/// clashing ports and mounts, and names that are not names.
fn validate(cx: &AppContext, problems: &mut Vec<Problem>) {
    let app = cx.app;
    let at = &cx.at;
    pod_fields::validate(cx, problems);
    routes::validate(cx, problems);
    let mut bad = |path: JsonPath, msg: String, hint: &str| {
        let p = Problem::new(path, msg);
        problems.push(if hint.is_empty() { p } else { p.with_hint(hint) });
    };
    if app.image.is_none() {
        let needs_image: [(&str, bool); 11] = [
            ("port", app.port.is_some()),
            ("extraPorts", !app.extra_ports.is_empty()),
            ("health", app.health.is_some()),
            ("ingress", app.ingress.is_some()),
            ("command", app.command.is_some()),
            ("args", app.args.is_some()),
            ("env", !app.env.is_empty()),
            ("volumes", !app.volumes.is_empty()),
            ("resources", app.resources.is_some()),
            ("secretEnv", !app.secret_env.is_empty()),
            ("secretFiles", !app.secret_files.is_empty()),
        ];
        for (field, set) in needs_image {
            if set {
                bad(
                    at.key(field),
                    format!("`{field}` is set but the app has no `image`"),
                    "set `image`, or move the workload into `objects`",
                );
            }
        }
    }
    if app.replicas < 0 {
        bad(at.key("replicas"), format!("replicas is {}: it must be 0 or more", app.replicas), "");
    }
    if app.image.is_some() && app.port.is_none() {
        if app.health.is_some() {
            bad(
                at.key("health"),
                "`health` is probed on `port`, but the app has no `port`".into(),
                "set `port` to the port the app listens on",
            );
        }
        if app.ingress.is_some() {
            bad(
                at.key("ingress"),
                "`ingress` routes to `port`, but the app has no `port`".into(),
                "set `port` to the port the app listens on",
            );
        }
    }
    if let Some(h) = &app.health {
        if !h.starts_with('/') {
            bad(at.key("health"), format!("health path `{h}` must start with `/`"), "");
        }
    }
    for (i, s) in app.env_from_secrets.iter().enumerate() {
        if !is_dns1123_subdomain(s) {
            bad(
                at.key("envFromSecrets").index(i),
                format!("`{s}` is not a valid Secret name"),
                "a Secret name is a lowercase DNS subdomain",
            );
        }
    }
    // Container ports and Service ports must be unique per protocol.
    let mut container_ports: BTreeMap<(u16, &str), &str> = BTreeMap::new();
    let mut service_ports: BTreeMap<(u16, &str), &str> = BTreeMap::new();
    if let Some(p) = app.port {
        container_ports.insert((p.0, "TCP"), HTTP_PORT);
        service_ports.insert((app.service_port.0, "TCP"), HTTP_PORT);
    }
    for (name, p) in &app.extra_ports {
        let here = at.key("extraPorts").key(name.as_str());
        if name.as_str() == HTTP_PORT {
            bad(
                here.clone(),
                "the extra port name `http` is taken by `port`".into(),
                "give the extra port another name",
            );
        }
        let proto = p.protocol.as_str();
        if let Some(other) = container_ports.insert((p.port.0, proto), name.as_str()) {
            bad(
                here.key("port"),
                format!("container port {}/{proto} is already opened by port `{other}`", p.port.0),
                "",
            );
        }
        let sp = p.service_port.unwrap_or(p.port).0;
        if let Some(other) = service_ports.insert((sp, proto), name.as_str()) {
            bad(
                here.key("servicePort"),
                format!("service port {sp}/{proto} is already used by port `{other}`"),
                "set `servicePort` to a free port",
            );
        }
        if p.host_port.is_some() && p.protocol == Protocol::Sctp {
            bad(here.key("hostPort"), "hostPort with SCTP is not supported by most CNIs".into(), "");
        }
    }
    let mut mounts = BTreeSet::new();
    for (name, v) in &app.volumes {
        let here = at.key("volumes").key(name.as_str());
        let sources = [
            v.persistent_volume_claim.is_some(),
            v.existing_claim.is_some(),
            v.host_path.is_some(),
            v.empty_dir.is_some(),
            v.config_map.is_some(),
            v.secret.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            bad(
                here.clone(),
                format!("volume `{name}` needs exactly one source"),
                "set one of `persistentVolumeClaim`, `existingClaim`, `hostPath`, `emptyDir`, `configMap`, `secret`",
            );
        }
        if !v.mount_path.starts_with('/') {
            bad(here.key("mountPath"), format!("mount path `{}` must be absolute", v.mount_path), "");
        } else if !mounts.insert(v.mount_path.trim_end_matches('/')) {
            bad(here.key("mountPath"), format!("mount path `{}` is used by another volume", v.mount_path), "");
        }
        if let Some(h) = &v.host_path {
            if !h.starts_with('/') {
                bad(here.key("hostPath"), format!("host path `{h}` must be absolute"), "");
            }
        }
        if cx.claim_name(name.as_str()).len() > 253 {
            bad(here, "the claim name `<app>-<volume>` is longer than 253 characters".into(), "");
        }
    }
}
