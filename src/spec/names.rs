//! Validated names. Every name that becomes a Kubernetes object name, a label,
//! a file name or an object key passes through one of these rules, so an
//! invalid value is refused where it is read, with the rule it broke.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

/// The naming rules Kubernetes applies, by kind of name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 label: namespaces, most label-like names (max 63).
    Dns1123Label,
    /// RFC 1035 label: like a 1123 label but starting with a letter (Services).
    Dns1035Label,
    /// RFC 1123 subdomain: most object names (max 253).
    Dns1123Subdomain,
    /// Anything without `/` or `%` and not `.`/`..` (RBAC objects, some others).
    PathSegment,
}

impl NameRule {
    /// Checks `name` against the rule; the error says what a valid name looks like.
    pub fn check(self, name: &str) -> Result<(), String> {
        let ok = match self {
            NameRule::Dns1123Label => is_dns1123_label(name),
            NameRule::Dns1035Label => is_dns1035_label(name),
            NameRule::Dns1123Subdomain => is_dns1123_subdomain(name),
            NameRule::PathSegment => !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '%']),
        };
        if ok {
            Ok(())
        } else {
            Err(self.describe().to_owned())
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            NameRule::Dns1123Label => {
                "must be a DNS-1123 label: at most 63 characters of lowercase letters, digits and `-`, starting and ending with a letter or digit"
            }
            NameRule::Dns1035Label => {
                "must be a DNS-1035 label: at most 63 characters of lowercase letters, digits and `-`, starting with a letter and ending with a letter or digit"
            }
            NameRule::Dns1123Subdomain => {
                "must be a DNS-1123 subdomain: at most 253 characters of lowercase letters, digits, `-` and `.`, each dot-separated part starting and ending with a letter or digit"
            }
            NameRule::PathSegment => "must be non-empty, not `.` or `..`, and contain no `/` or `%`",
        }
    }
}

fn is_label_body(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

pub fn is_dns1123_label(s: &str) -> bool {
    is_label_body(s)
}

pub fn is_dns1035_label(s: &str) -> bool {
    is_label_body(s) && s.as_bytes()[0].is_ascii_lowercase()
}

pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label_body)
}

/// A label key: optional DNS subdomain prefix and `/`, then a name of at most
/// 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric.
pub fn is_qualified_name(s: &str) -> bool {
    let (prefix, name) = match s.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, s),
    };
    if let Some(p) = prefix {
        if !is_dns1123_subdomain(p) {
            return false;
        }
    }
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// A label value: empty, or at most 63 alphanumerics, `-`, `_`, `.`, starting
/// and ending alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    let b = s.as_bytes();
    b.is_empty()
        || (b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.')))
}

/// An IANA service name, as Kubernetes requires for named container ports:
/// at most 15 lowercase letters, digits and `-`, at least one letter, no `--`,
/// not starting or ending with `-`.
pub fn is_port_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 15
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.iter().any(|c| c.is_ascii_lowercase())
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !s.contains("--")
}

macro_rules! validated_name {
    ($(#[$doc:meta])* $name:ident, $what:literal, $check:expr, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For names written into the code; checked in debug builds and tests.
            #[allow(dead_code)]
            pub(crate) fn from_static(s: &'static str) -> Self {
                let check: fn(&str) -> bool = $check;
                debug_assert!(check(s), "invalid built-in name {s}");
                $name(s.to_owned())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok($name(s.to_owned()))
                } else {
                    Err(format!(concat!("invalid ", $what, " `{}`: {}"), s, $rule))
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

validated_name!(
    /// An app's name. It names the Deployment, Service, ServiceAccount and
    /// the app's file in the bundle, so it must be a DNS-1035 label (a Service
    /// name) and is kept short enough for derived names such as `<app>-<volume>`.
    AppName,
    "app name",
    is_dns1035_label,
    NameRule::Dns1035Label.describe()
);

/// The directories a target's layout already uses under its prefix: a
/// layer of that name would share them.
pub const RESERVED_LAYER_NAMES: &[&str] = &["objects", "generations"];

/// At most this many layers: each is a Kustomization waiting for the one
/// before, so a long chain only slows every apply down.
pub const MAX_LAYERS: usize = 10;

/// A layer name: a DNS-1123 label that is none of the target layout's own
/// directories (the layer is the directory `<prefix><layer>/`).
pub fn is_layer_name(s: &str) -> bool {
    is_dns1123_label(s) && !RESERVED_LAYER_NAMES.contains(&s)
}

validated_name!(
    /// A layer's name: its directory under the target prefix and the suffix
    /// of its Flux Kustomization.
    LayerName,
    "layer name",
    is_layer_name,
    "must be a DNS-1123 label (at most 63 lowercase letters, digits and `-`, starting and ending with a letter or digit) and not `objects` or `generations`"
);

validated_name!(
    /// A namespace name (DNS-1123 label).
    NamespaceName,
    "namespace name",
    is_dns1123_label,
    NameRule::Dns1123Label.describe()
);

validated_name!(
    /// A named container port (IANA service name).
    PortName,
    "port name",
    is_port_name,
    "must be an IANA service name: at most 15 lowercase letters, digits and `-`, with at least one letter, no `--`, and not starting or ending with `-`"
);

validated_name!(
    /// A network policy profile name; it becomes part of an object name.
    ProfileName,
    "network policy profile name",
    is_dns1123_label,
    NameRule::Dns1123Label.describe()
);

validated_name!(
    /// A volume name; it names the pod volume and, for claims, `<app>-<volume>`.
    VolumeName,
    "volume name",
    is_dns1123_label,
    NameRule::Dns1123Label.describe()
);

validated_name!(
    /// A label or annotation key (`prefix/name`).
    LabelKey,
    "label or annotation key",
    is_qualified_name,
    "must be a qualified name: an optional DNS subdomain prefix and `/`, then at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
);

validated_name!(
    /// A label value: empty, or at most 63 letters, digits, `-`, `_`, `.`
    /// (apimachinery `IsValidLabelValue`).
    LabelValue,
    "label value",
    is_label_value,
    "a label value is empty or at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
);

validated_name!(
    /// An environment variable name: printable ASCII, no `=`.
    EnvName,
    "environment variable name",
    |s: &str| !s.is_empty() && s.bytes().all(|c| (0x21..0x7f).contains(&c) && c != b'='),
    "must be non-empty printable ASCII without spaces or `=`"
);

validated_name!(
    /// A route's name under `apps.<app>.routes`; it names the Ingress
    /// `<app>-<route>`.
    RouteName,
    "route name",
    is_dns1123_label,
    NameRule::Dns1123Label.describe()
);

/// Flux's rule for post-build variable names (`varsubRegex` in fluxcd/pkg
/// `kustomize/kustomize_varsub.go`): `^[_[:alpha:]][_[:alpha:][:digit:]]*$`,
/// ASCII only as in Go's RE2.
pub fn is_var_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && (b[0].is_ascii_alphabetic() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

validated_name!(
    /// A variable of the spec's `vars`, substituted into raw objects.
    VarName,
    "variable name",
    is_var_name,
    "must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$` (Flux's rule): letters, digits and `_`, not starting with a digit"
);

impl std::borrow::Borrow<str> for VarName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl serde::Serialize for LayerName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_rules() {
        for ok in ["a", "a1", "web-app", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert!(is_dns1123_label("1a"));
        assert!(!is_dns1035_label("1a"));
        assert!(is_dns1123_subdomain("a.b-c.d"));
        assert!(!is_dns1123_subdomain("a..b"));
        assert!(!is_dns1123_subdomain(&"a".repeat(254)));
    }

    #[test]
    fn qualified_names_and_values() {
        for ok in ["app", "app.kubernetes.io/name", "a_b.C-d"] {
            assert!(is_qualified_name(ok), "{ok}");
        }
        for bad in ["", "/a", "a/", "Example.com/a", "a/b/c", "-a"] {
            assert!(!is_qualified_name(bad), "{bad}");
        }
        assert!(is_label_value(""));
        assert!(is_label_value("v1.2_3-x"));
        assert!(!is_label_value("a b"));
    }

    #[test]
    fn port_names() {
        for ok in ["http", "dlna-udp", "h2c", "a1"] {
            assert!(is_port_name(ok), "{ok}");
        }
        for bad in ["", "123", "a--b", "-a", "a-", "Http", "averyverylongname"] {
            assert!(!is_port_name(bad), "{bad}");
        }
    }

    #[test]
    fn var_names_follow_flux() {
        for ok in ["A", "_", "a_1", "DOMAIN", "_x9"] {
            assert!(is_var_name(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "a b", "é"] {
            assert!(!is_var_name(bad), "{bad}");
        }
    }

    #[test]
    fn app_name_error_says_the_rule() {
        let err = "Photos".parse::<AppName>().unwrap_err();
        assert!(err.starts_with("invalid app name `Photos`: must be a DNS-1035 label"));
    }
}
