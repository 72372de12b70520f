//! wodle-aws: collects AWS CloudWatch Logs for Wazuh, a drop-in for the aws-s3
//! wodle's cloudwatchlogs service.
//!
//! This binary only wires the libraries together: it parses the command line,
//! sets up logging, and turns each library's typed errors into the messages and
//! exit codes administrators and modulesd know from the reference.

mod cli;
mod daemon;
mod describe;
mod exit;
mod internal_options;
mod logging;
mod one_shot;
mod ossec_log;
mod paths;
mod service;
mod signals;
mod test_hooks;

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use clap::error::ErrorKind;

use crate::cli::{Cli, Command};
use crate::exit::ExitStatus;
use crate::logging::Verbosity;
use crate::paths::WazuhPaths;

fn main() -> ExitCode {
    let args: Vec<OsString> = cli::rewrite_reference_short_flags(std::env::args_os());
    let cli = Cli::parse_args(args);

    let executable = std::env::current_exe().ok();
    let paths = WazuhPaths::resolve(
        cli.global.wazuh_home.as_deref(),
        executable.as_deref(),
        cli.global.queue_socket.as_deref(),
        cli.global.db.as_deref(),
    );
    let (daemon, ossec_log) = match &cli.command {
        Some(Command::Run { ossec_log, .. }) => (true, *ossec_log),
        _ => (false, false),
    };
    // `run` takes modulesd's debug level from Wazuh's internal options when no
    // flag sets it, as the reference gets it from modulesd.
    let mut options_problem = None;
    let debug_level = match cli.global.debug {
        Some(level) => level,
        None if daemon => {
            match internal_options::wazuh_modules_debug(&paths.wazuh_home.join("etc")) {
                Ok(level) => level.unwrap_or(0),
                Err(error) => {
                    options_problem = Some(error);
                    0
                }
            }
        }
        None => 0,
    };
    logging::init_with_ossec_log(
        Verbosity::from_debug_level(debug_level, daemon),
        cli.global.log_format,
        ossec_log.then(|| daemon::ossec_log_path(&paths)),
    );
    if let Some(problem) = options_problem {
        tracing::warn!("{problem}; using debug level 0");
    }
    tracing::trace!(
        "Wazuh home {}, queue socket {}, database {}",
        paths.wazuh_home.display(),
        paths.queue_socket.display(),
        paths.database.display()
    );

    let status = match &cli.command {
        Some(Command::CheckConfig { file }) => check_config(file, &paths),
        Some(Command::Run { config, once, .. }) => run_daemon(&cli, config, *once, &paths),
        None => run_one_shot(&cli, &paths),
    };
    status.into()
}

/// `check-config FILE`: 0 when the file is valid, 1 when it is not.
fn check_config(file: &Path, paths: &WazuhPaths) -> ExitStatus {
    match load_config(file) {
        Some(config) => {
            print!("{}", describe::describe_config(&config, paths));
            println!("{}: valid", file.display());
            ExitStatus::Success
        }
        None => ExitStatus::InvalidConfiguration,
    }
}

/// Loads and validates a file, logging every warning and error with the file's
/// name. `None` when it is not usable.
fn load_config(file: &Path) -> Option<wodle_config::LoadedConfig> {
    let name = file.display();
    match wodle_config::load_file(file) {
        Ok(config) => {
            for warning in config
                .warnings
                .iter()
                .chain(&wodle_config::extension_warnings(&config))
            {
                tracing::warn!("{name}: {warning}");
            }
            if config.wodles.is_empty() {
                tracing::error!(
                    "{name}: no <wodle name=\"aws-s3\"> block: there is nothing for wodle-aws to run"
                );
                return None;
            }
            Some(config)
        }
        Err(wodle_config::LoadError::Invalid { errors, warnings }) => {
            for warning in &warnings {
                tracing::warn!("{name}: {warning}");
            }
            for error in &errors {
                tracing::error!("{name}: {error}");
            }
            None
        }
        // This message names the file already.
        Err(error @ wodle_config::LoadError::Io { .. }) => {
            tracing::error!("{error}");
            None
        }
        Err(error) => {
            tracing::error!("{name}: {error}");
            None
        }
    }
}

/// `run --config FILE`: every enabled cloudwatchlogs service on its schedule.
fn run_daemon(cli: &Cli, config_file: &Path, once: bool, paths: &WazuhPaths) -> ExitStatus {
    let Some(config) = load_config(config_file) else {
        return ExitStatus::InvalidConfiguration;
    };
    let (tuning, runtime) = match tuning_and_runtime(cli) {
        Ok(both) => both,
        Err(status) => return status,
    };
    runtime.block_on(daemon::run(
        config_file,
        config,
        once,
        paths,
        &tuning,
        load_config,
    ))
}

/// `--service cloudwatchlogs [flags]`: the reference's one-shot command.
fn run_one_shot(cli: &Cli, paths: &WazuhPaths) -> ExitStatus {
    let (service, warnings) = match one_shot::service_from_args(&cli.one_shot) {
        Ok(parsed) => parsed,
        Err(error) if error.is_invalid_region() => {
            tracing::error!("{error}");
            return ExitStatus::InvalidRegion;
        }
        Err(error) => {
            let kind = match error {
                one_shot::OneShotError::InvalidValue { .. } => ErrorKind::ValueValidation,
                one_shot::OneShotError::Usage(_) => ErrorKind::ArgumentConflict,
            };
            // Prints clap's usage block and exits 2, as the reference's argparse does.
            Cli::command().error(kind, error).exit();
        }
    };
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    tracing::debug!(
        "Service settings from the command line:\n{}",
        describe::describe_service(&service).trim_end()
    );
    let (tuning, runtime) = match tuning_and_runtime(cli) {
        Ok(both) => both,
        Err(status) => return status,
    };
    runtime.block_on(async {
        // As the reference: credentials are checked before the database is opened.
        let prepared = match service::prepare(&service, &tuning).await {
            Ok(prepared) => prepared,
            Err(status) => return status,
        };
        let store = match service::open_store(&paths.database) {
            Ok(store) => store,
            Err(status) => return status,
        };
        let signals = signals::StopSignals::install();
        let sink = wodle_cloudwatch::EventSink::new(&paths.queue_socket, tuning.analysisd)
            .with_interrupt(signals.interrupt());
        let (store, _sink, outcome) = service::collect(
            &service,
            prepared,
            cli.one_shot.reparse,
            &tuning,
            store,
            sink,
            signals.token(),
        )
        .await;
        drop(store);
        signals.exit_status(outcome.status)
    })
}

/// Process-wide collection settings from the flags, and the async runtime
/// collection runs on.
fn tuning_and_runtime(cli: &Cli) -> Result<(service::Tuning, tokio::runtime::Runtime), ExitStatus> {
    let tuning = service::Tuning::from_options(&cli.global.tuning, clock()).map_err(|message| {
        tracing::error!("{message}");
        ExitStatus::InvalidConfiguration
    })?;
    Ok((tuning, build_runtime()?))
}

/// The system clock, or for tests the instant in `WODLE_AWS_NOW` (epoch
/// milliseconds): "today", the default lower bound, must not depend on the
/// hour a test runs. Not meant for production use.
fn clock() -> std::sync::Arc<dyn wodle_cloudwatch::Clock> {
    match std::env::var("WODLE_AWS_NOW")
        .ok()
        .map(|value| value.parse::<i64>())
    {
        Some(Ok(millis)) => {
            tracing::debug!(
                "WODLE_AWS_NOW is set: the clock is fixed at {millis} ms (a test hook)"
            );
            std::sync::Arc::new(wodle_cloudwatch::FixedClock(millis))
        }
        Some(Err(_)) => {
            tracing::warn!("WODLE_AWS_NOW is not epoch milliseconds; the system clock is used");
            std::sync::Arc::new(wodle_cloudwatch::SystemClock)
        }
        None => std::sync::Arc::new(wodle_cloudwatch::SystemClock),
    }
}

fn build_runtime() -> Result<tokio::runtime::Runtime, ExitStatus> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            tracing::error!("cannot start the async runtime: {error}");
            ExitStatus::Unknown
        })
}
