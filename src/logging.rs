//! Tracing set-up, once per process: text without timestamps for the CLI
//! (coloured on a terminal unless `NO_COLOR`), or one JSON object per line
//! for a daemon whose logs a journal or collector reads. `RUST_LOG`
//! overrides the level.

use std::io::IsTerminal;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy)]
pub struct LogSettings {
    /// 0 warnings, 1 info, 2 debug, 3 and more trace.
    pub verbosity: u8,
    /// Errors only (wins over `verbosity`).
    pub quiet: bool,
    pub format: LogFormat,
}

impl LogSettings {
    fn level(&self) -> &'static str {
        match (self.quiet, self.verbosity) {
            (true, _) => "error",
            (_, 0) => "warn",
            (_, 1) => "info",
            (_, 2) => "debug",
            _ => "trace",
        }
    }
}

/// Installs the global subscriber; a second call changes nothing.
pub fn init(settings: LogSettings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("nixflux={}", settings.level())));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match settings.format {
        LogFormat::Text => {
            let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            builder.with_ansi(color).without_time().with_target(false).try_init()
        }
        LogFormat::Json => builder.json().with_ansi(false).with_current_span(true).try_init(),
    };
}
