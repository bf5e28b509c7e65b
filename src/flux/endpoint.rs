//! The in-cluster S3 endpoint: `rclone serve s3` as a Deployment, its
//! Service and, in `pvc` mode, the claim it serves. In `hostpath` mode the
//! node publishes into a directory (a `dir://` target) and rclone serves
//! it read-only with its directory cache off, so a new generation is
//! listed at once (with rclone's default `--dir-cache-time 5m`, files
//! written behind its back stay invisible for minutes). The auth key comes
//! from the S3 Secret through the environment (`RCLONE_AUTH_KEY`), never
//! argv. The pod is hardened as nixflux's app pods are: non-root, read-only
//! root file system, no privilege escalation, no capabilities, seccomp
//! `RuntimeDefault`, no service-account token.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, HostPathVolumeSource,
    PersistentVolumeClaim, PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, PodSecurityContext, PodSpec,
    PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector, SecurityContext, Service,
    ServicePort, ServiceSpec, TCPSocketAction, Volume, VolumeMount, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::object::{labels, meta, object, BootstrapObject, S3_SECRET_KEYS};
use super::options::{BootstrapOptions, ServerMode, ServerOptions};

/// rclone listens here (`--addr :8080`); the Service forwards the same port.
pub const PORT: u16 = 8080;
const PORT_NAME: &str = "s3";
/// The served directory inside the container.
pub const DATA_DIR: &str = "/data";
/// The uid and gid rclone runs as.
pub const RUN_AS: i64 = 65532;
const ACCESS_ENV: &str = "NIXFLUX_S3_ACCESS_KEY";
const SECRET_ENV: &str = "NIXFLUX_S3_SECRET_KEY";

/// The rclone flags that make files written into the served directory by
/// another process visible at once: no directory cache, no polling (the
/// local backend cannot poll anyway) and no VFS file cache. `--read-only`
/// because in this mode only the node writes.
pub const HOSTPATH_FLAGS: [&str; 7] =
    ["--dir-cache-time", "0s", "--poll-interval", "0", "--vfs-cache-mode", "off", "--read-only"];

/// Name of the Deployment, Service and claim.
pub fn service_name(name: &str) -> String {
    format!("{name}-s3")
}

fn selector(opts: &BootstrapOptions) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), "rclone-s3".to_owned()),
        ("app.kubernetes.io/instance".to_owned(), opts.name.clone()),
    ])
}

fn pod_labels(opts: &BootstrapOptions) -> BTreeMap<String, String> {
    let mut l = labels(opts);
    l.extend(selector(opts));
    l
}

/// `rclone serve s3 ...`: the command and arguments of the container.
pub fn rclone_command(mode: &ServerMode) -> Vec<String> {
    let mut args: Vec<String> = ["rclone", "serve", "s3", "--addr", ":8080", "--cache-dir", "/tmp/rclone"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    if matches!(mode, ServerMode::HostPath { .. }) {
        args.extend(HOSTPATH_FLAGS.iter().map(|s| (*s).to_owned()));
    }
    args.push(DATA_DIR.to_owned());
    args
}

fn secret_env(opts: &BootstrapOptions, name: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: opts.s3_secret.clone(),
                key: key.to_owned(),
                optional: None,
            }),
            ..Default::default()
        }),
    }
}

pub fn deployment(opts: &BootstrapOptions, server: &ServerOptions) -> Deployment {
    let name = service_name(&opts.name);
    let command = rclone_command(&server.mode);
    let (data, node_selector) = match &server.mode {
        ServerMode::Pvc { .. } => (
            Volume {
                name: "data".into(),
                persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                    claim_name: name.clone(),
                    read_only: None,
                }),
                ..Default::default()
            },
            None,
        ),
        ServerMode::HostPath { path, node } => (
            Volume {
                name: "data".into(),
                host_path: Some(HostPathVolumeSource { path: path.clone(), type_: Some("DirectoryOrCreate".into()) }),
                ..Default::default()
            },
            Some(BTreeMap::from([("kubernetes.io/hostname".to_owned(), node.clone())])),
        ),
    };
    let read_only_data = matches!(server.mode, ServerMode::HostPath { .. });
    let probe = |initial: i32, failure: i32| Probe {
        tcp_socket: Some(TCPSocketAction { port: IntOrString::String(PORT_NAME.into()), host: None }),
        initial_delay_seconds: Some(initial),
        period_seconds: Some(10),
        failure_threshold: Some(failure),
        ..Default::default()
    };
    let container = Container {
        name: "rclone".into(),
        image: Some(server.image.to_string()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(command[..1].to_vec()),
        args: Some(command[1..].to_vec()),
        env: Some(vec![
            secret_env(opts, ACCESS_ENV, S3_SECRET_KEYS[0]),
            secret_env(opts, SECRET_ENV, S3_SECRET_KEYS[1]),
            // rclone reads repeatable flags from the environment as CSV,
            // so the `access,secret` pair is one quoted field. Kubernetes
            // expands `$(VAR)` from the variables above.
            EnvVar {
                name: "RCLONE_AUTH_KEY".into(),
                value: Some(format!("\"$({ACCESS_ENV}),$({SECRET_ENV})\"")),
                value_from: None,
            },
        ]),
        ports: Some(vec![ContainerPort {
            name: Some(PORT_NAME.into()),
            container_port: i32::from(PORT),
            protocol: Some("TCP".into()),
            ..Default::default()
        }]),
        readiness_probe: Some(probe(0, 1)),
        liveness_probe: Some(probe(10, 3)),
        resources: Some(ResourceRequirements {
            requests: Some(BTreeMap::from([
                ("cpu".to_owned(), Quantity("10m".into())),
                ("memory".to_owned(), Quantity("32Mi".into())),
            ])),
            limits: Some(BTreeMap::from([("memory".to_owned(), Quantity("256Mi".into()))])),
            ..Default::default()
        }),
        security_context: Some(SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), add: None }),
            read_only_root_filesystem: Some(true),
            run_as_non_root: Some(true),
            ..Default::default()
        }),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "data".into(),
                mount_path: DATA_DIR.into(),
                read_only: read_only_data.then_some(true),
                ..Default::default()
            },
            VolumeMount { name: "tmp".into(), mount_path: "/tmp".into(), ..Default::default() },
        ]),
        ..Default::default()
    };
    Deployment {
        metadata: meta(opts, name),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            // One writer of the claim (or one node's directory): never two pods.
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), rolling_update: None }),
            selector: LabelSelector { match_labels: Some(selector(opts)), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(pod_labels(opts)), ..Default::default() }),
                spec: Some(PodSpec {
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    node_selector,
                    security_context: Some(PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(RUN_AS),
                        run_as_group: Some(RUN_AS),
                        fs_group: Some(RUN_AS),
                        seccomp_profile: Some(SeccompProfile {
                            type_: "RuntimeDefault".into(),
                            localhost_profile: None,
                        }),
                        ..Default::default()
                    }),
                    containers: vec![container],
                    volumes: Some(vec![
                        data,
                        Volume {
                            name: "tmp".into(),
                            empty_dir: Some(EmptyDirVolumeSource {
                                size_limit: Some(Quantity("64Mi".into())),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        status: None,
    }
}

pub fn service(opts: &BootstrapOptions) -> Service {
    Service {
        metadata: meta(opts, service_name(&opts.name)),
        spec: Some(ServiceSpec {
            selector: Some(selector(opts)),
            ports: Some(vec![ServicePort {
                name: Some(PORT_NAME.into()),
                port: i32::from(PORT),
                target_port: Some(IntOrString::String(PORT_NAME.into())),
                protocol: Some("TCP".into()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        status: None,
    }
}

pub fn claim(opts: &BootstrapOptions, storage: &str, storage_class: Option<&str>) -> PersistentVolumeClaim {
    PersistentVolumeClaim {
        metadata: meta(opts, service_name(&opts.name)),
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: storage_class.map(str::to_owned),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(storage.to_owned()))])),
                limits: None,
            }),
            ..Default::default()
        }),
        status: None,
    }
}

/// The claim (pvc mode), Deployment and Service, in apply order.
pub fn objects(opts: &BootstrapOptions, server: &ServerOptions) -> Vec<BootstrapObject> {
    let mut out = Vec::new();
    if let ServerMode::Pvc { storage, storage_class } = &server.mode {
        out.push(object(&claim(opts, storage.as_str(), storage_class.as_deref())));
    }
    out.push(object(&deployment(opts, server)));
    out.push(object(&service(opts)));
    out
}
