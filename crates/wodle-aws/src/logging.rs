//! Log lines on stderr: `LEVEL: message` as the reference prints them, or JSON;
//! in `run` mode also appended to Wazuh's ossec.log in its own line format
//! ([`crate::ossec_log`]).
//!
//! Logs never go to analysisd's queue: the reference forwards its own output to the
//! queue, so its debug lines that quote messages were analysed again as events.

use std::collections::BTreeSet;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::OffsetDateTime;
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::filter::{FilterExt, FilterFn, LevelFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::cli::LogFormat;
use crate::ossec_log::{OssecLog, WazuhLineFormat};

/// The target of an error that stops the program: Wazuh labels such lines
/// `CRITICAL` (`tracing::error!(target: CRITICAL_TARGET, ...)`).
pub const CRITICAL_TARGET: &str = "wodle_aws::critical";

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
        *metadata.level() <= limit && secret_safe(metadata)
    }
}

fn is_ours(target: &str) -> bool {
    target.starts_with("wodle_")
}

/// Whether an event cannot quote a secret, whatever `--debug` or `RUST_LOG` ask for.
///
/// The SDK's TRACE events print whole requests and answers (the signed `Authorization`
/// and `X-Amz-Security-Token` headers, AssumeRole's answer with the temporary secret key
/// and session token), and the signer's print its canonical requests and strings to
/// sign: no dependency logs at TRACE here, and the signer at most warnings.
fn secret_safe(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    if is_ours(target) {
        return true;
    }
    let limit = if target.starts_with("aws_sigv4") {
        Level::WARN
    } else {
        Level::DEBUG
    };
    *metadata.level() <= limit
}

/// Whether a plain-http endpoint is worth a `WARNING:` line: whenever the run logs more
/// than warnings and errors, that is always in `run` mode and with `--debug` in the
/// one-shot mode, whose successful runs print nothing at level 0, as the reference's.
static PLAIN_HTTP_WARNS: AtomicBool = AtomicBool::new(true);
/// The endpoints already warned about: once per endpoint per process.
static PLAIN_HTTP_WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Warns, once per process, that requests to `url` travel unencrypted. In a one-shot run
/// at debug level 0 the line is a debug line, not shown.
pub fn warn_plain_http(url: &str) {
    let first = PLAIN_HTTP_WARNED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(url.to_owned());
    if !first {
        return;
    }
    if PLAIN_HTTP_WARNS.load(Ordering::Relaxed) {
        tracing::warn!("{}", plain_http_message(url));
    } else {
        tracing::debug!("{}", plain_http_message(url));
    }
}

fn plain_http_message(url: &str) -> String {
    format!(
        "The endpoint {url} is plain HTTP: requests and answers, including temporary \
         credentials, travel unencrypted. Use https:// outside a test setup."
    )
}

/// Installs the global subscriber: stderr in `format`, and, with `ossec_log`,
/// Wazuh's line format appended to that file; both at the same verbosity.
/// `RUST_LOG`, when set, replaces the level filter (a developer's tool;
/// administrators use `--debug`).
pub fn init_with_ossec_log(verbosity: Verbosity, format: LogFormat, ossec_log: Option<PathBuf>) {
    PLAIN_HTTP_WARNS.store(verbosity.ours >= LevelFilter::INFO, Ordering::Relaxed);
    let rust_log = std::env::var("RUST_LOG").ok();
    let layers = layers(
        verbosity,
        format,
        ossec_log,
        rust_log.as_deref(),
        crate::ossec_log::local_now,
    );
    // A second initialisation can only happen in tests; the first subscriber stays.
    let _ = tracing_subscriber::registry().with(layers).try_init();
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

/// The stderr layer and, with `ossec_log`, the ossec.log layer, each behind the
/// same filter: `rust_log`'s directives when they parse, else `verbosity`.
fn layers(
    verbosity: Verbosity,
    format: LogFormat,
    ossec_log: Option<PathBuf>,
    rust_log: Option<&str>,
    clock: fn() -> OffsetDateTime,
) -> Vec<BoxedLayer> {
    let stderr = match format {
        // Plain text, as the reference prints: modulesd copies these lines
        // into ossec.log, where colour codes would be noise.
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .event_format(ReferenceLineFormat)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .boxed(),
    };
    let mut layers = vec![filtered(stderr, verbosity, rust_log)];
    if let Some(path) = ossec_log {
        let file = tracing_subscriber::fmt::layer()
            .with_writer(Arc::new(OssecLog::new(path)))
            .with_ansi(false)
            .event_format(WazuhLineFormat { clock })
            .boxed();
        layers.push(filtered(file, verbosity, rust_log));
    }
    layers
}

fn filtered(layer: BoxedLayer, verbosity: Verbosity, rust_log: Option<&str>) -> BoxedLayer {
    match rust_log.and_then(|directives| EnvFilter::try_new(directives).ok()) {
        Some(filter) => layer
            .with_filter(filter.and(FilterFn::new(secret_safe)))
            .boxed(),
        None => layer
            .with_filter(FilterFn::new(move |metadata| verbosity.enabled(metadata)))
            .boxed(),
    }
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

/// Like [`level_label`], and `CRITICAL` for an error logged at [`CRITICAL_TARGET`].
pub fn level_label_of(metadata: &Metadata<'_>) -> &'static str {
    if *metadata.level() == Level::ERROR && metadata.target() == CRITICAL_TARGET {
        "CRITICAL"
    } else {
        level_label(metadata.level())
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
        write!(writer, "{}: ", level_label_of(event.metadata()))?;
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

    mod ossec_log {
        use time::macros::datetime;
        use tracing_subscriber::layer::SubscriberExt;

        use super::*;

        fn two_pm() -> OffsetDateTime {
            datetime!(2026-11-26 14:00:00 UTC)
        }

        /// Logs a few events through the layers `init` would install, and
        /// returns what ossec.log then holds.
        fn log_to_file(verbosity: Verbosity, rust_log: Option<&str>) -> String {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ossec.log");
            std::fs::write(
                &path,
                "2026/11/26 13:00:00 wazuh-modulesd: INFO: Started.\n",
            )
            .unwrap();
            let layers = layers(
                verbosity,
                LogFormat::Text,
                Some(path.clone()),
                rust_log,
                two_pm,
            );
            let subscriber = tracing_subscriber::registry().with(layers);
            tracing::subscriber::with_default(subscriber, || {
                tracing::info!("Module AWS started");
                tracing::debug!("+++ Getting alerts from \"us-east-1\" region.");
                tracing::info!(target: "aws_config::profile", "not ours");
                tracing::warn!(events = 3, "Skipped:\nthree events");
                tracing::error!(target: CRITICAL_TARGET, "Cannot open the database. Exiting.");
            });
            std::fs::read_to_string(&path).unwrap()
        }

        #[test]
        fn lines_are_appended_in_wazuh_format_at_the_daemon_verbosity() {
            assert_eq!(
                log_to_file(Verbosity::from_debug_level(0, true), None),
                "2026/11/26 13:00:00 wazuh-modulesd: INFO: Started.\n\
                 2026/11/26 14:00:00 wazuh-modulesd:aws-s3: INFO: Module AWS started\n\
                 2026/11/26 14:00:00 wazuh-modulesd:aws-s3: WARNING: Skipped:\\nthree events events=3\n\
                 2026/11/26 14:00:00 wazuh-modulesd:aws-s3: CRITICAL: Cannot open the database. Exiting.\n"
            );
        }

        #[test]
        fn debug_lines_follow_the_debug_level() {
            let text = log_to_file(Verbosity::from_debug_level(1, true), None);
            assert!(
                text.contains(
                    "14:00:00 wazuh-modulesd:aws-s3: DEBUG: +++ Getting alerts from \"us-east-1\" region.\n"
                ),
                "{text}"
            );
            assert!(!text.contains("not ours"), "{text}");
        }

        #[test]
        fn rust_log_replaces_the_filter_for_the_file_too() {
            let text = log_to_file(
                Verbosity::from_debug_level(0, true),
                Some("aws_config=info"),
            );
            assert!(text.contains("INFO: not ours\n"), "{text}");
            assert!(!text.contains("Module AWS started"), "{text}");
        }
    }

    #[test]
    fn no_dependency_traces_and_the_signer_stays_quiet_even_with_rust_log() {
        let text = log_to_stderr_of(Verbosity::from_debug_level(3, false), Some("trace"));
        for quiet in ["smithy trace", "sigv4 debug", "sigv4 info"] {
            assert!(!text.contains(quiet), "{quiet}: {text}");
        }
        for shown in ["smithy debug", "sigv4 warn", "ours trace"] {
            assert!(text.contains(shown), "{shown}: {text}");
        }
        let text = log_to_stderr_of(Verbosity::from_debug_level(3, false), None);
        assert!(
            !text.contains("smithy trace") && !text.contains("sigv4 debug"),
            "{text}"
        );
        assert!(text.contains("smithy debug"), "{text}");
    }

    /// Logs one event per interesting target and level through the layers `init` would
    /// install, with ossec.log as the sink standing in for stderr.
    fn log_to_stderr_of(verbosity: Verbosity, rust_log: Option<&str>) -> String {
        use tracing_subscriber::layer::SubscriberExt;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ossec.log");
        let layers = layers(
            verbosity,
            LogFormat::Text,
            Some(path.clone()),
            rust_log,
            || OffsetDateTime::UNIX_EPOCH,
        );
        let subscriber = tracing_subscriber::registry().with(layers);
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "smithy trace");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "smithy debug");
            tracing::debug!(target: "aws_sigv4::http_request::sign", "sigv4 debug");
            tracing::info!(target: "aws_sigv4::http_request::sign", "sigv4 info");
            tracing::warn!(target: "aws_sigv4::http_request::sign", "sigv4 warn");
            tracing::trace!(target: "wodle_cloudwatch::reader", "ours trace");
        });
        std::fs::read_to_string(&path).unwrap_or_default()
    }

    #[test]
    fn the_plain_http_warning_names_the_endpoint_and_the_remedy() {
        assert_eq!(
            plain_http_message("http://127.0.0.1:5000"),
            "The endpoint http://127.0.0.1:5000 is plain HTTP: requests and answers, including \
             temporary credentials, travel unencrypted. Use https:// outside a test setup."
        );
    }

    #[test]
    fn labels_match_the_reference() {
        assert_eq!(level_label(&Level::WARN), "WARNING");
        assert_eq!(level_label(&Level::TRACE), "DEBUG");
        assert!(is_ours("wodle_config::xml"));
        assert!(!is_ours("aws_config::profile"));
        // Filtered as ours.
        assert!(is_ours(CRITICAL_TARGET));
    }
}
