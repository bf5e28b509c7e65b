//! `nixflux notify --config FILE`: runs the notifier until SIGINT or
//! SIGTERM (`--check`: validates the configuration and exits).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::exit::BadInput;
use super::output::Global;
use super::target::block_on;
use crate::flux::access::KubeAccess;
use crate::notify::watch::{FluxKind, WatchOptions};
use crate::notify::{Config, Daemon, StartError, StartOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The configuration: TOML, or JSON with the same fields when the name ends in `.json` (see docs/notify-config.md)
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Only validate the configuration: exit 0 when it is right, 2 when not
    #[arg(long)]
    pub check: bool,
}

/// How long the sinks get to deliver what they hold at a stop.
const DRAIN: Duration = Duration::from_secs(5);

pub fn run(args: Args, _global: Global) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| BadInput {
        message: format!("the notifier configuration is not valid: {e}"),
        hint: Some("see docs/notify-config.md for every field".into()),
    })?;
    // The watched kinds are checked with the rest, before anything starts.
    let watch = match &config.watch {
        Some(w) => {
            let kinds = w
                .kinds
                .iter()
                .enumerate()
                .map(|(i, k)| {
                    k.parse::<FluxKind>().map_err(|e| BadInput {
                        message: format!("the notifier configuration is not valid: `watch.kinds[{i}]`: {e}"),
                        hint: Some("see docs/notify-config.md for every field".into()),
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let access = w.kubeconfig.clone().map_or(KubeAccess::Infer, KubeAccess::File);
            Some((access, WatchOptions { namespaces: w.namespaces.clone(), kinds, ..WatchOptions::default() }))
        }
        None => None,
    };
    if args.check {
        tracing::info!("`{}` is a valid configuration", args.config.display());
        return Ok(ExitCode::SUCCESS);
    }
    block_on(async move {
        let daemon = Daemon::start(&config, StartOptions::default()).await.map_err(|e| match e {
            e @ (StartError::Sink(_) | StartError::HmacKey { .. }) => anyhow::Error::new(BadInput {
                message: e.to_string(),
                hint: Some("check the file the configuration names".into()),
            }),
            e => anyhow::Error::new(e).context("starting the notifier"),
        })?;
        if let Some((access, opts)) = watch {
            let client =
                crate::flux::access::client(&access).await.context("connecting to the Kubernetes API for `[watch]`")?;
            let tx = daemon.observations();
            tokio::spawn(async move {
                if let Err(e) = crate::notify::watch::run(client, opts, tx).await {
                    tracing::error!(error = %e, "the Kubernetes watcher stopped; only the receiver feeds the notifier now");
                }
            });
        }
        shutdown_signal().await.context("waiting for a signal")?;
        tracing::info!("stopping");
        daemon.stop(DRAIN).await;
        Ok::<_, anyhow::Error>(ExitCode::SUCCESS)
    })?
}

async fn shutdown_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}
