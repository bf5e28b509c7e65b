//! The Flux loop around a publish or rollback: the session's checks as
//! publish hooks, the reconcile request at the switch, then `--wait`.
//! Exit codes: 0 applied (or not waited for), 3 Flux failed, 4 timed out.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinHandle;

use crate::flux::access::FluxLoop;
use crate::flux::error::FluxError;
use crate::flux::judge::short;
use crate::flux::prune::PrunePreview;
use crate::flux::session::{Requested, Session};
use crate::flux::wait::{self, Outcome, WaitOptions};
use crate::publish::target::any::AnyTarget;
use crate::publish::target::Target;
use crate::publish::{self, Report};

use super::exit::BadInput;
use super::flux_args::LoopArgs;
use super::output::Global;
use super::report::print_report;

pub const FLUX_FAILED: u8 = 3;
pub const TIMED_OUT: u8 = 4;

/// What the Flux loop did, for the report.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FluxReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<Requested>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prune: Option<PrunePreview>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait: Option<Outcome>,
}

impl FluxReport {
    pub fn exit_code(&self) -> ExitCode {
        match &self.wait {
            Some(Outcome::Failed { .. }) => ExitCode::from(FLUX_FAILED),
            Some(Outcome::TimedOut { .. }) => ExitCode::from(TIMED_OUT),
            _ => ExitCode::SUCCESS,
        }
    }
}

pub struct FluxRun {
    session: Arc<Session<AnyTarget>>,
    trigger: Option<JoinHandle<Result<Option<Requested>, FluxError>>>,
    wait: Option<Duration>,
}

impl FluxRun {
    /// Starts the session (clients, the cluster reads) before the publish.
    pub async fn start(
        flux: Option<FluxLoop>,
        target: &AnyTarget,
        allowed_prune_kinds: Vec<String>,
        wait: Option<Duration>,
        dry_run: bool,
    ) -> anyhow::Result<Option<FluxRun>> {
        let Some(flux) = flux else {
            if wait.is_some() {
                return Err(BadInput {
                    message: "`--wait` needs to know which Flux objects to wait for".into(),
                    hint: Some(
                        "give `--flux-bucket NAMESPACE/NAME` and `--kubeconfig FILE` (or set KUBECONFIG)".into(),
                    ),
                }
                .into());
            }
            return Ok(None);
        };
        if wait.is_some() && !flux.has_api() {
            return Err(BadInput {
                message: "`--wait` reads Flux's status, which a Receiver cannot tell".into(),
                hint: Some("give `--kubeconfig FILE` (or set KUBECONFIG) as well".into()),
            }
            .into());
        }
        let session = Arc::new(Session::start(flux, target.clone(), allowed_prune_kinds, dry_run).await?);
        let trigger = (!dry_run).then(|| session.trigger_on_switch());
        Ok(Some(FluxRun { session, trigger, wait }))
    }

    pub fn hooks(&self) -> Arc<dyn publish::hooks::Hooks> {
        self.session.clone()
    }

    /// The session, for hooks of its own (a layered publish: `publish_layers.rs`).
    pub fn session(&self) -> Arc<Session<AnyTarget>> {
        self.session.clone()
    }

    /// After the publish: the request's outcome, then the wait.
    pub async fn finish(
        self,
        report: &Report,
        target: &AnyTarget,
        flux_ignore: &str,
        global: Global,
    ) -> anyhow::Result<FluxReport> {
        let mut out = FluxReport { prune: self.session.prune_preview(), ..Default::default() };
        if report.dry_run {
            return Ok(out);
        }
        self.session.no_switch();
        if let Some(t) = self.trigger {
            out.requested = t.await??;
        }
        let Some(timeout) = self.wait else {
            if let Some(r) = &out.requested {
                text(
                    global,
                    &format!("  asked Flux to reconcile ({}, {} ms after the switch)", r.via, r.after_switch_ms),
                );
            }
            // Its cluster facts (a Kustomization's whole inventory) take a
            // while to free, which the report need not wait for.
            crate::lifetime::let_go(self.session);
            return Ok(out);
        };
        if out.requested.is_none() {
            // Nothing switched: still make sure Flux is at this revision.
            out.requested = Some(self.session.request(report.generation_after.unwrap_or(0), Instant::now()).await?);
        }
        let revision = match &report.flux_revision {
            Some(r) => r.clone(),
            None => {
                let listing = target.list().await?;
                let ignore = publish::bucket_ignore(target, flux_ignore).await;
                publish::flux_revision(target, &listing, &ignore)
            }
        };
        // `start` refuses `--wait` without API access, so this is `Some`.
        let Some(client) = self.session.api().await? else {
            return Err(FluxError::NoAccess { message: "`--wait` needs API access".into() }.into());
        };
        let token = out.requested.as_ref().and_then(|r| r.token.clone()).unwrap_or_default();
        text(global, &format!("  waiting up to {} for Flux to apply {}", human(timeout), short(&revision)));
        let line = ProgressLine::new(global);
        let outcome = wait::wait(
            client,
            self.session.flux(),
            &revision,
            token,
            &WaitOptions::with_timeout(timeout),
            &|l: &str| line.show(l),
        )
        .await?;
        line.clear();
        match &outcome {
            Outcome::Applied { revision, elapsed_ms } => {
                text(global, &format!("  Flux applied {} in {:.1} s", short(revision), *elapsed_ms as f64 / 1000.0))
            }
            Outcome::Failed { failure, .. } => {
                eprintln!(
                    "error: Flux failed to apply {}: {} {}: {}",
                    short(&revision),
                    failure.object,
                    failure.reason,
                    failure.message
                );
                if !failure.unhealthy.is_empty() {
                    eprintln!("  not healthy: {}", failure.unhealthy.join(", "));
                }
            }
            Outcome::TimedOut { waiting_for, .. } => {
                eprintln!("error: Flux did not apply {} within {}: {waiting_for}", short(&revision), human(timeout))
            }
        }
        out.wait = Some(outcome);
        Ok(out)
    }
}

/// A publish (or rollback) with the Flux loop around it; prints the text
/// report as soon as the publish is done.
pub async fn publish_followed(
    target: &AnyTarget,
    desired: publish::Desired,
    mut opts: publish::Options,
    args: &LoopArgs,
    global: Global,
    progress: &dyn publish::progress::Progress,
) -> anyhow::Result<(Report, Option<FluxReport>)> {
    let flux = FluxRun::start(
        args.flux.to_loop(target.key_prefix()),
        target,
        args.allow_prune_kinds.clone(),
        args.wait,
        opts.dry_run,
    )
    .await?;
    opts.hooks = flux.as_ref().map(FluxRun::hooks);
    let report = publish::publish(target, desired, &opts, progress).await?;
    print_report(&report, global)?;
    let flux = match flux {
        Some(f) => Some(f.finish(&report, target, &opts.flux_ignore, global).await?),
        None => None,
    };
    Ok((report, flux))
}

/// The JSON a publish prints: the report, and what the Flux loop did.
#[derive(Serialize)]
struct Printed<'a> {
    #[serde(flatten)]
    report: &'a Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    flux: Option<&'a FluxReport>,
}

/// Prints the JSON report (with `--output json`) and picks the exit code.
pub fn conclude(report: &Report, flux: Option<&FluxReport>, global: Global) -> anyhow::Result<ExitCode> {
    if global.output == super::output::Output::Json {
        outln!("{}", serde_json::to_string(&Printed { report, flux })?);
    }
    Ok(flux.map_or(ExitCode::SUCCESS, FluxReport::exit_code))
}

fn text(global: Global, line: &str) {
    if global.output == super::output::Output::Text && !global.quiet {
        eprintln!("{line}");
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 60 => format!("{}m{}s", s / 60, s % 60),
        _ => format!("{:.1}s", d.as_secs_f64()),
    }
}

/// One line on a terminal, redrawn as the wait's state changes.
struct ProgressLine {
    on: bool,
}

impl ProgressLine {
    fn new(global: Global) -> ProgressLine {
        ProgressLine { on: global.progress() }
    }

    fn show(&self, line: &str) {
        if self.on {
            let line: String = line.chars().filter(|c| !c.is_control()).take(110).collect();
            eprint!("\r\x1b[2K  {line}");
        } else {
            tracing::debug!(state = line, "waiting for Flux");
        }
    }

    fn clear(&self) {
        if self.on {
            eprint!("\r\x1b[2K");
        }
    }
}
