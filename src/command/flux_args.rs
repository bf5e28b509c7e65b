//! The Flux flags shared by `publish`, `rollback`, `diff` and `status`:
//! which Bucket and Kustomizations read the target, and the way in (a
//! kubeconfig, the environment's, or a Receiver webhook).

use std::path::PathBuf;
use std::time::Duration;

use crate::flux::access::{FluxLoop, KubeAccess, ObjectRef, ReceiverAccess};

use super::exit::BadInput;

/// The Bucket `nixflux flux bootstrap` renders by default for a target
/// prefix: `flux-system/nixflux-<prefix>` (`flux-system/nixflux` for none).
pub fn default_bucket(prefix: &str) -> ObjectRef {
    ObjectRef { namespace: "flux-system".into(), name: crate::flux::options::default_name(prefix) }
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct FluxArgs {
    /// The Flux Bucket that reads the target (NAMESPACE/NAME; default: the
    /// one `flux bootstrap` names, flux-system/nixflux-<prefix>); with it,
    /// nixflux asks Flux to reconcile after a switch
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub flux_bucket: Option<ObjectRef>,
    /// A Flux Kustomization that applies the target, in order (repeat for
    /// layers; default: the Bucket's namespace and name)
    #[arg(long = "flux-kustomization", value_name = "NAMESPACE/NAME")]
    pub flux_kustomizations: Vec<ObjectRef>,
    /// Kubeconfig of the cluster (else `KUBECONFIG`, `~/.kube/config` or the
    /// in-cluster service account, unless only a Receiver is given)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// URL of a `generic-hmac` Flux Receiver to trigger instead of the API
    #[arg(long, value_name = "URL", requires = "receiver_token_file")]
    pub receiver_url: Option<String>,
    /// File holding the Receiver's token (never on the command line)
    #[arg(long, value_name = "FILE", requires = "receiver_url")]
    pub receiver_token_file: Option<PathBuf>,
}

impl FluxArgs {
    /// The Flux loop these flags describe for a target whose bucket prefix
    /// is `prefix`, or `None` when none is given.
    pub fn to_loop(&self, prefix: &str) -> Option<FluxLoop> {
        if self.flux_bucket.is_none() && self.kubeconfig.is_none() && self.receiver_url.is_none() {
            return None;
        }
        let bucket = self.flux_bucket.clone().unwrap_or_else(|| default_bucket(prefix));
        let kustomizations =
            if self.flux_kustomizations.is_empty() { vec![bucket.clone()] } else { self.flux_kustomizations.clone() };
        let receiver = match (&self.receiver_url, &self.receiver_token_file) {
            (Some(url), Some(token_file)) => Some(ReceiverAccess { url: url.clone(), token_file: token_file.clone() }),
            _ => None,
        };
        let kube = match (&self.kubeconfig, &receiver) {
            (Some(path), _) => Some(KubeAccess::File(path.clone())),
            (None, None) => Some(KubeAccess::Infer),
            (None, Some(_)) => None,
        };
        Some(FluxLoop { bucket, kustomizations, kube, receiver })
    }

    /// Like `to_loop`, for commands that read Flux's status: API access is required.
    pub fn api_loop(&self, what: &str, prefix: &str) -> Result<FluxLoop, BadInput> {
        match self.to_loop(prefix) {
            Some(l) if l.has_api() => Ok(l),
            Some(_) => Err(BadInput {
                message: format!("{what} reads Flux's status, which a Receiver cannot tell"),
                hint: Some("give `--kubeconfig FILE` (or set KUBECONFIG) as well".into()),
            }),
            None => Ok(FluxLoop {
                bucket: default_bucket(prefix),
                kustomizations: vec![default_bucket(prefix)],
                kube: Some(KubeAccess::Infer),
                receiver: None,
            }),
        }
    }
}

/// The Flux flags of `publish` and `rollback`: the loop, `--wait`, and
/// the prune gate against the live inventory.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LoopArgs {
    #[command(flatten)]
    pub flux: FluxArgs,
    /// Wait until Flux applied exactly the published revision (default 5m):
    /// exit 3 when Flux fails it, 4 when the time runs out
    #[arg(long, value_name = "DURATION", num_args = 0..=1, require_equals = true, default_missing_value = "5m", value_parser = parse_duration)]
    pub wait: Option<Duration>,
    /// With API access: let Flux prune objects of this protected kind
    /// (PersistentVolumeClaim, PersistentVolume, Namespace,
    /// CustomResourceDefinition, Cluster); repeat for more
    #[arg(long = "allow-prune-kind", value_name = "KIND")]
    pub allow_prune_kinds: Vec<String>,
}

pub use crate::flux::duration::parse_duration;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loop_needs_a_flag_and_defaults_the_names() {
        assert!(FluxArgs::default().to_loop("home/").is_none());
        let args = FluxArgs { kubeconfig: Some("k".into()), ..Default::default() };
        let l = args.to_loop("home/").unwrap();
        assert_eq!(l.bucket.to_string(), "flux-system/nixflux-home");
        assert_eq!(args.to_loop("").unwrap().bucket.to_string(), "flux-system/nixflux");
        assert_eq!(l.kustomizations, std::slice::from_ref(&l.bucket));
        let args = FluxArgs {
            receiver_url: Some("https://flux/hook/x".into()),
            receiver_token_file: Some("t".into()),
            ..Default::default()
        };
        assert!(!args.to_loop("").unwrap().has_api());
    }
}
