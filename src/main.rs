use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = nixflux::cli::Cli::parse();
    cli.init_tracing();
    match cli.run() {
        Ok(code) => code,
        Err(err) => nixflux::cli::report(&err),
    }
}
