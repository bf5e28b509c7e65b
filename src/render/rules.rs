//! The Kubernetes API server's value rules that `validation` applies, as
//! pure functions: each returns what is wrong with a value, in words that
//! say what would be right, or `None` when the API server accepts it. Each
//! names the upstream function it follows (kubernetes `pkg/apis/core/validation`,
//! apimachinery `pkg/util/validation` and `pkg/api/validation`).

use crate::spec::names::{is_dns1123_label, is_label_value, is_port_name, is_qualified_name, NameRule};
use crate::spec::quantity::nanos;

/// apimachinery `pkg/api/validation/objectmeta.go` `TotalAnnotationSizeLimitB`.
pub const ANNOTATIONS_MAX_BYTES: usize = 256 * 1024;

const QUALIFIED: &str = "must be a qualified name: an optional DNS subdomain prefix and `/`, then at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit";

/// apimachinery `ValidateLabelName` (`IsQualifiedName`).
pub fn label_key(key: &str) -> Option<String> {
    (!is_qualified_name(key)).then(|| format!("invalid label key `{key}`: {QUALIFIED}"))
}

/// apimachinery `IsValidLabelValue`: empty, or a qualified name part.
pub fn label_value(key: &str, value: &str) -> Option<String> {
    (!is_label_value(value)).then(|| {
        format!(
            "invalid value `{value}` of label `{key}`: a label value is empty or at most 63 letters, digits, `-`, `_` or `.`, starting and ending with a letter or digit"
        )
    })
}

/// apimachinery `ValidateAnnotations`: keys are qualified names once lowercased.
pub fn annotation_key(key: &str) -> Option<String> {
    (!is_qualified_name(&key.to_lowercase())).then(|| format!("invalid annotation key `{key}`: {QUALIFIED}"))
}

/// apimachinery `ValidateAnnotationsSize`: keys and values together.
pub fn annotations_size<'a>(entries: impl Iterator<Item = (&'a str, &'a str)>) -> Option<String> {
    let total: usize = entries.map(|(k, v)| k.len() + v.len()).sum();
    (total > ANNOTATIONS_MAX_BYTES).then(|| {
        format!("the annotations take {total} bytes: the API server takes at most {ANNOTATIONS_MAX_BYTES} bytes of keys and values together")
    })
}

/// A quantity string of a raw object, read (apimachinery `resource.ParseQuantity`).
pub fn quantity(q: &str) -> Result<i128, String> {
    nanos(q).ok_or_else(|| {
        format!("invalid quantity `{q}`: a quantity is a number with an optional suffix (`m`, `k`, `M`, `G`, `Ki`, `Mi`, `Gi`, ...) or exponent, e.g. `500m`, `256Mi`, `1.5`")
    })
}

/// core `ValidateResourceQuantityValue` → `ValidateNonnegativeQuantity`.
pub fn nonnegative(name: &str, q: &str) -> Option<String> {
    match quantity(q) {
        Err(e) => Some(e),
        Ok(n) if n < 0 => Some(format!("`{name}` is `{q}`: a quantity must be greater than or equal to 0")),
        Ok(_) => None,
    }
}

/// core `validateResourceRequirements`: a request of an overcommittable
/// resource (cpu, memory, ephemeral-storage) is at most its limit.
pub fn request_within_limit(name: &str, request: &str, limit: &str) -> Option<String> {
    let overcommittable = matches!(name, "cpu" | "memory" | "ephemeral-storage");
    match (nanos(request), nanos(limit)) {
        (Some(r), Some(l)) if overcommittable && r > l => Some(format!(
            "the {name} request `{request}` is above its limit `{limit}`: a request must be less than or equal to the limit"
        )),
        _ => None,
    }
}

/// core `ValidatePersistentVolumeClaimSpec` → `ValidatePositiveQuantityValue`.
pub fn positive_storage(q: Option<&str>) -> Option<String> {
    match q.map(quantity) {
        None => Some("a claim needs `resources.requests.storage`".to_owned()),
        Some(Err(e)) => Some(e),
        Some(Ok(n)) if n <= 0 => Some(format!("the storage request `{}` must be greater than zero", q.unwrap_or(""))),
        Some(Ok(_)) => None,
    }
}

/// core `validateLocalDescendingPath` (for `subPath` and `subPathExpr`).
pub fn local_descending_path(field: &str, p: &str) -> Option<String> {
    if p.starts_with('/') {
        return Some(format!("`{field}` `{p}` must be a relative path"));
    }
    // validatePathNoBacksteps: only a whole `..` element is refused.
    p.replace('\\', "/")
        .split('/')
        .any(|e| e == "..")
        .then(|| format!("`{field}` `{p}` must not contain `..` as a path element"))
}

/// core `validateContainers`: a container name is a DNS-1123 label.
pub fn container_name(name: &str) -> Option<String> {
    (!is_dns1123_label(name)).then(|| format!("invalid container name `{name}`: {}", NameRule::Dns1123Label.describe()))
}

/// apimachinery `IsValidPortNum`.
pub fn port_number(field: &str, n: i32) -> Option<String> {
    (!(1..=65535).contains(&n)).then(|| format!("`{field}` is {n}: a port must be between 1 and 65535, inclusive"))
}

const IANA: &str = "an IANA service name is at most 15 lowercase letters, digits and `-`, with at least one letter, no `--`, and does not start or end with `-`";

/// apimachinery `IsValidPortName` (container port names, named target ports).
pub fn port_name(name: &str) -> Option<String> {
    (!is_port_name(name)).then(|| format!("invalid port name `{name}`: {IANA}"))
}

/// core `validateServicePort`: a Service port's name is a DNS-1123 label.
pub fn service_port_name(name: &str) -> Option<String> {
    (!is_dns1123_label(name))
        .then(|| format!("invalid Service port name `{name}`: {}", NameRule::Dns1123Label.describe()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        for ok in ["app", "a", "A-b_c.d", "example.com/name", "app.kubernetes.io/name", &"x".repeat(63)] {
            assert_eq!(label_key(ok), None, "{ok}");
        }
        for bad in ["", "-a", "a-", "a b", "/a", "a/", "a/b/c", "Example.com/a", &"x".repeat(64), "é"] {
            assert!(label_key(bad).is_some(), "{bad}");
        }
        for ok in ["", "v", "V1.2_3-x", &"x".repeat(63)] {
            assert_eq!(label_value("k", ok), None, "{ok}");
        }
        for bad in ["a b", "-v", "v-", "a/b", &"x".repeat(64), "\u{1b}"] {
            assert!(label_value("k", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn annotations() {
        assert_eq!(annotation_key("Example.COM/Name"), None);
        assert!(annotation_key("a b").is_some());
        let big = "x".repeat(ANNOTATIONS_MAX_BYTES - 1);
        assert_eq!(annotations_size([("k", big.as_str())].into_iter()), None);
        assert!(annotations_size([("kk", big.as_str())].into_iter()).is_some());
    }

    #[test]
    fn quantities() {
        for (q, ok) in [("0", true), ("1", true), ("-0", true), ("-1", false), ("-1m", false), ("abc", false)] {
            assert_eq!(nonnegative("cpu", q).is_none(), ok, "{q}");
        }
        for (r, l, ok) in [
            ("1", "1", true),
            ("1000m", "1", true),
            ("1001m", "1", false),
            ("1Gi", "1G", false),
            ("1G", "1Gi", true),
            ("2", "x", true),
        ] {
            assert_eq!(request_within_limit("cpu", r, l).is_none(), ok, "{r} <= {l}");
        }
        assert_eq!(request_within_limit("nvidia.com/gpu", "2", "1"), None);
        for (q, ok) in [(Some("1"), true), (Some("1n"), true), (Some("0"), false), (Some("-1Gi"), false), (None, false)]
        {
            assert_eq!(positive_storage(q).is_none(), ok, "{q:?}");
        }
    }

    #[test]
    fn sub_paths() {
        for ok in ["", "a", "a/b", "..a", "a..b", "a/..b/c", "./a"] {
            assert_eq!(local_descending_path("subPath", ok), None, "{ok}");
        }
        for bad in ["/a", "..", "a/..", "../a", "a/../b", "a\\..\\b"] {
            assert!(local_descending_path("subPath", bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn ports_and_names() {
        for (n, ok) in [(0, false), (1, true), (65535, true), (65536, false), (-1, false)] {
            assert_eq!(port_number("port", n).is_none(), ok, "{n}");
        }
        for ok in ["http", "a", "h2c", "web-8080", "abcdefghijklmno"] {
            assert_eq!(port_name(ok), None, "{ok}");
        }
        for bad in ["", "8080", "abcdefghijklmnop", "a--b", "-a", "a-", "Http", "a_b"] {
            assert!(port_name(bad).is_some(), "{bad}");
        }
        for ok in ["http", "8080", "a-b", &"x".repeat(63)] {
            assert_eq!(service_port_name(ok), None, "{ok}");
        }
        for bad in ["", "-a", "a.b", "A", &"x".repeat(64)] {
            assert!(service_port_name(bad).is_some(), "{bad}");
        }
        for ok in ["web", "a", "0a", &"x".repeat(63)] {
            assert_eq!(container_name(ok), None, "{ok}");
        }
        for bad in ["", "Web", "a.b", "a_b", "-a", &"x".repeat(64)] {
            assert!(container_name(bad).is_some(), "{bad}");
        }
    }
}
