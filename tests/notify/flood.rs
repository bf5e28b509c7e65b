//! A flood: many objects, interleaved failures and recoveries, more than
//! 10,000 events through the receiver; the sinks receive exactly the
//! transitions an independent model of the rules expects, none lost,
//! none twice. The clock is a manual one, moved past the grace period
//! between rounds, so the expectation does not depend on timing.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use nixflux::notify::clock::{Clock, ManualClock};
use nixflux::notify::{Observation, Readiness, Source, Subject};

use super::harness::{client, failing, post, ready, start_with, until};
use super::recorder::Recorder;

const OBJECTS: usize = 200;
const ROUNDS: usize = 40;
const POSTERS: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Model {
    Ready,
    Pending,
    Alerted,
}

/// A small deterministic generator (no test depends on luck).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_events_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, gotify) = (Recorder::start().await, Recorder::start().await);
    std::fs::write(dir.path().join("token"), "t").unwrap();
    let sinks = format!(
        "grace = \"10m\"\nreminder = \"0s\"\ncooldown = \"0s\"\n[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\nqueue = 100000\n\n[[sink]]\nname = \"gotify\"\nkind = \"gotify\"\nurl = \"{}\"\ntoken_file = \"{}\"\nqueue = 100000\n",
        hook.url("/"),
        gotify.url(""),
        dir.path().join("token").display()
    );
    let clock = Arc::new(ManualClock::new(SystemTime::now()));
    let n = start_with(dir.path(), "queue = 4096", &sinks, Some(clock.clone() as Arc<dyn Clock>)).await;
    let addr = n.addr();
    let c = client();
    let mut rng = Lcg(7);
    let mut model = [Model::Ready; OBJECTS];
    let mut expected: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    let mut posted = 0u64;
    let wake = n.daemon.observations();
    for round in 0..ROUNDS {
        // Each object's events of this round, in order.
        let mut plan: Vec<Vec<bool>> = Vec::new();
        for (i, state) in model.iter_mut().enumerate() {
            let count = 1 + rng.next() % 3;
            let events: Vec<bool> = (0..count).map(|_| rng.next().is_multiple_of(2)).collect();
            for &fails in &events {
                *state = match (*state, fails) {
                    (Model::Ready, true) => Model::Pending,
                    (Model::Alerted, false) => {
                        expected.entry(format!("k{i}")).or_default().push("recovery");
                        Model::Ready
                    }
                    (Model::Pending, false) => Model::Ready,
                    (s, _) => s,
                };
            }
            plan.push(events);
        }
        posted += plan.iter().map(|p| p.len() as u64).sum::<u64>();
        let plan = Arc::new(plan);
        let tasks: Vec<_> = (0..POSTERS)
            .map(|t| {
                let (c, plan) = (c.clone(), plan.clone());
                tokio::spawn(async move {
                    for i in (t..OBJECTS).step_by(POSTERS) {
                        for &fails in &plan[i] {
                            let name = format!("k{i}");
                            let body = if fails { failing(&name) } else { ready(&name) };
                            let (status, _, text) = post(&c, addr, "/flux", &body, None).await;
                            assert_eq!(status, 202, "{text}");
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let metrics = n.daemon.metrics.clone();
        let want = posted + round as u64;
        until(Duration::from_secs(30), "the round taken in", || metrics.observations.load(Ordering::Relaxed) == want)
            .await;
        // Past the grace period: every pending failure alerts.
        clock.advance(Duration::from_secs(660));
        for (i, state) in model.iter_mut().enumerate() {
            if *state == Model::Pending {
                expected.entry(format!("k{i}")).or_default().push("failure");
                *state = Model::Alerted;
            }
        }
        let nudge = Observation {
            subject: Subject {
                kind: "Kustomization".into(),
                namespace: "test".into(),
                name: "clock".into(),
                app: None,
            },
            readiness: Readiness::Progressing,
            reason: "Progressing".into(),
            message: String::new(),
            revision: None,
            at: clock.now(),
            source: Source::Watch,
        };
        wake.send(nudge).await.unwrap();
        until(Duration::from_secs(30), "the tick", || metrics.observations.load(Ordering::Relaxed) == want + 1).await;
    }
    assert!(posted >= 10_000, "only {posted} events");
    let total: usize = expected.values().map(Vec::len).sum();
    assert!(total > 1000, "only {total} transitions");
    for sink in [&hook, &gotify] {
        sink.wait_for(total, Duration::from_secs(120)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut got: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for r in hook.taken() {
        let json = r.json();
        let kind = if json["type"] == "failure" { "failure" } else { "recovery" };
        got.entry(json["name"].as_str().unwrap().to_owned()).or_default().push(kind);
    }
    assert_same(&got, &expected, "the webhook");
    let mut got: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
    for r in gotify.taken() {
        let title = r.json()["title"].as_str().unwrap().to_owned();
        let kind = if title.starts_with("failing") { "failure" } else { "recovery" };
        let name = title.split("flux-system/").nth(1).unwrap().split([' ', ')']).next().unwrap().to_owned();
        got.entry(name).or_default().push(kind);
    }
    assert_same(&got, &expected, "Gotify");
}

/// Equal maps, or a panic naming the first objects that differ.
fn assert_same(got: &BTreeMap<String, Vec<&str>>, want: &BTreeMap<String, Vec<&str>>, sink: &str) {
    let keys: std::collections::BTreeSet<_> = got.keys().chain(want.keys()).collect();
    let differ: Vec<String> = keys
        .into_iter()
        .filter(|k| got.get(*k) != want.get(*k))
        .take(5)
        .map(|k| format!("{k}: got {:?}, want {:?}", got.get(k), want.get(k)))
        .collect();
    assert!(differ.is_empty(), "{sink}'s transitions differ:\n{}", differ.join("\n"));
}
