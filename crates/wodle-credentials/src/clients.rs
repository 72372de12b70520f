//! Service clients built from a resolved configuration, each with its own custom endpoint.

use aws_config::SdkConfig;

use crate::endpoint::Endpoint;
use crate::error::CredentialsError;

/// Who the credentials belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
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
pub fn sts_client(config: &SdkConfig, sts_endpoint: Option<&Endpoint>) -> aws_sdk_sts::Client {
    let mut builder = aws_sdk_sts::config::Builder::from(config);
    if let Some(endpoint) = sts_endpoint {
        builder = builder.endpoint_url(endpoint.as_str());
    }
    aws_sdk_sts::Client::from_conf(builder.build())
}

/// STS GetCallerIdentity: the account and principal the configuration's credentials act as.
pub async fn caller_identity(
    config: &SdkConfig,
    sts_endpoint: Option<&Endpoint>,
) -> Result<Identity, CredentialsError> {
    let output = sts_client(config, sts_endpoint)
        .get_caller_identity()
        .send()
        .await
        .map_err(|cause| CredentialsError::CallerIdentity {
            cause: Box::new(cause),
        })?;
    Ok(Identity {
        account: output.account().unwrap_or_default().to_owned(),
        arn: output.arn().unwrap_or_default().to_owned(),
    })
}
