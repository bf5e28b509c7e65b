//! Warnings for traffic the bundle's NetworkPolicies would drop: an app
//! whose environment names another app's Service (`name.namespace.svc`,
//! `name.namespace`, `name:port` in its own namespace, or exactly `name`
//! in a variable named like a host)
//! that the policies do not let it reach. A warning, not an error: the
//! name may be meant for something else, or reached another way.
//!
//! The policies are read as rendered (the apps' and any raw ones), for the
//! apps' own pods only: selectors, namespaces, policy types, ports by
//! number or name. Address blocks never match a pod here, with one
//! exception: a pod on the host network is its node's address, which the
//! bundle does not know, so any address block may be it (and selectors
//! never are); its own policies do not apply to it.
//!
//! The values looked at are the `env` of the app's container and of its
//! init containers and sidecars.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::networking::v1::{NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::object::Body;
use crate::spec::names::AppName;
use crate::spec::{App, JsonPath, Problem, Spec};

use super::context::AppContext;
use super::manifest::Group;
use super::traffic::{app_ports, AppPort};

type Labels = BTreeMap<String, String>;

/// An app's pods, as the policies see them.
struct Pods<'a> {
    name: &'a AppName,
    namespace: String,
    labels: Labels,
    ports: Vec<AppPort>,
    host_network: bool,
}

/// A Service of another app that an environment value names, and the port
/// it names (none: any of the Service's ports).
struct Reference<'a> {
    app: &'a AppName,
    port: Option<AppPort>,
}

/// The apps' Services by (name, namespace).
type ServiceIndex<'a, 'p> = HashMap<(&'a str, &'p str), (&'a AppName, &'p Pods<'a>)>;

pub fn warnings(spec: &Spec, groups: &[Group]) -> Vec<Problem> {
    let apps: BTreeMap<&AppName, (&App, Pods)> = spec
        .apps
        .iter()
        .filter(|(_, a)| a.enable && a.image.is_some())
        .map(|(name, app)| {
            let cx = AppContext::new(spec, name, app);
            let pods = Pods {
                name,
                namespace: cx.namespace.clone(),
                labels: cx.labels(),
                ports: app_ports(app),
                host_network: app.host_network,
            };
            (name, (app, pods))
        })
        .collect();
    let manifests = || groups.iter().flat_map(|g| &g.manifests);
    // By namespace: a policy only isolates pods of its own namespace, and
    // every look-up is for one namespace (linear in the bundle, not quadratic).
    let mut policies: HashMap<&str, Vec<&NetworkPolicy>> = HashMap::new();
    for m in manifests() {
        if let Body::NetworkPolicy(p) = &m.body {
            if let Some(ns) = p.metadata.namespace.as_deref() {
                policies.entry(ns).or_default().push(&**p);
            }
        }
    }
    let mut namespace_labels: BTreeMap<&str, Labels> = BTreeMap::new();
    for m in manifests() {
        if let Body::Namespace(ns) = &m.body {
            namespace_labels.insert(m.name(), ns.metadata.labels.clone().unwrap_or_default());
        }
    }
    let net = Net { policies, namespace_labels };
    let by_service: ServiceIndex =
        apps.iter().map(|(n, (_, p))| ((n.as_str(), p.namespace.as_str()), (*n, p))).collect();
    let mut out = Vec::new();
    for (client, pods) in apps.values() {
        let app_path = JsonPath::root().key("apps").key(pods.name.as_str());
        let mut envs = vec![(app_path.clone(), &client.env)];
        for (field, containers) in [("initContainers", &client.init_containers), ("sidecars", &client.sidecars)] {
            envs.extend(containers.iter().enumerate().map(|(i, c)| (app_path.key(field).index(i), &c.env)));
        }
        let values = envs
            .into_iter()
            .flat_map(|(at, env)| env.iter().map(move |(var, v)| (at.key("env").key(var.as_str()), var, v)));
        for (at, var, value) in values {
            // Only literal values can name a Service; references are resolved by Kubernetes.
            let crate::spec::pod::EnvValue::Value(value) = value else { continue };
            for r in references(var.as_str(), value, &pods.namespace, &by_service) {
                let Some((_, server)) = apps.get(r.app).filter(|_| r.app != pods.name) else { continue };
                let ports: Vec<&AppPort> = match &r.port {
                    Some(p) => vec![p],
                    None => server.ports.iter().collect(),
                };
                let blocked: Vec<(bool, bool)> = ports.iter().map(|p| net.blocks(pods, server, p)).collect();
                if ports.is_empty() || blocked.iter().any(|(e, i)| !e && !i) {
                    continue;
                }
                let (egress, ingress) = (blocked.iter().any(|b| b.0), blocked.iter().any(|b| b.1));
                let why = match (egress, ingress) {
                    (true, true) => {
                        format!("neither the egress of `{}` nor the ingress of `{}` allows it", pods.name, r.app)
                    }
                    (true, false) => format!("the egress of `{}` does not allow it", pods.name),
                    _ => format!("the ingress of `{}` does not admit `{}`", r.app, pods.name),
                };
                let port = match &r.port {
                    Some(p) => format!(" (port {}, container port {}/{})", p.service, p.container, p.protocol.as_str()),
                    None => String::new(),
                };
                let hint = if pods.host_network {
                    format!(
                        "`{}` uses the host network, so it connects from its node's address: add `{{ \"cidr\": ... }}` with the nodes' addresses to `apps.{}.networkPolicy.allowFrom`",
                        pods.name, r.app
                    )
                } else {
                    format!(
                        "add `{{ \"app\": \"{}\" }}` to `apps.{}.networkPolicy.allowTo` (or `{{ \"app\": \"{}\" }}` to `apps.{}.networkPolicy.allowFrom`)",
                        r.app, pods.name, pods.name, r.app
                    )
                };
                out.push(
                    Problem::new(
                        at.clone(),
                        format!("`{value}` names the Service of app `{}`{port}, but {why}", r.app),
                    )
                    .with_hint(hint),
                );
            }
        }
    }
    out
}

/// Whether the variable `var` holds a host name by its name: it ends in
/// `HOST`, `HOSTNAME`, `SERVER`, `ADDR` or `ADDRESS` (`DB_HOST`, `PGHOST`,
/// `MQTT_SERVER`), in any case. A bare name counts as a
/// Service only there: `POSTGRES_DB=immich` names a database, not the
/// Service of app `immich`.
fn names_a_host(var: &str) -> bool {
    let var = var.to_ascii_uppercase();
    ["HOST", "HOSTNAME", "SERVER", "ADDR", "ADDRESS"].iter().any(|w| var.ends_with(w))
}

/// The other apps' Services that `value` (of variable `var`) names, seen from `namespace`.
fn references<'a>(var: &str, value: &str, namespace: &str, by_service: &ServiceIndex<'a, '_>) -> Vec<Reference<'a>> {
    let find = |name: &str, ns: &str| by_service.get(&(name, ns)).copied();
    let mut out = Vec::new();
    let tokens = value.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':')));
    for token in tokens.filter(|t| !t.is_empty()) {
        let (host, port) = match token.rsplit_once(':') {
            Some((h, p)) => match p.parse::<u16>() {
                Ok(p) => (h, Some(p)),
                Err(_) => continue,
            },
            None => (token, None),
        };
        let host = host.trim_end_matches('.');
        let host = host.strip_suffix(".cluster.local").unwrap_or(host);
        let (host, svc) = match host.strip_suffix(".svc") {
            Some(h) => (h, true),
            None => (host, false),
        };
        let found = match host.split('.').collect::<Vec<_>>().as_slice() {
            [name, ns] => find(name, ns),
            // A short name: only with a port, or as the whole value of a host variable.
            [name] if !svc && (port.is_some() || (value == *name && names_a_host(var))) => find(name, namespace),
            _ => None,
        };
        let Some((name, pods)) = found else { continue };
        let port = match port {
            None => None,
            Some(n) => match pods.ports.iter().find(|p| p.service == n) {
                Some(p) => Some(p.clone()),
                None => continue, // not a port of its Service: not ours to judge
            },
        };
        out.push(Reference { app: name, port });
    }
    out
}

/// A rule's peers and ports, whichever its direction.
type Rule<'r> = (Option<&'r Vec<NetworkPolicyPeer>>, Option<&'r Vec<NetworkPolicyPort>>);

struct Net<'a> {
    policies: HashMap<&'a str, Vec<&'a NetworkPolicy>>,
    namespace_labels: BTreeMap<&'a str, Labels>,
}

impl Net<'_> {
    /// Whether (egress of `client`, ingress of `server`) drop a connection to `port`.
    /// A pod on the host network is outside its own policies.
    fn blocks(&self, client: &Pods, server: &Pods, port: &AppPort) -> (bool, bool) {
        let egress = !client.host_network && !self.admits(client, false, server, server, port);
        let ingress = !server.host_network && !self.admits(server, true, client, server, port);
        (egress, ingress)
    }

    /// Whether the policies isolating `pod` in one direction admit `peer`.
    fn admits(&self, pod: &Pods, ingress: bool, peer: &Pods, server: &Pods, port: &AppPort) -> bool {
        let mut isolated = false;
        for policy in self.policies.get(pod.namespace.as_str()).into_iter().flatten() {
            let Some(spec) = &policy.spec else { continue };
            if !selects(spec.pod_selector.as_ref(), &pod.labels) {
                continue;
            }
            let direction = if ingress { "Ingress" } else { "Egress" };
            let applies = match &spec.policy_types {
                Some(types) => types.iter().any(|t| t == direction),
                None => ingress || spec.egress.is_some(),
            };
            if !applies {
                continue;
            }
            isolated = true;
            let ns = pod.namespace.as_str();
            let rules: Vec<Rule> = if ingress {
                spec.ingress.iter().flatten().map(|r| (r.from.as_ref(), r.ports.as_ref())).collect()
            } else {
                spec.egress.iter().flatten().map(|r| (r.to.as_ref(), r.ports.as_ref())).collect()
            };
            let hit = rules.iter().any(|(peers, ports)| {
                let peer_ok = peers.is_none_or(|ps| ps.is_empty() || ps.iter().any(|p| self.peer_matches(p, ns, peer)));
                let port_ok = ports.is_none_or(|ps| ps.is_empty() || ps.iter().any(|p| port_matches(p, server, port)));
                peer_ok && port_ok
            });
            if hit {
                return true;
            }
        }
        !isolated
    }

    fn peer_matches(&self, peer: &NetworkPolicyPeer, policy_namespace: &str, pods: &Pods) -> bool {
        if peer.ip_block.is_some() || pods.host_network {
            // The node's address is unknown here: any block may hold it.
            return peer.ip_block.is_some() && pods.host_network;
        }
        let namespace_ok = match &peer.namespace_selector {
            Some(sel) => {
                let mut labels = self.namespace_labels.get(pods.namespace.as_str()).cloned().unwrap_or_default();
                labels.insert("kubernetes.io/metadata.name".into(), pods.namespace.clone());
                selects(Some(sel), &labels)
            }
            None => pods.namespace == policy_namespace,
        };
        namespace_ok && peer.pod_selector.as_ref().is_none_or(|sel| selects(Some(sel), &pods.labels))
    }
}

fn port_matches(rule: &NetworkPolicyPort, server: &Pods, port: &AppPort) -> bool {
    if rule.protocol.as_deref().unwrap_or("TCP") != port.protocol.as_str() {
        return false;
    }
    match &rule.port {
        None => true,
        Some(IntOrString::Int(n)) => (*n..=rule.end_port.unwrap_or(*n)).contains(&i32::from(port.container)),
        Some(IntOrString::String(name)) => {
            server.ports.iter().any(|p| p.name == *name && p.container == port.container)
        }
    }
}

fn selects(selector: Option<&LabelSelector>, labels: &Labels) -> bool {
    let Some(sel) = selector else { return true };
    let by_label = sel.match_labels.iter().flatten().all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = sel.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let listed = |v: &String| e.values.iter().flatten().any(|x| x == v);
        match e.operator.as_str() {
            "In" => value.is_some_and(listed),
            "NotIn" => value.is_none_or(|v| !listed(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}
