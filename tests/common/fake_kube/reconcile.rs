//! One reconcile of Flux's source-controller (Bucket) and
//! kustomize-controller (Kustomization), step by step as they write status
//! (fluxcd/source-controller `internal/controller/bucket_controller.go`,
//! fluxcd/kustomize-controller `internal/controller/kustomization_controller.go`):
//! progress conditions first (Ready=Unknown, Reconciling=True with the
//! controller's messages), then the outcome, and at the end (their
//! `finalizeStatus`) `lastHandledReconcileAt` always and
//! `observedGeneration` only when Ready=True; a failure leaves
//! Reconciling=True with reason `ProgressingWithRetry`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::kinds::{Kind, BUCKET, KUSTOMIZATION};
use super::store::{now_rfc3339, Part};
use super::Shared;

pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

pub type RevisionFuture = Pin<Box<dyn Future<Output = String> + Send>>;
pub type RevisionHook = Arc<dyn Fn() -> RevisionFuture + Send + Sync>;

/// What one Bucket reconcile ends with.
#[derive(Debug, Clone)]
pub enum BucketOutcome {
    /// The artifact of the revision the script's hook computes.
    Artifact,
    /// `FetchFailed` (reason `BucketOperationFailed` or `AuthenticationFailed`).
    Failed { reason: String, message: String },
}

/// What one Kustomization reconcile ends with.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Applied, with the script's inventory.
    Applied,
    /// Applied, with this inventory (`<ns>_<name>_<group>_<kind>` ids).
    AppliedWith(Vec<String>),
    /// Ready=False `BuildFailed` with this message; nothing applied.
    BuildFailed(String),
    /// Applied (inventory updated) but Ready=False `HealthCheckFailed`.
    HealthCheckFailed(String),
    /// Ready=False with any reason (`ReconciliationFailed`, `PruneFailed`, ...).
    Failed { reason: String, message: String },
    /// Starts (Ready=Unknown, Reconciling=True) and never finishes.
    Stuck,
}

impl Outcome {
    /// kustomize's answer to an object id listed twice.
    pub fn duplicate_id(file: &str, id: &str) -> Outcome {
        Outcome::BuildFailed(format!(
            "kustomize build failed: accumulating resources: accumulation err='merging resources from '{file}': \
             may not add resource with an already registered id: {id}'"
        ))
    }

    /// The health check timing out on these objects (`Deployment/apps/web`).
    pub fn unhealthy(objects: &[&str]) -> Outcome {
        let waiting: Vec<String> = objects.iter().map(|o| format!("{o} status: 'InProgress'")).collect();
        Outcome::HealthCheckFailed(format!(
            "health check failed after 30.0012s: timeout waiting for: [{}]",
            waiting.join(", ")
        ))
    }
}

/// Timing shared by both scripts.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub delay: Duration,
    pub duration: Duration,
    pub retry: Duration,
    pub on_start: bool,
    /// Reconcile this often without a trigger, as `spec.interval` does.
    pub every: Option<Duration>,
}

pub const TIMING: Timing = Timing {
    delay: Duration::from_millis(10),
    duration: Duration::from_millis(10),
    retry: Duration::from_millis(100),
    on_start: false,
    every: None,
};

/// One controller's view of its object.
#[derive(Clone)]
pub struct Run {
    shared: Arc<Shared>,
    kind: &'static Kind,
    namespace: String,
    name: String,
    timing: Timing,
}

impl Run {
    pub fn new(shared: Arc<Shared>, kind: &'static Kind, namespace: String, name: String, timing: Timing) -> Run {
        Run { shared, kind, namespace, name, timing }
    }

    fn object(&self) -> Option<Value> {
        self.shared.store().get(self.kind, &self.namespace, &self.name).cloned()
    }

    /// What triggers a reconcile: generation, requested-at annotation and,
    /// for a Kustomization, its source's artifact revision.
    pub fn observe(&self) -> Option<(i64, String, String)> {
        let object = self.object()?;
        let source = if self.kind == &KUSTOMIZATION { source_revision(&self.shared, &object) } else { String::new() };
        Some((object["metadata"]["generation"].as_i64().unwrap_or(0), requested_at(&object), source))
    }

    /// Merge-patches the status; each condition in `set` replaces the one
    /// of its type (keeping lastTransitionTime when the status is the
    /// same), each type in `remove` goes.
    fn write(&self, mut status: Value, set: &[(&str, &str, &str, &str)], remove: &[&str]) {
        let Some(object) = self.object() else { return };
        let generation = object["metadata"]["generation"].clone();
        let mut conditions: Vec<Value> = object["status"]["conditions"].as_array().cloned().unwrap_or_default();
        conditions.retain(|c| !remove.contains(&c["type"].as_str().unwrap_or_default()));
        for (kind, state, reason, message) in set {
            let old = conditions.iter().position(|c| c["type"] == *kind);
            let since = old
                .map(|i| &conditions[i])
                .filter(|c| c["status"] == *state)
                .map_or_else(|| json!(now_rfc3339()), |c| c["lastTransitionTime"].clone());
            let condition = json!({
                "type": kind, "status": state, "reason": reason, "message": message,
                "lastTransitionTime": since, "observedGeneration": generation,
            });
            match old {
                Some(i) => conditions[i] = condition,
                None => conditions.push(condition),
            }
        }
        status["conditions"] = json!(conditions);
        let patch = json!({ "status": status });
        let _ = self.shared.write(|s| s.patch(self.kind, &self.namespace, &self.name, Part::Status, &patch));
    }

    /// The end of every reconcile (finalizeStatus in both controllers).
    fn finish(
        &self,
        mut status: Value,
        ready: (&str, &str, &str),
        extra: &[(&str, &str, &str, &str)],
        remove: &[&str],
    ) {
        let Some(object) = self.object() else { return };
        let requested = requested_at(&object);
        if !requested.is_empty() {
            status["lastHandledReconcileAt"] = json!(requested);
        }
        let mut set = vec![("Ready", ready.0, ready.1, ready.2)];
        set.extend_from_slice(extra);
        let mut remove = remove.to_vec();
        let progressing = object["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Reconciling"))
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_owned();
        if ready.0 == "True" {
            status["observedGeneration"] = object["metadata"]["generation"].clone();
            remove.push("Reconciling");
        } else if !progressing.is_empty() {
            set.push(("Reconciling", "True", "ProgressingWithRetry", progressing.as_str()));
            return self.write(status, &set, &remove);
        }
        self.write(status, &set, &remove);
    }
}

fn requested_at(object: &Value) -> String {
    object["metadata"]["annotations"][REQUESTED_AT].as_str().unwrap_or_default().to_owned()
}

fn source_revision(shared: &Shared, kustomization: &Value) -> String {
    let source = &kustomization["spec"]["sourceRef"];
    let ns = source["namespace"].as_str().or(kustomization["metadata"]["namespace"].as_str()).unwrap_or_default();
    let bucket = shared.store().get(&BUCKET, ns, source["name"].as_str().unwrap_or_default()).cloned();
    bucket.and_then(|b| b["status"]["artifact"]["revision"].as_str().map(str::to_owned)).unwrap_or_default()
}

/// kustomize-controller's `checkDependencies`: each `dependsOn` entry must
/// exist, be Ready at its current generation and, when it has the same
/// source, have applied the source's revision.
fn dependency_not_ready(run: &Run, object: &Value, revision: &str) -> Option<String> {
    let ns = run.namespace.as_str();
    let source_key = |k: &Value| {
        let s = &k["spec"]["sourceRef"];
        (
            s["kind"].clone(),
            s["name"].clone(),
            s["namespace"].as_str().or(k["metadata"]["namespace"].as_str()).map(str::to_owned),
        )
    };
    for dep in object["spec"]["dependsOn"].as_array().into_iter().flatten() {
        let (dep_ns, dep_name) = (dep["namespace"].as_str().unwrap_or(ns), dep["name"].as_str().unwrap_or_default());
        let name = format!("{dep_ns}/{dep_name}");
        let Some(d) = run.shared.store().get(&KUSTOMIZATION, dep_ns, dep_name).cloned() else {
            return Some(format!(
                "dependency '{name}' not found: kustomizations.kustomize.toolkit.fluxcd.io \"{dep_name}\" not found"
            ));
        };
        let conditions = d["status"]["conditions"].as_array().cloned().unwrap_or_default();
        let ready = conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True");
        if conditions.is_empty() || d["metadata"]["generation"] != d["status"]["observedGeneration"] || !ready {
            return Some(format!("dependency '{name}' is not ready"));
        }
        if source_key(&d) == source_key(object) && d["status"]["lastAppliedRevision"] != revision {
            return Some(format!("dependency '{name}' revision is not up to date"));
        }
    }
    None
}

/// Go's `time.Duration.String()` of a Flux duration field (`5m` → `5m0s`).
fn go_duration(spec: &str) -> String {
    let (mut total, mut number) = (0u64, String::new());
    for c in spec.chars() {
        match c {
            '0'..='9' => number.push(c),
            'h' | 'm' | 's' => {
                let n: u64 = number.parse().unwrap_or(0);
                total += n * [3600, 60, 1][usize::from(c == 'm') + 2 * usize::from(c == 's')];
                number.clear();
            }
            _ => {}
        }
    }
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

pub async fn bucket(run: Run, next: impl FnOnce() -> (BucketOutcome, RevisionHook) + Send) -> bool {
    let Some(object) = run.object() else { return true };
    let (generation, observed) = (
        object["metadata"]["generation"].as_i64().unwrap_or(0),
        object["status"]["observedGeneration"].as_i64().unwrap_or(0),
    );
    let message = match generation != observed {
        true => format!("processing object: new generation {observed} -> {generation}"),
        false => "reconciliation in progress".to_owned(),
    };
    run.write(
        json!({}),
        &[("Reconciling", "True", "Progressing", &message), ("Ready", "Unknown", "Progressing", &message)],
        &[],
    );
    let (outcome, hook) = next();
    if let BucketOutcome::Failed { reason, message } = outcome {
        tokio::time::sleep(run.timing.duration).await;
        run.finish(json!({}), ("False", &reason, &message), &[("FetchFailed", "True", &reason, &message)], &[]);
        return false;
    }
    let revision = hook().await;
    let current = object["status"]["artifact"]["revision"].as_str().unwrap_or_default().to_owned();
    if revision != current {
        let new = format!("new upstream revision '{revision}'");
        let mut set = vec![("Reconciling", "True", "Progressing", format!("building artifact: {new}"))];
        if !current.is_empty() {
            set.push(("ArtifactOutdated", "True", "NewRevision", new));
        }
        let set: Vec<_> = set.iter().map(|(a, b, c, d)| (*a, *b, *c, d.as_str())).collect();
        run.write(json!({}), &set, &[]);
    }
    tokio::time::sleep(run.timing.duration).await;
    let hex = revision.strip_prefix("sha256:").unwrap_or(&revision).to_owned();
    let path = format!("bucket/{}/{}/{hex}.tar.gz", run.namespace, run.name);
    let host = "http://source-controller.flux-system.svc.cluster.local.";
    let status = json!({
        "artifact": {
            "digest": format!("sha256:{}", super::receiver::hex(&sha2_of(revision.as_bytes()))),
            "lastUpdateTime": now_rfc3339(), "path": path, "revision": revision, "size": 1024,
            "url": format!("{host}/{path}"),
        },
        "url": format!("{host}/bucket/{}/{}/latest.tar.gz", run.namespace, run.name),
        "observedIgnore": object["spec"]["ignore"],
    });
    let stored = format!("stored artifact: revision '{revision}'");
    run.finish(
        status,
        ("True", "Succeeded", &stored),
        &[("ArtifactInStorage", "True", "Succeeded", &stored)],
        &["ArtifactOutdated", "FetchFailed"],
    );
    true
}

fn sha2_of(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

pub async fn kustomization(run: Run, next: impl FnOnce() -> (Outcome, Vec<String>) + Send) -> bool {
    let Some(object) = run.object() else { return true };
    let source = &object["spec"]["sourceRef"];
    let source_ns = source["namespace"].as_str().unwrap_or(&run.namespace).to_owned();
    let source_name = source["name"].as_str().unwrap_or_default();
    let bucket = run.shared.store().get(&BUCKET, &source_ns, source_name).cloned();
    let Some(bucket) = bucket.filter(|_| source["kind"] == "Bucket") else {
        let message = format!("unable to get source '{source_ns}/{source_name}': buckets.source.toolkit.fluxcd.io \"{source_name}\" not found");
        run.finish(json!({}), ("False", "ArtifactFailed", &message), &[], &[]);
        return false;
    };
    let Some(revision) = bucket["status"]["artifact"]["revision"].as_str().map(str::to_owned) else {
        run.finish(json!({}), ("False", "ArtifactFailed", "Source artifact not found, retrying in 30s"), &[], &[]);
        return false;
    };
    if let Some(message) = dependency_not_ready(&run, &object, &revision) {
        run.finish(json!({}), ("False", "DependencyNotReady", &message), &[], &[]);
        return false;
    }
    let spec = &object["spec"];
    let timeout = go_duration(spec["timeout"].as_str().or(spec["interval"].as_str()).unwrap_or("5m"));
    let fetching = format!("Fetching manifests for revision {revision} with a timeout of {timeout}");
    run.write(
        json!({}),
        &[
            ("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
            ("Reconciling", "True", "Progressing", &fetching),
        ],
        &[],
    );
    let building = format!("Building manifests for revision {revision} with a timeout of {timeout}");
    run.write(json!({ "lastAttemptedRevision": revision }), &[("Reconciling", "True", "Progressing", &building)], &[]);
    tokio::time::sleep(run.timing.duration).await;
    let (outcome, default_inventory) = next();
    let inventory =
        |ids: &[String]| json!({ "entries": ids.iter().map(|id| json!({ "id": id, "v": "v1" })).collect::<Vec<_>>() });
    let (ids, health) = match outcome {
        Outcome::Stuck => return true,
        Outcome::BuildFailed(message) => {
            run.finish(json!({}), ("False", "BuildFailed", &message), &[], &[]);
            return false;
        }
        Outcome::Failed { reason, message } => {
            run.finish(json!({}), ("False", &reason, &message), &[], &[]);
            return false;
        }
        Outcome::Applied => (default_inventory, None),
        Outcome::AppliedWith(ids) => (ids, None),
        Outcome::HealthCheckFailed(message) => (default_inventory, Some(message)),
    };
    let waits = spec["wait"] == true || spec["healthChecks"].as_array().is_some_and(|h| !h.is_empty());
    if waits || health.is_some() {
        let checking = format!("Running health checks for revision {revision} with a timeout of {timeout}");
        run.write(
            json!({ "inventory": inventory(&ids) }),
            &[("Reconciling", "True", "Progressing", &checking), ("Healthy", "Unknown", "Progressing", &checking)],
            &[],
        );
    }
    let status = json!({ "inventory": inventory(&ids) });
    if let Some(message) = health {
        run.finish(
            status,
            ("False", "HealthCheckFailed", &message),
            &[("Healthy", "False", "HealthCheckFailed", &message)],
            &[],
        );
        return false;
    }
    let mut status = status;
    status["lastAppliedRevision"] = json!(revision);
    let applied = format!("Applied revision: {revision}");
    let healthy = [("Healthy", "True", "Succeeded", "Health check passed in 10.3ms")];
    run.finish(status, ("True", "ReconciliationSucceeded", &applied), if waits { &healthy } else { &[] }, &[]);
    true
}
