//! The state machine's decisions, on an injected clock.

use std::time::{Duration, SystemTime};

use super::*;
use crate::notify::observation::Source;

const T0: u64 = 1_800_000_000;

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

fn subject(name: &str) -> Subject {
    Subject { kind: "Kustomization".into(), namespace: "flux-system".into(), name: name.into(), app: None }
}

fn obs(name: &str, readiness: Readiness, t: u64) -> Observation {
    Observation {
        subject: subject(name),
        readiness,
        reason: match readiness {
            Readiness::Failing => "BuildFailed".into(),
            _ => "ReconciliationSucceeded".into(),
        },
        message: "m".into(),
        revision: Some(format!("sha256:{t}")),
        at: at(t),
        source: Source::Event,
    }
}

fn policy() -> Policy {
    Policy { grace: Duration::from_secs(600), reminder: Duration::from_secs(3600), cooldown: Duration::from_secs(300) }
}

/// Feeds `(seconds, name, readiness)` in order, ticking at each step, and
/// returns `(seconds, severity, name)` of everything told.
fn run(policy: Policy, steps: &[(u64, &str, Option<Readiness>)]) -> Vec<(u64, Severity, String)> {
    let mut t = Tracker::new(policy);
    let mut told = Vec::new();
    for &(s, name, readiness) in steps {
        if let Some(r) = readiness {
            told.extend(t.observe(&obs(name, r, s), at(s)));
        }
        told.extend(t.tick(at(s)));
    }
    told.into_iter().map(|n| (n.at.duration_since(at(0)).unwrap().as_secs(), n.severity, n.subject.name)).collect()
}

use Readiness::{Failing, Ready};
use Severity::{Failure, Recovery, Reminder};

#[test]
fn a_failure_inside_the_grace_period_is_never_told() {
    let told =
        run(policy(), &[(0, "a", Some(Ready)), (10, "a", Some(Failing)), (500, "a", Some(Ready)), (2000, "a", None)]);
    assert_eq!(told, vec![]);
}

#[test]
fn a_lasting_failure_alerts_after_grace_and_recovers_with_its_duration() {
    let mut t = Tracker::new(policy());
    assert!(t.observe(&obs("a", Failing, 0), at(0)).is_none());
    assert!(t.tick(at(599)).is_empty());
    assert_eq!(t.next_due(), Some(at(600)));
    let failure = t.tick(at(600));
    assert_eq!(failure.len(), 1);
    assert_eq!((failure[0].severity, failure[0].since, failure[0].reason.as_str()), (Failure, at(0), "BuildFailed"));
    assert!(t.tick(at(601)).is_empty(), "told once");
    let recovery = t.observe(&obs("a", Ready, 900), at(900)).unwrap();
    assert_eq!((recovery.severity, recovery.down_for), (Recovery, Some(Duration::from_secs(900))));
}

#[test]
fn reminders_repeat_while_failing_and_zero_switches_them_off() {
    let steps = [(0, "a", Some(Failing)), (600, "a", None), (4199, "a", None), (4200, "a", None), (7800, "a", None)];
    assert_eq!(
        run(policy(), &steps),
        vec![(600, Failure, "a".into()), (4200, Reminder, "a".into()), (7800, Reminder, "a".into())]
    );
    let quiet = Policy { reminder: Duration::ZERO, ..policy() };
    assert_eq!(run(quiet, &steps), vec![(600, Failure, "a".into())]);
}

#[test]
fn a_new_failure_right_after_a_recovery_waits_for_the_cooldown() {
    let short = Policy { grace: Duration::from_secs(60), ..policy() };
    let told = run(
        short,
        &[
            (0, "a", Some(Failing)),
            (60, "a", None),
            (100, "a", Some(Ready)),
            (110, "a", Some(Failing)),
            (170, "a", None),
            (399, "a", None),
            (400, "a", None),
        ],
    );
    assert_eq!(told, vec![(60, Failure, "a".into()), (100, Recovery, "a".into()), (400, Failure, "a".into())]);
}

#[test]
fn a_failure_seen_late_counts_from_when_it_began() {
    let mut t = Tracker::new(policy());
    // The watcher starts and finds an object failing for an hour already.
    t.observe(&Observation { source: Source::Watch, ..obs("a", Failing, 0) }, at(3600));
    let told = t.tick(at(3600));
    assert_eq!(told.len(), 1);
    assert_eq!(told[0].since, at(0));
    // An event's timestamp is another clock: the failure counts from now.
    t.observe(&obs("b", Failing, 0), at(3600));
    assert!(t.tick(at(3600)).iter().all(|n| n.subject.name != "b"));
}

#[test]
fn progressing_changes_nothing_and_subjects_are_independent() {
    let told = run(
        policy(),
        &[
            (0, "a", Some(Failing)),
            (1, "b", Some(Failing)),
            (300, "a", Some(Readiness::Progressing)),
            (400, "b", Some(Ready)),
            (600, "a", None),
            (700, "b", None),
        ],
    );
    assert_eq!(told, vec![(600, Failure, "a".into())]);
}

#[test]
fn entries_round_trip_through_json() {
    let mut t = Tracker::new(policy());
    t.observe(&obs("a", Failing, 0), at(0));
    t.tick(at(600));
    t.observe(&obs("b", Failing, 700), at(700));
    let json = serde_json::to_string(&t.entries().iter().collect::<Vec<_>>().len()).unwrap();
    assert_eq!(json, "2");
    let entry = t.get(&subject("a")).unwrap();
    let back: Entry = serde_json::from_str(&serde_json::to_string(entry).unwrap()).unwrap();
    assert_eq!(&back, entry);
}
