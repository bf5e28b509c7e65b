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

use super::kinds::{Kind, BUCKET, KUSTOMIZATION};
use super::reconcile::{self, RevisionHook, Run, Timing, TIMING};
pub use super::reconcile::{BucketOutcome, Outcome, REQUESTED_AT};
use super::FakeKube;

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
        BucketScript {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timing: TIMING,
            revision: hook,
            outcomes: VecDeque::new(),
        }
    }

    /// The same with an async hook.
    pub fn new_async<F, Fut>(namespace: &str, name: &str, revision: F) -> BucketScript
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = String> + Send + 'static,
    {
        let hook: RevisionHook = Arc::new(move || Box::pin(revision()));
        BucketScript {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            timing: TIMING,
            revision: hook,
            outcomes: VecDeque::new(),
        }
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
            /// Also reconcile this often without a trigger (Flux's `spec.interval`).
            pub fn every(mut self, d: Duration) -> Self {
                self.timing.every = Some(d);
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
            Box::pin(reconcile::bucket(r, move || {
                let mut s = script.lock().expect("script");
                (s.outcomes.pop_front().unwrap_or(BucketOutcome::Artifact), s.revision.clone())
            }))
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
            Box::pin(reconcile::kustomization(r, move || {
                let mut s = script.lock().expect("script");
                let always = s.always.clone();
                (s.outcomes.pop_front().unwrap_or(always), s.inventory.clone())
            }))
        })
    }

    fn run<F>(&self, kind: &'static Kind, namespace: String, name: String, timing: Timing, reconcile: F) -> Controller
    where
        F: Fn(Run) -> Pin<Box<dyn Future<Output = bool> + Send>> + Send + 'static,
    {
        let shared = self.shared().clone();
        let reconciles = Arc::new(AtomicUsize::new(0));
        let count = reconciles.clone();
        // What the controller has seen is fixed before this returns, so a
        // change the test makes right after starting it is a change.
        let mut changes = shared.changes.subscribe();
        let run = Run::new(shared.clone(), kind, namespace, name, timing);
        let mut seen = if timing.on_start { None } else { run.observe() };
        let task = self.runtime().spawn(async move {
            // The next reconcile without a trigger: a retry after a failure,
            // or the next interval.
            let next = |ok: bool| match ok {
                false => Some(tokio::time::Instant::now() + timing.retry),
                true => timing.every.map(|every| tokio::time::Instant::now() + every),
            };
            let mut due_at = next(true);
            loop {
                changes.borrow_and_update();
                let now = run.observe();
                let due = due_at.is_some_and(|t| t <= tokio::time::Instant::now());
                if now.is_some() && (now != seen || due) {
                    tokio::time::sleep(timing.delay).await;
                    seen = run.observe();
                    let ok = reconcile(run.clone()).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    due_at = next(ok);
                    continue;
                }
                let wake = due_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
                tokio::select! {
                    changed = changes.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep_until(wake) => {}
                }
            }
        });
        Controller { reconciles, task }
    }
}
