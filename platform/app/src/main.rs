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
        Command::Migrate(store) => exit(runtime.block_on(commerce::cli::migrate(&store))),
        Command::Projections(command) => {
            exit(runtime.block_on(commerce::cli::projections(command)))
        }
        Command::Health { url } => exit(commerce::cli::health(&url)),
        Command::ApiKeys(command) => exit(runtime.block_on(commerce::cli::api_keys(command))),
    }
}

/// A command's exit: success, or its error as one line on standard error and a failure.
fn exit(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
