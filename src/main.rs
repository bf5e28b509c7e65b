use std::process::ExitCode;

use clap::Parser;

// Rendering allocates many small objects on every core; mimalloc does that
// several times faster than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    nixflux::lifetime::huge_pages(false);
    nixflux::lifetime::ends_with_command();
    let cli = nixflux::cli::Cli::parse();
    if cli.renders() {
        nixflux::lifetime::huge_pages(true);
    }
    nixflux::logging::init(cli.log_settings());
    let output = cli.output;
    let code = match cli.run() {
        Ok(code) => code,
        Err(err) => nixflux::command::exit::report(&err, output),
    };
    nixflux::lifetime::exit(code)
}
