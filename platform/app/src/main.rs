use clap::{CommandFactory, FromArgMatches};
use commerce::config::{Cli, Command, ConfigCommand, EventsCommand};

fn main() -> std::process::ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|error| error.exit());
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
        Command::Events(EventsCommand::Tail {
            from,
            types,
            follow,
            store,
        }) => exit(runtime.block_on(commerce::tail::tail(&store, &from, &types, follow))),
        Command::Seed(seed) => exit(say(runtime.block_on(commerce::ops::seed_demo(seed.store)))),
        Command::Config(ConfigCommand::Check(settings)) => {
            let Some(check) = matches
                .subcommand_matches("config")
                .and_then(|config| config.subcommand_matches("check"))
            else {
                return exit(Err("no settings to check".to_owned()));
            };
            exit(runtime.block_on(config_check(&settings, check)))
        }
        Command::Backup(args) => exit(say(runtime.block_on(commerce::backup::backup(&args)))),
        Command::Restore(args) => exit(say(runtime.block_on(commerce::backup::restore(&args)))),
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

/// A command's report on standard output.
fn say(result: Result<String, String>) -> Result<(), String> {
    let report = result?;
    commerce::cli::line(format_args!("{report}"))
}

/// `commerce config check`: every setting, where it came from, then each check; a failed
/// check fails the command, its reason as the error line.
async fn config_check(
    settings: &commerce::config::Settings,
    matches: &clap::ArgMatches,
) -> Result<(), String> {
    commerce::cli::line(format_args!("setting\tvalue\tsource"))?;
    for setting in commerce::ops::effective(matches) {
        commerce::cli::line(format_args!(
            "{}\t{}\t{}",
            setting.name, setting.value, setting.source
        ))?;
    }
    commerce::cli::line(format_args!(""))?;
    commerce::cli::line(format_args!("check\tresult\tdetail"))?;
    let findings = commerce::ops::check(settings).await;
    for finding in &findings {
        let result = if finding.ok { "ok" } else { "FAILED" };
        commerce::cli::line(format_args!(
            "{}\t{result}\t{}",
            finding.check, finding.detail
        ))?;
    }
    match findings.iter().find(|finding| !finding.ok) {
        None => Ok(()),
        Some(failed) => Err(format!("{}: {}", failed.check, failed.detail)),
    }
}
