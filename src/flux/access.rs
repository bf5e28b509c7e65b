//! How nixflux reaches Flux for a target: which Bucket and Kustomizations
//! read it, and the way in (the Kubernetes API through a kubeconfig, the
//! environment's kubeconfig or the in-cluster service account, or a
//! Receiver webhook with a token file).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use kube::config::{KubeConfigOptions, Kubeconfig};

use super::error::FluxError;

/// A namespaced Flux object, written `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub namespace: String,
    pub name: String,
}

impl FromStr for ObjectRef {
    type Err = String;

    fn from_str(s: &str) -> Result<ObjectRef, String> {
        let (namespace, name) = s.split_once('/').unwrap_or(("flux-system", s));
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 253
                && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && !p.starts_with(['-', '.'])
                && !p.ends_with(['-', '.'])
        };
        if !ok(namespace) || !ok(name) {
            return Err(format!(
                "`{s}` is not NAMESPACE/NAME (lowercase letters, digits, `-` and `.`; a NAME alone means flux-system/NAME)"
            ));
        }
        Ok(ObjectRef { namespace: namespace.to_owned(), name: name.to_owned() })
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Where the Kubernetes API credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeAccess {
    /// This kubeconfig file, its current context.
    File(PathBuf),
    /// `KUBECONFIG`, `~/.kube/config`, or the in-cluster service account.
    Infer,
}

/// A Receiver's webhook URL and the file holding its token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverAccess {
    pub url: String,
    pub token_file: PathBuf,
}

/// Everything nixflux needs to close the loop with Flux for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluxLoop {
    pub bucket: ObjectRef,
    /// In apply order (one per layer); never empty.
    pub kustomizations: Vec<ObjectRef>,
    pub kube: Option<KubeAccess>,
    pub receiver: Option<ReceiverAccess>,
}

impl FluxLoop {
    /// Whether the loop can read Flux's status (wait, status, the prune gate).
    pub fn has_api(&self) -> bool {
        self.kube.is_some()
    }
}

/// A Kubernetes client for `access`. Building it reads the kubeconfig and
/// sets up TLS; no request is made.
pub async fn client(access: &KubeAccess) -> Result<kube::Client, FluxError> {
    let config = match access {
        KubeAccess::File(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| FluxError::Kubeconfig { path: path.clone(), message: e.to_string() })?;
            kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
                .await
                .map_err(|e| FluxError::Kubeconfig { path: path.clone(), message: e.to_string() })?
        }
        KubeAccess::Infer => kube::Config::infer().await.map_err(|e| FluxError::NoAccess { message: e.to_string() })?,
    };
    if config.cluster_url.scheme() == Some(&http::uri::Scheme::HTTP) {
        return plain_http_client(config).map_err(|e| FluxError::NoAccess { message: e.to_string() });
    }
    kube::Client::try_from(config).map_err(|e| FluxError::NoAccess { message: e.to_string() })
}

/// A client for an API server reached over plain HTTP (a local proxy such
/// as `kubectl proxy`, a test server): the same layers as kube's default
/// stack (base URI, credentials, extra headers, timeouts) without the TLS
/// setup, which reads every system root certificate (about 10 ms of a
/// publish) for a connection that never uses them.
fn plain_http_client(config: kube::Config) -> Result<kube::Client, kube::Error> {
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use kube::client::ConfigExt;
    use tower::ServiceBuilder;

    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_nodelay(true);
    let mut connector = hyper_timeout::TimeoutConnector::new(connector);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    let http: hyper_util::client::legacy::Client<_, kube::client::Body> =
        hyper_util::client::legacy::Builder::new(TokioExecutor::new()).build(connector);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(tower::BoxError::from)
        .service(http);
    Ok(kube::Client::new(service, config.default_namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_refs_parse() {
        let r: ObjectRef = "flux-system/apps".parse().unwrap();
        assert_eq!((r.namespace.as_str(), r.name.as_str()), ("flux-system", "apps"));
        assert_eq!("apps".parse::<ObjectRef>().unwrap().to_string(), "flux-system/apps");
        for bad in ["", "/", "a/", "/b", "A/b", "a/b/c", "a/-b", "a b"] {
            assert!(bad.parse::<ObjectRef>().is_err(), "{bad}");
        }
    }
}
