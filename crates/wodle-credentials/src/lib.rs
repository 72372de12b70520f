//! Resolves AWS credentials, role, region and endpoints into an SDK configuration.
//!
//! [`load_sdk_config`] takes [`CredentialSettings`] (this crate's own type, so that any
//! front end can fill it) and returns an [`aws_config::SdkConfig`] whose credentials were
//! already fetched once, so that a missing profile, missing credentials or a role that
//! cannot be assumed are reported as a [`CredentialsError`] before the first service call.
//! [`logs_client`] and [`caller_identity`] then apply the per-service endpoints.
//!
//! ```no_run
//! # async fn example() -> Result<(), wodle_credentials::CredentialsError> {
//! use wodle_credentials::{CredentialSettings, RoleSettings, caller_identity, load_sdk_config, logs_client};
//!
//! let settings = CredentialSettings {
//!     profile: Some("wazuh".to_owned()),
//!     role: Some(RoleSettings::new("arn:aws:iam::123456789012:role/wazuh")),
//!     region: Some("eu-west-1".to_owned()),
//!     ..CredentialSettings::default()
//! };
//! let config = load_sdk_config(&settings).await?;
//! let identity = caller_identity(&config, settings.sts_endpoint.as_ref()).await?;
//! let logs = logs_client(&config, settings.service_endpoint.as_ref());
//! # let _ = (identity, logs);
//! # Ok(())
//! # }
//! ```

mod clients;
mod endpoint;
mod error;
mod load;
mod settings;

pub use clients::{Identity, caller_identity, logs_client, sts_client};
pub use endpoint::Endpoint;
pub use error::CredentialsError;
pub use load::{DEFAULT_MAX_ATTEMPTS, load_sdk_config};
pub use settings::{
    CredentialSettings, DEFAULT_ROLE_SESSION_NAME, ProfileFilePaths, RoleSettings, StaticKeys,
};
