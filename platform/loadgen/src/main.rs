//! `loadgen`: see the library's documentation.
//!
//! Exit status: 0 when every invariant check passes, 1 when any fails, 2 when the run
//! could not start (bad arguments, API unreachable).

use std::process::ExitCode;

use clap::Parser;
use loadgen::Cli;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match loadgen::run_with(cli.args, cli.promotions, cli.shipping).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::from(2)
        }
    }
}
