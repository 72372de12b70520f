//! Resolves AWS credentials, role, region and endpoints into an SDK configuration.
//!
//! [`load_sdk_config`] takes [`CredentialSettings`] (this crate's own type, so that any
//! front end can fill it) and returns an [`aws_config::SdkConfig`] whose credentials were
//! already fetched once, so that a missing profile, missing credentials or a role that
//! cannot be assumed are reported as a [`CredentialsError`] before the first service call.
//! [`logs_client`] and [`caller_identity`] then apply the per-service endpoints;
//! [`caller_identity`] is also the check that AWS accepts the credentials
//! ([`CredentialsError::InvalidCredentials`], [`CredentialsError::ClockSkew`]).
//!
//! Regions: [`for_region`] gives the same configuration for another region. It shares the
//! credentials provider and the identity cache, so a role is assumed once for all regions.
//!
//! Long runs: the configuration's identity cache (the SDK's lazy cache) asks the provider
//! again shortly before the cached credentials expire. The provider installed is the real
//! one (the role's AssumeRole provider, the profile's, ...) behind a wrapper that only
//! hands out the credentials fetched by [`load_sdk_config`] the first time, so temporary
//! credentials are renewed for as long as the process runs.
//!
//! HTTP: every call, including those of the credential sources and AssumeRole, goes through
//! one client built here from [`HttpSettings`]: `http_proxy`/`https_proxy` with `no_proxy`,
//! and a CA bundle (`AWS_CA_BUNDLE`, else the profile's `ca_bundle`) whose certificates are
//! added to the system's roots. [`HttpSettings::from_env`] reads them as botocore does.
//!
//! Transport: AWS's own endpoints are https. An endpoint override (`sts_endpoint`,
//! `service_endpoint`, `AWS_ENDPOINT_URL`, a profile's `endpoint_url`) may be plain http, as
//! an emulator's is; [`plain_http_endpoints`] lists those so the caller can warn, and
//! [`resolved_endpoint`] says where a service's calls go.
//!
//! Errors of other services: [`aws_error_kind`] (plain strings in, no SDK types) and
//! [`sdk_error_kind`]/[`service_error_code`] (an SDK error in) classify AWS error codes into
//! [`AwsErrorKind`] — invalid credentials, clock skew, throttling, access denied, not found —
//! so that every crate maps them to the reference's exit codes the same way.
//!
//! ```no_run
//! # async fn example() -> Result<(), wodle_credentials::CredentialsError> {
//! use wodle_credentials::{
//!     CredentialSettings, HttpSettings, RoleSettings, caller_identity, for_region,
//!     load_sdk_config, logs_client,
//! };
//!
//! let settings = CredentialSettings {
//!     profile: Some("wazuh".to_owned()),
//!     http: HttpSettings::from_env(),
//!     role: Some(RoleSettings::new("arn:aws:iam::123456789012:role/wazuh")),
//!     region: Some("eu-west-1".to_owned()),
//!     ..CredentialSettings::default()
//! };
//! let config = load_sdk_config(&settings).await?;
//! let identity = caller_identity(&config, settings.sts_endpoint.as_ref()).await?;
//! for region in ["eu-west-1", "us-east-1"] {
//!     let logs = logs_client(&for_region(&config, region), settings.service_endpoint.as_ref());
//!     # let _ = logs;
//! }
//! # let _ = identity;
//! # Ok(())
//! # }
//! ```

mod aws_error;
mod clients;
mod endpoint;
mod error;
mod http;
mod load;
mod sdk_error;
mod settings;

pub use aws_error::{AwsErrorKind, aws_error_kind};
pub use clients::{
    Identity, STS_FALLBACK_REGION, caller_identity, for_region, logs_client, sts_client,
};
pub use endpoint::{
    AwsService, Endpoint, endpoint_override, plain_http_endpoints, resolved_endpoint,
};
pub use error::CredentialsError;
pub use http::{CA_BUNDLE_VARIABLE, HttpSettings};
pub use load::{ATTEMPT_TIMEOUT, CONNECT_TIMEOUT, DEFAULT_MAX_ATTEMPTS, load_sdk_config};
pub use sdk_error::{ErrorChain, failure_code_and_message, sdk_error_kind, service_error_code};
pub use settings::{
    CredentialSettings, DEFAULT_ROLE_SESSION_NAME, ProfileFilePaths, RoleSettings, StaticKeys,
};
