//! A small evaluator of Kubernetes NetworkPolicy semantics, written from the
//! API reference and independent of nixflux's code: it reads rendered
//! objects as plain JSON and answers "may this endpoint open a connection
//! to that one on this port?".
//!
//! What it models (networking.k8s.io/v1):
//! - a pod is isolated for a direction when a policy of its namespace
//!   selects it (`podSelector`) and lists that direction in `policyTypes`
//!   (absent: `Ingress`, plus `Egress` when the policy has egress rules);
//!   an isolated pod admits only what some rule of those policies allows,
//!   a pod that is not isolated admits everything;
//! - a connection needs the source's egress and the destination's ingress;
//! - a rule without `from`/`to` matches every peer, without `ports` every
//!   port; a peer is `podSelector` (the policy's namespace), `namespaceSelector`
//!   (every pod there), both (pods in those namespaces), or `ipBlock`
//!   (`cidr` minus `except`);
//! - selectors with `matchLabels` and `matchExpressions` (In, NotIn, Exists,
//!   DoesNotExist); `{}` selects everything; namespaces carry
//!   `kubernetes.io/metadata.name`;
//! - ports by number (with `endPort`) or by name, a name resolved against the
//!   destination pod's container ports; protocol default TCP;
//! - host-network pods are not subject to policies and appear to others
//!   as their node's address (they match `ipBlock`s, never selectors);
//! - `ipBlock` matches addresses outside the cluster only: pod addresses
//!   are left to the CNI by the API reference, so a pod never matches one.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct Pod {
    /// `<namespace>/<workload>`, how tests name it.
    pub id: String,
    pub namespace: String,
    pub labels: Labels,
    /// (name, port, protocol) of every container port.
    pub ports: Vec<(Option<String>, u16, String)>,
    /// With host networking, the node's address.
    pub host_network: Option<IpAddr>,
}

#[derive(Debug, Clone, Copy)]
pub enum Endpoint<'a> {
    Pod(&'a Pod),
    External(IpAddr),
}

#[derive(Debug, Default)]
pub struct Cluster {
    pub pods: Vec<Pod>,
    namespace_labels: BTreeMap<String, Labels>,
    policies: Vec<Value>,
}

const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"];

fn labels_of(v: Option<&Value>) -> Labels {
    v.and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default()
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str).unwrap_or_default()
}

impl Cluster {
    /// The pods of every workload (one each), the Namespaces' labels and
    /// the NetworkPolicies among `objects`.
    pub fn from_objects(objects: &[Value], node_address: IpAddr) -> Cluster {
        let mut cluster = Cluster::default();
        for o in objects {
            let kind = str_at(o, &["kind"]);
            let namespace = str_at(o, &["metadata", "namespace"]).to_owned();
            match kind {
                "NetworkPolicy" => cluster.policies.push(o.clone()),
                "Namespace" => {
                    let name = str_at(o, &["metadata", "name"]).to_owned();
                    cluster.namespace_labels.insert(name, labels_of(o.pointer("/metadata/labels")));
                }
                k if WORKLOADS.contains(&k) || k == "CronJob" => {
                    let template = if k == "CronJob" { "/spec/jobTemplate/spec/template" } else { "/spec/template" };
                    let Some(t) = o.pointer(template) else { continue };
                    let spec = &t["spec"];
                    let ports = spec["containers"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
                        .map(|p| {
                            let number = p["containerPort"].as_u64().and_then(|n| u16::try_from(n).ok());
                            (
                                p["name"].as_str().map(str::to_owned),
                                number.unwrap_or_default(),
                                p["protocol"].as_str().unwrap_or("TCP").to_owned(),
                            )
                        })
                        .collect();
                    let name = str_at(o, &["metadata", "name"]);
                    cluster.pods.push(Pod {
                        id: format!("{namespace}/{name}"),
                        namespace,
                        labels: labels_of(t.pointer("/metadata/labels")),
                        ports,
                        host_network: (spec["hostNetwork"] == Value::Bool(true)).then_some(node_address),
                    });
                }
                _ => {}
            }
        }
        cluster
    }

    pub fn add_pod(&mut self, pod: Pod) {
        self.pods.push(pod);
    }

    pub fn pod(&self, id: &str) -> &Pod {
        self.pods.iter().find(|p| p.id == id).unwrap_or_else(|| panic!("no pod `{id}` in the bundle"))
    }

    fn namespace_labels(&self, namespace: &str) -> Labels {
        let mut labels = self.namespace_labels.get(namespace).cloned().unwrap_or_default();
        labels.insert("kubernetes.io/metadata.name".into(), namespace.into());
        labels
    }

    /// Whether `from` may connect to `to` on `port`/`protocol`.
    pub fn allows(&self, from: Endpoint, to: Endpoint, port: u16, protocol: &str) -> bool {
        let egress_ok = match from {
            Endpoint::Pod(p) if p.host_network.is_none() => self.admits(p, "Egress", to, to, port, protocol),
            _ => true,
        };
        let ingress_ok = match to {
            Endpoint::Pod(p) if p.host_network.is_none() => self.admits(p, "Ingress", from, to, port, protocol),
            _ => true,
        };
        egress_ok && ingress_ok
    }

    /// Whether the policies isolating `pod` in `direction` admit `peer`
    /// (`dest` resolves named ports).
    fn admits(&self, pod: &Pod, direction: &str, peer: Endpoint, dest: Endpoint, port: u16, protocol: &str) -> bool {
        let (rules_key, peers_key) = if direction == "Ingress" { ("ingress", "from") } else { ("egress", "to") };
        let mut isolated = false;
        for policy in &self.policies {
            if str_at(policy, &["metadata", "namespace"]) != pod.namespace {
                continue;
            }
            let spec = &policy["spec"];
            if !selects(&spec["podSelector"], &pod.labels) {
                continue;
            }
            let types: Vec<&str> = match spec["policyTypes"].as_array() {
                Some(t) => t.iter().filter_map(Value::as_str).collect(),
                None if spec["egress"].is_array() => vec!["Ingress", "Egress"],
                None => vec!["Ingress"],
            };
            if !types.contains(&direction) {
                continue;
            }
            isolated = true;
            for rule in spec[rules_key].as_array().into_iter().flatten() {
                let peers_match = match rule[peers_key].as_array() {
                    None => true,
                    Some(peers) if peers.is_empty() => true,
                    Some(peers) => peers.iter().any(|p| self.peer_matches(p, &pod.namespace, peer)),
                };
                let ports_match = match rule["ports"].as_array() {
                    None => true,
                    Some(ports) if ports.is_empty() => true,
                    Some(ports) => ports.iter().any(|p| port_matches(p, dest, port, protocol)),
                };
                if peers_match && ports_match {
                    return true;
                }
            }
        }
        !isolated
    }

    fn peer_matches(&self, peer: &Value, policy_namespace: &str, endpoint: Endpoint) -> bool {
        if let Some(block) = peer.get("ipBlock") {
            let address = match endpoint {
                Endpoint::External(a) => a,
                Endpoint::Pod(p) => match p.host_network {
                    Some(a) => a,
                    None => return false,
                },
            };
            let cidr = block["cidr"].as_str().unwrap_or_default();
            let excepted =
                block["except"].as_array().into_iter().flatten().any(|e| in_cidr(address, e.as_str().unwrap_or("")));
            return in_cidr(address, cidr) && !excepted;
        }
        let Endpoint::Pod(pod) = endpoint else { return false };
        if pod.host_network.is_some() {
            return false;
        }
        let namespace_ok = match peer.get("namespaceSelector") {
            Some(sel) => selects(sel, &self.namespace_labels(&pod.namespace)),
            None => pod.namespace == policy_namespace,
        };
        let pod_ok = peer.get("podSelector").is_none_or(|sel| selects(sel, &pod.labels));
        namespace_ok && pod_ok
    }
}

/// A label selector against labels; `{}` (or null) selects everything.
pub fn selects(selector: &Value, labels: &Labels) -> bool {
    let by_label = selector["matchLabels"]
        .as_object()
        .into_iter()
        .flatten()
        .all(|(k, v)| labels.get(k).map(String::as_str) == v.as_str());
    let by_expression = selector["matchExpressions"].as_array().into_iter().flatten().all(|e| {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let value = labels.get(key).map(String::as_str);
        match e["operator"].as_str().unwrap_or_default() {
            "In" => value.is_some_and(|v| values.contains(&v)),
            "NotIn" => value.is_none_or(|v| !values.contains(&v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => panic!("unknown selector operator `{other}`"),
        }
    });
    by_label && by_expression
}

fn port_matches(rule_port: &Value, dest: Endpoint, port: u16, protocol: &str) -> bool {
    if rule_port["protocol"].as_str().unwrap_or("TCP") != protocol {
        return false;
    }
    match &rule_port["port"] {
        Value::Null => true,
        Value::Number(n) => {
            let first = n.as_u64().unwrap_or_default();
            let last = rule_port["endPort"].as_u64().unwrap_or(first);
            (first..=last).contains(&u64::from(port))
        }
        Value::String(name) => match dest {
            Endpoint::Pod(p) => p
                .ports
                .iter()
                .any(|(n, number, proto)| n.as_deref() == Some(name.as_str()) && *number == port && proto == protocol),
            Endpoint::External(_) => false,
        },
        other => panic!("a port is a number or a name, not {other}"),
    }
}

pub fn in_cidr(address: IpAddr, cidr: &str) -> bool {
    let (net, prefix) = cidr.split_once('/').unwrap_or_else(|| panic!("bad CIDR `{cidr}`"));
    let net: IpAddr = net.parse().unwrap_or_else(|_| panic!("bad CIDR `{cidr}`"));
    let prefix: u32 = prefix.parse().unwrap_or_else(|_| panic!("bad CIDR `{cidr}`"));
    let (a, n, width) = match (address, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => (u128::from(u32::from(a)), u128::from(u32::from(n)), 32),
        (IpAddr::V6(a), IpAddr::V6(n)) => (u128::from(a), u128::from(n), 128),
        _ => return false,
    };
    let shift = width - prefix;
    shift >= 128 || (a >> shift) == (n >> shift)
}

#[test]
fn evaluator_follows_the_api_reference() {
    use serde_json::json;
    let pod = |id: &str, ns: &str, app: &str| Pod {
        id: id.into(),
        namespace: ns.into(),
        labels: Labels::from([("app".into(), app.into())]),
        ports: vec![(Some("web".into()), 8080, "TCP".into())],
        host_network: None,
    };
    let mut c = Cluster::default();
    for (id, ns, app) in [("a/db", "a", "db"), ("a/web", "a", "web"), ("b/web", "b", "web")] {
        c.add_pod(pod(id, ns, app));
    }
    c.namespace_labels.insert("b".into(), Labels::from([("team".into(), "x".into())]));
    // db admits web of its own namespace on the named port; b's pods may
    // only reach namespaces labelled team=x.
    c.policies.push(json!({ "metadata": { "namespace": "a" }, "spec": {
        "podSelector": { "matchLabels": { "app": "db" } },
        "ingress": [ { "from": [ { "podSelector": { "matchExpressions": [ { "key": "app", "operator": "In", "values": ["web"] } ] } } ],
                       "ports": [ { "port": "web" } ] } ] } }));
    c.policies.push(json!({ "metadata": { "namespace": "b" }, "spec": {
        "podSelector": {}, "policyTypes": ["Egress"],
        "egress": [ { "to": [ { "namespaceSelector": { "matchLabels": { "team": "x" } } } ] },
                    { "to": [ { "ipBlock": { "cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"] } } ], "ports": [ { "port": 400, "endPort": 500 } ] } ] } }));
    let (db, a_web, b_web) =
        (Endpoint::Pod(c.pod("a/db")), Endpoint::Pod(c.pod("a/web")), Endpoint::Pod(c.pod("b/web")));
    let ip = |s: &str| Endpoint::External(s.parse().unwrap());
    assert!(c.allows(a_web, db, 8080, "TCP"));
    assert!(!c.allows(a_web, db, 8080, "UDP"), "protocol");
    assert!(!c.allows(a_web, db, 8081, "TCP"), "the name is 8080 only");
    assert!(!c.allows(b_web, db, 8080, "TCP"), "podSelector alone is the policy's namespace");
    assert!(c.allows(db, a_web, 1, "TCP"), "a web pod is not isolated");
    assert!(c.allows(b_web, b_web, 9, "TCP"), "b is labelled team=x");
    assert!(!c.allows(b_web, a_web, 8080, "TCP"), "a is not");
    assert!(c.allows(b_web, ip("203.0.113.9"), 450, "TCP"));
    assert!(!c.allows(b_web, ip("203.0.113.9"), 501, "TCP"), "endPort");
    assert!(!c.allows(b_web, ip("10.1.2.3"), 450, "TCP"), "except");
    assert!(c.allows(ip("10.1.2.3"), a_web, 80, "TCP"), "nothing isolates a/web");
    assert!(!c.allows(ip("10.1.2.3"), db, 8080, "TCP"), "db admits pods only");
    let mut host = pod("a/host", "a", "web");
    host.host_network = Some("192.168.1.10".parse().unwrap());
    assert!(!c.allows(Endpoint::Pod(&host), db, 8080, "TCP"), "a host-network pod is no pod to a selector");
    assert!(c.allows(db, Endpoint::Pod(&host), 8080, "TCP"), "and no policy isolates it");
    assert!(in_cidr("fd00::1".parse().unwrap(), "fc00::/7") && !in_cidr("fe80::1".parse().unwrap(), "fc00::/7"));
    assert!(in_cidr("1.2.3.4".parse().unwrap(), "0.0.0.0/0") && !in_cidr("1.2.3.4".parse().unwrap(), "::/0"));
}
