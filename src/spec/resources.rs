//! A container's requests or limits: `cpu`, `memory`, `ephemeralStorage`
//! as quantities, and extended resources (`nvidia.com/gpu`, `amd.com/gpu`,
//! `gpu.intel.com/i915`, ...) by their qualified name with a whole number:
//! a device is not shared by fractions, and the API server refuses a
//! fractional extended resource. Any other key is an unknown field.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::names::is_qualified_name;
use super::quantity::Quantity;

/// A container's `resources`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    #[serde(default)]
    pub requests: Option<ResourceList>,
    #[serde(default)]
    pub limits: Option<ResourceList>,
}

#[derive(Debug, Clone, Default)]
pub struct ResourceList {
    pub cpu: Option<Quantity>,
    pub memory: Option<Quantity>,
    pub ephemeral_storage: Option<Quantity>,
    /// Extended resources: qualified name (with a domain prefix) -> count.
    pub extended: BTreeMap<String, u64>,
}

const FIELDS: &[&str] = &["cpu", "memory", "ephemeralStorage", "<vendor-domain>/<resource>"];

/// Whether `name` is an extended resource name: a qualified name with a
/// domain prefix outside `kubernetes.io` (apimachinery
/// `IsExtendedResourceName`, and `requests.` names are quota names).
pub fn is_extended_resource_name(name: &str) -> bool {
    match name.split_once('/') {
        Some((domain, _)) => {
            is_qualified_name(name)
                && domain != "kubernetes.io"
                && !domain.ends_with(".kubernetes.io")
                && !name.starts_with("requests.")
        }
        None => false,
    }
}

/// A whole number of an extended resource.
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let fractional = |shown: &str| {
            de::Error::custom(format!(
                "`{shown}` is not a whole number: an extended resource is counted in whole devices (write 1, 2, ...)"
            ))
        };
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Number(n) => match n.as_u64() {
                Some(c) => Ok(Count(c)),
                None => Err(fractional(&n.to_string())),
            },
            serde_json::Value::String(s) => s.parse::<u64>().map(Count).map_err(|_| fractional(&s)),
            other => Err(de::Error::custom(format!(
                "expected a whole number of devices, found {}",
                super::problem::json_type(&other)
            ))),
        }
    }
}

impl<'de> Deserialize<'de> for ResourceList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ResourceList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of resource names to quantities")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ResourceList, A::Error> {
                let mut out = ResourceList::default();
                while let Some(key) = map.next_key::<String>()? {
                    let slot = match key.as_str() {
                        "cpu" => &mut out.cpu,
                        "memory" => &mut out.memory,
                        "ephemeralStorage" => &mut out.ephemeral_storage,
                        k if is_extended_resource_name(k) => {
                            let Count(n) = map.next_value()?;
                            out.extended.insert(key, n);
                            continue;
                        }
                        _ => return Err(de::Error::unknown_field(&key, FIELDS)),
                    };
                    *slot = map.next_value()?;
                }
                Ok(out)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_resource_names() {
        for ok in ["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "example.org/dongle"] {
            assert!(is_extended_resource_name(ok), "{ok}");
        }
        for bad in ["gpu", "kubernetes.io/foo", "node.kubernetes.io/x", "requests.nvidia.com/gpu", "a/b/c", "/gpu"] {
            assert!(!is_extended_resource_name(bad), "{bad}");
        }
    }

    #[test]
    fn whole_numbers_only() {
        let ok: ResourceList =
            serde_json::from_str(r#"{"cpu": "1", "nvidia.com/gpu": 2, "amd.com/gpu": "1"}"#).unwrap();
        assert_eq!(ok.extended.get("nvidia.com/gpu"), Some(&2));
        assert_eq!(ok.extended.get("amd.com/gpu"), Some(&1));
        for bad in [r#"{"nvidia.com/gpu": 0.5}"#, r#"{"nvidia.com/gpu": "500m"}"#, r#"{"nvidia.com/gpu": -1}"#] {
            let err = serde_json::from_str::<ResourceList>(bad).unwrap_err().to_string();
            assert!(err.contains("not a whole number"), "{bad}: {err}");
        }
        let err = serde_json::from_str::<ResourceList>(r#"{"memroy": "1Gi"}"#).unwrap_err().to_string();
        assert!(err.contains("unknown field `memroy`"), "{err}");
    }
}
