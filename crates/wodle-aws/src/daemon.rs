//! `run --config FILE`: every cloudwatchlogs service of every aws-s3 block, on
//! its block's schedule, as modulesd would run the reference.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::signal::unix::{SignalKind, signal};
use wodle_checkpoint::CheckpointStore;
use wodle_cloudwatch::EventSink;
use wodle_config::{AwsS3Wodle, Interval, LoadedConfig, WallClock};

use crate::exit::ExitStatus;
use crate::ossec_log::local_now;
use crate::paths::WazuhPaths;
use crate::service::{self, Tuning};
use crate::signals::StopSignals;

/// One aws-s3 block and when it runs next.
struct ScheduledWodle {
    wodle: AwsS3Wodle,
    next: OffsetDateTime,
}

/// Runs the file's services until SIGTERM or SIGINT (or once, with `once`).
/// `load` re-reads the file on SIGHUP; an invalid file then keeps the old
/// configuration running.
pub async fn run(
    config_file: &Path,
    config: LoadedConfig,
    once: bool,
    paths: &WazuhPaths,
    tuning: &Tuning,
    load: impl Fn(&Path) -> Option<LoadedConfig>,
) -> ExitStatus {
    // Listening before the first line, so a signal never meets the default
    // action (which would kill the process without committing).
    let signals = StopSignals::install();
    let mut reload = match signal(SignalKind::hangup()) {
        Ok(stream) => Some(stream),
        Err(error) => {
            tracing::warn!("cannot listen for SIGHUP ({error}): the configuration will not reload");
            None
        }
    };
    tracing::info!("Module AWS started");
    let mut store = match service::open_store(&paths.database) {
        Ok(store) => store,
        Err(status) => return status,
    };
    let mut sink =
        EventSink::new(&paths.queue_socket, tuning.analysisd).with_interrupt(signals.interrupt());
    let mut wodles = schedule(&config, once);
    let mut worst = ExitStatus::Success;
    let stopping = signals.token();

    loop {
        if signals.is_stopping() {
            break;
        }
        let Some(index) = wodles
            .iter()
            .enumerate()
            .min_by_key(|(_, wodle)| wodle.next)
            .map(|(index, _)| index)
        else {
            if once {
                break;
            }
            tracing::warn!(
                "{}: no enabled aws-s3 block with a cloudwatchlogs service; waiting for SIGHUP",
                config_file.display()
            );
            tokio::select! {
                () = stopping.cancelled() => break,
                () = hangup(&mut reload) => {
                    if let Some(config) = reloaded(config_file, &load) {
                        wodles = schedule(&config, once);
                    }
                    continue;
                }
            }
        };
        let wait = wodles[index].next - local_now();
        if wait > time::Duration::ZERO {
            let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = stopping.cancelled() => break,
                () = hangup(&mut reload) => {
                    if let Some(config) = reloaded(config_file, &load) {
                        wodles = schedule(&config, once);
                    }
                    continue;
                }
            }
        }

        let scheduled = wodles[index].next;
        let (returned_store, returned_sink, status) =
            run_wodle(&wodles[index].wodle, tuning, store, sink, &signals).await;
        store = returned_store;
        sink = returned_sink;
        if worst == ExitStatus::Success {
            worst = status;
        }
        if once {
            wodles.remove(index);
            continue;
        }
        let next =
            WallClock::Local.after_run(&wodles[index].wodle.schedule, scheduled, local_now());
        if next.overtaken {
            tracing::warn!("Interval overtaken.");
        }
        wodles[index].next = next.at;
    }
    drop(store);
    let status = if once { worst } else { ExitStatus::Success };
    signals.exit_status(status)
}

fn schedule(config: &LoadedConfig, once: bool) -> Vec<ScheduledWodle> {
    let now = local_now();
    config
        .wodles
        .iter()
        .filter(|wodle| !wodle.disabled && !wodle.services.is_empty())
        .map(|wodle| ScheduledWodle {
            next: if once {
                now
            } else {
                WallClock::Local.first_run(&wodle.schedule, wodle.run_on_start, now)
            },
            wodle: wodle.clone(),
        })
        .collect()
}

async fn hangup(reload: &mut Option<tokio::signal::unix::Signal>) {
    match reload {
        Some(stream) => {
            stream.recv().await;
        }
        None => std::future::pending().await,
    }
}

fn reloaded(
    config_file: &Path,
    load: &impl Fn(&Path) -> Option<LoadedConfig>,
) -> Option<LoadedConfig> {
    tracing::info!("SIGHUP: reloading {}", config_file.display());
    let config = load(config_file);
    if config.is_none() {
        tracing::error!(
            "{}: the new configuration is invalid; the previous one keeps running",
            config_file.display()
        );
    }
    config
}

/// One run of one aws-s3 block: each of its services in turn, within the
/// block's interval (a stream that keeps growing yields at the deadline and
/// continues next run).
async fn run_wodle(
    wodle: &AwsS3Wodle,
    tuning: &Tuning,
    mut store: CheckpointStore,
    mut sink: EventSink,
    signals: &StopSignals,
) -> (CheckpointStore, EventSink, ExitStatus) {
    tracing::info!("Starting fetching of logs.");
    let stop = signals.token().child_token();
    let deadline = deadline_of(wodle);
    let timer = deadline.map(|deadline| {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(deadline).await;
            if !stop.is_cancelled() {
                tracing::info!(
                    "The run reached its interval; streams still growing continue next run."
                );
                stop.cancel();
            }
        })
    });
    let mut worst = ExitStatus::Success;
    for service in &wodle.services {
        if stop.is_cancelled() {
            break;
        }
        tracing::info!(
            "Executing Service Analysis: (Service: cloudwatchlogs, Profile: {})",
            service.aws_profile.as_deref().unwrap_or("default")
        );
        let (returned_store, returned_sink, outcome) =
            service::run_service(service, false, tuning, store, sink, stop.clone()).await;
        store = returned_store;
        sink = returned_sink;
        if outcome.status != ExitStatus::Success {
            tracing::warn!(
                "Service: cloudwatchlogs - Returned exit code {}",
                outcome.status.code()
            );
            if worst == ExitStatus::Success {
                worst = outcome.status;
            }
            if outcome.fatal && !wodle.skip_on_error {
                break;
            }
        }
    }
    if let Some(timer) = timer {
        timer.abort();
    }
    tracing::info!("Fetching logs finished.");
    (store, sink, worst)
}

/// A run may take at most one plain interval; calendar schedules (days,
/// weeks, months apart) are not cut short.
fn deadline_of(wodle: &AwsS3Wodle) -> Option<Duration> {
    match wodle.schedule.interval {
        Interval::Every(interval) if wodle.schedule.time_of_day.is_none() => Some(interval),
        _ => None,
    }
}

/// Where `run` appends its lines when asked to write ossec.log.
pub fn ossec_log_path(paths: &WazuhPaths) -> PathBuf {
    crate::ossec_log::default_path(&paths.wazuh_home)
}
