//! An app's Helm chart (`apps.<name>.helm`): where the chart comes from,
//! its version, its values and the value paths that receive images from
//! the spec's `images` map. Re-exported by `model.rs`; rendered by
//! `render/helm.rs`. Also the pure rules those fields follow: an exact
//! SemVer version, Flux's duration pattern, a dotted value path.

use serde::Deserialize;
use serde_json::{Map, Value};

/// `apps.<name>.helm`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Helm {
    /// `https://` (or `http://`) chart repository, or `oci://` registry namespace.
    pub repository: String,
    /// The chart's name in the repository (for `oci://`, the last path element).
    pub chart: String,
    /// An exact SemVer version (`1.2.3`, `v1.16.2`), or a range with `allowVersionRange`.
    pub version: String,
    /// Accept a version range (`^1.2`, `>=1`, `1.x`, `*`): the chart may change without a change to the spec.
    #[serde(default)]
    pub allow_version_range: bool,
    /// The Flux source: `HelmRepository` (default for `https://`) or `OCIRepository` (default for `oci://`).
    #[serde(default)]
    pub source_kind: Option<HelmSourceKind>,
    /// Helm's release name (default: the app's name; at most 53 characters).
    #[serde(default)]
    pub release_name: Option<String>,
    /// How often helm-controller reconciles the release.
    #[serde(default = "ten_minutes")]
    pub interval: String,
    /// How often source-controller checks the repository.
    #[serde(default = "one_hour")]
    pub repository_interval: String,
    /// A Secret with the repository's credentials (`username`/`password`).
    #[serde(default)]
    pub secret_ref: Option<String>,
    /// The chart's values.
    #[serde(default)]
    pub values: Map<String, Value>,
    /// Values read at install time from Secrets or ConfigMaps (secrets stay out of the spec).
    #[serde(default)]
    pub values_from: Vec<HelmValuesFrom>,
    /// Value paths that receive an image of the `images` map, pinned.
    #[serde(default)]
    pub image_values: Vec<ImageValue>,
    /// What Helm does with the chart's CRDs on install and upgrade.
    #[serde(default)]
    pub crds: Option<HelmCrds>,
    /// Timeout of each Helm action.
    #[serde(default)]
    pub timeout: Option<String>,
}

fn ten_minutes() -> String {
    "10m".into()
}

fn one_hour() -> String {
    "1h".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HelmSourceKind {
    HelmRepository,
    #[serde(rename = "OCIRepository")]
    OciRepository,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HelmCrds {
    Skip,
    Create,
    CreateReplace,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HelmValuesFrom {
    pub kind: HelmValuesKind,
    pub name: String,
    /// The key holding the values (default `values.yaml`).
    #[serde(default)]
    pub values_key: Option<String>,
    /// Where the key's content goes in the values (default: merged at the top).
    #[serde(default)]
    pub target_path: Option<String>,
    #[serde(default)]
    pub optional: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum HelmValuesKind {
    Secret,
    ConfigMap,
}

/// One value path that receives an image.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ImageValue {
    /// Dotted path in the values (`image`, `sidecar.image`).
    pub path: String,
    /// A key of `images`, or a full pinned reference.
    pub image: String,
    /// `split` (`<path>.repository` and `<path>.tag`) or `reference` (the whole reference at `<path>`).
    #[serde(default)]
    pub form: ImageValueForm,
    /// With `split`: the key that gets the registry host, for charts that keep it apart (`registry`).
    #[serde(default)]
    pub registry_key: Option<String>,
    /// With `split`: the key that gets the digest, for charts that take it apart (`digest`);
    /// without it the digest is folded into the tag (`1.2.3@sha256:…`).
    #[serde(default)]
    pub digest_key: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ImageValueForm {
    #[default]
    Split,
    Reference,
}

/// An exact SemVer 2.0 version, optionally with a leading `v` (charts
/// such as cert-manager's are versioned `v1.16.2`): three numbers without
/// leading zeros, an optional pre-release and build.
pub fn is_exact_version(v: &str) -> bool {
    let v = v.strip_prefix('v').unwrap_or(v);
    let (v, build) = match v.split_once('+') {
        Some((v, b)) => (v, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let numbers: Vec<&str> = core.split('.').collect();
    let number =
        |n: &&str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n.len() == 1 || !n.starts_with('0'));
    let ident = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let pre_ok = pre.is_none_or(|p| {
        p.split('.')
            .all(|i| ident(i) && (!i.bytes().all(|b| b.is_ascii_digit()) || i.len() == 1 || !i.starts_with('0')))
    });
    numbers.len() == 3 && numbers.iter().all(number) && pre_ok && build.is_none_or(|b| b.split('.').all(ident))
}

/// Flux's duration pattern: `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`.
pub fn is_flux_duration(s: &str) -> bool {
    is_duration(s, true)
}

/// `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`, the CRDs' duration pattern; `hours`
/// false for the Bucket timeout, whose pattern has no `h`.
pub fn is_duration(s: &str, hours: bool) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return false;
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i == frac {
                return false;
            }
        }
        match &b[i..] {
            [b'm', b's', ..] => i += 2,
            [b's', ..] | [b'm', ..] => i += 1,
            [b'h', ..] if hours => i += 1,
            _ => return false,
        }
    }
    true
}

/// The keys of a dotted value path, or `None` when a key is empty.
pub fn value_path(path: &str) -> Option<Vec<&str>> {
    let keys: Vec<&str> = path.split('.').collect();
    keys.iter().all(|k| !k.is_empty()).then_some(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_versions_and_ranges() {
        for ok in ["1.2.3", "v1.16.2", "0.0.0", "10.20.30", "1.0.0-rc.1", "1.0.0-alpha-1+build.5", "2.0.0+20260101"] {
            assert!(is_exact_version(ok), "{ok}");
        }
        for range in [
            "^1.2",
            ">=1",
            "1.x",
            "*",
            "~1.2.3",
            "1.2",
            "1",
            "01.2.3",
            "1.2.3 - 2.0.0",
            "1.2.*",
            "",
            "1.2.3-",
            "1.2.3-01",
            "=1.2.3",
            "1.2.3||2.0.0",
        ] {
            assert!(!is_exact_version(range), "{range}");
        }
    }

    #[test]
    fn flux_durations() {
        for ok in ["10m", "1h", "1h30m", "1.5s", "100ms", "0s"] {
            assert!(is_flux_duration(ok), "{ok}");
        }
        for bad in ["", "10", "1d", "5 minutes", "1.s", "m", "1us", "-1m"] {
            assert!(!is_flux_duration(bad), "{bad}");
        }
    }

    #[test]
    fn value_paths() {
        assert_eq!(value_path("image"), Some(vec!["image"]));
        assert_eq!(value_path("a.b.c"), Some(vec!["a", "b", "c"]));
        assert_eq!(value_path("a..b"), None);
        assert_eq!(value_path(""), None);
    }
}
