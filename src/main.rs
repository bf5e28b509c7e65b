use std::process::ExitCode;

use clap::Parser;

// Rendering allocates many small objects on every core; mimalloc does that
// several times faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = nixflux::cli::Cli::parse();
    nixflux::logging::init(cli.log_settings());
    let output = cli.output;
    match cli.run() {
        Ok(code) => code,
        Err(err) => nixflux::command::exit::report(&err, output),
    }
}
