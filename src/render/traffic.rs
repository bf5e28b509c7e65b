//! Traffic between apps: every app's `networkPolicy.allowFrom` and
//! `allowTo`, checked once for the whole spec and turned into the extra
//! NetworkPolicy rules of each app. A connection between two apps is allowed
//! on both ends, whichever of them declared it: the client gets egress to
//! the server's pods on the server's ports, the server ingress from the
//! client's pods. Peers that are not apps (pods of a namespace, an address
//! range) add a rule on the declaring app only.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::spec::names::AppName;
use crate::spec::problem::nearest;
use crate::spec::{App, JsonPath, Problem, Protocol, Spec, TrafficPeer, TrafficPort};

use super::context::{to_strings, HTTP_PORT, NAME_LABEL};

/// The peer that selects every pod of `namespace`.
pub fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("kubernetes.io/metadata.name".into(), namespace.into())])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn port(p: IntOrString, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort { port: Some(p), protocol: Some(protocol.into()), end_port: None }
}

/// One port an app's container opens, and the Service port in front of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPort {
    pub name: String,
    pub container: u16,
    pub service: u16,
    pub protocol: Protocol,
}

/// Every port `app` opens: `http` for `port`, then its `extraPorts`.
pub fn app_ports(app: &App) -> Vec<AppPort> {
    let mut out = Vec::new();
    if let Some(p) = app.port {
        out.push(AppPort {
            name: HTTP_PORT.into(),
            container: p.0,
            service: app.service_port.0,
            protocol: Protocol::Tcp,
        });
    }
    for (name, p) in &app.extra_ports {
        out.push(AppPort {
            name: name.to_string(),
            container: p.port.0,
            service: p.service_port.unwrap_or(p.port).0,
            protocol: p.protocol,
        });
    }
    out
}

/// The namespace an app's objects go into.
pub fn app_namespace(name: &AppName, app: &App) -> String {
    app.namespace.as_ref().map_or_else(|| name.to_string(), |n| n.to_string())
}

/// The peer that selects an app's pods from any namespace.
fn app_peer(name: &AppName, app: &App) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(NAME_LABEL.to_owned(), name.to_string())])),
            ..Default::default()
        }),
        ..namespace_peer(&app_namespace(name, app))
    }
}

/// A (port, protocol) of the listening app, as a NetworkPolicy sees it.
type Listening = BTreeSet<(u16, &'static str)>;

/// The extra rules of every app, from all apps' `allowFrom` and `allowTo`.
#[derive(Debug, Default)]
pub struct Traffic {
    ingress: BTreeMap<AppName, Vec<NetworkPolicyIngressRule>>,
    egress: BTreeMap<AppName, Vec<NetworkPolicyEgressRule>>,
}

impl Traffic {
    pub fn ingress(&self, app: &AppName) -> &[NetworkPolicyIngressRule] {
        self.ingress.get(app).map_or(&[], Vec::as_slice)
    }

    pub fn egress(&self, app: &AppName) -> &[NetworkPolicyEgressRule] {
        self.egress.get(app).map_or(&[], Vec::as_slice)
    }

    pub fn new(spec: &Spec, problems: &mut Vec<Problem>) -> Self {
        // (client, server) -> the server's ports; both directions merge here.
        let mut edges: BTreeMap<(&AppName, &AppName), (&App, &App, Listening)> = BTreeMap::new();
        let mut out = Traffic::default();
        for (name, app) in spec.apps.iter().filter(|(_, a)| a.enable) {
            let at = JsonPath::root().key("apps").key(name.as_str()).key("networkPolicy");
            for (field, peers) in
                [("allowFrom", &app.network_policy.allow_from), ("allowTo", &app.network_policy.allow_to)]
            {
                if peers.is_empty() {
                    continue;
                }
                if app.image.is_none() {
                    problems.push(
                        Problem::new(at.key(field), format!("`{field}` is set but the app has no `image`"))
                            .with_hint("nixflux only knows the pods of apps with an `image`: write the NetworkPolicy into the app's `objects`"),
                    );
                    continue;
                }
                let from = field == "allowFrom";
                for (i, peer) in peers.iter().enumerate() {
                    let here = at.key(field).index(i);
                    match classify(spec, peer, &app_namespace(name, app), &here) {
                        Err(p) => problems.push(p),
                        Ok(Kind::DisabledApp) => {}
                        Ok(Kind::App(other_name, other)) => {
                            let ((client, client_app), (server, server_app)) = if from {
                                ((other_name, other), (name, app))
                            } else {
                                ((name, app), (other_name, other))
                            };
                            match listening(server, server_app, peer.ports.as_deref(), &here) {
                                Ok(ports) => edges
                                    .entry((client, server))
                                    .or_insert_with(|| (client_app, server_app, Listening::new()))
                                    .2
                                    .extend(ports),
                                Err(p) => problems.push(p),
                            }
                        }
                        Ok(Kind::Other(policy_peer)) => {
                            let ports = if from {
                                listening(name, app, peer.ports.as_deref(), &here).map(|l| Some(numbered(&l)))
                            } else {
                                remote_ports(peer.ports.as_deref(), &here)
                            };
                            match ports {
                                Err(p) => problems.push(p),
                                Ok(ports) if from => out
                                    .ingress
                                    .entry(name.clone())
                                    .or_default()
                                    .push(NetworkPolicyIngressRule { from: Some(vec![policy_peer]), ports }),
                                Ok(ports) => out
                                    .egress
                                    .entry(name.clone())
                                    .or_default()
                                    .push(NetworkPolicyEgressRule { to: Some(vec![policy_peer]), ports }),
                            }
                        }
                    }
                }
            }
        }
        // App-to-app rules come first, in app order, then the other peers in spec order.
        let (mut ingress, mut egress) = (BTreeMap::<AppName, Vec<_>>::new(), BTreeMap::<AppName, Vec<_>>::new());
        for ((client, server), (client_app, server_app, ports)) in &edges {
            let ports = Some(numbered(ports));
            egress
                .entry((*client).clone())
                .or_default()
                .push(NetworkPolicyEgressRule { to: Some(vec![app_peer(server, server_app)]), ports: ports.clone() });
            ingress
                .entry((*server).clone())
                .or_default()
                .push(NetworkPolicyIngressRule { from: Some(vec![app_peer(client, client_app)]), ports });
        }
        for (app, rules) in std::mem::take(&mut out.ingress) {
            ingress.entry(app).or_default().extend(rules);
        }
        for (app, rules) in std::mem::take(&mut out.egress) {
            egress.entry(app).or_default().extend(rules);
        }
        Traffic { ingress, egress }
    }
}

enum Kind<'a> {
    App(&'a AppName, &'a App),
    DisabledApp,
    Other(NetworkPolicyPeer),
}

/// Which of the three kinds of peer this is, checked.
fn classify<'a>(spec: &'a Spec, peer: &TrafficPeer, own_namespace: &str, at: &JsonPath) -> Result<Kind<'a>, Problem> {
    let selects_pods = peer.namespace.is_some() || peer.pod_labels.is_some();
    let kinds = [peer.app.is_some(), peer.cidr.is_some(), selects_pods].iter().filter(|k| **k).count();
    if kinds != 1 {
        return Err(Problem::new(
            at.clone(),
            "a peer is exactly one of an `app`, a `cidr`, or pods by `namespace` and/or `podLabels`",
        )
        .with_hint(
            r#"for example `{ "app": "web" }`, `{ "cidr": "192.168.1.0/24" }` or `{ "namespace": "monitoring" }`"#,
        ));
    }
    if !peer.except.is_empty() && peer.cidr.is_none() {
        return Err(Problem::new(at.key("except"), "`except` leaves ranges out of a `cidr`, but the peer has none"));
    }
    if let Some(name) = &peer.app {
        let Some((name, app)) = spec.apps.get_key_value(name) else {
            let known: Vec<&str> = spec.apps.keys().map(AppName::as_str).collect();
            let hint = match nearest(name.as_str(), &known) {
                Some(n) => format!("did you mean `{n}`?"),
                None => "name an app of `apps`, or select its pods with `namespace` and `podLabels`".to_owned(),
            };
            return Err(Problem::new(at.key("app"), format!("there is no app `{name}`")).with_hint(hint));
        };
        if !app.enable {
            return Ok(Kind::DisabledApp);
        }
        if app.image.is_none() {
            return Err(Problem::new(
                at.key("app"),
                format!("app `{name}` has no `image`, so nixflux does not know its pods"),
            )
            .with_hint("select its pods with `namespace` and `podLabels`"));
        }
        return Ok(Kind::App(name, app));
    }
    if let Some(cidr) = &peer.cidr {
        for (i, e) in peer.except.iter().enumerate() {
            if !cidr.strictly_contains(e) {
                return Err(Problem::new(at.key("except").index(i), format!("`{e}` is not a range inside `{cidr}`"))
                    .with_hint("each `except` range must be a smaller range within `cidr`"));
            }
        }
        return Ok(Kind::Other(NetworkPolicyPeer {
            ip_block: Some(IPBlock {
                cidr: cidr.to_string(),
                except: (!peer.except.is_empty()).then(|| peer.except.iter().map(ToString::to_string).collect()),
            }),
            ..Default::default()
        }));
    }
    // `podLabels` alone: the declaring app's own namespace.
    let namespace = peer.namespace.as_ref().map_or(own_namespace, |n| n.as_str());
    Ok(Kind::Other(NetworkPolicyPeer {
        pod_selector: Some(LabelSelector {
            match_labels: Some(peer.pod_labels.as_ref().map(to_strings).unwrap_or_default()),
            ..Default::default()
        }),
        ..namespace_peer(namespace)
    }))
}

/// The ports of `server` that `ports` name (all of them when `None`).
fn listening(server: &AppName, app: &App, ports: Option<&[TrafficPort]>, at: &JsonPath) -> Result<Listening, Problem> {
    let opened = app_ports(app);
    if opened.is_empty() {
        return Err(Problem::new(at.clone(), format!("app `{server}` opens no ports"))
            .with_hint(format!("set `port` or `extraPorts` on `{server}`")));
    }
    let Some(ports) = ports else {
        return Ok(opened.iter().map(|p| (p.container, p.protocol.as_str())).collect());
    };
    let names = || opened.iter().map(|p| format!("`{}`", p.name)).collect::<Vec<_>>().join(", ");
    let mut out = Listening::new();
    for (i, p) in ports.iter().enumerate() {
        let here = at.key("ports").index(i);
        match p {
            TrafficPort::Named(name) => match opened.iter().find(|o| o.name == name.as_str()) {
                Some(o) => {
                    out.insert((o.container, o.protocol.as_str()));
                }
                None => {
                    return Err(Problem::new(here, format!("app `{server}` has no port named `{name}`"))
                        .with_hint(format!("its ports are {}", names())))
                }
            },
            TrafficPort::Number { port, protocol, end_port } => {
                let last = end_port.unwrap_or(*port);
                let hits: Vec<&AppPort> = opened
                    .iter()
                    .filter(|o| o.protocol == *protocol && (port.0..=last.0).contains(&o.container))
                    .collect();
                if hits.is_empty() {
                    let service = opened.iter().find(|o| o.service == port.0 && o.protocol == *protocol);
                    let hint = match service {
                        Some(o) => format!("{} is the Service port in front of `{}`; a NetworkPolicy sees the container port, {} (or write the port's name, `{}`)", port.0, o.name, o.container, o.name),
                        None => format!("its ports are {}", names()),
                    };
                    return Err(Problem::new(
                        here,
                        format!("app `{server}` opens no container port {}/{}", port.0, protocol.as_str()),
                    )
                    .with_hint(hint));
                }
                out.extend(hits.iter().map(|o| (o.container, o.protocol.as_str())));
            }
        }
    }
    Ok(out)
}

/// Ports on a peer that is not an app: numbers only (nothing says what a name means there).
fn remote_ports(ports: Option<&[TrafficPort]>, at: &JsonPath) -> Result<Option<Vec<NetworkPolicyPort>>, Problem> {
    let Some(ports) = ports else { return Ok(None) };
    let mut out = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        match p {
            TrafficPort::Named(name) => {
                return Err(Problem::new(
                    at.key("ports").index(i),
                    format!("port name `{name}` means nothing here: the peer is not an app"),
                )
                .with_hint("give the port number, e.g. `5432` or `{ \"port\": 1883, \"protocol\": \"TCP\" }`"))
            }
            TrafficPort::Number { port, protocol, end_port } => {
                if end_port.is_some_and(|e| e.0 < port.0) {
                    return Err(Problem::new(
                        at.key("ports").index(i).key("endPort"),
                        format!("`endPort` {} is below `port` {}", end_port.map_or(0, |e| e.0), port.0),
                    ));
                }
                out.push(NetworkPolicyPort {
                    port: Some(IntOrString::Int(i32::from(port.0))),
                    protocol: Some(protocol.as_str().into()),
                    end_port: end_port.map(|e| i32::from(e.0)),
                });
            }
        }
    }
    Ok(Some(out))
}

fn numbered(ports: &Listening) -> Vec<NetworkPolicyPort> {
    ports
        .iter()
        .map(|(p, proto)| NetworkPolicyPort {
            port: Some(IntOrString::Int(i32::from(*p))),
            protocol: Some((*proto).into()),
            end_port: None,
        })
        .collect()
}
