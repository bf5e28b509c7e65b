//! What the notifier knows about each subject and what it decides from a
//! new observation or the passing of time: a failure becomes *pending*,
//! alerts once it has lasted the grace period (and the cooldown after the
//! subject's last recovery has passed), is recalled by reminders while it
//! lasts, and ends with a recovery that says how long it was down. A
//! failure that ends inside the grace period is never told, nor is its
//! recovery. Time is a parameter, so every decision is reproducible.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use super::notification::{Notification, Severity};
use super::observation::{Observation, Readiness, Source, Subject};

/// The timings of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub grace: Duration,
    /// Zero: no reminders.
    pub reminder: Duration,
    pub cooldown: Duration,
}

/// Where a subject stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "camelCase")]
pub enum Phase {
    Ready,
    /// Failing since `since`, not told yet.
    Pending {
        #[serde(with = "unix_ms")]
        since: SystemTime,
    },
    /// Failing since `since`; the last failure or reminder went out at `told`.
    Alerted {
        #[serde(with = "unix_ms")]
        since: SystemTime,
        #[serde(with = "unix_ms")]
        told: SystemTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub phase: Phase,
    pub reason: String,
    pub message: String,
    pub revision: Option<String>,
    /// When the phase last changed (a metric).
    #[serde(with = "unix_ms")]
    pub changed: SystemTime,
    /// No new failure alerts before this (set by a recovery).
    #[serde(default, with = "unix_ms_opt")]
    pub quiet_until: Option<SystemTime>,
}

/// Every subject's entry.
#[derive(Debug, Clone)]
pub struct Tracker {
    policy: Policy,
    entries: HashMap<Subject, Entry>,
}

impl Tracker {
    pub fn new(policy: Policy) -> Tracker {
        Tracker { policy, entries: HashMap::new() }
    }

    pub fn with_entries(policy: Policy, entries: HashMap<Subject, Entry>) -> Tracker {
        Tracker { policy, entries }
    }

    pub fn entries(&self) -> &HashMap<Subject, Entry> {
        &self.entries
    }

    pub fn get(&self, subject: &Subject) -> Option<&Entry> {
        self.entries.get(subject)
    }

    /// Takes in one observation at `now`; a recovery is the only thing it can
    /// tell at once (failures wait for [`Tracker::tick`]).
    pub fn observe(&mut self, obs: &Observation, now: SystemTime) -> Option<Notification> {
        match obs.readiness {
            Readiness::Progressing => None,
            Readiness::Failing => {
                let entry = self.entries.entry(obs.subject.clone()).or_insert_with(|| Entry {
                    phase: Phase::Ready,
                    reason: String::new(),
                    message: String::new(),
                    revision: None,
                    changed: now,
                    quiet_until: None,
                });
                entry.reason = obs.reason.clone();
                entry.message = obs.message.clone();
                if obs.revision.is_some() {
                    entry.revision = obs.revision.clone();
                }
                if entry.phase == Phase::Ready {
                    // A watched status may report a failure that began before
                    // the watcher looked (`lastTransitionTime`); an event is
                    // news, and its timestamp is another machine's clock.
                    let since = match obs.source {
                        Source::Watch => obs.at.min(now),
                        Source::Event => now,
                    };
                    entry.phase = Phase::Pending { since };
                    entry.changed = now;
                }
                None
            }
            Readiness::Ready => {
                let entry = self.entries.entry(obs.subject.clone()).or_insert_with(|| Entry {
                    phase: Phase::Ready,
                    reason: obs.reason.clone(),
                    message: obs.message.clone(),
                    revision: obs.revision.clone(),
                    changed: now,
                    quiet_until: None,
                });
                let told = match entry.phase {
                    Phase::Ready => None,
                    Phase::Pending { .. } => {
                        entry.changed = now;
                        None
                    }
                    Phase::Alerted { since, .. } => {
                        entry.quiet_until = Some(now + self.policy.cooldown);
                        entry.changed = now;
                        Some(Notification {
                            severity: Severity::Recovery,
                            subject: obs.subject.clone(),
                            reason: obs.reason.clone(),
                            message: obs.message.clone(),
                            revision: obs.revision.clone().or_else(|| entry.revision.clone()),
                            since,
                            down_for: Some(now.duration_since(since).unwrap_or_default()),
                            at: now,
                            generation: None,
                        })
                    }
                };
                entry.phase = Phase::Ready;
                entry.reason = obs.reason.clone();
                entry.message = obs.message.clone();
                if obs.revision.is_some() {
                    entry.revision = obs.revision.clone();
                }
                told
            }
        }
    }

    /// When `subject`'s entry next needs a [`Tracker::tick`].
    fn due(&self, entry: &Entry) -> Option<SystemTime> {
        match entry.phase {
            Phase::Ready => None,
            Phase::Pending { since } => {
                let after_grace = since + self.policy.grace;
                Some(entry.quiet_until.map_or(after_grace, |q| q.max(after_grace)))
            }
            Phase::Alerted { told, .. } => (!self.policy.reminder.is_zero()).then(|| told + self.policy.reminder),
        }
    }

    /// The earliest time a tick can tell anything.
    pub fn next_due(&self) -> Option<SystemTime> {
        self.entries.values().filter_map(|e| self.due(e)).min()
    }

    /// Failures whose grace (and cooldown) has passed, and reminders due at `now`.
    pub fn tick(&mut self, now: SystemTime) -> Vec<Notification> {
        let mut out = Vec::new();
        let policy = self.policy;
        for (subject, entry) in &mut self.entries {
            let due = match entry.phase {
                Phase::Ready => continue,
                Phase::Pending { since } => {
                    let after_grace = since + policy.grace;
                    entry.quiet_until.map_or(after_grace, |q| q.max(after_grace))
                }
                Phase::Alerted { told, .. } if !policy.reminder.is_zero() => told + policy.reminder,
                Phase::Alerted { .. } => continue,
            };
            if now < due {
                continue;
            }
            let (severity, since) = match entry.phase {
                Phase::Pending { since } => (Severity::Failure, since),
                Phase::Alerted { since, .. } => (Severity::Reminder, since),
                Phase::Ready => continue,
            };
            if severity == Severity::Failure {
                entry.changed = now;
            }
            entry.phase = Phase::Alerted { since, told: now };
            out.push(Notification {
                severity,
                subject: subject.clone(),
                reason: entry.reason.clone(),
                message: entry.message.clone(),
                revision: entry.revision.clone(),
                since,
                down_for: (severity == Severity::Reminder).then(|| now.duration_since(since).unwrap_or_default()),
                at: now,
                generation: None,
            });
        }
        out.sort_by(|a, b| a.subject.cmp(&b.subject));
        out
    }
}

/// `SystemTime` as milliseconds since the Unix epoch.
pub(super) mod unix_ms {
    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let ms = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis();
        s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let ms = u64::deserialize(d)?;
        SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_millis(ms))
            .ok_or_else(|| serde::de::Error::custom("time out of range"))
    }
}

pub(super) mod unix_ms_opt {
    use std::time::{Duration, SystemTime};

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => {
                let ms = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_millis();
                s.serialize_u64(u64::try_from(ms).unwrap_or(u64::MAX))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
        match Option::<u64>::deserialize(d)? {
            None => Ok(None),
            Some(ms) => SystemTime::UNIX_EPOCH
                .checked_add(Duration::from_millis(ms))
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom("time out of range")),
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
