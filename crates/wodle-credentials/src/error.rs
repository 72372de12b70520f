//! Everything that can go wrong while resolving credentials, each with its own variant so
//! that the binary can map it to the reference's exit code and message.

use std::path::PathBuf;

use aws_config::profile::ProfileFileLoadError;
use aws_credential_types::provider::error::CredentialsError as ProviderError;
use aws_sdk_sts::error::SdkError;
use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

use crate::sdk_error::ErrorChain;

/// No message of these carries a secret key or session token: the SDK's credential errors
/// never include them, and this crate adds only names, paths and settings.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// The named profile is in neither file, and there is no config file at all
    /// (the reference: exit 12).
    #[error("The config profile ({profile}) could not be found")]
    ProfileNotFound { profile: String },

    /// The named profile is in neither file, and the config file exists
    /// (the reference: exit 23).
    #[error("No profile named: 'profile {profile}' was found in the user config file")]
    ProfileNotInConfigFile {
        profile: String,
        config_file: PathBuf,
    },

    /// No source yielded credentials (the reference: exit 12).
    #[error("Unable to locate credentials")]
    NoCredentials,

    /// A profile file exists but cannot be read or parsed.
    #[error("cannot load the AWS profile files: {}", ErrorChain(.cause))]
    ProfileFiles { cause: ProfileFileLoadError },

    #[error("invalid {setting} '{value}' ({origin}): {reason}")]
    InvalidRetrySetting {
        setting: &'static str,
        value: String,
        origin: String,
        reason: String,
    },

    #[error("invalid endpoint '{endpoint}': {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },

    /// A credentials source applied but failed (a broken profile, an expired SSO session, a
    /// failing `credential_process`, ...).
    #[error("cannot load AWS credentials: {}", ErrorChain(.cause))]
    CredentialsProvider { cause: ProviderError },

    #[error("cannot assume role {role_arn}: {}", ErrorChain(.cause))]
    AssumeRole {
        role_arn: String,
        cause: ProviderError,
    },

    #[error("STS GetCallerIdentity failed: {}", ErrorChain(.cause.as_ref()))]
    CallerIdentity {
        cause: Box<SdkError<GetCallerIdentityError>>,
    },

    /// AWS rejected the credentials: an unknown access key, a secret that does not match
    /// it, an expired session token (the reference: exit 3). `code` and `message` are
    /// AWS's; `access_key_id` is the key the rejected request was signed with, when known.
    #[error(
        "Invalid credentials to access AWS service: {code}: {message}{}",
        .access_key_id.as_ref().map(|id| format!(" (access key id {id})")).unwrap_or_default()
    )]
    InvalidCredentials {
        access_key_id: Option<String>,
        code: String,
        message: String,
    },

    /// AWS rejected the request's signing time (the reference: exit 19).
    #[error("The server datetime and datetime of the AWS environment differ: {code}: {message}")]
    ClockSkew { code: String, message: String },

    /// A proxy variable holds a URL that cannot be used. `url` has any password masked.
    #[error("invalid proxy URL '{url}' in {variable}: {reason}")]
    InvalidProxy {
        variable: &'static str,
        url: String,
        reason: String,
    },

    /// The CA bundle (`AWS_CA_BUNDLE` or a profile's `ca_bundle`) cannot be read or holds
    /// no valid certificate.
    #[error("cannot use the CA bundle {} ({origin}): {reason}", .path.display())]
    InvalidCaBundle {
        origin: String,
        path: PathBuf,
        reason: String,
    },

    #[error("cannot build the HTTP client: {reason}")]
    HttpClient { reason: String },
}
