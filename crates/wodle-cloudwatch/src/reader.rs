//! One stream, page by page: GetLogEvents with `startFromHead=true`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::config::interceptors::BeforeDeserializationInterceptorContextRef;
use aws_sdk_cloudwatchlogs::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};

/// Where a read starts: a time filter (epoch ms; `start_time` inclusive,
/// `end_time` exclusive on AWS but inclusive on moto, so callers filter the
/// upper edge themselves) and, to resume, a forward token obtained under that
/// same filter.
///
/// A token is always sent with the time filter of the read that produced it,
/// never with a new one: that is what the SDK's paginators do (the same request
/// plus the token), and on moto the token is an index into the time-filtered
/// result, so a token sent with another filter, or alone, would skip or repeat
/// events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPosition {
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub forward_token: Option<String>,
}

impl StreamPosition {
    /// A new read of everything from `start_time` on.
    pub fn from_time(start_time: i64) -> StreamPosition {
        StreamPosition {
            start_time: Some(start_time),
            end_time: None,
            forward_token: None,
        }
    }

    /// A new read of the whole stream.
    pub fn from_head() -> StreamPosition {
        StreamPosition {
            start_time: None,
            end_time: None,
            forward_token: None,
        }
    }

    /// Continues a read: `start_time` must be the filter the token was obtained with.
    pub fn resume(start_time: Option<i64>, forward_token: impl Into<String>) -> StreamPosition {
        StreamPosition {
            start_time,
            end_time: None,
            forward_token: Some(forward_token.into()),
        }
    }

    /// The same read, limited to events before `end_time`.
    pub fn until(self, end_time: Option<i64>) -> StreamPosition {
        StreamPosition { end_time, ..self }
    }
}

/// One event as GetLogEvents returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    /// When the event happened, epoch ms (set by the writer; may be late).
    pub timestamp: i64,
    /// When CloudWatch received it, epoch ms.
    pub ingestion_time: i64,
    pub message: String,
}

/// One page of a stream, with what fetched it (so a restart can fetch it again)
/// and where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub requested: StreamPosition,
    pub events: Vec<LogEvent>,
    pub next_forward_token: String,
    /// AWS's clock when it answered (the HTTP `Date` header, epoch ms), when
    /// the answer had one.
    pub server_time: Option<i64>,
}

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    /// The stream or its group is gone.
    #[error("log stream \"{stream}\" of group \"{group}\" does not exist")]
    StreamNotFound { group: String, stream: String },
    /// GetLogEvents answered without a forward token, which AWS always sends.
    #[error("GetLogEvents on \"{group}\"/\"{stream}\" returned no forward token")]
    MissingForwardToken { group: String, stream: String },
    /// Any other failure of GetLogEvents, with AWS's code and message, worded
    /// as the reference words it.
    #[error(
        "The \"get_log_events\" request failed: An error occurred ({code}) when calling the \
         GetLogEvents operation: {message} (log group \"{group}\", stream \"{stream}\")"
    )]
    Api {
        group: String,
        stream: String,
        code: String,
        message: String,
    },
}

/// True when a GetLogEvents answer means the stream has nothing more: the
/// forward token returned is the one that was sent.
pub fn is_end_of_stream(sent_token: Option<&str>, returned_token: &str) -> bool {
    sent_token == Some(returned_token)
}

/// Reads one stream page by page, from a position to the current end.
#[derive(Debug)]
pub struct StreamReader {
    client: Client,
    group: String,
    stream: String,
    position: StreamPosition,
    finished: bool,
    server_clock: ServerClock,
    quota: Option<ReaderQuota>,
}

/// The client-side quota GetLogEvents calls of a reader wait for.
#[derive(Debug, Clone)]
pub struct ReaderQuota {
    pub limits: wodle_quota::RateLimiters,
    pub account: String,
    pub region: String,
}

impl StreamReader {
    pub fn new(
        client: Client,
        group: impl Into<String>,
        stream: impl Into<String>,
        start: StreamPosition,
    ) -> StreamReader {
        StreamReader {
            client,
            group: group.into(),
            stream: stream.into(),
            position: start,
            finished: false,
            server_clock: ServerClock::default(),
            quota: None,
        }
    }

    /// Makes every GetLogEvents call of this reader wait for `quota` first.
    pub fn within(mut self, quota: Option<ReaderQuota>) -> StreamReader {
        self.quota = quota;
        self
    }

    /// The log group this reader reads from.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// The stream this reader reads.
    pub fn stream(&self) -> &str {
        &self.stream
    }

    /// Where the next request will start: after the last page returned, this is
    /// what a checkpoint stores (the token and the time filter it belongs to).
    pub fn position(&self) -> &StreamPosition {
        &self.position
    }

    /// The next page that holds events, or `None` once the stream is exhausted.
    /// Empty pages before the end are followed, not returned.
    pub async fn next_page(&mut self) -> Result<Option<Page>, PullError> {
        while !self.finished {
            if let Some(quota) = &self.quota {
                quota
                    .limits
                    .acquire(
                        &quota.account,
                        &quota.region,
                        wodle_quota::Api::GetLogEvents,
                    )
                    .await;
            }
            let requested = self.position.clone();
            let request = self
                .client
                .get_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .start_from_head(true);
            let request = request
                .set_start_time(requested.start_time)
                .set_end_time(requested.end_time)
                .set_next_token(requested.forward_token.clone());
            let output = request
                .customize()
                .interceptor(self.server_clock.clone())
                .send()
                .await
                .map_err(|error| self.api_error(error))?;
            // The answer is ours: its token and messages are moved out, not
            // copied (one allocation fewer per event on the hot path).
            let Some(next_forward_token) = output.next_forward_token else {
                return Err(PullError::MissingForwardToken {
                    group: self.group.clone(),
                    stream: self.stream.clone(),
                });
            };
            self.finished =
                is_end_of_stream(requested.forward_token.as_deref(), &next_forward_token);
            self.position =
                StreamPosition::resume(requested.start_time, next_forward_token.clone())
                    .until(requested.end_time);
            let events: Vec<LogEvent> = output
                .events
                .unwrap_or_default()
                .into_iter()
                .map(|event| LogEvent {
                    timestamp: event.timestamp.unwrap_or_default(),
                    ingestion_time: event.ingestion_time.unwrap_or_default(),
                    message: event.message.unwrap_or_default(),
                })
                .collect();
            tracing::trace!(
                "GetLogEvents {}/{}: {} events, end of stream: {}",
                self.group,
                self.stream,
                events.len(),
                self.finished
            );
            if !events.is_empty() {
                return Ok(Some(Page {
                    requested,
                    events,
                    next_forward_token,
                    server_time: self.server_clock.latest(),
                }));
            }
        }
        Ok(None)
    }

    /// AWS's clock at its latest answer to this reader (epoch ms), if known.
    pub fn server_time(&self) -> Option<i64> {
        self.server_clock.latest()
    }

    fn api_error<E>(&self, error: SdkError<E, HttpResponse>) -> PullError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        if error.code() == Some("ResourceNotFoundException") {
            return PullError::StreamNotFound {
                group: self.group.clone(),
                stream: self.stream.clone(),
            };
        }
        let (code, message) = wodle_credentials::failure_code_and_message(&error);
        PullError::Api {
            group: self.group.clone(),
            stream: self.stream.clone(),
            code,
            message,
        }
    }
}

/// Records AWS's clock from the `Date` header of each answer.
///
/// The idle-stream check compares AWS's times only (a stream's
/// `lastIngestionTime` against the time of our last read), never our clock
/// against theirs, so the time of a read is taken from AWS's answer.
#[derive(Debug, Clone, Default)]
struct ServerClock {
    latest_millis: Arc<AtomicI64>,
}

impl ServerClock {
    fn latest(&self) -> Option<i64> {
        Some(self.latest_millis.load(Ordering::Relaxed)).filter(|millis| *millis > 0)
    }
}

impl Intercept for ServerClock {
    fn name(&self) -> &'static str {
        "wodle-cloudwatch server clock"
    }

    fn read_before_deserialization(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|value| httpdate::parse_http_date(value).ok())
            .and_then(|time| time.duration_since(std::time::UNIX_EPOCH).ok())
            .and_then(|since_epoch| i64::try_from(since_epoch.as_millis()).ok());
        if let Some(millis) = date {
            self.latest_millis.fetch_max(millis, Ordering::Relaxed);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_end_is_the_token_coming_back_unchanged() {
        assert!(is_end_of_stream(Some("f/1"), "f/1"));
        assert!(!is_end_of_stream(Some("f/1"), "f/2"));
        // The first request of a read sends no token: never the end.
        assert!(!is_end_of_stream(None, "f/1"));
    }
}
