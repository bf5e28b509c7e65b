//! The secure defaults and port rules, checked on an app's pod as it
//! finally is (after `podPatch` and `containerPatch`): a patch may tighten
//! anything but relaxes nothing that the app's `security` (or
//! `hostNetwork`, `serviceAccount.automountToken`) does not relax
//! explicitly. Each problem names the patch field that set it when a patch
//! did, else the app field that would allow it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, SecurityContext};

use crate::spec::{JsonPath, Patch, Problem, SeccompProfile};

use super::context::AppContext;

/// Where a setting of the pod came from, for messages.
struct Places<'a> {
    cx: &'a AppContext<'a>,
}

impl Places<'_> {
    /// The patch path of `rest` inside container `name`, if a patch set it.
    fn container(&self, name: &str, rest: &[&str]) -> Option<JsonPath> {
        let app = self.cx.app;
        if let Some(p) = &app.pod_patch {
            for list in ["initContainers", "containers"] {
                let items = p.0.get(list).and_then(|v| v.as_array()).into_iter().flatten();
                for (i, item) in items.enumerate() {
                    if item.get("name").and_then(|n| n.as_str()) == Some(name) {
                        if let Some(path) = find(item, rest, self.cx.at.key("podPatch").key(list).index(i)) {
                            return Some(path);
                        }
                    }
                }
            }
        }
        if name == self.cx.name.as_str() {
            if let Some(Patch(p)) = &app.container_patch {
                return find(&serde_json::Value::Object(p.clone()), rest, self.cx.at.key("containerPatch"));
            }
        }
        None
    }

    fn pod(&self, rest: &[&str]) -> Option<JsonPath> {
        let Patch(p) = self.cx.app.pod_patch.as_ref()?;
        find(&serde_json::Value::Object(p.clone()), rest, self.cx.at.key("podPatch"))
    }

    fn or_app(&self, found: Option<JsonPath>, field: &str) -> JsonPath {
        found.unwrap_or_else(|| self.cx.at.key(field))
    }
}

/// The path of `rest` in `v`, the longest prefix that exists.
fn find(v: &serde_json::Value, rest: &[&str], at: JsonPath) -> Option<JsonPath> {
    let (first, tail) = rest.split_first()?;
    let next = v.get(*first)?;
    Some(find(next, tail, at.key(first)).unwrap_or_else(|| at.key(first)))
}

pub fn check(cx: &AppContext, pod: &PodSpec, problems: &mut Vec<Problem>) {
    let places = Places { cx };
    let app = cx.app;
    let sec = &app.security;
    let mut refuse = |path: JsonPath, msg: String, hint: &str| problems.push(Problem::new(path, msg).with_hint(hint));

    let containers = pod.init_containers.iter().flatten().chain(&pod.containers);
    for c in containers.clone() {
        check_container(&places, c, &mut refuse);
    }

    let psc = pod.security_context.as_ref();
    let seccomp = psc.and_then(|s| s.seccomp_profile.as_ref()).map(|s| s.type_.as_str());
    if sec.seccomp_profile == SeccompProfile::RuntimeDefault && !matches!(seccomp, Some("RuntimeDefault" | "Localhost"))
    {
        refuse(
            places.or_app(places.pod(&["securityContext", "seccompProfile"]), "security"),
            format!("the pod's seccomp profile is {}", seccomp.unwrap_or("not set")),
            "set `security.seccompProfile: \"Unconfined\"` if the app needs it",
        );
    }
    if psc.and_then(|s| s.run_as_user) == Some(0) && sec.run_as_user != Some(0) {
        refuse(
            places.or_app(places.pod(&["securityContext", "runAsUser"]), "security"),
            "the pod runs as root (`runAsUser: 0`)".into(),
            "set `security.runAsUser: 0` if the app must run as root",
        );
    }
    if psc.and_then(|s| s.run_as_non_root) == Some(false) && sec.run_as_non_root != Some(false) {
        refuse(
            places.or_app(places.pod(&["securityContext", "runAsNonRoot"]), "security"),
            "the pod sets `runAsNonRoot: false`".into(),
            "set `security.runAsNonRoot: false` if the app must run as root",
        );
    }
    if pod.host_network == Some(true) && !app.host_network {
        refuse(
            places.or_app(places.pod(&["hostNetwork"]), "hostNetwork"),
            "the pod uses the host network, but the app does not say `hostNetwork: true`".into(),
            "set `hostNetwork: true` on the app (`check` then reports that no NetworkPolicy applies to it)",
        );
    }
    for (field, on) in [("hostPID", pod.host_pid), ("hostIPC", pod.host_ipc)] {
        if on == Some(true) {
            refuse(
                places.or_app(places.pod(&[field]), "podPatch"),
                format!("the pod shares the node's {} namespace", if field == "hostPID" { "process" } else { "IPC" }),
                "nixflux apps never do; write the workload as a raw object in `objects` if it must",
            );
        }
    }
    if pod.automount_service_account_token != Some(false) && !app.service_account.automount_token {
        refuse(
            places.or_app(places.pod(&["automountServiceAccountToken"]), "serviceAccount"),
            "the pod mounts its ServiceAccount token".into(),
            "set `serviceAccount.automountToken: true` if the app talks to the Kubernetes API",
        );
    }
    check_ports(&places, pod, problems);
}

fn check_container(places: &Places, c: &Container, refuse: &mut impl FnMut(JsonPath, String, &str)) {
    let sec = &places.cx.app.security;
    let name = c.name.as_str();
    let default = SecurityContext::default();
    let sc = c.security_context.as_ref().unwrap_or(&default);
    let at = |rest: &[&str]| {
        let mut full = vec!["securityContext"];
        full.extend_from_slice(rest);
        places.or_app(places.container(name, &full), "security")
    };
    if sc.privileged == Some(true) && !sec.privileged {
        refuse(
            at(&["privileged"]),
            format!("container `{name}` runs privileged"),
            "set `security.privileged: true` if it must",
        );
    }
    if sc.allow_privilege_escalation != Some(false) && !(sec.allow_privilege_escalation || sec.privileged) {
        refuse(
            at(&["allowPrivilegeEscalation"]),
            format!("container `{name}` allows privilege escalation"),
            "set `security.allowPrivilegeEscalation: true` if it must",
        );
    }
    let caps = sc.capabilities.as_ref();
    if !caps.and_then(|c| c.drop.as_ref()).is_some_and(|d| d.iter().any(|d| d == "ALL")) {
        refuse(
            at(&["capabilities", "drop"]),
            format!("container `{name}` does not drop all capabilities"),
            "keep `drop: [\"ALL\"]` and add back what the app needs with `security.addCapabilities`",
        );
    }
    for cap in caps.and_then(|c| c.add.as_ref()).into_iter().flatten() {
        if !sec.add_capabilities.iter().any(|a| a == cap) {
            refuse(
                at(&["capabilities", "add"]),
                format!("container `{name}` adds the capability `{cap}`"),
                "list it in `security.addCapabilities` if the app needs it",
            );
        }
    }
    if sc.run_as_user == Some(0) && sec.run_as_user != Some(0) {
        refuse(
            at(&["runAsUser"]),
            format!("container `{name}` runs as root (`runAsUser: 0`)"),
            "set `security.runAsUser: 0` if it must",
        );
    }
    if sc.run_as_non_root == Some(false) && sec.run_as_non_root != Some(false) {
        refuse(
            at(&["runAsNonRoot"]),
            format!("container `{name}` sets `runAsNonRoot: false`"),
            "set `security.runAsNonRoot: false` if it must",
        );
    }
    if sc.seccomp_profile.as_ref().is_some_and(|s| s.type_ == "Unconfined")
        && sec.seccomp_profile != SeccompProfile::Unconfined
    {
        refuse(
            at(&["seccompProfile"]),
            format!("container `{name}` runs without seccomp (`Unconfined`)"),
            "set `security.seccompProfile: \"Unconfined\"` if it must",
        );
    }
    if sec.read_only_root_filesystem && sc.read_only_root_filesystem != Some(true) {
        refuse(
            at(&["readOnlyRootFilesystem"]),
            format!("container `{name}` writes its root filesystem, but `security.readOnlyRootFilesystem` is set"),
            "drop the patch's `readOnlyRootFilesystem`, or `security.readOnlyRootFilesystem`",
        );
    }
    for e in c.env.iter().flatten().filter(|e| e.value.is_some() && e.value_from.is_some()) {
        refuse(
            places.or_app(places.container(name, &["env"]), "env"),
            format!("variable `{}` of container `{name}` has both `value` and `valueFrom`", e.name),
            "a patch that replaces a reference with a value sets `valueFrom: null` beside `value`",
        );
    }
    if sc.proc_mount.as_deref() == Some("Unmasked") {
        refuse(
            at(&["procMount"]),
            format!("container `{name}` unmasks /proc"),
            "nixflux apps never do; use a raw object if it must",
        );
    }
}

/// Ports of every container of the pod: one container port per number and
/// protocol, one port name, and with the host network hostPort = port.
fn check_ports(places: &Places, pod: &PodSpec, problems: &mut Vec<Problem>) {
    let mut numbers: BTreeMap<(i32, String), &str> = BTreeMap::new();
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    // Plain init containers run before the others: their ports do not clash.
    let sidecars = pod.init_containers.iter().flatten().filter(|c| c.restart_policy.as_deref() == Some("Always"));
    for c in sidecars.chain(&pod.containers) {
        // The app's own ports are checked with the app's fields; a clash
        // inside one container is new only when a patch set its ports.
        let patched = places.container(&c.name, &["ports"]);
        let clash = |other: &str| other != c.name || patched.is_some();
        let at = places.or_app(patched.clone(), "extraPorts");
        for p in c.ports.iter().flatten() {
            let proto = p.protocol.clone().unwrap_or_else(|| "TCP".into());
            if let Some(other) = numbers.insert((p.container_port, proto.clone()), &c.name).filter(|o| clash(o)) {
                problems.push(Problem::new(
                    at.clone(),
                    format!(
                        "container port {}/{proto} of `{}` is already opened by container `{other}`",
                        p.container_port, c.name
                    ),
                ));
            }
            if let Some(name) = &p.name {
                if let Some(other) = names.insert(name, &c.name).filter(|o| clash(o)) {
                    problems.push(Problem::new(
                        at.clone(),
                        format!("port name `{name}` of container `{}` is already used by container `{other}`", c.name),
                    ));
                }
            }
            if pod.host_network == Some(true) && p.host_port.is_some_and(|h| h != p.container_port) {
                problems.push(
                    Problem::new(
                        at.clone(),
                        format!(
                            "container `{}` maps host port {} to {} on the host network",
                            c.name,
                            p.host_port.unwrap_or_default(),
                            p.container_port
                        ),
                    )
                    .with_hint(
                        "on the host network a container port is the host port: drop `hostPort` or make it equal",
                    ),
                );
            }
        }
    }
}
