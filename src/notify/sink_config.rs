//! One `[[sink]]` of the configuration: its name and kind, its filter, its
//! delivery settings and the fields only some kinds use. One flat table
//! per sink (as users write it); `validate` refuses a field the kind does
//! not use and a missing one it needs, naming the field.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::notification::{Notification, Severity};
use super::observation::Subject;
use crate::flux::duration::parse_duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    Webhook,
    Ntfy,
    Gotify,
    Slack,
    Exec,
    Device,
}

impl SinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Ntfy => "ntfy",
            SinkKind::Gotify => "gotify",
            SinkKind::Slack => "slack",
            SinkKind::Exec => "exec",
            SinkKind::Device => "device",
        }
    }
}

/// A priority: a name (ntfy: `min`, `low`, `default`, `high`, `urgent`) or
/// a number (ntfy 1–5, Gotify 0–10).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Priority {
    Number(i64),
    Name(String),
}

/// A value per severity (`{ failure = ..., recovery = ..., reminder = ... }`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BySeverity<T> {
    pub failure: Option<T>,
    pub recovery: Option<T>,
    pub reminder: Option<T>,
}

impl<T> Default for BySeverity<T> {
    fn default() -> BySeverity<T> {
        BySeverity { failure: None, recovery: None, reminder: None }
    }
}

impl<T> BySeverity<T> {
    pub fn get(&self, s: Severity) -> Option<&T> {
        match s {
            Severity::Failure => self.failure.as_ref(),
            Severity::Recovery => self.recovery.as_ref(),
            Severity::Reminder => self.reminder.as_ref(),
        }
    }
}

/// What a sink is told; every list that is not empty must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub severities: Vec<Severity>,
    pub kinds: Vec<String>,
    pub namespaces: Vec<String>,
    pub names: Vec<String>,
    pub apps: Vec<String>,
}

impl Filter {
    pub fn matches(&self, n: &Notification) -> bool {
        (self.severities.is_empty() || self.severities.contains(&n.severity)) && self.matches_subject(&n.subject)
    }

    /// The filter without its severities.
    pub fn matches_subject(&self, s: &Subject) -> bool {
        let ok = |list: &[String], v: &str| list.is_empty() || list.iter().any(|x| x == v);
        ok(&self.kinds, &s.kind)
            && ok(&self.namespaces, &s.namespace)
            && ok(&self.names, &s.name)
            && (self.apps.is_empty() || s.app.as_ref().is_some_and(|a| self.apps.contains(a)))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    #[serde(default)]
    pub severities: Vec<Severity>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub names: Vec<String>,
    #[serde(default)]
    pub apps: Vec<String>,
    #[serde(default = "default_retries")]
    pub retries: u32,
    #[serde(default = "default_queue")]
    pub queue: usize,
    #[serde(default = "default_timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    #[serde(default)]
    pub priority: Option<BySeverity<Priority>>,
    #[serde(default)]
    pub tags: Option<BySeverity<Vec<String>>>,
    #[serde(default)]
    pub argv: Option<Vec<String>>,
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub failing_line: Option<String>,
    #[serde(default)]
    pub healthy_line: Option<String>,
}

fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn default_retries() -> u32 {
    5
}
fn default_queue() -> usize {
    256
}
fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

const NTFY_NAMES: [&str; 5] = ["min", "low", "default", "high", "urgent"];

impl SinkConfig {
    pub fn filter(&self) -> Filter {
        Filter {
            severities: self.severities.clone(),
            kinds: self.kinds.clone(),
            namespaces: self.namespaces.clone(),
            names: self.names.clone(),
            apps: self.apps.clone(),
        }
    }

    /// The fields this kind uses, beyond the common ones.
    fn uses(&self) -> &'static [&'static str] {
        match self.kind {
            SinkKind::Webhook | SinkKind::Slack => &["url"],
            SinkKind::Ntfy => &["url", "token_file", "priority", "tags"],
            SinkKind::Gotify => &["url", "token_file", "priority"],
            SinkKind::Exec => &["argv"],
            SinkKind::Device => &["path", "failing_line", "healthy_line"],
        }
    }

    /// `Err((field, message))` for the first thing wrong.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let kind = self.kind.as_str();
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err((
                "name".into(),
                format!("`{}` is not a sink name (use a-z, 0-9 and `-`, e.g. `phone`)", self.name),
            ));
        }
        let set: [(&str, bool); 8] = [
            ("url", self.url.is_some()),
            ("token_file", self.token_file.is_some()),
            ("priority", self.priority.is_some()),
            ("tags", self.tags.is_some()),
            ("argv", self.argv.is_some()),
            ("path", self.path.is_some()),
            ("failing_line", self.failing_line.is_some()),
            ("healthy_line", self.healthy_line.is_some()),
        ];
        let uses = self.uses();
        if let Some((field, _)) = set.iter().find(|(f, is_set)| *is_set && !uses.contains(f)) {
            return Err((
                field.to_string(),
                format!("is not a field of `{kind}` sinks (they use: {})", uses.join(", ")),
            ));
        }
        let required = match self.kind {
            SinkKind::Exec => "argv",
            SinkKind::Device => "path",
            _ => "url",
        };
        if !set.iter().any(|(f, is_set)| *f == required && *is_set) {
            return Err((required.into(), format!("is required for `{kind}` sinks")));
        }
        if let Some(url) = &self.url {
            if !(url.starts_with("http://") || url.starts_with("https://")) || url.parse::<hyper::Uri>().is_err() {
                return Err(("url".into(), format!("`{url}` is not an http:// or https:// URL")));
            }
        }
        if self.argv.as_ref().is_some_and(|a| a.is_empty() || a[0].is_empty()) {
            return Err(("argv".into(), "must name a program (e.g. `[\"/path/script\", \"--flag\"]`)".into()));
        }
        for (field, line) in [("failing_line", &self.failing_line), ("healthy_line", &self.healthy_line)] {
            if line.as_ref().is_some_and(|l| l.contains(['\n', '\r'])) {
                return Err((field.into(), "must be one line (the device gets it with a newline)".into()));
            }
        }
        if self.queue == 0 {
            return Err(("queue".into(), "must be at least 1".into()));
        }
        if let Some(p) = &self.priority {
            for s in Severity::ALL {
                let ok = match (self.kind, p.get(s)) {
                    (_, None) => true,
                    (SinkKind::Ntfy, Some(Priority::Name(n))) => NTFY_NAMES.contains(&n.as_str()),
                    (SinkKind::Ntfy, Some(Priority::Number(n))) => (1..=5).contains(n),
                    (_, Some(Priority::Number(n))) => (0..=10).contains(n),
                    (_, Some(Priority::Name(_))) => false,
                };
                if !ok {
                    let right = if self.kind == SinkKind::Ntfy {
                        "one of min, low, default, high, urgent or 1-5"
                    } else {
                        "a number from 0 to 10"
                    };
                    return Err((format!("priority.{s}"), format!("must be {right}")));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(extra: &str) -> Result<(), (String, String)> {
        let c: SinkConfig = toml::from_str(&format!("name = \"s\"\n{extra}")).unwrap();
        c.validate()
    }

    #[test]
    fn each_kind_takes_its_fields() {
        assert!(sink("kind = \"ntfy\"\nurl = \"https://ntfy.sh/t\"\npriority = { failure = \"high\" }").is_ok());
        assert_eq!(sink("kind = \"webhook\"").unwrap_err().0, "url");
        assert_eq!(sink("kind = \"exec\"\nargv = [\"/bin/true\"]\nurl = \"http://x/\"").unwrap_err().0, "url");
        assert_eq!(sink("kind = \"device\"\nfailing_line = \"r\"").unwrap_err().0, "path");
        assert_eq!(
            sink("kind = \"gotify\"\nurl = \"http://g/\"\npriority = { failure = \"high\" }").unwrap_err().0,
            "priority.failure"
        );
        assert_eq!(sink("kind = \"ntfy\"\nurl = \"ftp://x\"").unwrap_err().0, "url");
        assert_eq!(sink("kind = \"exec\"\nargv = []").unwrap_err().0, "argv");
    }

    #[test]
    fn a_filter_takes_only_what_every_non_empty_list_names() {
        let subject = |kind: &str, ns: &str, name: &str, app: Option<&str>| Subject {
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            app: app.map(Into::into),
        };
        let n = |severity, subject: Subject| Notification { subject, ..super::super::notification::sample(severity) };
        let web = subject("Kustomization", "flux-system", "apps", Some("web"));
        let object = subject("Kustomization", "flux-system", "apps", None);
        assert!(Filter::default().matches(&n(Severity::Failure, object.clone())));
        let apps = Filter { apps: vec!["web".into()], ..Filter::default() };
        assert!(apps.matches(&n(Severity::Failure, web.clone())));
        assert!(!apps.matches(&n(Severity::Failure, object.clone())), "an app filter takes apps only");
        assert!(!apps.matches(&n(Severity::Failure, subject("Kustomization", "flux-system", "apps", Some("db")))));
        let severities = Filter { severities: vec![Severity::Failure, Severity::Recovery], ..Filter::default() };
        assert!(severities.matches(&n(Severity::Recovery, object.clone())));
        assert!(!severities.matches(&n(Severity::Reminder, object.clone())));
        let narrow = Filter {
            kinds: vec!["Kustomization".into()],
            namespaces: vec!["flux-system".into()],
            names: vec!["apps".into()],
            ..Filter::default()
        };
        assert!(narrow.matches(&n(Severity::Failure, web.clone())));
        for other in [
            subject("HelmRelease", "flux-system", "apps", None),
            subject("Kustomization", "default", "apps", None),
            subject("Kustomization", "flux-system", "infra", None),
        ] {
            assert!(!narrow.matches(&n(Severity::Failure, other.clone())), "{other}");
        }
    }
}
