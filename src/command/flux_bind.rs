//! `nixflux flux bind --to TARGET`: binds a target to the cluster the
//! kubeconfig reaches (the uid of its `kube-system` Namespace), so that a
//! publish with API access refuses any other cluster.

use std::path::PathBuf;
use std::process::ExitCode;

use super::exit::BadInput;
use super::output::{Global, Output};
use super::target::{block_on, TargetArgs};
use crate::flux::access::{self, KubeAccess};
use crate::flux::binding::{self, Binding};

#[derive(Debug, clap::Args)]
pub struct BindArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Kubeconfig of the cluster (else `KUBECONFIG`, `~/.kube/config` or the
    /// in-cluster service account)
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Replace a binding to another cluster (the target moves clusters)
    #[arg(long)]
    pub rebind: bool,
}

pub fn bind(args: BindArgs, global: Global) -> anyhow::Result<ExitCode> {
    let access = args.kubeconfig.clone().map_or(KubeAccess::Infer, KubeAccess::File);
    let (binding, previous) = block_on(async {
        let target = args.target.open().await?;
        let client = access::client(&access).await?;
        let (uid, previous) = tokio::join!(binding::cluster_uid(&client), binding::read(&target));
        let (uid, previous) = (uid?, previous?);
        if let Some(p) = previous.as_ref().filter(|p| p.kube_system_uid != uid && !args.rebind) {
            return Err(BadInput {
                message: format!(
                    "{} is bound to the cluster with kube-system uid {}, not to this one ({uid})",
                    args.target.to, p.kube_system_uid
                ),
                hint: Some("pass `--rebind` if the target really moves to this cluster".into()),
            }
            .into());
        }
        let binding = Binding {
            kube_system_uid: uid,
            bound_at: jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        };
        if previous.as_ref().map(|p| &p.kube_system_uid) != Some(&binding.kube_system_uid) {
            binding::write(&target, &binding).await?;
        }
        anyhow::Ok((binding, previous))
    })??;
    match global.output {
        Output::Json => outln!("{}", serde_json::to_string(&binding)?),
        Output::Text if !global.quiet => {
            let verb = if previous.is_some_and(|p| p.kube_system_uid == binding.kube_system_uid) {
                "is already bound"
            } else {
                "bound"
            };
            eprintln!("{} {verb} to the cluster with kube-system uid {}", args.target.to, binding.kube_system_uid);
        }
        Output::Text => {}
    }
    Ok(ExitCode::SUCCESS)
}
