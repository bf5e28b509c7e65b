//! `ObjectId`: an object as Flux's inventory names it, `<namespace>_<name>_<group>_<kind>`.
//! One formatter (`inventory_id`) and one parser (`FromStr`), so that
//! `bundle.json`, generation records and `diff` never split strings themselves.
//! Serialised as the inventory id, so the JSON on disk is that string.

use std::fmt;
use std::str::FromStr;

/// Identifies an object the way Flux's inventory does: group, kind,
/// namespace (absent for cluster-scoped objects) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an inventory id (`<namespace>_<name>_<group>_<kind>`)")]
pub struct ObjectIdError(String);

impl ObjectId {
    /// Flux's inventory form: `<namespace>_<name>_<group>_<kind>`.
    pub fn inventory_id(&self) -> String {
        self.inventory_id_parts().concat()
    }

    /// The pieces of `inventory_id`, in order, for a caller that feeds
    /// them to a hash without building the string.
    pub fn inventory_id_parts(&self) -> [&str; 7] {
        [self.namespace.as_deref().unwrap_or(""), "_", &self.name, "_", &self.group, "_", &self.kind]
    }
}

impl FromStr for ObjectId {
    type Err = ObjectIdError;

    /// Namespaces, groups and kinds never hold `_` (render checks them);
    /// names may (RBAC names), so the name is what lies between the first
    /// separator and the last two.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ObjectIdError(s.to_owned());
        let (namespace, rest) = s.split_once('_').ok_or_else(bad)?;
        let mut tail = rest.rsplitn(3, '_');
        let kind = tail.next().ok_or_else(bad)?;
        let group = tail.next().ok_or_else(bad)?;
        let name = tail.next().ok_or_else(bad)?;
        if kind.is_empty() || name.is_empty() {
            return Err(bad());
        }
        Ok(ObjectId {
            group: group.to_owned(),
            kind: kind.to_owned(),
            namespace: (!namespace.is_empty()).then(|| namespace.to_owned()),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for ObjectId {
    /// As people read it: ``Deployment.apps `ns/web` ``.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.kind)?;
        if !self.group.is_empty() {
            write!(f, ".{}", self.group)?;
        }
        match &self.namespace {
            Some(ns) => write!(f, " `{ns}/{}`", self.name),
            None => write!(f, " `{}`", self.name),
        }
    }
}

impl serde::Serialize for ObjectId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ns = self.namespace.as_deref().unwrap_or("");
        s.collect_str(&format_args!("{ns}_{}_{}_{}", self.name, self.group, self.kind))
    }
}

impl<'de> serde::Deserialize<'de> for ObjectId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::parse_str(d)
    }
}

/// The group of an `apiVersion` (`apps/v1` -> `apps`, `v1` -> ``).
pub fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(group: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectId {
        ObjectId { group: group.into(), kind: kind.into(), namespace: namespace.map(Into::into), name: name.into() }
    }

    #[test]
    fn inventory_ids_round_trip() {
        for (text, want) in [
            ("ns_web_apps_Deployment", id("apps", "Deployment", Some("ns"), "web")),
            ("_media__Namespace", id("", "Namespace", None, "media")),
            (
                "__system:a_b_rbac.authorization.k8s.io_ClusterRole",
                id("rbac.authorization.k8s.io", "ClusterRole", None, "_system:a_b"),
            ),
            ("ns_x_y_cert-manager.io_Certificate", id("cert-manager.io", "Certificate", Some("ns"), "x_y")),
        ] {
            let parsed: ObjectId = text.parse().unwrap();
            assert_eq!(parsed, want, "{text}");
            assert_eq!(parsed.inventory_id(), text);
        }
        for bad in ["", "a", "a_b", "a_b_c", "ns__g_", "ns_n_g_"] {
            assert!(bad.parse::<ObjectId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_as_people_read_it() {
        assert_eq!(id("apps", "Deployment", Some("ns"), "web").to_string(), "Deployment.apps `ns/web`");
        assert_eq!(id("", "Namespace", None, "media").to_string(), "Namespace `media`");
    }

    #[test]
    fn serialises_as_the_inventory_id() {
        let v = id("", "Service", Some("a"), "b");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"a_b__Service\"");
        assert_eq!(serde_json::from_str::<ObjectId>("\"a_b__Service\"").unwrap(), v);
    }
}
