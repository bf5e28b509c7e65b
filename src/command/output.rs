//! What the commands share about output: the `--output` format, the global
//! flags they honour, and how sizes read.

/// Format of what goes to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// What the commands need from the global flags.
#[derive(Debug, Clone, Copy)]
pub struct Global {
    pub output: Output,
    pub quiet: bool,
}

impl Global {
    /// Whether long steps may draw progress: text output, not quiet, a
    /// terminal on stderr, and `NIXFLUX_NO_PROGRESS` unset.
    pub fn progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet
            && self.output == Output::Text
            && std::env::var_os("NIXFLUX_NO_PROGRESS").is_none()
            && std::io::stderr().is_terminal()
    }
}

/// Formats a byte count as people read it.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}
