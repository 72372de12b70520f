//! Finds what to read: regions to fan out over, and the log streams of each log group.
//!
//! [`regions_to_collect`] decides the regions of a service (configured, else the
//! profile's, else every commercial region); [`list_log_streams`] lists every
//! stream of a log group through DescribeLogStreams, with the per-stream times
//! that let a collector skip idle streams.
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_cloudwatchlogs::Client) -> Result<(), wodle_discovery::DiscoveryError> {
//! for stream in wodle_discovery::list_log_streams(&client, "apache-access").await? {
//!     println!("{} last ingested at {:?}", stream.name, stream.last_ingestion_time);
//! }
//! # Ok(()) }
//! ```

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::describe_log_streams::DescribeLogStreamsError;
use wodle_quota::{Api, RateLimiters};

/// Where a service's region list came from, and the regions themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionChoice {
    /// The service's `regions` tag or `--regions` flag.
    Configured(Vec<String>),
    /// The `region` of the service's profile in `~/.aws/config`.
    ProfileRegion(String),
    /// Neither: every commercial region, as the reference does.
    AllCommercial(Vec<String>),
}

impl RegionChoice {
    pub fn regions(&self) -> Vec<&str> {
        match self {
            RegionChoice::Configured(regions) | RegionChoice::AllCommercial(regions) => {
                regions.iter().map(String::as_str).collect()
            }
            RegionChoice::ProfileRegion(region) => vec![region.as_str()],
        }
    }
}

/// The reference's rule: the configured regions; else the profile's region; else
/// every commercial region in `all_commercial`.
pub fn regions_to_collect(
    configured: &[String],
    profile_region: Option<&str>,
    all_commercial: &[&str],
) -> RegionChoice {
    if !configured.is_empty() {
        return RegionChoice::Configured(configured.to_vec());
    }
    match profile_region.filter(|region| !region.is_empty()) {
        Some(region) => RegionChoice::ProfileRegion(region.to_owned()),
        None => RegionChoice::AllCommercial(
            all_commercial
                .iter()
                .map(|region| (*region).to_owned())
                .collect(),
        ),
    }
}

/// One log stream, with the times DescribeLogStreams reports (epoch ms). AWS
/// updates the last-event and last-ingestion times eventually, not at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogStreamInfo {
    pub name: String,
    pub creation_time: Option<i64>,
    pub first_event_timestamp: Option<i64>,
    pub last_event_timestamp: Option<i64>,
    pub last_ingestion_time: Option<i64>,
}

/// Why a log group's streams could not be listed. The messages are the
/// reference's: `The "get_log_streams" request failed: ` and then botocore's
/// wording of the AWS error.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The group does not exist in this region.
    #[error(
        "The \"get_log_streams\" request failed: An error occurred (ResourceNotFoundException) \
         when calling the DescribeLogStreams operation: {message}"
    )]
    LogGroupNotFound { group: String, message: String },
    /// Any other failure of DescribeLogStreams, with AWS's code and message.
    #[error(
        "The \"get_log_streams\" request failed: An error occurred ({code}) when calling the \
         DescribeLogStreams operation: {message}"
    )]
    Api {
        group: String,
        /// AWS's error code (`ThrottlingException`, `AccessDeniedException`...), or
        /// the kind of transport failure.
        code: String,
        message: String,
    },
}

impl DiscoveryError {
    /// The log group that could not be listed.
    pub fn group(&self) -> &str {
        match self {
            DiscoveryError::LogGroupNotFound { group, .. } | DiscoveryError::Api { group, .. } => {
                group
            }
        }
    }

    /// AWS's error code, or the kind of transport failure.
    pub fn code(&self) -> &str {
        match self {
            DiscoveryError::LogGroupNotFound { .. } => "ResourceNotFoundException",
            DiscoveryError::Api { code, .. } => code,
        }
    }
}

/// The client-side quota that DescribeLogStreams calls wait for.
#[derive(Debug, Clone, Copy)]
pub struct CallQuota<'a> {
    pub limits: &'a RateLimiters,
    pub account: &'a str,
    pub region: &'a str,
}

/// Lists every stream of `group`, following DescribeLogStreams' pages (50 streams
/// each, the most AWS and moto allow).
pub async fn list_log_streams(
    client: &Client,
    group: &str,
) -> Result<Vec<LogStreamInfo>, DiscoveryError> {
    list_log_streams_within(client, group, None).await
}

/// [`list_log_streams`], each call first waiting for `quota`.
pub async fn list_log_streams_within(
    client: &Client,
    group: &str,
    quota: Option<CallQuota<'_>>,
) -> Result<Vec<LogStreamInfo>, DiscoveryError> {
    let mut pages = client
        .describe_log_streams()
        .log_group_name(group)
        .into_paginator()
        .page_size(50)
        .send();
    let mut streams = Vec::new();
    loop {
        // The paginator calls AWS only when asked for the next page.
        if let Some(quota) = quota {
            quota
                .limits
                .acquire(quota.account, quota.region, Api::DescribeLogStreams)
                .await;
        }
        let Some(page) = pages.next().await else {
            break;
        };
        let page = page.map_err(|error| discovery_error(group, error))?;
        streams.extend(page.log_streams().iter().filter_map(|stream| {
            Some(LogStreamInfo {
                name: stream.log_stream_name()?.to_owned(),
                creation_time: stream.creation_time(),
                first_event_timestamp: stream.first_event_timestamp(),
                last_event_timestamp: stream.last_event_timestamp(),
                last_ingestion_time: stream.last_ingestion_time(),
            })
        }));
    }
    tracing::debug!(
        "+++ Found {} log streams in the \"{group}\" group",
        streams.len()
    );
    Ok(streams)
}

fn discovery_error(
    group: &str,
    error: SdkError<DescribeLogStreamsError, HttpResponse>,
) -> DiscoveryError {
    if let Some(service_error) = error.as_service_error()
        && service_error.is_resource_not_found_exception()
    {
        return DiscoveryError::LogGroupNotFound {
            group: group.to_owned(),
            message: service_error
                .message()
                .unwrap_or("The specified log group does not exist.")
                .to_owned(),
        };
    }
    let (code, message) = wodle_credentials::failure_code_and_message(&error);
    DiscoveryError::Api {
        group: group.to_owned(),
        code,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: &[&str] = &["eu-west-1", "us-east-1"];

    #[test]
    fn configured_regions_win() {
        let choice = regions_to_collect(&["ap-south-1".to_owned()], Some("us-west-2"), ALL);
        assert_eq!(
            choice,
            RegionChoice::Configured(vec!["ap-south-1".to_owned()])
        );
        assert_eq!(choice.regions(), ["ap-south-1"]);
    }

    #[test]
    fn then_the_profile_region() {
        let choice = regions_to_collect(&[], Some("us-west-2"), ALL);
        assert_eq!(choice.regions(), ["us-west-2"]);
    }

    #[test]
    fn else_every_commercial_region() {
        for profile_region in [None, Some("")] {
            let choice = regions_to_collect(&[], profile_region, ALL);
            assert_eq!(
                choice,
                RegionChoice::AllCommercial(vec!["eu-west-1".to_owned(), "us-east-1".to_owned()])
            );
        }
    }
}
