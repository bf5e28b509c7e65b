//! The notifier's TOML configuration (`nixflux notify --config FILE`),
//! read strictly: unknown fields are refused, and every error names the
//! file, the line and the key path (`sink[1].url`) and says what would be
//! right. Secrets are never inline: the configuration names files.
//! The sinks' part is in `sink_config.rs`; `docs/notify-config.md` is the
//! field-by-field reference.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::sink_config::SinkConfig;
use crate::flux::duration::{parse_duration, parse_duration_or_zero};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the state survives a restart; default `$STATE_DIRECTORY/state.json`.
    #[serde(default)]
    pub state_file: Option<PathBuf>,
    #[serde(default = "default_grace", deserialize_with = "duration")]
    pub grace: Duration,
    #[serde(default = "default_reminder", deserialize_with = "duration_or_zero")]
    pub reminder: Duration,
    #[serde(default = "default_cooldown", deserialize_with = "duration_or_zero")]
    pub cooldown: Duration,
    #[serde(default)]
    pub http: Option<HttpConfig>,
    #[serde(default)]
    pub watch: Option<WatchConfig>,
    #[serde(default)]
    pub targets: BTreeMap<String, TargetConfig>,
    #[serde(default, rename = "sink")]
    pub sinks: Vec<SinkConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConfig {
    #[serde(default = "default_listen", deserialize_with = "socket")]
    pub listen: SocketAddr,
    #[serde(default, deserialize_with = "socket_opt")]
    pub receiver_listen: Option<SocketAddr>,
    #[serde(default = "default_receiver_path")]
    pub receiver_path: String,
    #[serde(default)]
    pub hmac_key_file: Option<PathBuf>,
    #[serde(default = "default_max_body")]
    pub max_body: usize,
    #[serde(default = "default_queue")]
    pub queue: usize,
}

/// The Kubernetes watcher's settings (the watcher lives in `watch.rs`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    #[serde(default)]
    pub kubeconfig: Option<PathBuf>,
    /// Empty: every namespace.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Empty: all six Flux kinds.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// A nixflux target whose generation records explain a failing revision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// As `publish --to`: `s3://bucket/prefix/` or a directory.
    pub to: String,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub credentials_file: Option<PathBuf>,
    /// The Flux Bucket (`namespace/name`) that reads this target.
    pub bucket: String,
}

fn default_grace() -> Duration {
    Duration::from_secs(600)
}
fn default_reminder() -> Duration {
    Duration::from_secs(3600)
}
fn default_cooldown() -> Duration {
    Duration::from_secs(300)
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9292))
}
fn default_receiver_path() -> String {
    "/flux".to_owned()
}
fn default_max_body() -> usize {
    65536
}
fn default_queue() -> usize {
    1024
}

fn socket<'de, D: Deserializer<'de>>(d: D) -> Result<SocketAddr, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| {
        serde::de::Error::custom(format!(
            "`{s}` is not an address and port (write e.g. `127.0.0.1:9292` or `[::1]:9292`)"
        ))
    })
}

fn socket_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    socket(d).map(Some)
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn duration_or_zero<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    parse_duration_or_zero(&String::deserialize(d)?).map_err(serde::de::Error::custom)
}

/// A configuration the notifier cannot run with.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading `{path}`: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `file:line:column: key path: what is wrong`.
    #[error("{origin}{}: {message}", if key.is_empty() { String::new() } else { format!(": `{key}`") })]
    Invalid { origin: String, key: String, message: String },
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
        if file.ends_with(".json") {
            return Config::parse_json(text, file);
        }
        let at = |span: Option<std::ops::Range<usize>>| match span {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                format!("{file}:{line}:{col}")
            }
            None => file.to_owned(),
        };
        let deserializer = toml::Deserializer::parse(text).map_err(|e| ConfigError::Invalid {
            origin: at(e.span()),
            key: String::new(),
            message: e.message().trim().to_owned(),
        })?;
        let mut config: Config = serde_path_to_error::deserialize(deserializer).map_err(|e| {
            let key = key_path(e.path());
            let inner = e.into_inner();
            ConfigError::Invalid { origin: at(inner.span()), key, message: inner.message().trim().to_owned() }
        })?;
        config.validate(text, file)?;
        Ok(config)
    }

    /// The same configuration written as JSON (what the NixOS service
    /// writes: `builtins.toJSON` of its `settings`), field names as in TOML.
    fn parse_json(text: &str, file: &str) -> Result<Config, ConfigError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let mut config: Config = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let key = key_path(e.path());
            let inner = e.into_inner();
            ConfigError::Invalid {
                origin: format!("{file}:{}:{}", inner.line(), inner.column()),
                key,
                message: inner.to_string(),
            }
        })?;
        de.end().map_err(|e| ConfigError::Invalid {
            origin: format!("{file}:{}:{}", e.line(), e.column()),
            key: String::new(),
            message: e.to_string(),
        })?;
        config.validate("", file)?;
        Ok(config)
    }

    fn validate(&mut self, text: &str, file: &str) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid { origin: file.to_owned(), key, message };
        if self.state_file.is_none() {
            match std::env::var_os("STATE_DIRECTORY") {
                // systemd may pass several, separated by colons: the first is ours.
                Some(dirs) => {
                    let first = dirs.to_string_lossy().split(':').next().unwrap_or_default().to_owned();
                    self.state_file = Some(PathBuf::from(first).join("state.json"));
                }
                None => {
                    return Err(invalid(
                        "state_file".into(),
                        "is required when `STATE_DIRECTORY` is not set (write e.g. `state_file = \"/var/lib/nixflux-notify/state.json\"`)".into(),
                    ))
                }
            }
        }
        if let Some(http) = &self.http {
            if !http.receiver_path.starts_with('/') {
                return Err(invalid("http.receiver_path".into(), "must start with `/` (e.g. `/flux`)".into()));
            }
            if matches!(http.receiver_path.as_str(), "/metrics" | "/healthz" | "/readyz") {
                return Err(invalid(
                    "http.receiver_path".into(),
                    "must not be one of `/metrics`, `/healthz`, `/readyz`".into(),
                ));
            }
            if http.max_body == 0 || http.queue == 0 {
                let key = if http.max_body == 0 { "http.max_body" } else { "http.queue" };
                return Err(invalid(key.into(), "must be at least 1".into()));
            }
        }
        for (name, target) in &self.targets {
            if target.bucket.split_once('/').is_none_or(|(ns, n)| ns.is_empty() || n.is_empty() || n.contains('/')) {
                return Err(invalid(
                    format!("targets.{name}.bucket"),
                    format!("`{}` is not `namespace/name` (e.g. `flux-system/nixflux-home`)", target.bucket),
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, sink) in self.sinks.iter().enumerate() {
            let origin = match nth_line(text, "[[sink]]", i) {
                Some(line) => format!("{file}:{line}"),
                None => file.to_owned(),
            };
            sink.validate().map_err(|(field, message)| ConfigError::Invalid {
                origin: origin.clone(),
                key: format!("sink[{i}].{field}"),
                message,
            })?;
            if !seen.insert(sink.name.as_str()) {
                return Err(ConfigError::Invalid {
                    origin,
                    key: format!("sink[{i}].name"),
                    message: format!("`{}` is the name of an earlier sink too (sink names are unique)", sink.name),
                });
            }
        }
        Ok(())
    }
}

/// `sink[1].url` from serde's path (`sink.1.url`).
fn key_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out.strip_suffix(".?").unwrap_or(&out).to_owned()
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The line number of the `n`th line that is exactly `header`.
fn nth_line(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines().enumerate().filter(|(_, l)| l.trim() == header).nth(n).map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, "notify.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let c = parse("state_file = \"/s.json\"\n[http]\n").unwrap();
        assert_eq!(
            (c.grace, c.reminder, c.cooldown),
            (Duration::from_secs(600), Duration::from_secs(3600), Duration::from_secs(300))
        );
        let http = c.http.unwrap();
        assert_eq!(http.listen.to_string(), "127.0.0.1:9292");
        assert_eq!((http.receiver_path.as_str(), http.max_body, http.queue), ("/flux", 65536, 1024));
        assert!(c.sinks.is_empty() && c.watch.is_none());
    }

    #[test]
    fn errors_name_the_line_and_the_key() {
        let e = parse("state_file = \"/s.json\"\ngrace = \"soon\"\n").unwrap_err();
        assert!(e.starts_with("notify.toml:2:9: `grace`: `soon` is not a duration"), "{e}");
        let e = parse("state_file = \"/s.json\"\n[http]\nlisten = \"127.0.0.1:1\"\nlisen = 1\n").unwrap_err();
        assert!(e.starts_with("notify.toml:4:1: `http.lisen`: unknown field `lisen`"), "{e}");
        let e = parse("state_file = \"/s.json\"\n\n[[sink]]\nname = \"a\"\nkind = \"ntfy\"\n\n[[sink]]\nname = \"b\"\nkind = \"pager\"\n").unwrap_err();
        assert!(e.starts_with("notify.toml:9:8: `sink[1].kind`: unknown variant `pager`"), "{e}");
    }

    #[test]
    fn zero_switches_reminders_off_but_grace_needs_time() {
        assert_eq!(parse("state_file = \"/s\"\nreminder = \"0s\"\n").unwrap().reminder, Duration::ZERO);
        assert!(parse("state_file = \"/s\"\ngrace = \"0s\"\n").is_err());
    }
}
