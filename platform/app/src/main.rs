use clap::Parser;
use commerce::config::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("could not start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(settings) => {
            // Logs first, and the meter provider before anything records (ADR 0030).
            let telemetry = {
                let _inside = runtime.enter();
                commerce::telemetry::init(
                    settings.log_format,
                    &commerce::telemetry::Export::from_env(),
                )
            };
            let telemetry = match telemetry {
                Ok(telemetry) => telemetry,
                Err(error) => {
                    eprintln!("error: {error}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            let outcome = runtime.block_on(commerce::serve(*settings));
            // Flushes the spans and metrics still waiting for export.
            drop(telemetry);
            match outcome {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    tracing::error!(%error, "commerce stopped with an error");
                    eprintln!("error: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Migrate(store) => match runtime.block_on(commerce::cli::migrate(&store)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::Projections(command) => {
            match runtime.block_on(commerce::cli::projections(command)) {
                Ok(()) => std::process::ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("error: {error}");
                    std::process::ExitCode::FAILURE
                }
            }
        }
        Command::Health { url } => match commerce::cli::health(&url) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::ExitCode::FAILURE
            }
        },
        Command::ApiKeys(command) => match runtime.block_on(commerce::cli::api_keys(command)) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
