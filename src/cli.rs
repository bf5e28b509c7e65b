//! The command line: global flags, the subcommands, tracing set-up, and how
//! an error becomes a message and an exit code (0 ok, 1 failed, 2 bad input).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::command;
use crate::spec::Problems;

#[derive(Debug, Parser)]
#[command(name = "nixflux", version, about = "Render Nix-declared apps into checked Kubernetes bundles for Flux")]
pub struct Cli {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Format of what goes to stdout
    #[arg(long, value_enum, default_value_t = Output::Text, global = true)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render a spec into a bundle directory (or YAML on stdout)
    Render(command::render::Args),
    /// Run every check on a spec without writing anything
    Check(command::check::Args),
    /// Publish a bundle to a target as its new live generation
    Publish(command::publish::Args),
    /// Show what publishing a bundle would change (exit 1 when it would)
    Diff(command::diff::Args),
    /// List the retained generations of a target
    History(command::history::Args),
    /// Make an earlier generation live again, as a new generation
    Rollback(command::rollback::Args),
    /// Delete object files that no retained generation uses
    Gc(command::gc::Args),
    /// Print the NAR hash of a path, as Nix computes it
    NarHash(command::nar_hash::Args),
}

/// What the commands need from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub output: Output,
    pub quiet: bool,
}

/// A failed operation (exit code 1) with a hint for the user.
#[derive(Debug, thiserror::Error)]
#[error("{error:#}")]
pub struct Hinted {
    pub error: anyhow::Error,
    pub hint: String,
}

/// An error caused by the user's input or usage: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadInput {
    pub message: String,
    pub hint: Option<String>,
}

impl Cli {
    pub fn init_tracing(&self) {
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (_, 0) => "warn",
            (_, 1) => "info",
            (_, 2) => "debug",
            _ => "trace",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("nixflux={level}")));
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(color)
            .without_time()
            .with_target(false)
            .try_init();
    }

    pub fn run(self) -> anyhow::Result<ExitCode> {
        let global = Global { output: self.output, quiet: self.quiet };
        let result = match self.command {
            Command::Render(args) => command::render::run(args, global),
            Command::Check(args) => command::check::run(args, global),
            Command::Publish(args) => command::publish::run(args, global),
            Command::Diff(args) => command::diff::run(args, global),
            Command::History(args) => command::history::run(args, global),
            Command::Rollback(args) => command::rollback::run(args, global),
            Command::Gc(args) => command::gc::run(args, global),
            Command::NarHash(args) => command::nar_hash::run(args, global),
        };
        if let (Output::Json, Err(err)) = (global.output, &result) {
            if let Some(problems) = err.downcast_ref::<Problems>() {
                println!("{}", problems_json(problems));
            }
        }
        result
    }
}

/// Prints `err` as `error: ...` / `hint: ...` and returns its exit code.
pub fn report(err: &anyhow::Error) -> ExitCode {
    if let Some(problems) = err.downcast_ref::<Problems>() {
        eprint!("{}", format_problems(problems));
        return ExitCode::from(2);
    }
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        // Many messages already end with their cause; say it once.
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!(": {cause}"));
        }
    }
    eprintln!("{text}");
    if let Some(bad) = err.downcast_ref::<BadInput>() {
        if let Some(hint) = &bad.hint {
            eprintln!("hint: {hint}");
        }
        return ExitCode::from(2);
    }
    if let Some(hinted) = err.downcast_ref::<Hinted>() {
        eprintln!("hint: {}", hinted.hint);
    }
    ExitCode::from(1)
}

/// The JSON form of a spec's problems, for `--output json`.
pub fn problems_json(problems: &Problems) -> serde_json::Value {
    let list: Vec<serde_json::Value> = problems
        .problems
        .iter()
        .map(|p| {
            serde_json::json!({
                "path": p.path.to_string(),
                "line": p.position.map(|(l, _)| l),
                "column": p.position.map(|(_, c)| c),
                "message": p.message,
                "hint": p.hint,
            })
        })
        .collect();
    serde_json::json!({ "ok": false, "source": problems.source_name, "problems": list })
}

/// The text form of a spec's problems, as printed on stderr.
pub fn format_problems(problems: &Problems) -> String {
    let mut out = String::new();
    match problems.problems.as_slice() {
        [one] => {
            out.push_str(&format!("error: {problems}\n"));
            if let Some(hint) = &one.hint {
                out.push_str(&format!("hint: {hint}\n"));
            }
        }
        many => {
            out.push_str(&format!("error: {problems}\n"));
            for p in many {
                out.push_str(&format!("  {p}\n"));
                if let Some(hint) = &p.hint {
                    out.push_str(&format!("    hint: {hint}\n"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    /// clap checks its definitions only when a command runs (in debug
    /// builds); check every subcommand here instead.
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
