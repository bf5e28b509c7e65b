//! The checks of an app's pod and job fields that need only the app (the
//! pod as patched is checked by `hardening.rs`): fields that need an image
//! or a schedule, extra containers, environment references, tolerations,
//! extended resources, probes and the CronJob's settings.

use std::collections::BTreeSet;

use crate::spec::names::{is_dns1123_label, is_dns1123_subdomain};
use crate::spec::pod::{EnvSource, EnvValue, TaintEffect, TolerationOperator};
use crate::spec::{Env, JsonPath, Problem, Resources};

use super::context::AppContext;
use super::probes;

/// The pod fields the Downward API gives as environment values.
const FIELD_PATHS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
    "spec.serviceAccountName",
    "status.hostIP",
    "status.hostIPs",
    "status.podIP",
    "status.podIPs",
];

/// The notes `check` prints about an app: host networking, which no
/// NetworkPolicy restricts.
pub fn notes(cx: &AppContext) -> Vec<Problem> {
    let mut notes = Vec::new();
    if cx.app.host_network && cx.app.image.is_some() {
        notes.push(Problem::new(
            cx.at.key("hostNetwork"),
            format!(
                "app `{}` uses the host network: NetworkPolicies do not apply to its pods, which reach and are reached \
                 like the node itself",
                cx.name
            ),
        ));
    }
    notes
}

pub fn validate(cx: &AppContext, problems: &mut Vec<Problem>) {
    let app = cx.app;
    let at = &cx.at;
    let mut bad = |path: JsonPath, msg: String, hint: &str| {
        let p = Problem::new(path, msg);
        problems.push(if hint.is_empty() { p } else { p.with_hint(hint) });
    };
    if app.image.is_none() {
        let needs_image = [
            ("hostNetwork", app.host_network),
            ("nodeSelector", !app.node_selector.is_empty()),
            ("tolerations", !app.tolerations.is_empty()),
            ("runtimeClassName", app.runtime_class_name.is_some()),
            ("podAnnotations", !app.pod_annotations.is_empty()),
            ("imagePullSecrets", !app.image_pull_secrets.is_empty()),
            ("initContainers", !app.init_containers.is_empty()),
            ("sidecars", !app.sidecars.is_empty()),
            ("probes", app.probes.startup.is_some() || app.probes.readiness.is_some() || app.probes.liveness.is_some()),
            ("podPatch", app.pod_patch.is_some()),
            ("containerPatch", app.container_patch.is_some()),
            ("schedule", app.schedule.is_some()),
        ];
        for (field, _) in needs_image.iter().filter(|(_, set)| *set) {
            bad(
                at.key(field),
                format!("`{field}` is set but the app has no `image`"),
                "set `image`, or move the workload into `objects`",
            );
        }
    }
    if app.job.is_some() && app.schedule.is_none() {
        bad(
            at.key("job"),
            "`job` is set but the app has no `schedule`".into(),
            "set `schedule`, e.g. `\"30 2 * * *\"`",
        );
    }
    if app.schedule.is_some() && app.replicas != 1 {
        bad(
            at.key("replicas"),
            format!("replicas is {}, but an app with a `schedule` runs one pod per run", app.replicas),
            "leave `replicas` out",
        );
    }
    if let Some(job) = &app.job {
        let here = at.key("job");
        let counts = [
            ("successfulJobsHistoryLimit", i64::from(job.successful_jobs_history_limit), 0),
            ("failedJobsHistoryLimit", i64::from(job.failed_jobs_history_limit), 0),
            ("startingDeadlineSeconds", job.starting_deadline_seconds.unwrap_or(0), 0),
            ("backoffLimit", i64::from(job.backoff_limit.unwrap_or(0)), 0),
            ("activeDeadlineSeconds", job.active_deadline_seconds.unwrap_or(1), 1),
        ];
        for (field, v, min) in counts {
            if v < min {
                bad(here.key(field), format!("`{field}` is {v}: it must be {min} or more"), "");
            }
        }
        if let Some(tz) = &job.time_zone {
            let ok = !tz.is_empty()
                && tz.bytes().all(|c| c.is_ascii_alphanumeric() || b"/_+-".contains(&c))
                && !tz.starts_with('/')
                && !tz.ends_with('/');
            if !ok {
                bad(
                    here.key("timeZone"),
                    format!("`{tz}` is not a time zone name"),
                    "use an IANA name such as `Europe/Berlin` or `Etc/UTC`",
                );
            }
        }
    }
    env(&app.env, &at.key("env"), &mut bad);
    resources(app.resources.as_ref(), &at.key("resources"), &mut bad);
    if let Some(rc) = &app.runtime_class_name {
        if !is_dns1123_subdomain(rc) {
            bad(
                at.key("runtimeClassName"),
                format!("`{rc}` is not a valid RuntimeClass name"),
                "a lowercase DNS subdomain, e.g. `nvidia`",
            );
        }
    }
    for (i, s) in app.image_pull_secrets.iter().enumerate() {
        if !is_dns1123_subdomain(s) {
            bad(
                at.key("imagePullSecrets").index(i),
                format!("`{s}` is not a valid Secret name"),
                "a Secret name is a lowercase DNS subdomain",
            );
        }
    }
    for (i, t) in app.tolerations.iter().enumerate() {
        let here = at.key("tolerations").index(i);
        if t.operator == TolerationOperator::Exists && t.value.is_some() {
            bad(
                here.key("value"),
                "an `Exists` toleration has no `value`".into(),
                "drop `value`, or use `operator: \"Equal\"`",
            );
        }
        if t.operator == TolerationOperator::Equal && t.key.is_none() {
            bad(
                here.clone(),
                "an `Equal` toleration needs a `key`".into(),
                "set `key`, or use `operator: \"Exists\"` to tolerate every taint",
            );
        }
        if t.toleration_seconds.is_some() && t.effect != Some(TaintEffect::NoExecute) {
            bad(
                here.key("tolerationSeconds"),
                "`tolerationSeconds` only applies to the `NoExecute` effect".into(),
                "set `effect: \"NoExecute\"`",
            );
        }
    }
    let mut names = BTreeSet::from([cx.name.as_str()]);
    for (list, extras) in [("initContainers", &app.init_containers), ("sidecars", &app.sidecars)] {
        for (i, c) in extras.iter().enumerate() {
            let here = at.key(list).index(i);
            if !is_dns1123_label(&c.name) {
                bad(
                    here.key("name"),
                    format!("`{}` is not a valid container name", c.name),
                    "a container name is a lowercase DNS label",
                );
            } else if !names.insert(c.name.as_str()) {
                bad(
                    here.key("name"),
                    format!("container name `{}` is used twice in the pod", c.name),
                    "the app's own container is named after the app",
                );
            }
            if c.image.is_empty() {
                bad(here.key("image"), "the container has no image".into(), "");
            }
            for (j, v) in c.volumes.iter().enumerate() {
                if !app.volumes.contains_key(v) {
                    bad(
                        here.key("volumes").index(j),
                        format!("the app has no volume `{v}`"),
                        "name one of the app's `volumes`",
                    );
                }
            }
            env(&c.env, &here.key("env"), &mut bad);
            resources(c.resources.as_ref(), &here.key("resources"), &mut bad);
        }
    }
    probes::validate(app, at, problems);
}

fn env(vars: &Env, at: &JsonPath, bad: &mut impl FnMut(JsonPath, String, &str)) {
    for (name, v) in vars {
        let EnvValue::From(from) = v else { continue };
        let here = at.key(name.as_str());
        match from {
            EnvSource::SecretKeyRef(r) | EnvSource::ConfigMapKeyRef(r) => {
                let (field, kind) = match from {
                    EnvSource::SecretKeyRef(_) => ("secretKeyRef", "Secret"),
                    _ => ("configMapKeyRef", "ConfigMap"),
                };
                if !is_dns1123_subdomain(&r.name) {
                    bad(
                        here.key(field).key("name"),
                        format!("`{}` is not a valid {kind} name", r.name),
                        "a lowercase DNS subdomain",
                    );
                }
                let key_ok = !r.key.is_empty()
                    && r.key.len() <= 253
                    && r.key.bytes().all(|c| c.is_ascii_alphanumeric() || b"-._".contains(&c))
                    && r.key != "."
                    && r.key != "..";
                if !key_ok {
                    bad(
                        here.key(field).key("key"),
                        format!("`{}` is not a valid {kind} key", r.key),
                        "letters, digits, `-`, `_` and `.`",
                    );
                }
            }
            EnvSource::FieldRef(f) => {
                let p = f.field_path.as_str();
                let labelled = ["metadata.labels['", "metadata.annotations['"]
                    .iter()
                    .any(|prefix| p.strip_prefix(prefix).is_some_and(|rest| rest.len() > 2 && rest.ends_with("']")));
                if !FIELD_PATHS.contains(&p) && !labelled {
                    bad(
                        here.key("fieldRef").key("fieldPath"),
                        format!("`{p}` is not a pod field the Downward API gives"),
                        "one of metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'], \
                         metadata.annotations['<key>'], spec.nodeName, spec.serviceAccountName, status.hostIP, \
                         status.hostIPs, status.podIP, status.podIPs",
                    );
                }
            }
        }
    }
}

/// Extended resources cannot be overcommitted: a request needs the same limit.
fn resources(r: Option<&Resources>, at: &JsonPath, bad: &mut impl FnMut(JsonPath, String, &str)) {
    let Some(r) = r else { return };
    let limits = r.limits.as_ref().map(|l| &l.extended);
    for (name, n) in r.requests.iter().flat_map(|q| &q.extended) {
        match limits.and_then(|l| l.get(name)) {
            None => bad(
                at.key("requests").key(name),
                format!("`{name}` is requested without a limit"),
                "set it in `limits` (the request then defaults to the limit)",
            ),
            Some(l) if l != n => bad(
                at.key("requests").key(name),
                format!(
                    "`{name}` is requested {n} with a limit of {l}: an extended resource's request equals its limit"
                ),
                "set it in `limits` only",
            ),
            Some(_) => {}
        }
    }
}
