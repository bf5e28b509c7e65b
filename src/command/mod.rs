//! The command layer: one file per subcommand the user types, each with
//! its `Args` and a `run`, plus what they share: spec input (`input.rs`),
//! target flags (`target.rs`), output formats (`output.rs`), progress
//! drawing (`progress.rs`), and the one mapping of errors to messages, hints
//! and exit codes (`exit.rs`). Commands read inputs, call the domain
//! modules and print; the domain modules never print and never import this
//! layer.

/// `println!` for a command's output: a reader that closed the pipe
/// (`nixflux publish ... | head -c 100`) loses the rest, the command's exit
/// code stays its own, and nothing panics.
macro_rules! outln {
    () => {
        $crate::command::write_out(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::command::write_out(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod check;
pub mod diff;
pub mod exit;
pub mod flux;
pub mod flux_args;
pub mod flux_bind;
pub mod flux_run;
pub mod gc;
pub mod history;
pub mod input;
pub mod nar_hash;
pub mod notify;
pub mod output;
pub mod progress;
pub mod publish;
pub mod publish_layers;
pub mod render;
pub mod report;
pub mod rollback;
pub mod status;
pub mod status_text;
pub mod target;

/// Writes `args` to stdout (see `outln!`).
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            tracing::warn!(error = %e, "could not write the output");
        }
    }
}
