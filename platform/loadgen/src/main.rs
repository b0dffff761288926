//! `loadgen`: see the library's documentation.
//!
//! Exit status: 0 when every invariant check passes, 1 when any fails, 2 when the run
//! could not start (bad arguments, API unreachable). `loadgen get`: 0 when every request was
//! answered with a 2xx, 1 otherwise, 2 when it could not start.

use std::process::ExitCode;

use clap::Parser;
use loadgen::{Cli, Mode};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Mode::Get(args)) = cli.mode {
        return match loadgen::get::run(&args).await {
            Ok(report) => {
                loadgen::get::print(&report);
                if report.errors == 0 && report.requests > 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(message) => {
                eprintln!("loadgen get: {message}");
                ExitCode::from(2)
            }
        };
    }
    match loadgen::run_with(cli.args, cli.promotions, cli.shipping).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("loadgen: {message}");
            ExitCode::from(2)
        }
    }
}
