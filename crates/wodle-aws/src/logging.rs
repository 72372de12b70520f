//! Log lines on stderr: `LEVEL: message` as the reference prints them, or JSON.
//!
//! Logs never go to analysisd's queue: the reference forwards its own output to the
//! queue, so its debug lines that quote messages were analysed again as events.

use std::fmt;

use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::cli::LogFormat;

/// How much to log, from the reference's `--debug` level and the mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verbosity {
    /// Our own crates.
    ours: LevelFilter,
    /// Everything else (the AWS SDK, hyper...).
    dependencies: LevelFilter,
}

impl Verbosity {
    /// `debug_level` is the reference's 0-3. The one-shot mode is silent on success
    /// (warnings and errors only) like the reference; the `run` daemon also logs
    /// the reference's INFO lines at level 0, as modulesd does in ossec.log.
    pub fn from_debug_level(debug_level: u8, daemon: bool) -> Verbosity {
        let ours = match debug_level {
            0 if daemon => LevelFilter::INFO,
            0 => LevelFilter::WARN,
            1 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        };
        let dependencies = if debug_level >= 3 {
            LevelFilter::DEBUG
        } else {
            LevelFilter::ERROR
        };
        Verbosity { ours, dependencies }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let limit = if is_ours(metadata.target()) {
            self.ours
        } else {
            self.dependencies
        };
        *metadata.level() <= limit
    }
}

fn is_ours(target: &str) -> bool {
    target.starts_with("wodle_")
}

/// Installs the global subscriber. `RUST_LOG`, when set, replaces the level
/// filter (a developer's tool; administrators use `--debug`).
pub fn init(verbosity: Verbosity, format: LogFormat) {
    let env_filter =
        std::env::var_os("RUST_LOG").and_then(|_| EnvFilter::try_from_default_env().ok());
    let layer = match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .event_format(ReferenceLineFormat)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
    };
    let layer = match env_filter {
        Some(filter) => layer.with_filter(filter).boxed(),
        None => layer
            .with_filter(FilterFn::new(move |metadata| verbosity.enabled(metadata)))
            .boxed(),
    };
    // A second initialisation can only happen in tests; the first subscriber stays.
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// The label the reference prints before a message of this level.
pub fn level_label(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        // The reference has one DEBUG label for its three debug levels.
        _ => "DEBUG",
    }
}

/// `LEVEL: message field=value`, one line per event, nothing else: modulesd and
/// administrators' log searches look for exactly these prefixes.
struct ReferenceLineFormat;

impl<S, N> FormatEvent<S, N> for ReferenceLineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(writer, "{}: ", level_label(event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shot_is_quiet_by_default_and_daemon_logs_info() {
        let quiet = Verbosity::from_debug_level(0, false);
        assert_eq!(quiet.ours, LevelFilter::WARN);
        let daemon = Verbosity::from_debug_level(0, true);
        assert_eq!(daemon.ours, LevelFilter::INFO);
        assert_eq!(daemon.dependencies, LevelFilter::ERROR);
    }

    #[test]
    fn only_level_three_opens_the_sdk_logs() {
        assert_eq!(
            Verbosity::from_debug_level(2, false).dependencies,
            LevelFilter::ERROR
        );
        assert_eq!(
            Verbosity::from_debug_level(3, false).dependencies,
            LevelFilter::DEBUG
        );
        assert_eq!(
            Verbosity::from_debug_level(1, false).ours,
            LevelFilter::DEBUG
        );
        assert_eq!(
            Verbosity::from_debug_level(2, false).ours,
            LevelFilter::TRACE
        );
    }

    #[test]
    fn labels_match_the_reference() {
        assert_eq!(level_label(&Level::WARN), "WARNING");
        assert_eq!(level_label(&Level::TRACE), "DEBUG");
        assert!(is_ours("wodle_config::xml"));
        assert!(!is_ours("aws_config::profile"));
    }
}
