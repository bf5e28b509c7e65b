//! The spec's types: the JSON contract between the Nix module and `render`.
//!
//! Every struct denies unknown fields, every name is a validated newtype, and
//! every default lives here (`#[serde(default = ..)]`) so that `docs/spec.md`
//! and the NixOS module can mirror one place. Maps are `BTreeMap`s: the
//! order of the input never reaches the output.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::cidr::Cidr;
pub use super::helm::{Helm, HelmCrds, HelmSourceKind, HelmValuesFrom, HelmValuesKind, ImageValue, ImageValueForm};
use super::names::{
    AppName, LabelKey, LabelValue, LayerName, NamespaceName, PortName, ProfileName, RouteName, VarName, VolumeName,
};
pub use super::pod::{Env, ExtraContainer, JobOptions, Patch, Probes, Toleration};
use super::problem::json_type;
use super::quantity::Quantity;
pub use super::resources::{ResourceList, Resources};
pub use super::schedule::CronSchedule;
pub use super::secrets_db::{AppDatabase, PostgresCluster, SecretEnv, SecretFiles, SecretStoreDecl};
pub use super::traefik::*;

pub const API_VERSION: &str = "nixflux/v1alpha1";

pub type Labels = BTreeMap<LabelKey, LabelValue>;
pub type Annotations = BTreeMap<LabelKey, String>;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Spec {
    pub api_version: ApiVersion,
    #[serde(default)]
    pub apps: BTreeMap<AppName, App>,
    /// Raw objects that belong to no app (cluster-level objects, shared config).
    #[serde(default)]
    pub objects: Vec<RawObject>,
    /// Symbolic image name -> image reference, applied to every container.
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    #[serde(default)]
    pub network_policy_profiles: BTreeMap<ProfileName, CustomProfile>,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub allow_unpinned_images: bool,
    #[serde(default)]
    pub allow_plaintext_secrets: bool,
    /// Ordered layers, each its own Kustomization path applied after the
    /// one before; none: one unlayered bundle.
    #[serde(default)]
    pub layers: Vec<Layer>,
    // Routes, references and variables (see the block at the end).
    /// Variables substituted into raw objects' strings (`${NAME}`).
    #[serde(default)]
    pub vars: BTreeMap<VarName, String>,
    /// Objects that something outside the bundle creates, by namespace.
    #[serde(default)]
    pub external: BTreeMap<NamespaceName, External>,
}

/// One layer: a name and the raw objects that belong to it (apps join a
/// layer with their `layer` field; top-level `objects` are in the last).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Layer {
    pub name: LayerName,
    #[serde(default)]
    pub objects: Vec<RawObject>,
}

/// The spec's `apiVersion`; only `nixflux/v1alpha1` exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiVersion;

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s == API_VERSION {
            Ok(ApiVersion)
        } else {
            Err(serde::de::Error::custom(format!("unsupported apiVersion `{s}`: this nixflux reads `{API_VERSION}`")))
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    #[serde(default)]
    pub ingress_class_name: Option<String>,
    #[serde(default = "default_profile")]
    pub network_policy_profile: ProfileName,
    /// The namespace the ingress controller runs in (k3s: Traefik in `kube-system`).
    #[serde(default = "default_ingress_namespace")]
    pub ingress_controller_namespace: NamespaceName,
    #[serde(default = "yes")]
    pub create_namespaces: bool,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Annotations,
    /// Routes render as Traefik IngressRoutes on these entrypoints.
    #[serde(default)]
    pub traefik: Option<TraefikDefaults>,
    #[serde(default)]
    pub tls: TlsDefaults,
    // Secrets and databases (types in `spec/secrets_db.rs`).
    /// External Secrets stores apps may read, by name.
    #[serde(default)]
    pub secret_stores: BTreeMap<String, SecretStoreDecl>,
    /// The store `secretEnv`/`secretFiles` entries read unless they name one
    /// (default: the only one declared).
    #[serde(default)]
    pub secret_store: Option<String>,
    /// The shared CloudNativePG Cluster of `database.postgres`.
    #[serde(default)]
    pub postgres: Option<PostgresCluster>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            ingress_class_name: None,
            network_policy_profile: default_profile(),
            ingress_controller_namespace: default_ingress_namespace(),
            create_namespaces: true,
            labels: Labels::new(),
            annotations: Annotations::new(),
            traefik: None,
            tls: TlsDefaults::default(),
            secret_stores: BTreeMap::new(),
            secret_store: None,
            postgres: None,
        }
    }
}

fn default_profile() -> ProfileName {
    ProfileName::from_static("web-app")
}

fn default_ingress_namespace() -> NamespaceName {
    NamespaceName::from_static("kube-system")
}

fn yes() -> bool {
    true
}

fn one() -> i32 {
    1
}

fn eighty() -> Port {
    Port(80)
}

fn root_path() -> String {
    "/".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct App {
    #[serde(default = "yes")]
    pub enable: bool,
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
    /// Whether this app's Namespace object is rendered (default: `defaults.createNamespaces`).
    #[serde(default)]
    pub create_namespace: Option<bool>,
    /// Image reference or a key of the top-level `images` map. Without an
    /// image the app renders no workload, only its namespace and `objects`.
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default = "one")]
    pub replicas: i32,
    /// The container port the app listens on; named `http`.
    #[serde(default)]
    pub port: Option<Port>,
    #[serde(default = "eighty")]
    pub service_port: Port,
    #[serde(default)]
    pub extra_ports: BTreeMap<PortName, ExtraPort>,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    /// Values are strings or references (`secretKeyRef`, `configMapKeyRef`, `fieldRef`).
    #[serde(default)]
    pub env: Env,
    /// Secrets whose keys become environment variables (`envFrom`).
    #[serde(default)]
    pub env_from_secrets: Vec<String>,
    #[serde(default)]
    pub resources: Option<Resources>,
    /// HTTP path probed on `port` for startup, readiness and liveness.
    #[serde(default)]
    pub health: Option<String>,
    #[serde(default)]
    pub ingress: Option<AppIngress>,
    #[serde(default)]
    pub network_policy: AppNetworkPolicy,
    #[serde(default)]
    pub service_account: AppServiceAccount,
    #[serde(default)]
    pub security: Security,
    #[serde(default)]
    pub volumes: BTreeMap<VolumeName, Volume>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Annotations,
    /// Raw objects that belong to this app; namespaced ones default to its namespace.
    #[serde(default)]
    pub objects: Vec<RawObject>,
    /// The layer the app's objects go into (one of `layers`; default the last).
    #[serde(default)]
    pub layer: Option<LayerName>,
    // Pod settings; their types are in `spec/pod.rs`.
    /// The pod shares the node's network namespace (no NetworkPolicy applies).
    #[serde(default)]
    pub host_network: bool,
    #[serde(default)]
    pub node_selector: Labels,
    #[serde(default)]
    pub tolerations: Vec<Toleration>,
    #[serde(default)]
    pub runtime_class_name: Option<String>,
    /// Annotations on the pod template only.
    #[serde(default)]
    pub pod_annotations: Annotations,
    #[serde(default)]
    pub image_pull_secrets: Vec<String>,
    /// Run to completion, in order, before the app's container starts.
    #[serde(default)]
    pub init_containers: Vec<ExtraContainer>,
    /// Run beside the app's container for the pod's life (native sidecars).
    #[serde(default)]
    pub sidecars: Vec<ExtraContainer>,
    #[serde(default)]
    pub probes: Probes,
    /// Merged over the rendered PodSpec, then checked like it.
    #[serde(default)]
    pub pod_patch: Option<Patch>,
    /// Merged over the app's rendered container, then checked like it.
    #[serde(default)]
    pub container_patch: Option<Patch>,
    /// A cron schedule: the app renders a CronJob instead of a Deployment.
    #[serde(default)]
    pub schedule: Option<CronSchedule>,
    /// The CronJob's settings (only with `schedule`).
    #[serde(default)]
    pub job: Option<JobOptions>,
    // Routes (see the block at the end).
    /// More routes, each its own Ingress `<app>-<route>`.
    #[serde(default)]
    pub routes: BTreeMap<RouteName, Route>,
    /// The app's routes skip `defaults.traefik.auth`.
    #[serde(default)]
    pub public: bool,
    // Secrets and databases (types in `spec/secrets_db.rs`).
    /// Environment variables from External Secrets store entries.
    #[serde(default)]
    pub secret_env: SecretEnv,
    /// Volumes of files from External Secrets store entries.
    #[serde(default)]
    pub secret_files: SecretFiles,
    #[serde(default)]
    pub database: AppDatabase,
    /// A Helm chart installed by Flux into the app's namespace (`spec/helm.rs`).
    #[serde(default)]
    pub helm: Option<Helm>,
}

/// A TCP/UDP port number, 1 to 65535.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Port(pub u16);

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u16::try_from(n) {
            Ok(p) if p > 0 => Ok(Port(p)),
            _ => Err(serde::de::Error::custom(format!("port {n} is out of range: a port is 1 to 65535"))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraPort {
    pub port: Port,
    #[serde(default = "tcp")]
    pub protocol: Protocol,
    /// Port on the Service (default: the container port).
    #[serde(default)]
    pub service_port: Option<Port>,
    /// Also open the port on the node's address (for LAN discovery protocols).
    #[serde(default)]
    pub host_port: Option<Port>,
}

fn tcp() -> Protocol {
    Protocol::Tcp
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppIngress {
    pub host: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub class_name: Option<String>,
    #[serde(default)]
    pub tls: Option<IngressTls>,
    #[serde(default)]
    pub annotations: Annotations,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressTls {
    /// An existing Secret, or the one the Certificate from `issuer` fills.
    #[serde(default)]
    pub secret_name: Option<String>,
    /// A key of `defaults.tls.issuers`: a Certificate for the host.
    #[serde(default)]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppNetworkPolicy {
    /// Profile name (default: `defaults.networkPolicyProfile`).
    #[serde(default)]
    pub profile: Option<ProfileName>,
    /// Who may connect to this app (see `TrafficPeer`).
    #[serde(default)]
    pub allow_from: Vec<TrafficPeer>,
    /// Where this app may connect to.
    #[serde(default)]
    pub allow_to: Vec<TrafficPeer>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AppServiceAccount {
    /// Mount the ServiceAccount token into pods (default false).
    #[serde(default)]
    pub automount_token: bool,
    #[serde(default)]
    pub annotations: Annotations,
}

/// Pod and container security settings. The defaults are the restricted
/// baseline: no privilege escalation, all capabilities dropped, seccomp
/// `RuntimeDefault`. Each field relaxes or tightens one of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Security {
    #[serde(default)]
    pub allow_privilege_escalation: bool,
    #[serde(default)]
    pub add_capabilities: Vec<String>,
    #[serde(default = "runtime_default")]
    pub seccomp_profile: SeccompProfile,
    #[serde(default)]
    pub run_as_user: Option<i64>,
    #[serde(default)]
    pub run_as_group: Option<i64>,
    #[serde(default)]
    pub fs_group: Option<i64>,
    #[serde(default)]
    pub run_as_non_root: Option<bool>,
    #[serde(default)]
    pub read_only_root_filesystem: bool,
    /// Containers run privileged (only a patch can ask for it; this allows it).
    #[serde(default)]
    pub privileged: bool,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            allow_privilege_escalation: false,
            add_capabilities: Vec::new(),
            seccomp_profile: SeccompProfile::RuntimeDefault,
            run_as_user: None,
            run_as_group: None,
            fs_group: None,
            run_as_non_root: None,
            read_only_root_filesystem: false,
            privileged: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum SeccompProfile {
    RuntimeDefault,
    Unconfined,
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile::RuntimeDefault
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Volume {
    pub mount_path: String,
    #[serde(default)]
    pub read_only: bool,
    #[serde(default)]
    pub sub_path: Option<String>,
    /// A new claim `<app>-<volume>` rendered with the app.
    #[serde(default)]
    pub persistent_volume_claim: Option<ClaimSpec>,
    /// A claim that exists already (not rendered by nixflux).
    #[serde(default)]
    pub existing_claim: Option<String>,
    #[serde(default)]
    pub host_path: Option<String>,
    #[serde(default)]
    pub empty_dir: Option<EmptyDir>,
    #[serde(default)]
    pub config_map: Option<String>,
    #[serde(default)]
    pub secret: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClaimSpec {
    pub size: Quantity,
    #[serde(default)]
    pub storage_class_name: Option<String>,
    #[serde(default = "rwo")]
    pub access_mode: AccessMode,
    /// Let Flux delete the claim (and its data) when the app goes away.
    /// Default false: the claim and the app's Namespace are kept.
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AccessMode {
    ReadWriteOnce,
    ReadWriteOncePod,
    ReadWriteMany,
    ReadOnlyMany,
}

impl AccessMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AccessMode::ReadWriteOnce => "ReadWriteOnce",
            AccessMode::ReadWriteOncePod => "ReadWriteOncePod",
            AccessMode::ReadWriteMany => "ReadWriteMany",
            AccessMode::ReadOnlyMany => "ReadOnlyMany",
        }
    }
}

fn rwo() -> AccessMode {
    AccessMode::ReadWriteOnce
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmptyDir {
    #[serde(default)]
    pub medium: Option<String>,
    #[serde(default)]
    pub size_limit: Option<Quantity>,
}

/// A custom network policy profile: NetworkPolicy rules applied to the app's
/// pods. A direction that is absent is not restricted; present (even `[]`),
/// only its rules are allowed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomProfile {
    /// A profile whose rules this one adds to (built-in or custom).
    #[serde(default)]
    pub extends: Option<ProfileName>,
    #[serde(default)]
    pub ingress: Option<Vec<Value>>,
    #[serde(default)]
    pub egress: Option<Vec<Value>>,
}

// ---- Traffic: `networkPolicy.allowFrom` / `allowTo` ------------------------

/// The other end of an allowed connection: another app by name, pods of a
/// namespace (optionally by label), or an address range. Exactly one of
/// `app`, `cidr`, or `namespace`/`podLabels` (checked at render, where the
/// problem can name the field).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrafficPeer {
    #[serde(default)]
    pub app: Option<AppName>,
    /// Pods of this namespace (default with `podLabels`: the app's own).
    #[serde(default)]
    pub namespace: Option<NamespaceName>,
    #[serde(default)]
    pub pod_labels: Option<Labels>,
    #[serde(default)]
    pub cidr: Option<Cidr>,
    /// Ranges inside `cidr` that are left out.
    #[serde(default)]
    pub except: Vec<Cidr>,
    /// Ports of the listening side; none: every port (of an app: every port it opens).
    #[serde(default)]
    pub ports: Option<Vec<TrafficPort>>,
}

/// A port of an allowed connection, on the side that listens: a port name
/// of an app (`"http"`, an `extraPorts` name), a number (TCP), or
/// `{ "port": 6881, "protocol": "UDP", "endPort": 6889 }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficPort {
    Named(PortName),
    Number { port: Port, protocol: Protocol, end_port: Option<Port> },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NumberedPort {
    port: Port,
    #[serde(default = "tcp")]
    protocol: Protocol,
    #[serde(default)]
    end_port: Option<Port>,
}

impl<'de> Deserialize<'de> for TrafficPort {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = TrafficPort;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a port name, a port number, or an object with `port`, `protocol` and `endPort`")
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<TrafficPort, E> {
                s.parse().map(TrafficPort::Named).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<TrafficPort, E> {
                self.visit_i64(i64::try_from(n).unwrap_or(i64::MAX))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<TrafficPort, E> {
                let port = Port::deserialize(serde::de::value::I64Deserializer::<E>::new(n))?;
                Ok(TrafficPort::Number { port, protocol: Protocol::Tcp, end_port: None })
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<TrafficPort, A::Error> {
                let p = NumberedPort::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(TrafficPort::Number { port: p.port, protocol: p.protocol, end_port: p.end_port })
            }
        }
        d.deserialize_any(Visit)
    }
}

/// A raw Kubernetes object: a JSON object with string `apiVersion`, `kind`
/// and `metadata.name`. Its body is checked against its type during render.
#[derive(Debug, Clone, PartialEq)]
pub struct RawObject(pub Map<String, Value>);

impl RawObject {
    pub fn api_version(&self) -> &str {
        self.0.get("apiVersion").and_then(Value::as_str).unwrap_or_default()
    }
    pub fn kind(&self) -> &str {
        self.0.get("kind").and_then(Value::as_str).unwrap_or_default()
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map = match Value::deserialize(d)? {
            Value::Object(m) => m,
            other => {
                return Err(D::Error::custom(format!(
                    "expected a Kubernetes object (a JSON object with `apiVersion`, `kind` and `metadata`), found {}",
                    json_type(&other)
                )))
            }
        };
        for key in ["apiVersion", "kind"] {
            match map.get(key) {
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(other) => {
                    return Err(D::Error::custom(format!(
                        "`{key}` must be a non-empty string, found {}",
                        json_type(other)
                    )))
                }
                None => return Err(D::Error::custom(format!("the object has no `{key}`"))),
            }
        }
        match map.get("metadata").and_then(|m| m.get("name")) {
            Some(Value::String(s)) if !s.is_empty() => {}
            _ => {
                return Err(D::Error::custom(
                    "the object has no `metadata.name` (generateName is not supported: Flux needs stable names)",
                ))
            }
        }
        Ok(RawObject(map))
    }
}

// ---- Routes, references and variables -------------------------------------

/// One route of an app: an Ingress rule for `host` and `path` to a Service
/// port (by default the app's own Service and its `http` port).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Route {
    pub host: String,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default)]
    pub path_type: PathType,
    /// The Service the route reaches (default: the app's own).
    #[serde(default)]
    pub service: Option<String>,
    /// The Service's port, by name or number (default: `http`).
    #[serde(default)]
    pub port: Option<ServicePortRef>,
    #[serde(default)]
    pub class_name: Option<String>,
    #[serde(default)]
    pub tls: Option<IngressTls>,
    #[serde(default)]
    pub annotations: Annotations,
    /// Traefik entrypoints (default: all of `defaults.traefik.entryPoints`).
    #[serde(default)]
    pub entry_points: Vec<String>,
    /// Traefik middlewares after the auth one: `name` or `namespace/name`.
    #[serde(default)]
    pub middlewares: Vec<MiddlewareName>,
}

/// `pathType` of an Ingress path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum PathType {
    #[default]
    Prefix,
    Exact,
    ImplementationSpecific,
}

impl PathType {
    pub fn as_str(self) -> &'static str {
        match self {
            PathType::Prefix => "Prefix",
            PathType::Exact => "Exact",
            PathType::ImplementationSpecific => "ImplementationSpecific",
        }
    }
}

/// A Service port named (`"http"`) or numbered (`8080`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServicePortRef {
    Name(PortName),
    Number(Port),
}

impl<'de> Deserialize<'de> for ServicePortRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(s) => s.parse().map(ServicePortRef::Name).map_err(D::Error::custom),
            n @ Value::Number(_) => Port::deserialize(n).map(ServicePortRef::Number).map_err(D::Error::custom),
            other => Err(D::Error::custom(format!("expected a port name or number, found {}", json_type(&other)))),
        }
    }
}

/// Objects of one namespace that something outside the bundle creates (an
/// operator, an ExternalSecret applied elsewhere, a chart): references to
/// them count as resolved.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct External {
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub config_maps: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub service_accounts: Vec<String>,
    /// Traefik Middlewares.
    #[serde(default)]
    pub middlewares: Vec<String>,
}
