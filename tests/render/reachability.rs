//! Which apps of the example can talk to which, computed from the rendered
//! NetworkPolicies alone (`netpol.rs` evaluates them): the connections the
//! example declares work, and nothing else between its apps does (the blog
//! does not reach the photos' database, only `ledger-api` reaches
//! `ledger-rates`, only `open-webui` reaches `ollama`).

use std::collections::BTreeSet;
use std::net::IpAddr;

use super::netpol::{Cluster, Endpoint, Labels, Pod};
use crate::common::{nixflux, run_ok, yaml_documents};

const NODE: &str = "192.168.1.10";
const LAN_DEVICE: &str = "192.168.1.50";
const INTERNET: &str = "203.0.113.7";

fn pod(id: &str, labels: &[(&str, &str)], ports: &[(&str, u16, &str)]) -> Pod {
    let (namespace, _) = id.split_once('/').unwrap();
    Pod {
        id: id.into(),
        namespace: namespace.into(),
        labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Labels>(),
        ports: ports.iter().map(|(n, p, proto)| (Some(n.to_string()), *p, proto.to_string())).collect(),
        host_network: None,
    }
}

/// The example's bundle, plus the pods the cluster and the operators bring:
/// Traefik and CoreDNS in kube-system, an instance of the shared CloudNativePG Cluster `pg`.
fn example_cluster() -> Cluster {
    let out = run_ok(nixflux().args(["render", "--example"]));
    let objects = yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let mut cluster = Cluster::from_objects(&objects, NODE.parse().unwrap());
    cluster.add_pod(pod("kube-system/traefik", &[("app.kubernetes.io/name", "traefik")], &[("web", 8000, "TCP")]));
    cluster.add_pod(pod(
        "kube-system/coredns",
        &[("k8s-app", "kube-dns")],
        &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
    ));
    cluster.add_pod(pod("databases/pg-1", &[("cnpg.io/cluster", "pg")], &[("postgresql", 5432, "TCP")]));
    cluster
}

/// The pods of the apps nixflux renders a workload for, off the host
/// network (each is held to its own policy).
const APPS: &[&str] = &[
    "vaultwarden/vaultwarden",
    "photos/immich",
    "photos/immich-ml",
    "photos/immich-db",
    "media/jellyfin",
    "media/transmission",
    "home/mosquitto",
    "ledger/ledger-api",
    "ledger/ledger-web",
    "ledger/ledger-rates",
    "default/whoami",
    "ai/ollama",
    "ai/open-webui",
    "blog/blog",
    "backup/nightly-backup",
];

/// The apps on the host network: outside every policy, their node's address to others.
const HOST_APPS: &[&str] = &["home/home-assistant", "home/matter-server"];

/// Every (client, server) pair of distinct pods where the client may reach
/// at least one of the server's ports.
fn talking_pairs(c: &Cluster, clients: &[&str]) -> BTreeSet<(String, String)> {
    let mut pairs = BTreeSet::new();
    for client in clients {
        for server in &c.pods {
            if server.id == *client {
                continue;
            }
            let from = Endpoint::Pod(c.pod(client));
            if server.ports.iter().any(|(_, p, proto)| c.allows(from, Endpoint::Pod(server), *p, proto)) {
                pairs.insert((client.to_string(), server.id.clone()));
            }
        }
    }
    pairs
}

/// Whether `client` reaches any port of `server`.
fn reaches(c: &Cluster, client: &str, server: &str) -> bool {
    let to = c.pod(server);
    to.ports.iter().any(|(_, p, proto)| c.allows(Endpoint::Pod(c.pod(client)), Endpoint::Pod(to), *p, proto))
}

#[test]
fn example_apps_reach_exactly_what_they_declare() {
    let c = example_cluster();
    for a in APPS.iter().chain(HOST_APPS) {
        assert!(c.pods.iter().any(|p| p.id == *a), "{a} not in pods: {:?}", c.pods);
    }
    let mut expected: BTreeSet<(String, String)> =
        APPS.iter().map(|a| (a.to_string(), "kube-system/coredns".to_owned())).collect();
    for (client, server) in [
        ("photos/immich", "photos/immich-ml"),
        ("photos/immich", "photos/immich-db"),
        ("backup/nightly-backup", "photos/immich-db"),
        ("ledger/ledger-api", "databases/pg-1"),
        ("ledger/ledger-api", "ledger/ledger-rates"),
        ("ledger/ledger-rates", "databases/pg-1"),
        ("ai/open-webui", "ai/ollama"),
    ] {
        expected.insert((client.into(), server.into()));
    }
    let actual = talking_pairs(&c, APPS);
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "cannot talk but should: {missing:?}\ntalk but should not: {extra:?}"
    );
}

#[test]
fn the_important_denials_hold() {
    let c = example_cluster();
    for (client, server) in [
        ("blog/blog", "photos/immich-db"),
        ("photos/immich-ml", "photos/immich-db"),
        ("ai/open-webui", "photos/immich-db"),
        ("vaultwarden/vaultwarden", "photos/immich-db"),
        ("ledger/ledger-web", "ledger/ledger-api"),
        ("photos/immich", "ai/ollama"),
        ("backup/nightly-backup", "databases/pg-1"),
        ("ledger/ledger-web", "databases/pg-1"),
        ("ai/open-webui", "databases/pg-1"),
        ("home/home-assistant", "photos/immich-db"),
        ("home/home-assistant", "ai/ollama"),
        ("monitoring/uptime", "photos/immich-db"),
    ] {
        assert!(!reaches(&c, client, server), "{client} must not reach {server}");
    }
}

/// `ledger-rates` admits `ledger-api` and nothing else: not its frontend in
/// the same namespace, not the ingress controller, not a pod without a
/// policy (`uptime`), not a pod on the host network.
#[test]
fn only_the_one_caller_reaches_the_internal_service() {
    let c = example_cluster();
    let callers: Vec<&str> =
        c.pods.iter().map(|p| p.id.as_str()).filter(|id| reaches(&c, id, "ledger/ledger-rates")).collect();
    assert_eq!(callers, ["ledger/ledger-api"]);
    let callers: Vec<&str> = c.pods.iter().map(|p| p.id.as_str()).filter(|id| reaches(&c, id, "ai/ollama")).collect();
    assert_eq!(callers, ["ai/open-webui"]);
}

/// Home Assistant runs on the host network: it reaches its MQTT broker
/// from the node's address, which the broker's LAN rule admits; a pod
/// selector naming it would not.
#[test]
fn home_automation_on_the_host_network_reaches_its_broker() {
    let c = example_cluster();
    let p = |id| Endpoint::Pod(c.pod(id));
    for host in HOST_APPS {
        assert!(c.pod(host).host_network.is_some(), "{host}");
    }
    assert!(c.allows(p("home/home-assistant"), p("home/mosquitto"), 1883, "TCP"));
    assert!(!c.allows(p("home/home-assistant"), p("home/mosquitto"), 1883, "UDP"));
    assert!(c.allows(Endpoint::External(LAN_DEVICE.parse().unwrap()), p("home/mosquitto"), 1883, "TCP"));
    assert!(!c.allows(Endpoint::External(INTERNET.parse().unwrap()), p("home/mosquitto"), 1883, "TCP"));
    // The other pods of the namespace reach neither the broker nor, off the node, Home Assistant.
    assert!(!reaches(&c, "ledger/ledger-api", "home/mosquitto"));
    assert!(!c.allows(p("blog/blog"), p("home/home-assistant"), 8123, "TCP"));
}

#[test]
fn declared_connections_use_the_right_ports_only() {
    let c = example_cluster();
    let p = |id| Endpoint::Pod(c.pod(id));
    assert!(c.allows(p("photos/immich"), p("photos/immich-ml"), 3003, "TCP"));
    assert!(!c.allows(p("photos/immich"), p("photos/immich-ml"), 80, "TCP"), "80 is the Service port, not the pod's");
    assert!(c.allows(p("photos/immich"), p("photos/immich-db"), 5432, "TCP"));
    assert!(c.allows(p("backup/nightly-backup"), p("photos/immich-db"), 5432, "TCP"));
    assert!(c.allows(p("ledger/ledger-api"), p("databases/pg-1"), 5432, "TCP"));
    assert!(c.allows(p("ledger/ledger-rates"), p("databases/pg-1"), 5432, "TCP"));
    assert!(!c.allows(p("ledger/ledger-api"), p("databases/pg-1"), 80, "TCP"));
    assert!(c.allows(p("ledger/ledger-api"), p("ledger/ledger-rates"), 8080, "TCP"));
    assert!(!c.allows(p("ledger/ledger-api"), p("ledger/ledger-rates"), 80, "TCP"));
    assert!(c.allows(p("ai/open-webui"), p("ai/ollama"), 11434, "TCP"));
    assert!(!c.allows(p("ai/open-webui"), p("ai/ollama"), 11434, "UDP"));
    for app in APPS {
        assert!(c.allows(p(app), p("kube-system/coredns"), 53, "UDP"), "{app}: DNS over UDP");
        assert!(c.allows(p(app), p("kube-system/coredns"), 53, "TCP"), "{app}: DNS over TCP");
    }
}

#[test]
fn ingress_controller_reaches_the_web_apps_but_not_the_backends() {
    let c = example_cluster();
    let traefik = Endpoint::Pod(c.pod("kube-system/traefik"));
    for (app, port) in [
        ("vaultwarden/vaultwarden", 80),
        ("photos/immich", 2283),
        ("media/jellyfin", 8096),
        ("media/transmission", 9091),
        ("home/home-assistant", 8123),
        ("ledger/ledger-api", 8080),
        ("ledger/ledger-web", 8080),
        ("default/whoami", 8080),
        ("ai/open-webui", 8080),
        ("blog/blog", 8080),
    ] {
        assert!(c.allows(traefik, Endpoint::Pod(c.pod(app)), port, "TCP"), "traefik -> {app}:{port}");
    }
    for (backend, port) in [
        ("photos/immich-ml", 3003),
        ("photos/immich-db", 5432),
        ("home/mosquitto", 1883),
        ("ledger/ledger-rates", 8080),
        ("ai/ollama", 11434),
    ] {
        assert!(!c.allows(traefik, Endpoint::Pod(c.pod(backend)), port, "TCP"), "traefik -> {backend}:{port}");
    }
}

#[test]
fn the_outside_world_reaches_only_what_is_opened_to_it() {
    let c = example_cluster();
    let ip = |s: &str| Endpoint::External(s.parse::<IpAddr>().unwrap());
    let p = |id| Endpoint::Pod(c.pod(id));
    // media-server: BitTorrent in both protocols from anywhere, and out to any public port.
    assert!(c.allows(ip(INTERNET), p("media/transmission"), 6881, "TCP"));
    assert!(c.allows(ip(INTERNET), p("media/transmission"), 6881, "UDP"));
    assert!(!c.allows(ip(INTERNET), p("media/transmission"), 9091, "TCP"), "the web UI goes through the ingress");
    assert!(c.allows(p("media/transmission"), ip(INTERNET), 51413, "TCP"));
    assert!(!c.allows(p("media/transmission"), ip(LAN_DEVICE), 22, "TCP"), "not into the LAN");
    // media-lan extends web-app: DLNA from the LAN, metadata from the internet.
    assert!(c.allows(ip(LAN_DEVICE), p("media/jellyfin"), 1900, "UDP"));
    assert!(!c.allows(ip(INTERNET), p("media/jellyfin"), 1900, "UDP"));
    assert!(!c.allows(ip(LAN_DEVICE), p("media/jellyfin"), 8096, "TCP"));
    assert!(c.allows(p("media/jellyfin"), ip(INTERNET), 443, "TCP"));
    // web-app goes out on 80/443; web-app-internal and backend do not.
    assert!(c.allows(p("vaultwarden/vaultwarden"), ip(INTERNET), 443, "TCP"));
    assert!(!c.allows(p("vaultwarden/vaultwarden"), ip(INTERNET), 25, "TCP"));
    for internal in [
        "ledger/ledger-api",
        "ledger/ledger-rates",
        "photos/immich-ml",
        "photos/immich-db",
        "home/mosquitto",
        "ai/ollama",
        "blog/blog",
    ] {
        assert!(!c.allows(p(internal), ip(INTERNET), 443, "TCP"), "{internal}");
    }
    assert!(!c.allows(ip(INTERNET), p("home/mosquitto"), 1883, "TCP"));
}

/// `tests/specs/traffic.json`: `allowFrom` alone opens both ends, peers by
/// namespace and labels and by CIDR (with `except` and a port range), a
/// profile extending a profile that extends a built-in.
#[test]
fn traffic_spec_opens_both_ends_and_nothing_more() {
    let out = run_ok(nixflux().arg("render").arg(crate::common::root().join("tests/specs/traffic.json")));
    let objects = yaml_documents(&String::from_utf8(out.stdout).unwrap());
    let mut c = Cluster::from_objects(&objects, NODE.parse().unwrap());
    c.add_pod(pod("kube-system/coredns", &[("k8s-app", "kube-dns")], &[("dns", 53, "UDP")]));
    let p = |id| Endpoint::Pod(c.pod(id));
    let ip = |s: &str| Endpoint::External(s.parse::<IpAddr>().unwrap());
    // Declared by `api` only, open on `front`'s egress too; on `http` only.
    assert!(c.allows(p("shop/front"), p("shop/api"), 8080, "TCP"));
    assert!(!c.allows(p("shop/front"), p("shop/api"), 9100, "TCP"));
    assert!(!c.allows(p("shop/api"), p("shop/front"), 3000, "TCP"));
    // Each end of the scrape is declared on its own side.
    assert!(c.allows(p("monitoring/prometheus"), p("shop/api"), 9100, "TCP"));
    assert!(!c.allows(p("monitoring/prometheus"), p("shop/api"), 8080, "TCP"));
    assert!(
        !c.allows(p("monitoring/prometheus"), p("shop/front"), 3000, "TCP"),
        "front admits the ingress controller only"
    );
    // scraper -> lan-admin -> web-app-internal: the LAN rule and DNS inherited.
    assert!(c.allows(ip(LAN_DEVICE), p("monitoring/prometheus"), 9090, "TCP"));
    assert!(!c.allows(ip(LAN_DEVICE), p("shop/front"), 3000, "TCP"));
    assert!(c.allows(p("monitoring/prometheus"), p("kube-system/coredns"), 53, "UDP"));
    // A CIDR peer with `except` and `endPort`.
    assert!(c.allows(p("backup/nas-sync"), ip(LAN_DEVICE), 22005, "TCP"));
    assert!(!c.allows(p("backup/nas-sync"), ip("192.168.1.1"), 22005, "TCP"));
    assert!(!c.allows(p("backup/nas-sync"), ip(LAN_DEVICE), 22011, "TCP"));
    assert!(!c.allows(p("backup/nas-sync"), ip(LAN_DEVICE), 22005, "UDP"));
    assert!(!c.allows(p("backup/nas-sync"), ip(INTERNET), 443, "TCP"));
    // `tools` has no policy (profile none), but its allowTo still opens `api`.
    assert!(c.allows(p("shop/tools"), p("shop/api"), 9100, "TCP"));
    assert!(!objects.iter().any(|o| o["metadata"]["name"] == "tools" && o["kind"] == "NetworkPolicy"));
}
