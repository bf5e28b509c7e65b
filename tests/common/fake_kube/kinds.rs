//! The kinds the fake API server serves: group, version, plural and scope,
//! and how the real server names them in paths and messages.

#[derive(Debug, PartialEq, Eq)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl Kind {
    pub fn api_version(&self) -> String {
        match self.group {
            "" => self.version.to_owned(),
            g => format!("{g}/{}", self.version),
        }
    }

    /// `buckets.source.toolkit.fluxcd.io`, or `namespaces` for the core group.
    pub fn group_resource(&self) -> String {
        match self.group {
            "" => self.plural.to_owned(),
            g => format!("{}.{g}", self.plural),
        }
    }

    /// The kube client's description of this kind, for `Api<DynamicObject>`.
    pub fn api_resource(&self) -> kube::discovery::ApiResource {
        kube::discovery::ApiResource {
            group: self.group.to_owned(),
            version: self.version.to_owned(),
            api_version: self.api_version(),
            kind: self.kind.to_owned(),
            plural: self.plural.to_owned(),
        }
    }
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
) -> Kind {
    Kind { group, version, kind, plural, namespaced }
}

pub const NAMESPACE: Kind = kind("", "v1", "Namespace", "namespaces", false);
pub const SECRET: Kind = kind("", "v1", "Secret", "secrets", true);
pub const DEPLOYMENT: Kind = kind("apps", "v1", "Deployment", "deployments", true);
pub const BUCKET: Kind = kind("source.toolkit.fluxcd.io", "v1", "Bucket", "buckets", true);
pub const KUSTOMIZATION: Kind = kind("kustomize.toolkit.fluxcd.io", "v1", "Kustomization", "kustomizations", true);
pub const RECEIVER: Kind = kind("notification.toolkit.fluxcd.io", "v1", "Receiver", "receivers", true);
pub const PROVIDER: Kind = kind("notification.toolkit.fluxcd.io", "v1beta3", "Provider", "providers", true);
pub const ALERT: Kind = kind("notification.toolkit.fluxcd.io", "v1beta3", "Alert", "alerts", true);

pub const HELM_RELEASE: Kind = kind("helm.toolkit.fluxcd.io", "v2", "HelmRelease", "helmreleases", true);
pub const GIT_REPOSITORY: Kind = kind("source.toolkit.fluxcd.io", "v1", "GitRepository", "gitrepositories", true);
pub const OCI_REPOSITORY: Kind = kind("source.toolkit.fluxcd.io", "v1", "OCIRepository", "ocirepositories", true);
/// OCIRepository as Flux before 2.6 served it.
pub const OCI_REPOSITORY_V1BETA2: Kind =
    kind("source.toolkit.fluxcd.io", "v1beta2", "OCIRepository", "ocirepositories", true);
pub const HELM_REPOSITORY: Kind = kind("source.toolkit.fluxcd.io", "v1", "HelmRepository", "helmrepositories", true);

pub static KINDS: [&Kind; 13] = [
    &NAMESPACE,
    &SECRET,
    &DEPLOYMENT,
    &BUCKET,
    &KUSTOMIZATION,
    &RECEIVER,
    &PROVIDER,
    &ALERT,
    &HELM_RELEASE,
    &GIT_REPOSITORY,
    &OCI_REPOSITORY,
    &OCI_REPOSITORY_V1BETA2,
    &HELM_REPOSITORY,
];

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static Kind> {
    KINDS.iter().copied().find(|k| k.group == group && k.version == version && k.plural == plural)
}
