//! The app container's startup, readiness and liveness probes. `health`
//! gives all three an HTTP check on `port` with nixflux's timings; an entry
//! of `probes` replaces one of them: its check (HTTP, TCP or a command; none
//! keeps `health`'s) and any timing it sets, the rest staying nixflux's.

use k8s_openapi::api::core::v1::{ExecAction, HTTPGetAction, Probe, TCPSocketAction};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::spec::pod::ProbeSpec;
use crate::spec::{App, JsonPath, Problem};

use super::context::HTTP_PORT;

pub struct Rendered {
    pub startup: Option<Probe>,
    pub readiness: Option<Probe>,
    pub liveness: Option<Probe>,
}

/// Each probe with its name and nixflux's failure threshold. Startup allows
/// five minutes for a slow first start; after it, readiness reacts in 10 s
/// and liveness restarts after 30 s.
fn kinds(app: &App) -> [(&'static str, Option<&ProbeSpec>, i32); 3] {
    [
        ("startup", app.probes.startup.as_ref(), 30),
        ("readiness", app.probes.readiness.as_ref(), 1),
        ("liveness", app.probes.liveness.as_ref(), 3),
    ]
}

const PERIOD: i32 = 10;

pub fn render(app: &App) -> Rendered {
    let [startup, readiness, liveness] = kinds(app).map(|(_, spec, failures)| probe(app, spec, failures));
    Rendered { startup, readiness, liveness }
}

fn probe(app: &App, spec: Option<&ProbeSpec>, failures: i32) -> Option<Probe> {
    let health = app.health.as_ref().map(|path| http(path, None));
    let Some(spec) = spec else {
        return health.map(|http_get| Probe {
            http_get: Some(http_get),
            period_seconds: Some(PERIOD),
            failure_threshold: Some(failures),
            ..Default::default()
        });
    };
    let port = |p: &Option<crate::spec::names::PortName>| {
        IntOrString::String(p.as_ref().map_or(HTTP_PORT, |p| p.as_str()).to_owned())
    };
    let mut probe = Probe {
        period_seconds: Some(spec.period_seconds.unwrap_or(PERIOD)),
        failure_threshold: Some(spec.failure_threshold.unwrap_or(failures)),
        initial_delay_seconds: spec.initial_delay_seconds,
        timeout_seconds: spec.timeout_seconds,
        success_threshold: spec.success_threshold,
        ..Default::default()
    };
    if let Some(h) = &spec.http_get {
        probe.http_get = Some(http(&h.path, h.port.as_ref().map(|p| p.as_str())));
    } else if let Some(t) = &spec.tcp_socket {
        probe.tcp_socket = Some(TCPSocketAction { port: port(&t.port), host: None });
    } else if let Some(e) = &spec.exec {
        probe.exec = Some(ExecAction { command: Some(e.command.clone()) });
    } else {
        probe.http_get = Some(health?);
    }
    Some(probe)
}

fn http(path: &str, port: Option<&str>) -> HTTPGetAction {
    HTTPGetAction {
        path: Some(path.to_owned()),
        port: IntOrString::String(port.unwrap_or(HTTP_PORT).to_owned()),
        ..Default::default()
    }
}

/// The probes' own checks: one check each (or `health`), ports the app
/// has, timings the API server accepts.
pub fn validate(app: &App, at: &JsonPath, problems: &mut Vec<Problem>) {
    for (kind, spec, _) in kinds(app) {
        let Some(spec) = spec else { continue };
        let here = at.key("probes").key(kind);
        let checks = [spec.http_get.is_some(), spec.tcp_socket.is_some(), spec.exec.is_some()];
        match checks.iter().filter(|c| **c).count() {
            0 if app.health.is_none() => problems.push(
                Problem::new(here.clone(), format!("the {kind} probe has no check and the app has no `health`"))
                    .with_hint("set one of `httpGet`, `tcpSocket`, `exec`, or `health` for an HTTP check"),
            ),
            0 | 1 => {}
            _ => problems.push(
                Problem::new(here.clone(), format!("the {kind} probe has more than one check"))
                    .with_hint("keep one of `httpGet`, `tcpSocket`, `exec`"),
            ),
        }
        let ports = [
            spec.http_get.as_ref().map(|h| (h.port.as_ref(), "httpGet")),
            spec.tcp_socket.as_ref().map(|t| (t.port.as_ref(), "tcpSocket")),
        ];
        for (port, check) in ports.into_iter().flatten() {
            let known = match port {
                None => app.port.is_some(),
                Some(p) => (p.as_str() == HTTP_PORT && app.port.is_some()) || app.extra_ports.contains_key(p),
            };
            if !known {
                let name = port.map_or(HTTP_PORT, |p| p.as_str());
                let path = if port.is_some() { here.key(check).key("port") } else { here.key(check) };
                problems.push(
                    Problem::new(path, format!("the {kind} probe checks port `{name}`, which the app does not have"))
                        .with_hint("name `http` (the app's `port`) or one of `extraPorts`"),
                );
            }
        }
        if let Some(h) = &spec.http_get {
            if !h.path.starts_with('/') {
                problems.push(Problem::new(
                    here.key("httpGet").key("path"),
                    format!("probe path `{}` must start with `/`", h.path),
                ));
            }
        }
        if spec.exec.as_ref().is_some_and(|e| e.command.is_empty()) {
            problems.push(Problem::new(here.key("exec").key("command"), "the probe's command is empty"));
        }
        let timings = [
            ("initialDelaySeconds", spec.initial_delay_seconds, 0),
            ("periodSeconds", spec.period_seconds, 1),
            ("timeoutSeconds", spec.timeout_seconds, 1),
            ("failureThreshold", spec.failure_threshold, 1),
            ("successThreshold", spec.success_threshold, 1),
        ];
        for (field, value, min) in timings {
            if let Some(v) = value.filter(|v| *v < min) {
                problems.push(Problem::new(here.key(field), format!("`{field}` is {v}: it must be {min} or more")));
            }
        }
        if kind != "readiness" && spec.success_threshold.is_some_and(|s| s != 1) {
            problems.push(
                Problem::new(here.key("successThreshold"), format!("a {kind} probe's `successThreshold` must be 1"))
                    .with_hint("only a readiness probe may need several successes"),
            );
        }
    }
}
