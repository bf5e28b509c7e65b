//! Network policy profiles: the built-in ones (`web-app`,
//! `web-app-internal`, `none`) and the spec's custom ones, each rendered as
//! one NetworkPolicy that selects the app's pods.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::spec::names::ProfileName;
use crate::spec::{JsonPath, Problem, Spec};

use super::context::{AppContext, HTTP_PORT};
use crate::object::round_trip;
use crate::spec::problem::nearest;

pub const BUILTIN_PROFILES: &[&str] = &["web-app", "web-app-internal", "none"];

/// Private and link-local ranges: "external" egress means anything else.
const PRIVATE_V4: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
const PRIVATE_V6: &[&str] = &["fc00::/7", "fe80::/10"];

struct Rules {
    ingress: Option<Vec<NetworkPolicyIngressRule>>,
    egress: Option<Vec<NetworkPolicyEgressRule>>,
}

/// The custom profiles of a spec, typed and checked once.
pub struct Profiles {
    custom: BTreeMap<ProfileName, Rules>,
}

fn namespace_peer(namespace: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("kubernetes.io/metadata.name".into(), namespace.into())])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn port(p: IntOrString, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort { port: Some(p), protocol: Some(protocol.into()), end_port: None }
}

fn dns_egress() -> NetworkPolicyEgressRule {
    NetworkPolicyEgressRule {
        to: Some(vec![NetworkPolicyPeer {
            pod_selector: Some(LabelSelector {
                match_labels: Some(BTreeMap::from([("k8s-app".into(), "kube-dns".into())])),
                ..Default::default()
            }),
            ..namespace_peer("kube-system")
        }]),
        ports: Some(vec![port(IntOrString::Int(53), "UDP"), port(IntOrString::Int(53), "TCP")]),
    }
}

fn external_web_egress() -> NetworkPolicyEgressRule {
    let block = |cidr: &str, except: &[&str]| NetworkPolicyPeer {
        ip_block: Some(IPBlock { cidr: cidr.into(), except: Some(except.iter().map(|s| s.to_string()).collect()) }),
        ..Default::default()
    };
    NetworkPolicyEgressRule {
        to: Some(vec![block("0.0.0.0/0", PRIVATE_V4), block("::/0", PRIVATE_V6)]),
        ports: Some(vec![port(IntOrString::Int(80), "TCP"), port(IntOrString::Int(443), "TCP")]),
    }
}

impl Profiles {
    /// Types every custom profile; problems name the rule's path.
    pub fn new(spec: &Spec, problems: &mut Vec<Problem>) -> Self {
        let mut custom = BTreeMap::new();
        for (name, profile) in &spec.network_policy_profiles {
            let at = JsonPath::root().key("networkPolicyProfiles").key(name.as_str());
            if BUILTIN_PROFILES.contains(&name.as_str()) {
                problems.push(
                    Problem::new(at.clone(), format!("`{name}` is a built-in profile and cannot be redefined"))
                        .with_hint("give the custom profile another name"),
                );
                continue;
            }
            let ingress = typed_rules(profile.ingress.as_deref(), &at.key("ingress"), problems);
            let egress = typed_rules(profile.egress.as_deref(), &at.key("egress"), problems);
            custom.insert(name.clone(), Rules { ingress, egress });
        }
        let default = &spec.defaults.network_policy_profile;
        if !BUILTIN_PROFILES.contains(&default.as_str()) && !spec.network_policy_profiles.contains_key(default) {
            problems.push(unknown_profile(spec, default, JsonPath::root().key("defaults").key("networkPolicyProfile")));
        }
        Profiles { custom }
    }

    /// The app's NetworkPolicy under `profile`, or none for `none`.
    pub fn network_policy(&self, cx: &AppContext, profile: &ProfileName) -> Result<Option<NetworkPolicy>, Problem> {
        let from_ingress_controller = || NetworkPolicyIngressRule {
            from: Some(vec![namespace_peer(cx.spec.defaults.ingress_controller_namespace.as_str())]),
            ports: Some(vec![port(IntOrString::String(HTTP_PORT.into()), "TCP")]),
        };
        let web_ingress = || Some(if cx.app.port.is_some() { vec![from_ingress_controller()] } else { vec![] });
        let rules = match profile.as_str() {
            "none" => return Ok(None),
            "web-app" => Rules { ingress: web_ingress(), egress: Some(vec![dns_egress(), external_web_egress()]) },
            "web-app-internal" => Rules { ingress: web_ingress(), egress: Some(vec![dns_egress()]) },
            _ => match self.custom.get(profile) {
                Some(r) => Rules { ingress: r.ingress.clone(), egress: r.egress.clone() },
                None => return Err(unknown_profile(cx.spec, profile, JsonPath::root())),
            },
        };
        let mut policy_types = Vec::new();
        if rules.ingress.is_some() {
            policy_types.push("Ingress".to_owned());
        }
        if rules.egress.is_some() {
            policy_types.push("Egress".to_owned());
        }
        if policy_types.is_empty() {
            return Ok(None);
        }
        Ok(Some(NetworkPolicy {
            metadata: cx.meta(cx.name.as_str()),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector { match_labels: Some(cx.selector_labels()), ..Default::default() }),
                policy_types: Some(policy_types),
                ingress: rules.ingress,
                egress: rules.egress,
            }),
        }))
    }
}

fn unknown_profile(spec: &Spec, name: &ProfileName, at: JsonPath) -> Problem {
    let mut known: Vec<&str> = BUILTIN_PROFILES.to_vec();
    known.extend(spec.network_policy_profiles.keys().map(|k| k.as_str()));
    let hint = match nearest(name.as_str(), &known) {
        Some(n) => format!("did you mean `{n}`?"),
        None => format!("known profiles: {}", known.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")),
    };
    Problem::new(at, format!("unknown network policy profile `{name}`")).with_hint(hint)
}

fn typed_rules<T: serde::de::DeserializeOwned + serde::Serialize>(
    rules: Option<&[Value]>,
    at: &JsonPath,
    problems: &mut Vec<Problem>,
) -> Option<Vec<T>> {
    let rules = rules?;
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let here = at.index(i);
        match rule {
            Value::Object(m) => match round_trip::<T>(m, &here) {
                Ok(r) => out.push(r),
                Err(ps) => problems.extend(ps),
            },
            _ => problems.push(Problem::new(here, "a rule is an object (a NetworkPolicy ingress or egress rule)")),
        }
    }
    Some(out)
}
