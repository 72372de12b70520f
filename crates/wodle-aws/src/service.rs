//! Runs one cloudwatchlogs service: credentials, regions, then the pull engine.
//!
//! Every library error becomes the reference's message and exit code here.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use wodle_analysisd::{AnalysisdError, DatagramLimit, SocketOptions};
use wodle_checkpoint::{CheckpointError, CheckpointStore, StoreOptions};
use wodle_cloudwatch::PullError;
use wodle_cloudwatch::{
    Clock, DEFAULT_IDLE_STREAM_LAG, DeliveryProbe, EventSink, OwnerError, OwnerSettings, Quotas,
    RateLimiters, RegionClient, ServiceReport, ServiceRun, collect_service, spawn_owner,
};
use wodle_config::CloudWatchLogsService;
use wodle_credentials::{
    AwsErrorKind, CredentialSettings, CredentialsError, Endpoint, HttpSettings, RoleSettings,
    aws_error_kind,
};
use wodle_discovery::DiscoveryError;

use crate::exit::ExitStatus;

/// Process-wide settings every service run shares.
#[derive(Debug, Clone)]
pub struct Tuning {
    /// `--idle-stream-lag` / `WODLE_AWS_IDLE_STREAM_LAG`: the default for
    /// services without an `<idle_stream_lag>` tag.
    pub idle_stream_lag: Option<Duration>,
    pub external_id: Option<String>,
    /// Bound on one attempt of an AWS call (`--aws-attempt-timeout`).
    pub aws_attempt_timeout: Duration,
    pub commit_every: u64,
    pub max_concurrent_streams: usize,
    pub analysisd: SocketOptions,
    pub clock: Arc<dyn Clock>,
    /// One set of client-side quotas for the whole process.
    pub limits: RateLimiters,
    /// The test hook `WODLE_AWS_TEST_KILL`; `None` in production.
    pub probe: Option<Arc<dyn DeliveryProbe>>,
}

impl Tuning {
    pub fn from_options(
        options: &crate::cli::TuningOptions,
        clock: Arc<dyn Clock>,
    ) -> Result<Tuning, String> {
        let limit = DatagramLimit::new(options.max_datagram)
            .map_err(|error| format!("invalid value for --max-datagram: {error}"))?;
        let wait = Duration::from_secs(options.analysisd_timeout);
        let quotas = match &options.api_quotas {
            Some(text) => text
                .parse::<Quotas>()
                .map_err(|error| format!("invalid value for --api-quotas: {error}"))?,
            None => Quotas::default(),
        };
        Ok(Tuning {
            idle_stream_lag: options.idle_stream_lag.map(Duration::from_secs),
            external_id: options.external_id.clone(),
            aws_attempt_timeout: Duration::from_secs(options.aws_attempt_timeout),
            commit_every: options.commit_every,
            max_concurrent_streams: usize::try_from(options.max_concurrent_streams)
                .unwrap_or(usize::MAX),
            analysisd: SocketOptions {
                limit,
                connect_timeout: wait,
                stall_timeout: wait,
                ..SocketOptions::default()
            },
            clock,
            limits: RateLimiters::new(quotas),
            probe: crate::test_hooks::kill_probe_from_env()?,
        })
    }
}

/// How one service's run ended.
#[derive(Debug)]
pub struct ServiceOutcome {
    pub status: ExitStatus,
    /// Delivery or the database failed: no other service should run.
    pub fatal: bool,
}

/// Opens the checkpoint database, with the reference's message and code on
/// failure.
pub fn open_store(path: &std::path::Path) -> Result<CheckpointStore, ExitStatus> {
    let options = match std::env::var(TEST_SQLITE_VAR) {
        Ok(hooks) => store_options_for_tests(&hooks).map_err(|message| {
            tracing::error!("{message}");
            ExitStatus::InvalidConfiguration
        })?,
        Err(_) => StoreOptions::default(),
    };
    CheckpointStore::open_with(path, &options).map_err(|error| {
        tracing::error!("{error}");
        checkpoint_status(&error)
    })
}

/// A test hook: tests run as root, which ignores file modes, so they make
/// the database misbehave through SQLite itself. Not meant for production.
const TEST_SQLITE_VAR: &str = "WODLE_AWS_TEST_SQLITE";
const TEST_SQLITE_FORMS: &str =
    "read-only, max-page-count=PAGES, busy-timeout-ms=MILLISECONDS (comma-separated)";

/// The store options `WODLE_AWS_TEST_SQLITE` asks for: `read-only` opens
/// read-only (as SQLite does with a file owned by another user),
/// `max-page-count=N` makes writes past N pages fail as on a full disk,
/// `busy-timeout-ms=N` waits N ms for another writer instead of 10 s.
fn store_options_for_tests(hooks: &str) -> Result<StoreOptions, String> {
    let mut options = StoreOptions::default();
    let invalid = |item: &str| {
        format!("invalid value {item:?} in {TEST_SQLITE_VAR}: expected {TEST_SQLITE_FORMS}")
    };
    for item in hooks.split(',').map(str::trim) {
        match item.split_once('=') {
            None if item == "read-only" => options.read_only = true,
            Some(("max-page-count", pages)) => {
                options.max_page_count = Some(pages.parse().map_err(|_| invalid(item))?);
            }
            Some(("busy-timeout-ms", millis)) => {
                options.busy_timeout =
                    Duration::from_millis(millis.parse().map_err(|_| invalid(item))?);
            }
            _ => return Err(invalid(item)),
        }
    }
    tracing::warn!(
        "{TEST_SQLITE_VAR}={hooks}: a test hook is armed on the checkpoint database; \
         never set it in production"
    );
    Ok(options)
}

fn checkpoint_status(error: &CheckpointError) -> ExitStatus {
    ExitStatus::from_code(error.reference_exit_code())
}

/// Collects one service. The store and sink are handed back for the next one.
pub async fn run_service(
    service: &CloudWatchLogsService,
    reparse: bool,
    tuning: &Tuning,
    store: CheckpointStore,
    sink: EventSink,
    stop: CancellationToken,
) -> (CheckpointStore, EventSink, ServiceOutcome) {
    match prepare(service, tuning).await {
        Ok(prepared) => collect(service, prepared, reparse, tuning, store, sink, stop).await,
        Err(status) => (
            store,
            sink,
            ServiceOutcome {
                status,
                fatal: false,
            },
        ),
    }
}

/// Collects one service whose credentials and regions are [`prepare`]d.
pub async fn collect(
    service: &CloudWatchLogsService,
    prepared: Prepared,
    reparse: bool,
    tuning: &Tuning,
    store: CheckpointStore,
    sink: EventSink,
    stop: CancellationToken,
) -> (CheckpointStore, EventSink, ServiceOutcome) {
    let only_logs_after = service
        .only_logs_after
        .map(|date| date.midnight().assume_utc().unix_timestamp() * 1000);
    if let Some(millis) = only_logs_after {
        tracing::debug!("only logs: {millis}");
    }
    if reparse {
        tracing::debug!("Reparse mode ON");
    }
    let run = ServiceRun {
        account_id: prepared.account_id,
        regions: prepared.regions,
        log_groups: service.log_groups.clone(),
        only_logs_after,
        reparse,
        remove_log_streams: service.remove_log_streams,
        idle_stream_lag: service
            .extensions
            .idle_stream_lag
            .or(tuning.idle_stream_lag)
            .unwrap_or(DEFAULT_IDLE_STREAM_LAG),
        max_concurrent_streams: tuning.max_concurrent_streams,
        clock: Arc::clone(&tuning.clock),
        limits: tuning.limits.clone(),
    };
    let discard = service
        .discard
        .as_ref()
        .map(|rule| wodle_discard::DiscardFilter::new(rule.field.clone(), rule.regex.clone()));
    let discard: Option<wodle_cloudwatch::DiscardRule> = match discard.transpose() {
        Ok(filter) => filter.map(|filter| {
            Box::new(move |message: &str| filter.should_discard(message))
                as wodle_cloudwatch::DiscardRule
        }),
        Err(error) => {
            tracing::error!("Invalid pattern for tag 'discard_regex': {error}");
            let outcome = ServiceOutcome {
                status: ExitStatus::InvalidConfiguration,
                fatal: false,
            };
            return (store, sink, outcome);
        }
    };
    let settings = OwnerSettings {
        commit_every: tuning.commit_every,
        discard,
        clock: Arc::clone(&tuning.clock),
        probe: tuning.probe.clone(),
    };
    let (owner, thread) = spawn_owner(store, sink, settings, tuning.max_concurrent_streams * 2);
    let report = collect_service(run, owner, stop).await;
    let outcome = match tokio::task::spawn_blocking(move || thread.join()).await {
        Ok(Ok(outcome)) => outcome,
        // The delivery thread cannot panic on input (no unwrap on it); if it
        // did, there is no store left to hand back.
        Ok(Err(_)) | Err(_) => {
            tracing::error!("The delivery thread stopped unexpectedly.");
            std::process::exit(i32::from(ExitStatus::Unknown.code()));
        }
    };
    tracing::debug!("committing changes and closing the DB");
    let status = report_status(&report, outcome.error.as_ref());
    let fatal = outcome.error.is_some() || report.checkpoint_error.is_some();
    tracing::debug!(
        "+++ Delivered {} events to Analysisd ({} discarded, {} truncated); {} streams read, {} idle",
        outcome.counts.delivered,
        outcome.counts.discarded,
        outcome.counts.truncated,
        report.streams_read,
        report.streams_idle
    );
    (
        outcome.store,
        outcome.sink,
        ServiceOutcome { status, fatal },
    )
}

/// A service's account and regional clients, ready to collect.
pub struct Prepared {
    account_id: String,
    regions: Vec<RegionClient>,
}

/// Credentials, account and regions: everything that can fail before any
/// collection starts.
pub async fn prepare(
    service: &CloudWatchLogsService,
    tuning: &Tuning,
) -> Result<Prepared, ExitStatus> {
    // Deprecated keys were warned about where they were read (the tag or the flag).
    let settings = credential_settings(service, tuning)?;
    let config = match wodle_credentials::load_sdk_config(&settings).await {
        Ok(config) => config,
        Err(error) => return Err(credentials_failure(&error)),
    };
    for url in wodle_credentials::plain_http_endpoints(&config, &settings) {
        crate::logging::warn_plain_http(&url);
    }
    let identity =
        match wodle_credentials::caller_identity(&config, settings.sts_endpoint.as_ref()).await {
            Ok(identity) => identity,
            Err(error) => return Err(credentials_failure(&error)),
        };
    tracing::debug!(
        "Credentials of account {} ({})",
        identity.account,
        identity.arn
    );

    let configured: Vec<String> = service
        .regions
        .iter()
        .map(|region| region.as_str().to_owned())
        .collect();
    let profile_region = config.region().map(|region| region.as_ref().to_owned());
    let choice = wodle_discovery::regions_to_collect(
        &configured,
        profile_region.as_deref(),
        wodle_config::COMMERCIAL_REGIONS,
    );
    let regions = choice
        .regions()
        .into_iter()
        .map(|region| {
            let regional = wodle_credentials::for_region(&config, region);
            RegionClient {
                region: region.to_owned(),
                client: wodle_credentials::logs_client(
                    &regional,
                    settings.service_endpoint.as_ref(),
                ),
            }
        })
        .collect();
    Ok(Prepared {
        account_id: identity.account,
        regions,
    })
}

fn credential_settings(
    service: &CloudWatchLogsService,
    tuning: &Tuning,
) -> Result<CredentialSettings, ExitStatus> {
    let endpoint = |tag: &str, url: Option<&url::Url>| -> Result<Option<Endpoint>, ExitStatus> {
        url.map(|url| {
            Endpoint::parse(url.as_str()).map_err(|error| {
                tracing::error!("Invalid endpoint for tag '{tag}': {error}");
                ExitStatus::InvalidEndpoint
            })
        })
        .transpose()
    };
    let role = service.iam_role_arn.as_ref().map(|arn| {
        let mut role = RoleSettings::new(arn.clone());
        role.duration = service
            .iam_role_duration
            .map(|secs| Duration::from_secs(u64::from(secs)));
        role.external_id = tuning.external_id.clone();
        role
    });
    Ok(CredentialSettings {
        profile: service.aws_profile.clone(),
        static_keys: service.static_keys.as_ref().map(|keys| {
            wodle_credentials::StaticKeys::new(
                keys.access_key_id.clone(),
                keys.secret_access_key.expose().to_owned(),
            )
        }),
        role,
        // The first configured region serves STS; without one, the profile's.
        region: service
            .regions
            .first()
            .map(|region| region.as_str().to_owned()),
        sts_endpoint: endpoint("sts_endpoint", service.sts_endpoint.as_ref())?,
        service_endpoint: endpoint("service_endpoint", service.service_endpoint.as_ref())?,
        http: HttpSettings::from_env(),
        attempt_timeout: Some(tuning.aws_attempt_timeout),
        ..CredentialSettings::default()
    })
}

/// The reference's message and exit code for a credentials failure.
fn credentials_failure(error: &CredentialsError) -> ExitStatus {
    tracing::error!("{error}");
    match error {
        CredentialsError::ProfileNotFound { .. } | CredentialsError::NoCredentials => {
            ExitStatus::GenericError
        }
        CredentialsError::ProfileNotInConfigFile { .. } => ExitStatus::ProfileNotFound,
        CredentialsError::InvalidCredentials { .. } => ExitStatus::InvalidCredentials,
        CredentialsError::ClockSkew { .. } => ExitStatus::ClockSkew,
        CredentialsError::InvalidEndpoint { .. } => ExitStatus::InvalidEndpoint,
        CredentialsError::ProfileFiles { .. } => ExitStatus::InvalidKeyFormat,
        _ => ExitStatus::GenericError,
    }
}

/// Logs what went wrong in a run and picks its exit status: the first
/// failure that stopped delivery, else the reference's 16 for any group or
/// stream that could not be read.
fn report_status(report: &ServiceReport, owner_error: Option<&OwnerError>) -> ExitStatus {
    let mut status = ExitStatus::Success;
    let mut fail = |candidate: ExitStatus| {
        if status == ExitStatus::Success {
            status = candidate;
        }
    };
    if let Some(error) = owner_error {
        match error {
            OwnerError::Delivery(error) => fail(delivery_failure(error)),
            OwnerError::Checkpoint(error) => {
                tracing::error!("{error}");
                fail(checkpoint_status(error));
            }
        }
    }
    if let Some(error) = &report.checkpoint_error {
        tracing::error!("{error}");
        fail(checkpoint_status(error));
    }
    for failure in &report.group_failures {
        match region_rejects_credentials(&failure.error) {
            true => tracing::warn!(
                "Region {} rejected the credentials ({}); it was skipped. An opt-in region must \
                 be enabled for the account before it can be read.",
                failure.region,
                failure.error.code()
            ),
            false => {
                // The reference's message, then which group and region: we go
                // on after a failing group, so there may be several.
                tracing::error!(
                    "{} (log group \"{}\", region {})",
                    failure.error,
                    failure.error.group(),
                    failure.region
                );
                let message = match &failure.error {
                    DiscoveryError::Api { message, .. }
                    | DiscoveryError::LogGroupNotFound { message, .. } => message,
                };
                fail(aws_failure_status(failure.error.code(), message));
            }
        }
    }
    for failure in &report.stream_failures {
        tracing::error!("{} (region {})", failure.error, failure.region);
        fail(match &failure.error {
            PullError::Api { code, message, .. } => aws_failure_status(code, message),
            _ => ExitStatus::ClientError,
        });
    }
    for failure in &report.remove_failures {
        tracing::error!(
            "The \"remove_aws_log_stream\" request failed: An error occurred ({}) when calling \
             the DeleteLogStream operation: {} (log group \"{}\", stream \"{}\")",
            failure.code,
            failure.message,
            failure.group,
            failure.stream
        );
        fail(ExitStatus::ClientError);
    }
    status
}

/// The reference's code for an AWS error met while collecting: 3 for rejected
/// credentials (expired mid-run), 19 for clock skew, else 16 ("client error",
/// throttling included once the SDK's retries are spent).
fn aws_failure_status(code: &str, message: &str) -> ExitStatus {
    match aws_error_kind(code, message) {
        AwsErrorKind::InvalidCredentials => ExitStatus::InvalidCredentials,
        AwsErrorKind::ClockSkew => ExitStatus::ClockSkew,
        _ => ExitStatus::ClientError,
    }
}

fn region_rejects_credentials(error: &DiscoveryError) -> bool {
    let message = match error {
        DiscoveryError::Api { message, .. } => message.as_str(),
        DiscoveryError::LogGroupNotFound { .. } => return false,
    };
    aws_error_kind(error.code(), message) == AwsErrorKind::InvalidCredentials
}

/// analysisd errors: "Wazuh must be running." (11) whenever it is absent or
/// stuck, as the reference says when nobody is bound to the socket.
pub fn delivery_failure(error: &AnalysisdError) -> ExitStatus {
    match error {
        // A stop signal ended the wait: the signal decides the status.
        AnalysisdError::Interrupted { .. } => {
            tracing::debug!("{error}");
            ExitStatus::Success
        }
        AnalysisdError::SocketMissing { .. }
        | AnalysisdError::NotRunning { .. }
        | AnalysisdError::Stalled { .. } => {
            tracing::debug!("{error}");
            tracing::error!("Wazuh must be running.");
            ExitStatus::WazuhNotRunning
        }
        other => {
            tracing::error!("Error sending message to wazuh: {other}");
            ExitStatus::SendError
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sqlite_test_hook_reads_its_forms_and_names_itself_when_wrong() {
        let options = store_options_for_tests("read-only").unwrap();
        assert!(options.read_only);
        assert_eq!(options.max_page_count, None);
        let options = store_options_for_tests("max-page-count=12, busy-timeout-ms=250").unwrap();
        assert!(!options.read_only);
        assert_eq!(options.max_page_count, Some(12));
        assert_eq!(options.busy_timeout, Duration::from_millis(250));
        for wrong in [
            "",
            "readonly",
            "max-page-count=",
            "max-page-count=-1",
            "busy-timeout-ms=x",
        ] {
            let message = store_options_for_tests(wrong).unwrap_err();
            assert!(message.contains(TEST_SQLITE_VAR), "{message}");
            assert!(
                message.contains("read-only, max-page-count=PAGES"),
                "{message}"
            );
        }
    }

    #[test]
    fn aws_errors_met_while_collecting_get_the_reference_codes() {
        let status = |code| aws_failure_status(code, "message");
        assert_eq!(
            status("UnrecognizedClientException"),
            ExitStatus::InvalidCredentials
        );
        assert_eq!(
            status("ExpiredTokenException"),
            ExitStatus::InvalidCredentials
        );
        assert_eq!(
            aws_failure_status(
                "InvalidSignatureException",
                "Signature expired: 20261126T120000Z"
            ),
            ExitStatus::ClockSkew
        );
        assert_eq!(status("ThrottlingException"), ExitStatus::ClientError);
        assert_eq!(status("ResourceNotFoundException"), ExitStatus::ClientError);
        assert_eq!(status("AccessDeniedException"), ExitStatus::ClientError);
        assert_eq!(status("DispatchFailure"), ExitStatus::ClientError);
    }

    #[test]
    fn a_region_rejecting_the_credentials_is_told_from_a_missing_group() {
        let rejected = DiscoveryError::Api {
            group: "app".to_owned(),
            code: "UnrecognizedClientException".to_owned(),
            message: "The security token included in the request is invalid.".to_owned(),
        };
        assert!(region_rejects_credentials(&rejected));
        let missing = DiscoveryError::LogGroupNotFound {
            group: "app".to_owned(),
            message: "The specified log group does not exist.".to_owned(),
        };
        assert!(!region_rejects_credentials(&missing));
        let denied = DiscoveryError::Api {
            group: "app".to_owned(),
            code: "AccessDeniedException".to_owned(),
            message: "not authorized".to_owned(),
        };
        assert!(!region_rejects_credentials(&denied));
    }
}
