//! GetLogEvents pages: which events a request gets, and the page's JSON body.

use std::io::Write as _;

use hyper::body::Bytes;

use crate::dataset::LogStream;
use crate::{EVENT_OVERHEAD_BYTES, MAX_PAGE_BYTES, MAX_PAGE_EVENTS};

/// One stream as the server serves it: its generator, and the page size AWS would use.
#[derive(Debug)]
pub(crate) struct StreamPages {
    pub name: String,
    /// The name as it stands inside a JSON string (escaped, without quotes).
    json_name: String,
    pub events: u64,
    message_bytes: usize,
    first_timestamp: i64,
    /// How many events fill a page: 10,000, or fewer when 1 MB is reached first.
    pub page_events: u64,
    /// `message_bytes` of padding, sliced per event.
    padding: String,
}

/// What a GetLogEvents request asks for, as far as pages go.
#[derive(Debug, Default)]
pub(crate) struct EventsRequest {
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub limit: Option<u64>,
    pub token: Option<String>,
    pub start_from_head: bool,
}

/// The answer to a GetLogEvents request.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Page {
    /// Events `start..stop`, with tokens `f/stop` and `b/start`.
    Events { start: u64, stop: u64 },
    /// No events, and these tokens (the token sent comes back once a direction is finished).
    Empty { forward: String, backward: String },
}

/// A token of ours was not given back to us.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct InvalidToken;

impl StreamPages {
    pub fn new(stream: &LogStream, first_timestamp: i64) -> StreamPages {
        let quoted = serde_json::Value::String(stream.name.clone()).to_string();
        let event_cost = stream.message_bytes as u64 + EVENT_OVERHEAD_BYTES;
        StreamPages {
            name: stream.name.clone(),
            json_name: quoted[1..quoted.len() - 1].to_owned(),
            events: stream.events,
            message_bytes: stream.message_bytes,
            first_timestamp,
            page_events: (MAX_PAGE_BYTES / event_cost).clamp(1, MAX_PAGE_EVENTS),
            padding: "x".repeat(stream.message_bytes),
        }
    }

    pub fn timestamp(&self, index: u64) -> i64 {
        self.first_timestamp.saturating_add_unsigned(index)
    }

    pub fn last_timestamp(&self) -> Option<i64> {
        self.events.checked_sub(1).map(|last| self.timestamp(last))
    }

    /// The index of the first event stamped at or after `time`.
    fn first_at_or_after(&self, time: i64) -> u64 {
        u64::try_from(time.saturating_sub(self.first_timestamp))
            .unwrap_or(0)
            .min(self.events)
    }

    /// Which events answer `request`. AWS's rules: `startTime` inclusive, `endTime`
    /// exclusive, `limit` at most 10,000; without a token, the head or the tail of the
    /// range; a forward token at the end of the range comes back as it was sent.
    pub fn page(&self, request: &EventsRequest) -> Result<Page, InvalidToken> {
        let low = request
            .start_time
            .map_or(0, |time| self.first_at_or_after(time));
        let high = request
            .end_time
            .map_or(self.events, |time| self.first_at_or_after(time))
            .max(low);
        let size = request
            .limit
            .unwrap_or(MAX_PAGE_EVENTS)
            .clamp(1, MAX_PAGE_EVENTS)
            .min(self.page_events);
        let page = match request.token.as_deref().map(parse_token).transpose()? {
            None if request.start_from_head => Page::Events {
                start: low,
                stop: (low + size).min(high),
            },
            None => Page::Events {
                start: high.saturating_sub(size).max(low),
                stop: high,
            },
            Some((Direction::Forward, next)) => {
                let start = next.max(low);
                if start >= high {
                    return Ok(Page::Empty {
                        forward: request.token.clone().unwrap_or_default(),
                        backward: token(Direction::Backward, start),
                    });
                }
                Page::Events {
                    start,
                    stop: (start + size).min(high),
                }
            }
            Some((Direction::Backward, end)) => {
                let stop = end.min(high);
                if stop <= low {
                    return Ok(Page::Empty {
                        forward: token(Direction::Forward, low),
                        backward: request.token.clone().unwrap_or_default(),
                    });
                }
                Page::Events {
                    start: stop.saturating_sub(size).max(low),
                    stop,
                }
            }
        };
        Ok(match page {
            Page::Events { start, stop } if start >= stop => Page::Empty {
                forward: token(Direction::Forward, start),
                backward: token(Direction::Backward, start),
            },
            page => page,
        })
    }

    /// The JSON body of events `start..stop`.
    pub fn body(&self, start: u64, stop: u64) -> Bytes {
        let events = stop.saturating_sub(start);
        let per_event = self.message_bytes + self.json_name.len() + 80;
        let mut body = Vec::with_capacity(usize::try_from(events).unwrap_or(0) * per_event + 128);
        body.extend_from_slice(b"{\"events\":[");
        for index in start..stop {
            if index > start {
                body.push(b',');
            }
            let timestamp = self.timestamp(index);
            let digits = decimal_digits(index);
            let padding = self
                .message_bytes
                .saturating_sub(self.name.len() + 1 + digits + 1);
            // Writing into a Vec cannot fail.
            let _ = write!(
                body,
                "{{\"timestamp\":{timestamp},\"message\":\"{}#{index} {}\",\"ingestionTime\":{timestamp}}}",
                self.json_name,
                &self.padding[..padding]
            );
        }
        let _ = write!(
            body,
            "],\"nextForwardToken\":\"{}\",\"nextBackwardToken\":\"{}\"}}",
            token(Direction::Forward, stop),
            token(Direction::Backward, start)
        );
        Bytes::from(body)
    }
}

/// The body of a page without events.
pub(crate) fn empty_body(forward: &str, backward: &str) -> Bytes {
    Bytes::from(
        serde_json::json!({
            "events": [],
            "nextForwardToken": forward,
            "nextBackwardToken": backward,
        })
        .to_string(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Direction {
    Forward,
    Backward,
}

/// `f/<index of the next event>` or `b/<index after the previous event>`; opaque to clients.
fn token(direction: Direction, index: u64) -> String {
    let letter = match direction {
        Direction::Forward => 'f',
        Direction::Backward => 'b',
    };
    format!("{letter}/{index:020}")
}

fn parse_token(token: &str) -> Result<(Direction, u64), InvalidToken> {
    let (direction, index) = match token.split_once('/') {
        Some(("f", index)) => (Direction::Forward, index),
        Some(("b", index)) => (Direction::Backward, index),
        _ => return Err(InvalidToken),
    };
    let index = index.parse().map_err(|_| InvalidToken)?;
    Ok((direction, index))
}

fn decimal_digits(mut value: u64) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::message;

    fn stream(events: u64, message_bytes: usize) -> StreamPages {
        StreamPages::new(
            &LogStream {
                name: "s\"1".to_owned(),
                events,
                message_bytes,
            },
            1_000,
        )
    }

    fn from_head(token: Option<String>) -> EventsRequest {
        EventsRequest {
            token,
            start_from_head: true,
            ..EventsRequest::default()
        }
    }

    #[test]
    fn a_page_holds_10000_events_or_1_mb() {
        assert_eq!(stream(1, 10).page_events, 10_000);
        assert_eq!(stream(1, 200).page_events, 1_048_576 / 226);
        assert_eq!(stream(1, 2_000_000).page_events, 1);
    }

    #[test]
    fn reading_from_the_head_ends_on_the_token_sent_coming_back() {
        let pages = stream(25_000, 10);
        let mut token = None;
        let mut seen = Vec::new();
        loop {
            match pages.page(&from_head(token.clone())).unwrap() {
                Page::Events { start, stop } => {
                    seen.push((start, stop));
                    token = Some(format!("f/{stop:020}"));
                }
                Page::Empty { forward, .. } => {
                    assert_eq!(Some(forward), token);
                    break;
                }
            }
        }
        assert_eq!(seen, [(0, 10_000), (10_000, 20_000), (20_000, 25_000)]);
    }

    #[test]
    fn times_limit_and_the_tail() {
        let pages = stream(100, 10);
        let request = EventsRequest {
            start_time: Some(1_010),
            end_time: Some(1_020),
            limit: Some(4),
            start_from_head: true,
            ..EventsRequest::default()
        };
        assert_eq!(
            pages.page(&request),
            Ok(Page::Events {
                start: 10,
                stop: 14
            })
        );
        let tail = EventsRequest {
            limit: Some(4),
            ..EventsRequest::default()
        };
        assert_eq!(
            pages.page(&tail),
            Ok(Page::Events {
                start: 96,
                stop: 100
            })
        );
        let bad = from_head(Some("nope".to_owned()));
        assert_eq!(pages.page(&bad), Err(InvalidToken));
    }

    #[test]
    fn the_body_is_json_with_the_generated_messages() {
        let pages = stream(3, 40);
        let body: serde_json::Value = serde_json::from_slice(&pages.body(1, 3)).unwrap();
        let events = body["events"].as_array().unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["timestamp"], 1_001);
        assert_eq!(events[0]["message"], message("s\"1", 1, 40));
        assert_eq!(events[1]["message"].as_str().unwrap().len(), 40);
        assert_eq!(body["nextForwardToken"], format!("f/{:020}", 3));
    }
}
