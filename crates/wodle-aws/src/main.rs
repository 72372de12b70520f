//! wodle-aws: collects AWS CloudWatch Logs for Wazuh, a drop-in for the aws-s3
//! wodle's cloudwatchlogs service.
//!
//! This binary only wires the libraries together: it parses the command line,
//! sets up logging, and turns each library's typed errors into the messages and
//! exit codes administrators and modulesd know from the reference.

mod cli;
mod describe;
mod exit;
mod internal_options;
mod logging;
mod one_shot;
mod ossec_log;
mod paths;

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

    let daemon = matches!(cli.command, Some(Command::Run { .. }));
    logging::init(
        Verbosity::from_debug_level(cli.global.debug.unwrap_or(0), daemon),
        cli.global.log_format,
    );
    let executable = std::env::current_exe().ok();
    let paths = WazuhPaths::resolve(
        cli.global.wazuh_home.as_deref(),
        executable.as_deref(),
        cli.global.queue_socket.as_deref(),
        cli.global.db.as_deref(),
    );
    tracing::trace!(
        "Wazuh home {}, queue socket {}, database {}",
        paths.wazuh_home.display(),
        paths.queue_socket.display(),
        paths.database.display()
    );

    let status = match &cli.command {
        Some(Command::CheckConfig { file }) => check_config(file, &paths),
        Some(Command::Run { config, once }) => run_daemon(config, *once),
        None => run_one_shot(&cli),
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

/// `run --config FILE`: validates the file; collection itself lands with the
/// collection issue, and until then this says so rather than pretend.
fn run_daemon(config_file: &Path, once: bool) -> ExitStatus {
    let Some(config) = load_config(config_file) else {
        return ExitStatus::InvalidConfiguration;
    };
    let services: usize = config
        .wodles
        .iter()
        .filter(|wodle| !wodle.disabled)
        .map(|wodle| wodle.services.len())
        .sum();
    let mode = if once { "run --once" } else { "run" };
    tracing::error!(
        "{}: the configuration is valid ({services} enabled cloudwatchlogs service(s)), but '{mode}' cannot collect yet: collection of CloudWatch Logs is not implemented in this version of wodle-aws",
        config_file.display()
    );
    ExitStatus::NotImplemented
}

/// `--service cloudwatchlogs [flags]`: the reference's one-shot command.
fn run_one_shot(cli: &Cli) -> ExitStatus {
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
    tracing::error!(
        "collection of CloudWatch Logs is not implemented in this version of wodle-aws: the arguments are valid, nothing was collected"
    );
    ExitStatus::NotImplemented
}
