//! `nixflux status --to TARGET`: what the bucket holds and what Flux made
//! of it (see `flux::status`); `--watch` prints again whenever something
//! changes. Without Kubernetes API access the bucket side is still shown
//! (exit 0); with access, a Bucket or Kustomization that does not exist is
//! exit 2.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::flux_args::{parse_duration, FluxArgs};
use super::output::{Global, Output};
use super::status_text::text;
use super::target::{block_on, BucketArgs, TargetArgs};
use crate::flux::access::{self, FluxLoop, KubeAccess};
use crate::flux::error::FluxError;
use crate::flux::status::{status, ClusterView, Observed, Status, Watcher};
use crate::publish::target::any::AnyTarget;
use crate::publish::target::Target;

/// How often `--watch` reads the bucket and the Deployments again (the
/// Flux objects are watched, not polled).
const POLL: Duration = Duration::from_secs(2);

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub bucket: BucketArgs,
    #[command(flatten)]
    pub flux: FluxArgs,
    /// Keep running and print the status again whenever it changes (Ctrl-C ends)
    #[arg(long)]
    pub watch: bool,
    /// With `--watch`: stop after this long (e.g. `30s`), exit 0
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, requires = "watch")]
    pub watch_timeout: Option<Duration>,
}

pub fn run(args: Args, global: Global) -> anyhow::Result<ExitCode> {
    block_on(run_async(args, global))??;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(args: Args, global: Global) -> anyhow::Result<()> {
    let target = args.target.open().await?;
    let flux = args.flux.api_loop("`nixflux status`", target.key_prefix())?;
    let flag_ignore = args.bucket.spec_ignore();
    let cluster = connect(&flux).await?;
    let observed = match &cluster {
        Ok(client) => Some(Observed::get(client, &flux).await?),
        Err(_) => None,
    };
    let mut last = read(&target, &flag_ignore, &cluster, observed.as_ref()).await?;
    print(&last, global)?;
    if !args.watch {
        return Ok(());
    }
    let mut watcher = match (&cluster, observed) {
        (Ok(client), Some(o)) => Some(Watcher::start(client, &flux, o)),
        _ => None,
    };
    let deadline = args.watch_timeout.map(|t| tokio::time::Instant::now() + t);
    let mut tick = tokio::time::interval(POLL);
    tick.reset();
    loop {
        tokio::select! {
            changed = changed(&mut watcher) => changed?,
            _ = tick.tick() => {}
            _ = until(deadline) => return Ok(()),
        }
        let now = read(&target, &flag_ignore, &cluster, watcher.as_ref().map(|w| &w.observed)).await?;
        if now.without_ages() != last.without_ages() {
            if global.output == Output::Text {
                outln!();
            }
            print(&now, global)?;
            last = now;
        }
    }
}

/// The status now, with the cluster side from `observed` when there is API access.
async fn read(
    target: &AnyTarget,
    flag_ignore: &str,
    cluster: &Result<kube::Client, String>,
    observed: Option<&Observed>,
) -> anyhow::Result<Status> {
    let view = match (cluster, observed) {
        (Ok(client), Some(o)) => ClusterView::Seen(client, o),
        (Err(why), _) => ClusterView::Unknown(why.clone()),
        (Ok(_), None) => ClusterView::Unknown("not read".into()),
    };
    Ok(status(target, flag_ignore, view, jiff::Timestamp::now()).await?)
}

/// A client for the loop's API access, or why there is none. Only an
/// inferred access may be absent (no `KUBECONFIG`, no `~/.kube/config`,
/// not in a pod); a kubeconfig named by flag that does not work is an error.
async fn connect(flux: &FluxLoop) -> anyhow::Result<Result<kube::Client, String>> {
    let Some(kube) = &flux.kube else { return Ok(Err("no Kubernetes API access configured".into())) };
    match access::client(kube).await {
        Ok(client) => Ok(Ok(client)),
        Err(e @ FluxError::NoAccess { .. }) if *kube == KubeAccess::Infer => Ok(Err(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

async fn changed(watcher: &mut Option<Watcher>) -> Result<(), FluxError> {
    match watcher {
        Some(w) => w.changed().await,
        None => std::future::pending().await,
    }
}

async fn until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

fn print(s: &Status, global: Global) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match global.output {
        Output::Json => writeln!(out, "{}", serde_json::to_string(s)?),
        Output::Text => write!(out, "{}", text(s)),
    }
    .and_then(|()| out.flush())
    .context("writing to stdout")
}
