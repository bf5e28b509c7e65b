//! The spec's pod and job settings of an app: environment values from
//! Secrets, ConfigMaps and the pod itself, tolerations, init and sidecar
//! containers, probes, the typed pod and container patches, and the
//! CronJob options. Kept apart from `model.rs` (re-exported from there);
//! like it, every struct denies unknown fields and every default is here.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::names::{EnvName, PortName, VolumeName};
use super::problem::json_type;
use super::resources::Resources;

/// An environment variable's value: a string, or a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Value(String),
    From(EnvSource),
}

/// Where an environment variable's value comes from (`valueFrom`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub enum EnvSource {
    SecretKeyRef(KeyRef),
    ConfigMapKeyRef(KeyRef),
    FieldRef(FieldRef),
}

/// One key of a Secret or ConfigMap.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KeyRef {
    pub name: String,
    pub key: String,
    /// The pod starts even when the object or key is missing.
    #[serde(default)]
    pub optional: bool,
}

/// A field of the pod (the downward API): `metadata.name`, `status.podIP`, ...
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldRef {
    pub field_path: String,
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = EnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, or an object with one of `secretKeyRef`, `configMapKeyRef`, `fieldRef`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<EnvValue, E> {
                Ok(EnvValue::Value(s.to_owned()))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<EnvValue, E> {
                Ok(EnvValue::Value(s))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EnvValue, A::Error> {
                EnvSource::deserialize(MapAccessDeserializer::new(map)).map(EnvValue::From)
            }
        }
        d.deserialize_any(V)
    }
}

pub type Env = BTreeMap<EnvName, EnvValue>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum TolerationOperator {
    #[default]
    Equal,
    Exists,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

/// A taint the app's pods tolerate (`spec.tolerations[]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Toleration {
    /// Absent with `Exists`: every taint.
    #[serde(default)]
    pub key: Option<String>,
    #[serde(default)]
    pub operator: TolerationOperator,
    #[serde(default)]
    pub value: Option<String>,
    /// Absent: every effect.
    #[serde(default)]
    pub effect: Option<TaintEffect>,
    /// With `NoExecute`: how long the pod stays bound after the taint appears.
    #[serde(default)]
    pub toleration_seconds: Option<i64>,
}

/// An init container or a sidecar: the same image rules and security
/// settings as the app's container, in the same pod.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExtraContainer {
    pub name: String,
    /// Image reference or a key of the top-level `images` map.
    pub image: String,
    #[serde(default)]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub args: Option<Vec<String>>,
    #[serde(default)]
    pub env: Env,
    #[serde(default)]
    pub env_from_secrets: Vec<String>,
    #[serde(default)]
    pub resources: Option<Resources>,
    /// The app's volumes this container mounts, at their `mountPath`.
    #[serde(default)]
    pub volumes: Vec<VolumeName>,
}

/// The app container's probes; each replaces the one `health` gives.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Probes {
    #[serde(default)]
    pub startup: Option<ProbeSpec>,
    #[serde(default)]
    pub readiness: Option<ProbeSpec>,
    #[serde(default)]
    pub liveness: Option<ProbeSpec>,
}

/// One probe: at most one check (none: `health`'s HTTP check) and timings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ProbeSpec {
    #[serde(default)]
    pub http_get: Option<HttpCheck>,
    #[serde(default)]
    pub tcp_socket: Option<TcpCheck>,
    #[serde(default)]
    pub exec: Option<ExecCheck>,
    #[serde(default)]
    pub initial_delay_seconds: Option<i32>,
    #[serde(default)]
    pub period_seconds: Option<i32>,
    #[serde(default)]
    pub timeout_seconds: Option<i32>,
    #[serde(default)]
    pub failure_threshold: Option<i32>,
    #[serde(default)]
    pub success_threshold: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HttpCheck {
    pub path: String,
    /// One of the app's port names (default `http`).
    #[serde(default)]
    pub port: Option<PortName>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TcpCheck {
    /// One of the app's port names (default `http`).
    #[serde(default)]
    pub port: Option<PortName>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExecCheck {
    pub command: Vec<String>,
}

/// A typed escape hatch: a JSON object merged over what nixflux renders
/// (a PodSpec for `podPatch`, a Container for `containerPatch`); checked
/// against its k8s-openapi type at render.
#[derive(Debug, Clone, PartialEq)]
pub struct Patch(pub Map<String, Value>);

impl<'de> Deserialize<'de> for Patch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Object(m) => Ok(Patch(m)),
            other => Err(de::Error::custom(format!("expected an object to merge, found {}", json_type(&other)))),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum ConcurrencyPolicy {
    Allow,
    /// The default: a backup still running when the next one is due is not
    /// doubled.
    #[default]
    Forbid,
    Replace,
}

impl ConcurrencyPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcurrencyPolicy::Allow => "Allow",
            ConcurrencyPolicy::Forbid => "Forbid",
            ConcurrencyPolicy::Replace => "Replace",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub enum JobRestartPolicy {
    #[default]
    OnFailure,
    Never,
}

impl JobRestartPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            JobRestartPolicy::OnFailure => "OnFailure",
            JobRestartPolicy::Never => "Never",
        }
    }
}

/// The CronJob settings of an app with a `schedule`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct JobOptions {
    #[serde(default)]
    pub concurrency_policy: ConcurrencyPolicy,
    #[serde(default = "three")]
    pub successful_jobs_history_limit: i32,
    #[serde(default = "one")]
    pub failed_jobs_history_limit: i32,
    #[serde(default)]
    pub starting_deadline_seconds: Option<i64>,
    #[serde(default)]
    pub suspend: bool,
    /// An IANA time zone name for the schedule (default: the controller's, UTC on k3s).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Retries of a failed run (Kubernetes' default: 6).
    #[serde(default)]
    pub backoff_limit: Option<i32>,
    #[serde(default)]
    pub active_deadline_seconds: Option<i64>,
    #[serde(default)]
    pub restart_policy: JobRestartPolicy,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            concurrency_policy: ConcurrencyPolicy::default(),
            successful_jobs_history_limit: three(),
            failed_jobs_history_limit: one(),
            starting_deadline_seconds: None,
            suspend: false,
            time_zone: None,
            backoff_limit: None,
            active_deadline_seconds: None,
            restart_policy: JobRestartPolicy::default(),
        }
    }
}

fn three() -> i32 {
    3
}

fn one() -> i32 {
    1
}
