//! Network policy profiles: the built-in ones (`web-app`,
//! `web-app-internal`, `backend`, `media-server`, `none`) and the spec's
//! custom ones, which may `extend` another profile. A profile resolves to a
//! recipe once; each app's NetworkPolicy is that recipe applied to the app,
//! plus the rules its `allowFrom`/`allowTo` traffic adds (`traffic`).

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::spec::names::ProfileName;
use crate::spec::{JsonPath, Problem, Spec};

use super::context::{AppContext, HTTP_PORT};
use super::traffic::{namespace_peer, port, Traffic};
use crate::object::round_trip;
use crate::spec::problem::nearest;

pub const BUILTIN_PROFILES: &[&str] = &["web-app", "web-app-internal", "backend", "media-server", "none"];

/// Private and link-local ranges: "external" egress means anything else.
const PRIVATE_V4: &[&str] = &["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"];
const PRIVATE_V6: &[&str] = &["fc00::/7", "fe80::/10"];

/// One piece of a profile, before it meets an app.
#[derive(Debug, Clone)]
enum Part {
    /// Ingress from the ingress controller's namespace to `http` (apps with a port).
    FromIngressController,
    /// Ingress from anywhere to each of the app's `extraPorts`.
    ExtraPortsFromAnywhere,
    /// Egress to kube-dns in `kube-system`, 53 UDP and TCP.
    Dns,
    /// Egress to public addresses on TCP 80 and 443.
    PublicWeb,
    /// Egress to public addresses on every port.
    PublicAnyPort,
    Ingress(Vec<NetworkPolicyIngressRule>),
    Egress(Vec<NetworkPolicyEgressRule>),
}

/// A resolved profile: which directions it restricts and what it allows.
#[derive(Debug, Clone, Default)]
struct Recipe {
    ingress: bool,
    egress: bool,
    parts: Vec<Part>,
}

fn builtin(name: &str) -> Option<Recipe> {
    use Part::*;
    let (ingress, egress, parts) = match name {
        "web-app" => (true, true, vec![FromIngressController, Dns, PublicWeb]),
        "web-app-internal" => (true, true, vec![FromIngressController, Dns]),
        "backend" => (true, true, vec![Dns]),
        "media-server" => (true, true, vec![FromIngressController, ExtraPortsFromAnywhere, Dns, PublicAnyPort]),
        "none" => (false, false, vec![]),
        _ => return None,
    };
    Some(Recipe { ingress, egress, parts })
}

/// Every profile of a spec, resolved and checked once.
pub struct Profiles {
    custom: BTreeMap<ProfileName, Recipe>,
    /// Custom profiles with a problem (already reported): apps using them render no policy.
    broken: Vec<ProfileName>,
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

fn public_peers() -> Vec<NetworkPolicyPeer> {
    let block = |cidr: &str, except: &[&str]| NetworkPolicyPeer {
        ip_block: Some(IPBlock { cidr: cidr.into(), except: Some(except.iter().map(|s| s.to_string()).collect()) }),
        ..Default::default()
    };
    vec![block("0.0.0.0/0", PRIVATE_V4), block("::/0", PRIVATE_V6)]
}

impl Profiles {
    /// Types and resolves every custom profile; problems name the profile's path.
    pub fn new(spec: &Spec, problems: &mut Vec<Problem>) -> Self {
        let mut own = BTreeMap::new();
        for (name, profile) in &spec.network_policy_profiles {
            let at = JsonPath::root().key("networkPolicyProfiles").key(name.as_str());
            if BUILTIN_PROFILES.contains(&name.as_str()) {
                problems.push(
                    Problem::new(at.clone(), format!("`{name}` is a built-in profile and cannot be redefined"))
                        .with_hint(
                            "give the custom profile another name (and `extends` the built-in one to add to it)",
                        ),
                );
                continue;
            }
            let ingress = typed_rules(profile.ingress.as_deref(), &at.key("ingress"), problems);
            let egress = typed_rules(profile.egress.as_deref(), &at.key("egress"), problems);
            let mut recipe = Recipe { ingress: ingress.is_some(), egress: egress.is_some(), parts: Vec::new() };
            recipe.parts.extend(ingress.map(Part::Ingress));
            recipe.parts.extend(egress.map(Part::Egress));
            own.insert(name.clone(), recipe);
        }
        let mut profiles = Profiles { custom: BTreeMap::new(), broken: Vec::new() };
        for name in own.keys() {
            profiles.resolve(spec, &own, name, &mut Vec::new(), problems);
        }
        let default = &spec.defaults.network_policy_profile;
        if builtin(default.as_str()).is_none() && !spec.network_policy_profiles.contains_key(default) {
            problems.push(unknown_profile(spec, default, JsonPath::root().key("defaults").key("networkPolicyProfile")));
        }
        profiles
    }

    /// Resolves `name` (a custom profile) and what it extends into
    /// `self.custom`; `chain` holds the profiles being resolved, to find cycles.
    fn resolve(
        &mut self,
        spec: &Spec,
        own: &BTreeMap<ProfileName, Recipe>,
        name: &ProfileName,
        chain: &mut Vec<ProfileName>,
        problems: &mut Vec<Problem>,
    ) -> Option<Recipe> {
        if let Some(done) = self.custom.get(name) {
            return Some(done.clone());
        }
        if self.broken.contains(name) {
            return None;
        }
        let recipe = own.get(name)?;
        let extends = spec.network_policy_profiles.get(name).and_then(|p| p.extends.as_ref());
        let Some(base_name) = extends else {
            self.custom.insert(name.clone(), recipe.clone());
            return Some(recipe.clone());
        };
        let at = JsonPath::root().key("networkPolicyProfiles").key(name.as_str()).key("extends");
        chain.push(name.clone());
        let base = if let Some(start) = chain.iter().position(|n| n == base_name) {
            // Read from this profile round the loop back to it.
            let around = &chain[start..chain.len() - 1];
            let cycle: Vec<String> =
                std::iter::once(name).chain(around).chain([name]).map(|n| format!("`{n}`")).collect();
            problems.push(
                Problem::new(at, format!("profile `{name}` extends itself: {}", cycle.join(" extends ")))
                    .with_hint("a profile extends a built-in profile or a custom one that does not lead back to it"),
            );
            None
        } else if let Some(b) = builtin(base_name.as_str()) {
            Some(b)
        } else if own.contains_key(base_name) {
            self.resolve(spec, own, base_name, chain, problems)
        } else if spec.network_policy_profiles.contains_key(base_name) {
            None // a redefined built-in, reported already
        } else {
            problems.push(unknown_profile(spec, base_name, at));
            None
        };
        chain.pop();
        match base {
            Some(mut base) => {
                base.ingress |= recipe.ingress;
                base.egress |= recipe.egress;
                base.parts.extend(recipe.parts.iter().cloned());
                self.custom.insert(name.clone(), base.clone());
                Some(base)
            }
            None => {
                self.broken.push(name.clone());
                None
            }
        }
    }

    /// The app's NetworkPolicy under `profile`, or none when the profile
    /// restricts nothing (`none`).
    pub fn network_policy(
        &self,
        cx: &AppContext,
        profile: &ProfileName,
        traffic: &Traffic,
    ) -> Result<Option<NetworkPolicy>, Problem> {
        let recipe = match builtin(profile.as_str()) {
            Some(r) => r,
            None => match self.custom.get(profile) {
                Some(r) => r.clone(),
                None if self.broken.contains(profile) => return Ok(None),
                None => return Err(unknown_profile(cx.spec, profile, JsonPath::root())),
            },
        };
        if !recipe.ingress && !recipe.egress {
            return Ok(None);
        }
        let (mut ingress, mut egress) = (Vec::new(), Vec::new());
        for part in recipe.parts {
            match part {
                Part::FromIngressController if cx.app.port.is_some() => ingress.push(NetworkPolicyIngressRule {
                    from: Some(vec![namespace_peer(cx.spec.defaults.ingress_controller_namespace.as_str())]),
                    ports: Some(vec![port(IntOrString::String(HTTP_PORT.into()), "TCP")]),
                }),
                Part::FromIngressController => {}
                Part::ExtraPortsFromAnywhere if !cx.app.extra_ports.is_empty() => {
                    ingress.push(NetworkPolicyIngressRule {
                        from: None,
                        ports: Some(
                            cx.app
                                .extra_ports
                                .iter()
                                .map(|(name, p)| port(IntOrString::String(name.to_string()), p.protocol.as_str()))
                                .collect(),
                        ),
                    })
                }
                Part::ExtraPortsFromAnywhere => {}
                Part::Dns => egress.push(dns_egress()),
                Part::PublicWeb => egress.push(NetworkPolicyEgressRule {
                    to: Some(public_peers()),
                    ports: Some(vec![port(IntOrString::Int(80), "TCP"), port(IntOrString::Int(443), "TCP")]),
                }),
                Part::PublicAnyPort => egress.push(NetworkPolicyEgressRule { to: Some(public_peers()), ports: None }),
                Part::Ingress(rules) => ingress.extend(rules),
                Part::Egress(rules) => egress.extend(rules),
            }
        }
        // Traffic rules only widen a restricted direction: an open one needs none.
        ingress.extend(traffic.ingress(cx.name).iter().cloned());
        egress.extend(traffic.egress(cx.name).iter().cloned());
        let mut policy_types = Vec::new();
        if recipe.ingress {
            policy_types.push("Ingress".to_owned());
        }
        if recipe.egress {
            policy_types.push("Egress".to_owned());
        }
        Ok(Some(NetworkPolicy {
            metadata: cx.meta(cx.name.as_str()),
            spec: Some(NetworkPolicySpec {
                pod_selector: Some(LabelSelector { match_labels: Some(cx.selector_labels()), ..Default::default() }),
                policy_types: Some(policy_types),
                ingress: recipe.ingress.then_some(ingress),
                egress: recipe.egress.then_some(egress),
            }),
        }))
    }
}

fn unknown_profile(spec: &Spec, name: &ProfileName, at: JsonPath) -> Problem {
    let mut known: Vec<&str> = BUILTIN_PROFILES.to_vec();
    known.extend(spec.network_policy_profiles.keys().map(|k| k.as_str()).filter(|k| !BUILTIN_PROFILES.contains(k)));
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
