//! Service clients built from a resolved configuration, each with its own custom endpoint,
//! and the same configuration for other regions.

use std::sync::{Arc, Mutex, PoisonError};

use aws_config::{Region, SdkConfig};
use aws_sdk_sts::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_sts::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;

use crate::aws_error::{AwsErrorKind, aws_error_kind};
use crate::endpoint::Endpoint;
use crate::error::CredentialsError;
use crate::sdk_error::service_error_code;

/// The region STS (GetCallerIdentity, AssumeRole) is called in when the
/// configuration has none: the region of AWS's global STS endpoint. The logs
/// clients never use it: each gets its own region.
pub const STS_FALLBACK_REGION: &str = "us-east-1";

/// Who the credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// `config` for another region, sharing its credentials provider and identity cache: a role
/// assumed once serves every region, and a refresh in one region serves the others.
pub fn for_region(config: &SdkConfig, region: &str) -> SdkConfig {
    config
        .to_builder()
        .region(Region::new(region.to_owned()))
        .build()
}

/// A CloudWatch Logs client; `service_endpoint` overrides every other endpoint setting.
pub fn logs_client(
    config: &SdkConfig,
    service_endpoint: Option<&Endpoint>,
) -> aws_sdk_cloudwatchlogs::Client {
    let mut builder = aws_sdk_cloudwatchlogs::config::Builder::from(config);
    if let Some(endpoint) = service_endpoint {
        builder = builder.endpoint_url(endpoint.as_str());
    }
    aws_sdk_cloudwatchlogs::Client::from_conf(builder.build())
}

/// An STS client; `sts_endpoint` overrides every other endpoint setting.
///
/// Without a region (none configured, none in the profile), STS is called in
/// [`STS_FALLBACK_REGION`], as botocore calls the global STS endpoint there.
pub fn sts_client(config: &SdkConfig, sts_endpoint: Option<&Endpoint>) -> aws_sdk_sts::Client {
    let mut builder = aws_sdk_sts::config::Builder::from(config);
    if let Some(endpoint) = sts_endpoint {
        builder = builder.endpoint_url(endpoint.as_str());
    }
    if config.region().is_none() {
        builder = builder.region(aws_config::Region::new(STS_FALLBACK_REGION));
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// STS GetCallerIdentity: the account and principal the configuration's credentials act as.
///
/// It is also the check that the credentials work: AWS refusing them is
/// [`CredentialsError::InvalidCredentials`], naming the access key id the request was signed
/// with; a clock too far from AWS's is [`CredentialsError::ClockSkew`].
pub async fn caller_identity(
    config: &SdkConfig,
    sts_endpoint: Option<&Endpoint>,
) -> Result<Identity, CredentialsError> {
    let signing_key = SigningKeyRecorder::default();
    let output = sts_client(config, sts_endpoint)
        .get_caller_identity()
        .customize()
        .interceptor(signing_key.clone())
        .send()
        .await
        .map_err(|cause| {
            if let Some((code, message)) = service_error_code(&cause) {
                match aws_error_kind(&code, &message) {
                    AwsErrorKind::InvalidCredentials => {
                        return CredentialsError::InvalidCredentials {
                            access_key_id: signing_key.access_key_id(),
                            code,
                            message,
                        };
                    }
                    AwsErrorKind::ClockSkew => {
                        return CredentialsError::ClockSkew { code, message };
                    }
                    _ => {}
                }
            }
            CredentialsError::CallerIdentity {
                cause: Box::new(cause),
            }
        })?;
    Ok(Identity {
        account: output.account().unwrap_or_default().to_owned(),
        arn: output.arn().unwrap_or_default().to_owned(),
    })
}

/// Remembers the access key id of the last signed request, read from its `Authorization`
/// header: that is the key AWS judged, whichever provider and cache supplied it.
#[derive(Clone, Debug, Default)]
struct SigningKeyRecorder {
    access_key_id: Arc<Mutex<Option<String>>>,
}

impl SigningKeyRecorder {
    fn access_key_id(&self) -> Option<String> {
        self.access_key_id
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Intercept for SigningKeyRecorder {
    fn name(&self) -> &'static str {
        "SigningKeyRecorder"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let key = context
            .request()
            .headers()
            .get("authorization")
            .and_then(access_key_id_of);
        if key.is_some() {
            *self
                .access_key_id
                .lock()
                .unwrap_or_else(PoisonError::into_inner) = key;
        }
        Ok(())
    }
}

/// The key id of a SigV4 `Authorization` header:
/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/sts/aws4_request, SignedHeaders=...`.
fn access_key_id_of(authorization: &str) -> Option<String> {
    let (_, credential) = authorization.split_once("Credential=")?;
    let id = credential.split('/').next()?.trim();
    (!id.is_empty() && !id.contains([',', ' '])).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_access_key_id_comes_from_the_sigv4_header() {
        assert_eq!(
            access_key_id_of(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240101/us-east-1/sts/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature=abc"
            )
            .as_deref(),
            Some("AKIDEXAMPLE")
        );
        for other in [
            "",
            "Bearer token",
            "AWS4-HMAC-SHA256 Credential=/2024",
            "Credential=, x",
        ] {
            assert_eq!(access_key_id_of(other), None, "{other:?}");
        }
    }
}
