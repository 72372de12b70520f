//! Puts log groups, streams and events into the emulator through the real SDK.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// The access key id every test client uses; moto accepts any key.
pub const TEST_ACCESS_KEY_ID: &str = "testing";
/// The matching secret; not a secret.
pub const TEST_SECRET_ACCESS_KEY: &str = "testing";
/// The account moto puts the test credentials' resources in.
pub const MOTO_DEFAULT_ACCOUNT_ID: &str = "123456789012";

// PutLogEvents quotas: a batch holds at most 10,000 events, at most 1,048,576 bytes counted as
// each message's UTF-8 length plus 26, and spans at most 24 hours.
const MAX_BATCH_EVENTS: usize = 10_000;
const MAX_BATCH_BYTES: usize = 1_048_576;
const EVENT_OVERHEAD_BYTES: usize = 26;
const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// A CloudWatch Logs client for `region` with the static test credentials, sending to
/// `endpoint_url`. Reads nothing from the environment or `~/.aws`, so it is hermetic.
pub fn logs_client(endpoint_url: &str, region: &str) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .credentials_provider(Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "wodle-testkit",
        ))
        .endpoint_url(endpoint_url)
        .build();
    Client::from_conf(config)
}

/// The current time in epoch milliseconds: moto rejects events older than 14 days, so
/// seeded timestamps are best made relative to it.
pub fn now_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_millis()).expect("milliseconds since 1970 fit in i64")
}

/// Creates CloudWatch Logs resources for a test. Every method panics with the SDK's full
/// error on failure: a seeding failure is a broken test, not a case to handle.
#[derive(Clone, Debug)]
pub struct CloudWatchSeeder {
    client: Client,
}

impl CloudWatchSeeder {
    pub fn new(endpoint_url: &str, region: &str) -> CloudWatchSeeder {
        CloudWatchSeeder {
            client: logs_client(endpoint_url, region),
        }
    }

    /// The underlying client, for calls the seeder does not wrap.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub async fn create_log_group(&self, group: &str) {
        self.client
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateLogGroup {group}: {}", DisplayErrorContext(e)));
    }

    pub async fn create_log_stream(&self, group: &str, stream: &str) {
        self.client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "CreateLogStream {group}/{stream}: {}",
                    DisplayErrorContext(e)
                )
            });
    }

    /// Puts `(timestamp_ms, message)` events into an existing stream, sorted by time and
    /// split into as many PutLogEvents calls as AWS's per-call limits require.
    pub async fn put_events<M: AsRef<str>>(&self, group: &str, stream: &str, events: &[(i64, M)]) {
        let mut sorted: Vec<(i64, &str)> = events
            .iter()
            .map(|(timestamp, message)| (*timestamp, message.as_ref()))
            .collect();
        sorted.sort_by_key(|(timestamp, _)| *timestamp);
        for batch in batches(&sorted) {
            let input: Vec<InputLogEvent> = batch
                .iter()
                .map(|(timestamp, message)| {
                    InputLogEvent::builder()
                        .timestamp(*timestamp)
                        .message(*message)
                        .build()
                        .expect("timestamp and message are set")
                })
                .collect();
            self.client
                .put_log_events()
                .log_group_name(group)
                .log_stream_name(stream)
                .set_log_events(Some(input))
                .send()
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PutLogEvents {group}/{stream} ({} events): {}",
                        batch.len(),
                        DisplayErrorContext(e)
                    )
                });
        }
    }

    pub async fn delete_log_stream(&self, group: &str, stream: &str) {
        self.client
            .delete_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "DeleteLogStream {group}/{stream}: {}",
                    DisplayErrorContext(e)
                )
            });
    }
}

/// Splits time-sorted events into batches that each fit one PutLogEvents call.
fn batches<'a>(sorted: &'a [(i64, &'a str)]) -> Vec<&'a [(i64, &'a str)]> {
    let mut result = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (index, (timestamp, message)) in sorted.iter().enumerate() {
        let size = message.len() + EVENT_OVERHEAD_BYTES;
        let full = index - start == MAX_BATCH_EVENTS
            || bytes + size > MAX_BATCH_BYTES
            || *timestamp - sorted[start].0 > MAX_BATCH_SPAN_MS;
        if full && index > start {
            result.push(&sorted[start..index]);
            start = index;
            bytes = 0;
        }
        bytes += size;
    }
    if start < sorted.len() {
        result.push(&sorted[start..]);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_respect_the_event_count_limit() {
        let events: Vec<(i64, &str)> = (0..25_000).map(|i| (i, "x")).collect();
        let sizes: Vec<usize> = batches(&events).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10_000, 10_000, 5_000]);
    }

    #[test]
    fn batches_respect_the_byte_limit() {
        let message = "m".repeat(100_000 - EVENT_OVERHEAD_BYTES);
        let events: Vec<(i64, &str)> = (0..25).map(|i| (i, message.as_str())).collect();
        let sizes: Vec<usize> = batches(&events).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [10, 10, 5]);
    }

    #[test]
    fn batches_respect_the_24_hour_span() {
        let events = [
            (0, "a"),
            (MAX_BATCH_SPAN_MS, "b"),
            (MAX_BATCH_SPAN_MS + 1, "c"),
        ];
        let sizes: Vec<usize> = batches(&events).iter().map(|b| b.len()).collect();
        assert_eq!(sizes, [2, 1]);
    }

    #[test]
    fn no_events_make_no_batch() {
        assert!(batches(&[]).is_empty());
    }
}
