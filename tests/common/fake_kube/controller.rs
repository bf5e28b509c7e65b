//! Scripted stand-ins for source-controller (Bucket) and
//! kustomize-controller (Kustomization), writing status the way they do
//! (fluxcd/source-controller `internal/controller/bucket_controller.go`,
//! fluxcd/kustomize-controller `internal/controller/kustomization_controller.go`):
//! a reconcile starts when `reconcile.fluxcd.io/requestedAt` or the
//! generation changes (for a Kustomization also when its Bucket's artifact
//! revision changes), after the script's delay; it writes the progress
//! conditions first, then the outcome, and at the end
//! `lastHandledReconcileAt` (always) and `observedGeneration` (only when
//! Ready=True). A failure is retried after the script's retry interval.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::kinds::{Kind, BUCKET, KUSTOMIZATION};
use super::store::{now_rfc3339, Part};
use super::{FakeKube, Shared};

pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

type RevisionFuture = Pin<Box<dyn Future<Output = String> + Send>>;
type RevisionHook = Arc<dyn Fn() -> RevisionFuture + Send + Sync>;

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
        Outcome::HealthCheckFailed(format!("health check failed after 30.0012s: timeout waiting for: [{}]", waiting.join(", ")))
    }
}

/// Timing shared by both scripts.
#[derive(Debug, Clone, Copy)]
struct Timing {
    delay: Duration,
    duration: Duration,
    retry: Duration,
    on_start: bool,
}

const TIMING: Timing =
    Timing { delay: Duration::from_millis(10), duration: Duration::from_millis(10), retry: Duration::from_millis(100), on_start: false };

pub struct BucketScript {
    namespace: String,
    name: String,
    timing: Timing,
    revision: RevisionHook,
    outcomes: VecDeque<BucketOutcome>,
}

impl BucketScript {
    /// `revision` computes the Bucket revision (it may block: it runs on a
    /// blocking thread), as source-controller would from the listing.
    pub fn new(namespace: &str, name: &str, revision: impl Fn() -> String + Send + Sync + 'static) -> BucketScript {
        let revision = Arc::new(revision);
        let hook: RevisionHook = Arc::new(move || {
            let revision = revision.clone();
            Box::pin(async move { tokio::task::spawn_blocking(move || revision()).await.unwrap_or_default() })
        });
        BucketScript { namespace: namespace.to_owned(), name: name.to_owned(), timing: TIMING, revision: hook, outcomes: VecDeque::new() }
    }

    /// The same with an async hook.
    pub fn new_async<F, Fut>(namespace: &str, name: &str, revision: F) -> BucketScript
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        let hook: RevisionHook = Arc::new(move || Box::pin(revision()));
        BucketScript { namespace: namespace.to_owned(), name: name.to_owned(), timing: TIMING, revision: hook, outcomes: VecDeque::new() }
    }

    /// Outcomes of the next reconciles, in order; then `Artifact` for ever.
    pub fn then(mut self, outcome: BucketOutcome) -> Self {
        self.outcomes.push_back(outcome);
        self
    }
}

pub struct KustomizationScript {
    namespace: String,
    name: String,
    timing: Timing,
    inventory: Vec<String>,
    outcomes: VecDeque<Outcome>,
    always: Outcome,
}

impl KustomizationScript {
    pub fn new(namespace: &str, name: &str) -> KustomizationScript {
        KustomizationScript {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timing: TIMING,
            inventory: Vec::new(),
            outcomes: VecDeque::new(),
            always: Outcome::Applied,
        }
    }

    /// The inventory ids a successful apply records.
    pub fn inventory(mut self, ids: &[&str]) -> Self {
        self.inventory = ids.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// Outcomes of the next reconciles, in order; then the `always` one.
    pub fn then(mut self, outcome: Outcome) -> Self {
        self.outcomes.push_back(outcome);
        self
    }

    /// The outcome once the scripted ones are used up (default `Applied`).
    pub fn always(mut self, outcome: Outcome) -> Self {
        self.always = outcome;
        self
    }
}

macro_rules! timing_setters {
    ($t:ty) => {
        impl $t {
            /// Time from the trigger to the start of the reconcile (default 10 ms).
            pub fn delay(mut self, d: Duration) -> Self {
                self.timing.delay = d;
                self
            }
            /// Time between the progress status and the outcome (default 10 ms).
            pub fn duration(mut self, d: Duration) -> Self {
                self.timing.duration = d;
                self
            }
            /// Time after a failure before the next try (default 100 ms).
            pub fn retry(mut self, d: Duration) -> Self {
                self.timing.retry = d;
                self
            }
            /// Also reconcile once when the controller starts.
            pub fn reconcile_on_start(mut self) -> Self {
                self.timing.on_start = true;
                self
            }
        }
    };
}
timing_setters!(BucketScript);
timing_setters!(KustomizationScript);

/// A running controller; it stops with `stop` or with the server.
pub struct Controller {
    reconciles: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Controller {
    /// Reconciles finished so far.
    pub fn reconciles(&self) -> usize {
        self.reconciles.load(Ordering::SeqCst)
    }

    pub fn wait_reconciles(&self, n: usize, timeout: Duration) -> bool {
        super::poll(timeout, || (self.reconciles() >= n).then_some(())).is_some()
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

impl FakeKube {
    pub fn start_bucket_controller(&self, script: BucketScript) -> Controller {
        let script = Arc::new(Mutex::new(script));
        let (ns, name, timing) = {
            let s = script.lock().expect("script");
            (s.namespace.clone(), s.name.clone(), s.timing)
        };
        self.run(&BUCKET, ns, name, timing, move |r| {
            let script = script.clone();
            Box::pin(async move { reconcile_bucket(r, script).await })
        })
    }

    pub fn start_kustomization_controller(&self, script: KustomizationScript) -> Controller {
        let script = Arc::new(Mutex::new(script));
        let (ns, name, timing) = {
            let s = script.lock().expect("script");
            (s.namespace.clone(), s.name.clone(), s.timing)
        };
        self.run(&KUSTOMIZATION, ns, name, timing, move |r| {
            let script = script.clone();
            Box::pin(async move { reconcile_kustomization(r, script).await })
        })
    }

    fn run<F>(&self, kind: &'static Kind, namespace: String, name: String, timing: Timing, reconcile: F) -> Controller
    where
        F: Fn(Run) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + 'static,
    {
        let shared = self.shared().clone();
        let reconciles = Arc::new(AtomicUsize::new(0));
        let count = reconciles.clone();
        let task = self.runtime().spawn(async move {
            let mut changes = shared.changes.subscribe();
            let run = Run { shared: shared.clone(), kind, namespace, name, timing };
            let mut seen = if timing.on_start { None } else { run.observe() };
            let mut retry_at: Option<tokio::time::Instant> = None;
            loop {
                changes.borrow_and_update();
                let now = run.observe();
                let retry_due = retry_at.is_some_and(|t| t <= tokio::time::Instant::now());
                if now.is_some() && (now != seen || retry_due) {
                    tokio::time::sleep(timing.delay).await;
                    seen = run.observe();
                    let ok = reconcile(run.clone()).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    retry_at = (!ok).then(|| tokio::time::Instant::now() + timing.retry);
                    continue;
                }
                let wake = retry_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep_until(wake) => {}
                }
            }
        });
        Controller { reconciles, task }
    }
}

/// One controller's view of its object.
#[derive(Clone)]
struct Run {
    shared: Arc<Shared>,
    kind: &'static Kind,
    namespace: String,
    name: String,
    timing: Timing,
}

impl Run {
    fn object(&self) -> Option<Value> {
        self.shared.store().get(self.kind, &self.namespace, &self.name).cloned()
    }

    /// What triggers a reconcile: generation, requested-at annotation and,
    /// for a Kustomization, its source's artifact revision.
    fn observe(&self) -> Option<(i64, String, String)> {
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
    fn finish(&self, mut status: Value, ready: (&str, &str, &str), extra: &[(&str, &str, &str, &str)], remove: &[&str]) {
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

async fn reconcile_bucket(run: Run, script: Arc<Mutex<BucketScript>>) -> bool {
    let Some(object) = run.object() else { return true };
    let (generation, observed) = (object["metadata"]["generation"].as_i64().unwrap_or(0), object["status"]["observedGeneration"].as_i64().unwrap_or(0));
    let message = match generation != observed {
        true => format!("processing object: new generation {observed} -> {generation}"),
        false => "reconciliation in progress".to_owned(),
    };
    run.write(json!({}), &[("Reconciling", "True", "Progressing", &message), ("Ready", "Unknown", "Progressing", &message)], &[]);
    let (outcome, hook) = {
        let mut s = script.lock().expect("script");
        (s.outcomes.pop_front().unwrap_or(BucketOutcome::Artifact), s.revision.clone())
    };
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
    run.finish(status, ("True", "Succeeded", &stored), &[("ArtifactInStorage", "True", "Succeeded", &stored)], &["ArtifactOutdated", "FetchFailed"]);
    true
}

fn sha2_of(bytes: &[u8]) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).to_vec()
}

async fn reconcile_kustomization(run: Run, script: Arc<Mutex<KustomizationScript>>) -> bool {
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
    let spec = &object["spec"];
    let timeout = go_duration(spec["timeout"].as_str().or(spec["interval"].as_str()).unwrap_or("5m"));
    let fetching = format!("Fetching manifests for revision {revision} with a timeout of {timeout}");
    run.write(json!({}), &[("Ready", "Unknown", "Progressing", "Reconciliation in progress"), ("Reconciling", "True", "Progressing", &fetching)], &[]);
    let building = format!("Building manifests for revision {revision} with a timeout of {timeout}");
    run.write(json!({ "lastAttemptedRevision": revision }), &[("Reconciling", "True", "Progressing", &building)], &[]);
    tokio::time::sleep(run.timing.duration).await;
    let (outcome, default_inventory) = {
        let mut s = script.lock().expect("script");
        let always = s.always.clone();
        (s.outcomes.pop_front().unwrap_or(always), s.inventory.clone())
    };
    let inventory = |ids: &[String]| json!({ "entries": ids.iter().map(|id| json!({ "id": id, "v": "v1" })).collect::<Vec<_>>() });
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
        run.write(json!({ "inventory": inventory(&ids) }), &[("Reconciling", "True", "Progressing", &checking), ("Healthy", "Unknown", "Progressing", &checking)], &[]);
    }
    let status = json!({ "inventory": inventory(&ids) });
    if let Some(message) = health {
        run.finish(status, ("False", "HealthCheckFailed", &message), &[("Healthy", "False", "HealthCheckFailed", &message)], &[]);
        return false;
    }
    let mut status = status;
    status["lastAppliedRevision"] = json!(revision);
    let applied = format!("Applied revision: {revision}");
    let healthy = [("Healthy", "True", "Succeeded", "Health check passed in 10.3ms")];
    run.finish(status, ("True", "ReconciliationSucceeded", &applied), if waits { &healthy } else { &[] }, &[]);
    true
}
