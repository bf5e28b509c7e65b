//! What can go wrong between nixflux and Flux. Flux failing to apply a
//! revision is not an error of this kind: it is a wait outcome.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FluxError {
    #[error("kubeconfig `{}`: {message}", path.display())]
    Kubeconfig { path: PathBuf, message: String },
    #[error("no Kubernetes API access: {message} (give --kubeconfig FILE, set KUBECONFIG, or run in a pod with a service account)")]
    NoAccess { message: String },
    #[error("{kind} {object} does not exist in the cluster (bootstrap it with `nixflux flux bootstrap`, or name the right one)")]
    NotFound { kind: &'static str, object: String },
    #[error("the cluster refused to let this publisher {verb} {kind} {object}: {message} (see `nixflux flux bootstrap --rbac-subject` for the role it needs)")]
    Forbidden { verb: &'static str, kind: &'static str, object: String, message: String },
    #[error("the cluster rejected the credentials: {message}")]
    Unauthorized { message: String },
    #[error("{verb} {kind} {object}: {message}")]
    Api { verb: &'static str, kind: &'static str, object: String, message: String },
    #[error("reading the Receiver token file `{}`: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Receiver token file `{}` is empty", path.display())]
    EmptyToken { path: PathBuf },
    #[error("Receiver webhook `{url}`: {message}")]
    Receiver { url: String, message: String },
    #[error("target {target} is bound to the cluster whose kube-system namespace has uid {bound}, but the kubeconfig reaches the cluster with uid {found}: refusing to publish to the wrong cluster (point --kubeconfig at the right cluster, or bind the target again with `nixflux flux bind`)")]
    WrongCluster { target: String, bound: String, found: String },
}

impl FluxError {
    /// Maps a kube client error on `verb` of `kind` `object`.
    pub fn api(verb: &'static str, kind: &'static str, object: impl ToString, e: kube::Error) -> FluxError {
        let object = object.to_string();
        match e {
            kube::Error::Api(s) if s.code == 404 => FluxError::NotFound { kind, object },
            kube::Error::Api(s) if s.code == 403 => FluxError::Forbidden { verb, kind, object, message: s.message },
            kube::Error::Api(s) if s.code == 401 => FluxError::Unauthorized { message: s.message },
            other => FluxError::Api { verb, kind, object, message: other.to_string() },
        }
    }
}
