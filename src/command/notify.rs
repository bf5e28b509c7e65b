//! `nixflux notify --config FILE`: runs the notifier until SIGINT or
//! SIGTERM (`--check`: validates the configuration and exits).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::exit::BadInput;
use super::output::Global;
use super::target::block_on;
use crate::notify::{Config, Daemon, StartError, StartOptions};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The TOML configuration (see docs/notify-config.md)
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
        if config.watch.is_some() {
            // The Kubernetes watcher (`src/notify/watch.rs`, its own issue
            // part) feeds `daemon.observations()`; until it is wired here, say so.
            tracing::warn!("`[watch]` is configured, but this build has no Kubernetes watcher: only the receiver feeds the notifier");
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
