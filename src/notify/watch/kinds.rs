//! The Flux kinds the watcher follows, and the API versions it tries for
//! each (newest first: a cluster with an older Flux may serve only the
//! older one, OCIRepository `v1beta2` before Flux 2.6).

use std::fmt;
use std::str::FromStr;

use kube::discovery::ApiResource;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FluxKind {
    Kustomization,
    HelmRelease,
    Bucket,
    GitRepository,
    OCIRepository,
    HelmRepository,
}

impl FluxKind {
    pub const ALL: [FluxKind; 6] = [
        FluxKind::Kustomization,
        FluxKind::HelmRelease,
        FluxKind::Bucket,
        FluxKind::GitRepository,
        FluxKind::OCIRepository,
        FluxKind::HelmRepository,
    ];

    pub fn kind(self) -> &'static str {
        match self {
            FluxKind::Kustomization => "Kustomization",
            FluxKind::HelmRelease => "HelmRelease",
            FluxKind::Bucket => "Bucket",
            FluxKind::GitRepository => "GitRepository",
            FluxKind::OCIRepository => "OCIRepository",
            FluxKind::HelmRepository => "HelmRepository",
        }
    }

    fn group_plural(self) -> (&'static str, &'static str) {
        match self {
            FluxKind::Kustomization => ("kustomize.toolkit.fluxcd.io", "kustomizations"),
            FluxKind::HelmRelease => ("helm.toolkit.fluxcd.io", "helmreleases"),
            FluxKind::Bucket => ("source.toolkit.fluxcd.io", "buckets"),
            FluxKind::GitRepository => ("source.toolkit.fluxcd.io", "gitrepositories"),
            FluxKind::OCIRepository => ("source.toolkit.fluxcd.io", "ocirepositories"),
            FluxKind::HelmRepository => ("source.toolkit.fluxcd.io", "helmrepositories"),
        }
    }

    /// The versions to try, newest first.
    pub fn versions(self) -> &'static [&'static str] {
        match self {
            FluxKind::HelmRelease => &["v2"],
            FluxKind::OCIRepository => &["v1", "v1beta2"],
            _ => &["v1"],
        }
    }

    /// The kube client's description of this kind at `version`.
    pub fn api_resource(self, version: &str) -> ApiResource {
        let (group, plural) = self.group_plural();
        ApiResource {
            group: group.to_owned(),
            version: version.to_owned(),
            api_version: format!("{group}/{version}"),
            kind: self.kind().to_owned(),
            plural: plural.to_owned(),
        }
    }
}

impl fmt::Display for FluxKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a kind the watcher follows (one of Kustomization, HelmRelease, Bucket, GitRepository, OCIRepository, HelmRepository)")]
pub struct UnknownKind(pub String);

impl FromStr for FluxKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<FluxKind, UnknownKind> {
        FluxKind::ALL.into_iter().find(|k| k.kind() == s).ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl<'de> serde::Deserialize<'de> for FluxKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<FluxKind, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_and_name_their_api() {
        for k in FluxKind::ALL {
            assert_eq!(k.kind().parse::<FluxKind>(), Ok(k));
        }
        assert!("Helmrelease".parse::<FluxKind>().unwrap_err().to_string().contains("`Helmrelease`"));
        let r = FluxKind::OCIRepository.api_resource("v1beta2");
        assert_eq!(
            (r.api_version.as_str(), r.plural.as_str()),
            ("source.toolkit.fluxcd.io/v1beta2", "ocirepositories")
        );
        assert_eq!(FluxKind::HelmRelease.api_resource("v2").group, "helm.toolkit.fluxcd.io");
    }
}
