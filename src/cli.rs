//! The command line: global flags and the subcommands, and the dispatch to
//! each command's `run`. What an error means (message, hint, exit code) is
//! decided in `command/exit.rs`; tracing is set up by `logging`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::command;
use crate::command::output::{Global, Output};
use crate::logging::{LogFormat, LogSettings};

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
    /// Format of log lines on stderr: text, or one JSON object per line (for a journal or collector)
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true, env = "NIXFLUX_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
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
    /// What the bucket holds and what Flux made of it (`--watch` follows changes)
    Status(command::status::Args),
    /// Delete object files that no retained generation uses
    Gc(command::gc::Args),
    /// Flux's side of a target: `flux bootstrap`
    Flux(command::flux::Args),
    /// Print the NAR hash of a path, as Nix computes it
    NarHash(command::nar_hash::Args),
    /// Run the notifier: tell people when Flux fails, recovers or stays failing
    Notify(command::notify::Args),
}

impl Cli {
    /// How this invocation logs: on stderr, at the level and in the format the flags ask for.
    pub fn log_settings(&self) -> LogSettings {
        LogSettings { verbosity: self.verbose, quiet: self.quiet, format: self.log_format }
    }

    /// Whether the command renders a spec (and fills its memory).
    pub fn renders(&self) -> bool {
        matches!(self.command, Command::Render(_) | Command::Check(_))
    }

    /// Runs the command; an error is the caller's to `report`.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let global = Global { output: self.output, quiet: self.quiet };
        match self.command {
            Command::Render(args) => command::render::run(args, global),
            Command::Check(args) => command::check::run(args, global),
            Command::Publish(args) => command::publish::run(args, global),
            Command::Diff(args) => command::diff::run(args, global),
            Command::History(args) => command::history::run(args, global),
            Command::Rollback(args) => command::rollback::run(args, global),
            Command::Status(args) => command::status::run(args, global),
            Command::Gc(args) => command::gc::run(args, global),
            Command::Flux(args) => command::flux::run(args, global),
            Command::NarHash(args) => command::nar_hash::run(args, global),
            Command::Notify(args) => command::notify::run(args, global),
        }
    }
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
