//! What a caller asks for: credential sources, a role, a region and endpoints.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::endpoint::Endpoint;
use crate::http::HttpSettings;

/// The session name AssumeRole is called with, as the reference does.
pub const DEFAULT_ROLE_SESSION_NAME: &str = "WazuhLogParsing";

/// Where credentials, role, region and endpoints come from.
///
/// Credentials are taken from the first that applies: [`static_keys`](Self::static_keys),
/// the named [`profile`](Self::profile), the SDK's default chain (environment, `AWS_PROFILE`
/// or `default` profile, web identity, container, instance metadata). With a
/// [`role`](Self::role), those credentials only serve to assume it.
#[derive(Clone, Debug, Default)]
pub struct CredentialSettings {
    /// A profile of the AWS `config`/`credentials` files; also supplies region and retry
    /// settings when it has them.
    pub profile: Option<String>,
    /// Explicit keys (the deprecated `access_key`/`secret_key` tags).
    pub static_keys: Option<StaticKeys>,
    pub role: Option<RoleSettings>,
    /// Overrides the environment's and the profile's region.
    pub region: Option<String>,
    /// Where STS calls go (AssumeRole, GetCallerIdentity).
    pub sts_endpoint: Option<Endpoint>,
    /// Where CloudWatch Logs calls go; see [`crate::logs_client`].
    pub service_endpoint: Option<Endpoint>,
    /// The AWS `config` and `credentials` files to read instead of the defaults
    /// (`$AWS_CONFIG_FILE`/`$AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and
    /// `~/.aws/credentials`).
    pub profile_files: Option<ProfileFilePaths>,
    /// Proxies and a CA bundle for every call. The default is none of them, whatever the
    /// environment says: fill it with [`HttpSettings::from_env`] to honour `HTTPS_PROXY`,
    /// `NO_PROXY`, `AWS_CA_BUNDLE` and the like.
    pub http: HttpSettings,
    /// How long one attempt of an AWS call may take, connection included, before it is
    /// abandoned and retried; [`crate::ATTEMPT_TIMEOUT`] when `None`. Lowered by the
    /// fault tests so that a stalled endpoint costs seconds, not minutes.
    pub attempt_timeout: Option<Duration>,
}

/// An access key pair. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl StaticKeys {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        StaticKeys {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .finish()
    }
}

/// A role to assume with the base credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSettings {
    pub arn: String,
    pub session_name: String,
    /// The session's lifetime; STS's default (one hour) when `None`.
    pub duration: Option<Duration>,
    /// When `None`, the selected profile's `external_id` key, if it has one.
    pub external_id: Option<String>,
}

impl RoleSettings {
    /// The role `arn`, with the session name `WazuhLogParsing` and STS's default duration.
    pub fn new(arn: impl Into<String>) -> Self {
        RoleSettings {
            arn: arn.into(),
            session_name: DEFAULT_ROLE_SESSION_NAME.to_owned(),
            duration: None,
            external_id: None,
        }
    }
}

/// Explicit paths of the two AWS profile files. Either may be missing on disk, as the
/// default files may.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileFilePaths {
    pub config: PathBuf,
    pub credentials: PathBuf,
}
