//! Turns [`CredentialSettings`] into an [`SdkConfig`] whose credentials are known to work.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::profile::{ProfileFileCredentialsProvider, ProfileSet};
use aws_config::provider_config::ProviderConfig;
use aws_config::retry::{RetryConfig, RetryMode};
use aws_config::sts::AssumeRoleProvider;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError as ProviderError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_types::os_shim_internal::{Env, Fs};

use crate::aws_error::{AwsErrorKind, aws_error_kind};
use crate::error::CredentialsError;
use crate::http::{CA_BUNDLE_VARIABLE, CaBundleSource, http_client};
use crate::sdk_error::service_error_code;
use crate::settings::{CredentialSettings, ProfileFilePaths, RoleSettings};

/// Attempts per request when neither the environment nor the profile sets `max_attempts`:
/// the reference's choice, generous because CloudWatch Logs throttles readily.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;

/// Credentials this close to expiry are not handed out from the prefetch.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5 * 60);

/// Resolves `settings` into an SDK configuration, failing early and with a typed error when
/// the profile does not exist, no credentials can be found, the role cannot be assumed, or
/// a proxy URL or CA bundle is unusable.
///
/// Credentials come from static keys, else the named profile, else the SDK's default chain;
/// a role is then assumed with them (through `sts_endpoint` when set), with the role's
/// external id or else the selected profile's `external_id` key. They are fetched once here,
/// to surface those errors before any service call, and that first fetch is handed to the
/// first client instead of being thrown away. After that the configuration's identity cache
/// asks the provider again whenever the cached credentials near their expiry, so a role's
/// temporary credentials are renewed (a new AssumeRole) in runs longer than their lifetime.
/// An AssumeRole refused for the base credentials themselves is
/// [`CredentialsError::InvalidCredentials`] (or [`CredentialsError::ClockSkew`]); static keys
/// and profile keys are not checked here: [`crate::caller_identity`] does that.
///
/// Every call, including those of the credential sources, goes through one HTTP client with
/// the proxies of `settings.http` and its CA bundle, else the profile's `ca_bundle`.
///
/// Retries: `AWS_MAX_ATTEMPTS`/`AWS_RETRY_MODE`, else the profile's `max_attempts`/
/// `retry_mode`, else [`DEFAULT_MAX_ATTEMPTS`] in standard mode; `legacy` (boto's) means
/// standard. The config's endpoint is left to the SDK, so `AWS_ENDPOINT_URL`,
/// `AWS_ENDPOINT_URL_<SERVICE>` and a profile's `endpoint_url`/`services` keep working;
/// `service_endpoint` and `sts_endpoint` apply per client ([`crate::logs_client`],
/// [`crate::caller_identity`]).
pub async fn load_sdk_config(settings: &CredentialSettings) -> Result<SdkConfig, CredentialsError> {
    let files = ProfileFiles::new(settings.profile_files.as_ref());
    let profiles = aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &files.sources,
        settings.profile.clone().map(Cow::Owned),
    )
    .await
    .map_err(|cause| CredentialsError::ProfileFiles { cause })?;
    if let Some(profile) = &settings.profile {
        ensure_profile_exists(&profiles, profile, &files)?;
    }
    let ca_bundle = match (&settings.http.ca_bundle, profiles.get("ca_bundle")) {
        (Some(path), _) => Some(CaBundleSource {
            path,
            origin: format!("environment variable {CA_BUNDLE_VARIABLE}"),
        }),
        (None, Some(path)) if !path.trim().is_empty() => Some(CaBundleSource {
            path: Path::new(path),
            origin: format!("`ca_bundle` of profile {}", profiles.selected_profile()),
        }),
        _ => None,
    };
    let http_client = http_client(&settings.http, ca_bundle)?;

    // Always explicit: left to itself, aws-config panics on a retry setting it cannot parse
    // (boto's `legacy` mode, say), and would default to 3 attempts.
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .profile_files(files.sources.clone())
        .http_client(http_client.clone())
        .timeout_config(timeout_config(
            settings.attempt_timeout.unwrap_or(ATTEMPT_TIMEOUT),
        ))
        .retry_config(retry_config(&profiles)?);
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if settings.static_keys.is_some() || settings.profile.is_some() {
        // Those replace the default chain, which would otherwise be built for nothing.
        loader = loader.no_credentials();
    }
    let base = loader.load().await;

    let base_provider = if let Some(keys) = &settings.static_keys {
        tracing::debug!(access_key_id = %keys.access_key_id, "credentials from static keys");
        SharedCredentialsProvider::new(Credentials::new(
            &keys.access_key_id,
            &keys.secret_access_key,
            None,
            None,
            "wodle-static-keys",
        ))
    } else if let Some(profile) = &settings.profile {
        tracing::debug!(%profile, "credentials from the named profile");
        // Not the default chain: it would prefer environment keys to the profile asked for.
        let provider_config = ProviderConfig::without_region()
            .with_region(base.region().cloned())
            .with_http_client(http_client)
            .with_behavior_version(Some(BehaviorVersion::latest()));
        SharedCredentialsProvider::new(
            ProfileFileCredentialsProvider::builder()
                .configure(&provider_config)
                .profile_files(files.sources.clone())
                .profile_name(profile)
                .build(),
        )
    } else {
        tracing::debug!("credentials from the SDK's default chain");
        base.credentials_provider()
            .ok_or(CredentialsError::NoCredentials)?
    };
    let base_credentials =
        base_provider
            .provide_credentials()
            .await
            .map_err(|cause| match cause {
                ProviderError::CredentialsNotLoaded(_) => CredentialsError::NoCredentials,
                // A profile's own `role_arn` is assumed in there.
                cause => rejected_credentials(&cause, None)
                    .unwrap_or(CredentialsError::CredentialsProvider { cause }),
            })?;
    let base_access_key_id = base_credentials.access_key_id().to_owned();
    let base = with_credentials(base, base_credentials, base_provider);

    let Some(role) = &settings.role else {
        return Ok(base);
    };
    tracing::debug!(role_arn = %role.arn, session_name = %role.session_name, "assuming role");
    let mut sts_config = base.to_builder();
    if let Some(endpoint) = &settings.sts_endpoint {
        sts_config = sts_config.endpoint_url(endpoint.as_str());
    }
    if base.region().is_none() {
        sts_config = sts_config.region(Region::new(crate::STS_FALLBACK_REGION));
    }
    let sts_config = sts_config.build();
    let mut role_builder = AssumeRoleProvider::builder(&role.arn)
        .session_name(&role.session_name)
        .configure(&sts_config);
    if let Some(duration) = role.duration {
        role_builder = role_builder.session_length(duration);
    }
    if let Some(external_id) = external_id(role, &profiles) {
        role_builder = role_builder.external_id(external_id);
    }
    let role_provider = SharedCredentialsProvider::new(role_builder.build().await);
    let role_credentials = role_provider.provide_credentials().await.map_err(|cause| {
        rejected_credentials(&cause, Some(base_access_key_id)).unwrap_or_else(|| {
            CredentialsError::AssumeRole {
                role_arn: role.arn.clone(),
                cause,
            }
        })
    })?;
    Ok(with_credentials(base, role_credentials, role_provider))
}

/// The role's external id, else the selected profile's `external_id` key (botocore reads
/// that key only for a profile's own `role_arn`; here it also serves the configured role,
/// so that the id, a shared secret of sorts, can stay out of ossec.conf).
fn external_id(role: &RoleSettings, profiles: &ProfileSet) -> Option<String> {
    role.external_id.clone().or_else(|| {
        profiles
            .get("external_id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
    })
}

/// The typed error for an AssumeRole that STS refused because of the credentials it was
/// signed with, or because of the clock; `None` for any other failure.
fn rejected_credentials(
    cause: &ProviderError,
    access_key_id: Option<String>,
) -> Option<CredentialsError> {
    let mut source = std::error::Error::source(cause);
    while let Some(error) = source {
        if let Some(sdk_error) = error.downcast_ref::<SdkError<AssumeRoleError>>() {
            let (code, message) = service_error_code(sdk_error)?;
            return match aws_error_kind(&code, &message) {
                AwsErrorKind::InvalidCredentials => Some(CredentialsError::InvalidCredentials {
                    access_key_id,
                    code,
                    message,
                }),
                AwsErrorKind::ClockSkew => Some(CredentialsError::ClockSkew { code, message }),
                _ => None,
            };
        }
        source = error.source();
    }
    None
}

/// The profile files as the SDK should read them, and where the config file is.
struct ProfileFiles {
    sources: EnvConfigFiles,
    config_path: Option<PathBuf>,
}

impl ProfileFiles {
    fn new(paths: Option<&ProfileFilePaths>) -> ProfileFiles {
        let Some(paths) = paths else {
            return ProfileFiles {
                sources: EnvConfigFiles::default(),
                config_path: default_config_path(),
            };
        };
        // The SDK fails on an explicit path that does not exist, unlike on a missing default
        // file; a missing file must mean "no such file" here too.
        let mut builder = EnvConfigFiles::builder();
        let mut any = false;
        for (kind, path) in [
            (EnvConfigFileKind::Config, &paths.config),
            (EnvConfigFileKind::Credentials, &paths.credentials),
        ] {
            if path.is_file() {
                builder = builder.with_file(kind, path);
                any = true;
            }
        }
        if !any {
            builder = builder.with_contents(EnvConfigFileKind::Config, "");
        }
        ProfileFiles {
            sources: builder.build(),
            config_path: Some(paths.config.clone()),
        }
    }
}

/// Where the SDK looks for the config file by default.
fn default_config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AWS_CONFIG_FILE") {
        let path = PathBuf::from(path);
        return Some(match path.strip_prefix("~") {
            Ok(rest) => std::env::home_dir()?.join(rest),
            Err(_) => path,
        });
    }
    Some(std::env::home_dir()?.join(".aws").join("config"))
}

fn ensure_profile_exists(
    profiles: &ProfileSet,
    profile: &str,
    files: &ProfileFiles,
) -> Result<(), CredentialsError> {
    if profiles.get_profile(profile).is_some() {
        return Ok(());
    }
    match &files.config_path {
        Some(config_file) if config_file.is_file() => {
            Err(CredentialsError::ProfileNotInConfigFile {
                profile: profile.to_owned(),
                config_file: config_file.clone(),
            })
        }
        _ => Err(CredentialsError::ProfileNotFound {
            profile: profile.to_owned(),
        }),
    }
}

/// Bounds on every AWS call, so that a connection that stalls mid-response
/// ends in an error (and a retry) instead of hanging the run: the SDK sets
/// only a connect timeout by default. A GetLogEvents page is at most 1 MB, so
/// a minute per attempt is generous; the whole call, retries included, is
/// bounded by the retry settings and these.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// See [`CONNECT_TIMEOUT`]; the default of [`CredentialSettings::attempt_timeout`].
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

fn timeout_config(attempt: Duration) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(attempt))
        .read_timeout(attempt)
        .operation_attempt_timeout(attempt)
        .build()
}

fn retry_config(profiles: &ProfileSet) -> Result<RetryConfig, CredentialsError> {
    let mut retry = RetryConfig::standard().with_max_attempts(DEFAULT_MAX_ATTEMPTS);
    if let Some((value, origin)) = setting(profiles, "AWS_MAX_ATTEMPTS", "max_attempts") {
        let attempts = value
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|attempts| *attempts > 0)
            .ok_or_else(|| CredentialsError::InvalidRetrySetting {
                setting: "max_attempts",
                value: value.clone(),
                origin: origin.clone(),
                reason: "expected a whole number of at least 1".to_owned(),
            })?;
        retry = retry.with_max_attempts(attempts);
    }
    if let Some((value, origin)) = setting(profiles, "AWS_RETRY_MODE", "retry_mode") {
        let mode = match value.trim().to_ascii_lowercase().as_str() {
            "standard" | "legacy" => RetryMode::Standard,
            "adaptive" => RetryMode::Adaptive,
            _ => {
                return Err(CredentialsError::InvalidRetrySetting {
                    setting: "retry_mode",
                    value,
                    origin,
                    reason: "expected standard, adaptive or legacy".to_owned(),
                });
            }
        };
        retry = retry.with_retry_mode(mode);
    }
    Ok(retry)
}

/// A setting's value and where it came from: the environment first, then the selected profile.
fn setting(profiles: &ProfileSet, env_var: &str, profile_key: &str) -> Option<(String, String)> {
    if let Ok(value) = std::env::var(env_var) {
        return Some((value, format!("environment variable {env_var}")));
    }
    profiles.get(profile_key).map(|value| {
        (
            value.to_owned(),
            format!("`{profile_key}` of profile {}", profiles.selected_profile()),
        )
    })
}

/// Installs `provider` in `config`, handing out `fetched` on the first request so the check in
/// [`load_sdk_config`] costs no extra fetch.
fn with_credentials(
    config: SdkConfig,
    fetched: Credentials,
    provider: SharedCredentialsProvider,
) -> SdkConfig {
    config
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(Prefetched {
            first: Mutex::new(Some(fetched)),
            source: provider,
        }))
        .build()
}

#[derive(Debug)]
struct Prefetched {
    first: Mutex<Option<Credentials>>,
    source: SharedCredentialsProvider,
}

impl ProvideCredentials for Prefetched {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self
            .first
            .lock()
            .ok()
            .and_then(|mut first| first.take())
            .filter(|credentials| {
                credentials
                    .expiry()
                    .is_none_or(|expiry| expiry > SystemTime::now() + EXPIRY_MARGIN)
            });
        match first {
            Some(credentials) => future::ProvideCredentials::ready(Ok(credentials)),
            None => self.source.provide_credentials(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_types::sdk_config::TimeSource;
    use wodle_testkit::MotoServer;

    use super::*;

    fn profiles_of(config_file: &'static str) -> EnvConfigFiles {
        EnvConfigFiles::builder()
            .with_contents(EnvConfigFileKind::Config, config_file)
            .build()
    }

    async fn selected_profile(config_file: &'static str, profile: &'static str) -> ProfileSet {
        aws_config::profile::load(
            &Fs::real(),
            &Env::from_slice(&[]),
            &profiles_of(config_file),
            Some(Cow::Borrowed(profile)),
        )
        .await
        .expect("the profile file parses")
    }

    #[tokio::test]
    async fn the_external_id_is_the_role_s_else_the_selected_profile_s() {
        let file = "[profile with-id]\nexternal_id = from-profile\n\
                    [profile blank-id]\nexternal_id =\n[profile other]\nregion = eu-west-1\n";
        let role = RoleSettings::new("arn:aws:iam::111122223333:role/r");
        let with_id = selected_profile(file, "with-id").await;
        assert_eq!(
            external_id(&role, &with_id).as_deref(),
            Some("from-profile")
        );
        let mut explicit = role.clone();
        explicit.external_id = Some("from-settings".to_owned());
        assert_eq!(
            external_id(&explicit, &with_id).as_deref(),
            Some("from-settings")
        );
        for profile in ["blank-id", "other"] {
            let profiles = selected_profile(file, profile).await;
            assert_eq!(external_id(&role, &profiles), None, "{profile}");
        }
    }

    /// A clock the test moves by hand, so that expiry needs no waiting.
    #[derive(Clone, Debug)]
    struct ManualClock(Arc<Mutex<SystemTime>>);

    impl ManualClock {
        fn advance(&self, by: Duration) {
            *self.0.lock().expect("the clock") += by;
        }
    }

    impl TimeSource for ManualClock {
        fn now(&self) -> SystemTime {
            *self.0.lock().expect("the clock")
        }
    }

    /// Hands out credentials valid for 15 minutes of `clock`, counting the calls.
    #[derive(Debug)]
    struct CountingProvider {
        calls: Arc<AtomicUsize>,
        clock: ManualClock,
    }

    impl ProvideCredentials for CountingProvider {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKIDFETCH{call}"),
                "secret",
                Some("session-token".to_owned()),
                Some(self.clock.now() + Duration::from_secs(15 * 60)),
                "counting",
            )))
        }
    }

    #[tokio::test]
    async fn expired_credentials_are_fetched_again_once_for_every_region() {
        let moto = MotoServer::start();
        let clock = ManualClock(Arc::new(Mutex::new(SystemTime::now())));
        let calls = Arc::new(AtomicUsize::new(0));
        let provider = CountingProvider {
            calls: Arc::clone(&calls),
            clock: clock.clone(),
        };
        // What load_sdk_config does to check the credentials.
        let first = provider.provide_credentials().await.expect("credentials");
        let base = aws_config::defaults(BehaviorVersion::latest())
            .profile_files(profiles_of(""))
            .region(Region::new("us-east-1"))
            .endpoint_url(moto.endpoint_url())
            .time_source(clock.clone())
            .no_credentials()
            .load()
            .await;
        let config = with_credentials(base, first, SharedCredentialsProvider::new(provider));
        let here = aws_sdk_cloudwatchlogs::Client::new(&config);
        let elsewhere =
            aws_sdk_cloudwatchlogs::Client::new(&crate::for_region(&config, "eu-west-1"));
        let call_both = || async {
            for client in [&here, &elsewhere, &here] {
                client
                    .describe_log_groups()
                    .send()
                    .await
                    .expect("DescribeLogGroups");
            }
        };

        call_both().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the checked credentials serve the first requests"
        );
        clock.advance(Duration::from_secs(10 * 60));
        call_both().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "still valid: cached");
        clock.advance(Duration::from_secs(10 * 60));
        call_both().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "expired: fetched again, once for both regions"
        );
    }
}
