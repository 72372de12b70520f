//! Where each read of a stream starts, decided from what the database holds.
//!
//! Plain functions of stored rows and settings, no I/O: the owner of the
//! database calls [`plan_stream`] when a stream is listed, and the reader
//! follows the [`StreamPlan`] it returns.

use std::time::Duration;

use wodle_checkpoint::{GroupRead, Segment, StreamCheckpoint, StreamCursor};

use crate::reader::{LogEvent, StreamPosition};

/// AWS forward tokens expire after 24 hours; one older than this is not
/// trusted and the read resumes from its stored timestamp instead.
pub const TOKEN_MAX_AGE: Duration = Duration::from_secs(23 * 3600);

/// What the database holds about one stream for one account.
#[derive(Debug, Clone, Copy, Default)]
pub struct StoredStream<'a> {
    /// The reference's `cloudwatch_logs` row, unless we wrote it for another
    /// account.
    pub reference: Option<&'a StreamCheckpoint>,
    pub forward: Option<&'a StreamCursor>,
    pub backfill: Option<&'a StreamCursor>,
}

/// The settings a plan depends on.
#[derive(Debug, Clone, Copy)]
pub struct PlanSettings {
    /// Where a stream never read before starts (epoch ms): `only_logs_after`,
    /// else the group's stored lower bound.
    pub lower_bound: i64,
    /// `only_logs_after` when configured (epoch ms).
    pub only_logs_after: Option<i64>,
    /// Read everything again from `lower_bound`.
    pub reparse: bool,
    /// How long after a stream's last activity it is still polled although
    /// DescribeLogStreams shows nothing new (AWS updates those times late).
    pub idle_stream_lag: Duration,
    /// Our clock, epoch ms: only ever compared with our own `token_saved_at`.
    pub now: i64,
    /// The group's last complete read, if recorded.
    pub group_read: Option<GroupRead>,
}

/// What DescribeLogStreams says of a stream (AWS's clock, epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listed {
    pub last_ingestion_time: Option<i64>,
    pub creation_time: Option<i64>,
}

/// What to do with a listed stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamDecision {
    /// Nothing new according to DescribeLogStreams: no GetLogEvents call.
    Idle,
    Read(StreamPlan),
}

/// The reads of one stream, in order: a backfill first when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamPlan {
    pub segments: Vec<SegmentPlan>,
}

/// One read: the cursor the owner starts from, the first request, and what
/// of its answer was already handled by an earlier run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentPlan {
    pub cursor: StreamCursor,
    pub request: StreamPosition,
    pub skip: Skip,
}

/// Events at the head of the first answer(s) that an earlier run already
/// delivered or discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    Nothing,
    /// The same page fetched again: its first `count` events, the last of
    /// which must carry `last_timestamp` (else the page is not the same and
    /// the read falls back to [`Skip::AtTimestamp`]).
    Page {
        count: u64,
        last_timestamp: Option<i64>,
    },
    /// A read by time from `timestamp`: up to `count` leading events of that
    /// very millisecond, which may span pages.
    AtTimestamp {
        count: u64,
        timestamp: i64,
    },
}

/// Decides whether and how to read a stream.
pub fn plan_stream(
    stored: StoredStream<'_>,
    listed: Listed,
    settings: &PlanSettings,
) -> StreamDecision {
    let last_ingestion_time = listed.last_ingestion_time;
    if settings.reparse {
        let cursor = StreamCursor::new(Segment::Forward, settings.lower_bound, None);
        return StreamDecision::Read(StreamPlan {
            segments: vec![fresh(cursor)],
        });
    }
    // A cursor the reference's row no longer agrees with is stale: the
    // reference ran in between and its row is the truth. Without a row (the
    // caller leaves out one written for another account), the cursor stands.
    let forward = stored
        .forward
        .filter(|cursor| stored.reference.is_none_or(|row| cursor.describes(row)));
    let covered_from = stored.reference.and_then(|row| row.start_time);
    let backfill_needed = stored.backfill.is_some()
        || covered_from.is_some_and(|covered| settings.lower_bound < covered);

    if !backfill_needed
        && let Some(cursor) = forward
        && is_idle(cursor, last_ingestion_time, settings.idle_stream_lag)
    {
        return StreamDecision::Idle;
    }
    if forward.is_none()
        && stored.reference.is_none()
        && stored.backfill.is_none()
        && settings
            .group_read
            .is_some_and(|read| held_nothing_new(read, listed, settings))
    {
        return StreamDecision::Idle;
    }

    let mut segments = Vec::new();
    if let Some(backfill) = stored.backfill {
        segments.push(resume(backfill, settings.now));
    } else if let Some(covered) = covered_from
        && settings.lower_bound < covered
    {
        segments.push(fresh(StreamCursor::new(
            Segment::Backfill,
            settings.lower_bound,
            Some(covered),
        )));
    }
    let forward = match (forward, stored.reference) {
        (Some(cursor), _) => resume(cursor, settings.now),
        (None, Some(row)) => fresh(StreamCursor::new(
            Segment::Forward,
            after_reference_row(row, settings),
            None,
        )),
        (None, None) => fresh(StreamCursor::new(
            Segment::Forward,
            settings.lower_bound,
            None,
        )),
    };
    segments.push(forward);
    StreamDecision::Read(StreamPlan { segments })
}

/// Where the reference would continue a row of its own: after its newest
/// event, unless `only_logs_after` is later (spec §5.3).
///
/// The reference also sends its stored token, but that token was obtained
/// under a time filter the row does not record; read by time instead.
fn after_reference_row(row: &StreamCheckpoint, settings: &PlanSettings) -> i64 {
    match (row.end_time, settings.only_logs_after) {
        (Some(end), Some(after)) if end < after => after,
        (Some(end), _) => end.saturating_add(1),
        (None, _) => settings.lower_bound,
    }
}

/// True when DescribeLogStreams shows nothing the last read did not see, and
/// that read ended longer than `lag` after the stream's last activity.
///
/// Only AWS's times are compared: the stream's `lastIngestionTime` against
/// the highest ingestion time we read and AWS's clock at our read.
pub fn is_idle(cursor: &StreamCursor, last_ingestion_time: Option<i64>, lag: Duration) -> bool {
    if cursor.page_consumed > 0 {
        // A page was being delivered when the last run stopped.
        return false;
    }
    let (Some(listed), Some(read_up_to), Some(read_at)) = (
        last_ingestion_time,
        cursor.max_ingestion_time,
        cursor.read_at,
    ) else {
        return false;
    };
    let lag = i64::try_from(lag.as_millis()).unwrap_or(i64::MAX);
    listed <= read_up_to && listed <= read_at.saturating_sub(lag)
}

/// True for a stream without anything of ours that the group's last complete
/// read already read to its end and found empty from the lower bound on
/// (every event older), when AWS shows nothing ingested since, the lag
/// allowed for, and the lower bound has not moved earlier.
fn held_nothing_new(read: GroupRead, listed: Listed, settings: &PlanSettings) -> bool {
    if settings.lower_bound < read.lower_bound {
        return false;
    }
    let lag = i64::try_from(settings.idle_stream_lag.as_millis()).unwrap_or(i64::MAX);
    let settled = read.read_at.saturating_sub(lag);
    // A stream without any event has only its creation time to go by.
    match (listed.last_ingestion_time, listed.creation_time) {
        (Some(ingested), _) => ingested <= settled,
        (None, Some(created)) => created <= settled,
        (None, None) => false,
    }
}

fn fresh(cursor: StreamCursor) -> SegmentPlan {
    SegmentPlan {
        request: StreamPosition::from_time(cursor.window_start).until(cursor.window_end),
        skip: Skip::Nothing,
        cursor,
    }
}

/// Continues a stored read: the page in progress fetched again with its own
/// token, or, when the token is too old, a read by time from the last event
/// handled.
pub fn resume(cursor: &StreamCursor, now: i64) -> SegmentPlan {
    let max_age = i64::try_from(TOKEN_MAX_AGE.as_millis()).unwrap_or(i64::MAX);
    let fresh_token = cursor
        .token_saved_at
        .is_some_and(|saved| now.saturating_sub(saved) < max_age);
    match &cursor.page_token {
        Some(token) if fresh_token => SegmentPlan {
            request: StreamPosition::resume(Some(cursor.window_start), token.clone())
                .until(cursor.window_end),
            skip: page_skip(cursor),
            cursor: cursor.clone(),
        },
        Some(_) => by_time(cursor),
        None => SegmentPlan {
            request: StreamPosition::from_time(cursor.window_start).until(cursor.window_end),
            skip: page_skip(cursor),
            cursor: cursor.clone(),
        },
    }
}

fn page_skip(cursor: &StreamCursor) -> Skip {
    if cursor.page_consumed == 0 {
        Skip::Nothing
    } else {
        Skip::Page {
            count: cursor.page_consumed,
            last_timestamp: cursor.last_timestamp,
        }
    }
}

/// A read by time from the last event handled, skipping the events of that
/// millisecond already handled: neither lost nor sent twice.
pub fn by_time(cursor: &StreamCursor) -> SegmentPlan {
    let Some(timestamp) = cursor.last_timestamp else {
        let restarted = StreamCursor {
            page_token: None,
            page_consumed: 0,
            token_saved_at: None,
            ..cursor.clone()
        };
        return fresh(restarted);
    };
    let restarted = StreamCursor {
        window_start: timestamp,
        page_token: None,
        page_consumed: cursor.last_timestamp_count,
        token_saved_at: None,
        ..cursor.clone()
    };
    SegmentPlan {
        request: StreamPosition::from_time(timestamp).until(cursor.window_end),
        skip: if cursor.last_timestamp_count == 0 {
            Skip::Nothing
        } else {
            Skip::AtTimestamp {
                count: cursor.last_timestamp_count,
                timestamp,
            }
        },
        cursor: restarted,
    }
}

/// Notes one more event handled at `timestamp`: the last timestamp and how
/// many handled events share it, which [`by_time`] resumes from. The owner
/// keeps this for what it delivered, a reader for what it handed over.
pub fn note_handled(cursor: &mut StreamCursor, timestamp: i64) {
    if cursor.last_timestamp == Some(timestamp) {
        cursor.last_timestamp_count += 1;
    } else {
        cursor.last_timestamp = Some(timestamp);
        cursor.last_timestamp_count = 1;
    }
}

/// The outcome of applying a [`Skip`] to one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skipped {
    /// The first `first` events were handled before; `rest` applies to the
    /// next page.
    Prefix { first: usize, rest: Skip },
    /// The page is not the one the cursor describes.
    Mismatch,
}

/// Applies `skip` to the events of a page.
pub fn apply_skip(events: &[LogEvent], skip: Skip) -> Skipped {
    match skip {
        Skip::Nothing => Skipped::Prefix {
            first: 0,
            rest: Skip::Nothing,
        },
        Skip::Page {
            count,
            last_timestamp,
        } => {
            let count = usize::try_from(count).unwrap_or(usize::MAX);
            match events.get(count.wrapping_sub(1)) {
                Some(last) if Some(last.timestamp) == last_timestamp => Skipped::Prefix {
                    first: count,
                    rest: Skip::Nothing,
                },
                _ => Skipped::Mismatch,
            }
        }
        Skip::AtTimestamp { count, timestamp } => {
            let limit = usize::try_from(count).unwrap_or(usize::MAX);
            let first = events
                .iter()
                .take(limit)
                .take_while(|event| event.timestamp == timestamp)
                .count();
            // Only a page made entirely of that millisecond can leave some for
            // the next page.
            let rest = if first == events.len() && first < limit {
                Skip::AtTimestamp {
                    count: count - first as u64,
                    timestamp,
                }
            } else {
                Skip::Nothing
            };
            Skipped::Prefix { first, rest }
        }
    }
}

/// 00:00 UTC of the day holding `millis`.
pub fn start_of_utc_day(millis: i64) -> i64 {
    const DAY: i64 = 86_400_000;
    millis.div_euclid(DAY) * DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const LAG: Duration = Duration::from_secs(3600);

    fn settings(lower_bound: i64) -> PlanSettings {
        PlanSettings {
            lower_bound,
            only_logs_after: None,
            reparse: false,
            idle_stream_lag: LAG,
            now: 100 * HOUR,
            group_read: None,
        }
    }

    fn ingested(last_ingestion_time: Option<i64>) -> Listed {
        Listed {
            last_ingestion_time,
            creation_time: Some(0),
        }
    }

    fn row(token: &str, start: i64, end: i64) -> StreamCheckpoint {
        StreamCheckpoint {
            next_token: Some(token.into()),
            start_time: Some(start),
            end_time: Some(end),
        }
    }

    fn read_cursor(token: &str) -> StreamCursor {
        StreamCursor {
            page_token: Some(token.into()),
            token_saved_at: Some(99 * HOUR),
            last_timestamp: Some(50 * HOUR),
            last_timestamp_count: 2,
            max_ingestion_time: Some(50 * HOUR),
            read_at: Some(60 * HOUR),
            reference_token: Some(token.into()),
            ..StreamCursor::new(Segment::Forward, 10 * HOUR, None)
        }
    }

    fn plan(decision: StreamDecision) -> StreamPlan {
        match decision {
            StreamDecision::Read(plan) => plan,
            StreamDecision::Idle => panic!("expected a read"),
        }
    }

    fn event(timestamp: i64) -> LogEvent {
        LogEvent {
            timestamp,
            ingestion_time: timestamp,
            message: String::new(),
        }
    }

    #[test]
    fn a_new_stream_is_read_from_the_lower_bound() {
        let plan = plan(plan_stream(
            StoredStream::default(),
            ingested(Some(5)),
            &settings(7),
        ));
        assert_eq!(plan.segments.len(), 1);
        assert_eq!(plan.segments[0].request, StreamPosition::from_time(7));
        assert_eq!(plan.segments[0].skip, Skip::Nothing);
    }

    #[test]
    fn a_reference_row_continues_after_its_newest_event() {
        let reference = row("f/1", 10, 20);
        let stored = StoredStream {
            reference: Some(&reference),
            ..StoredStream::default()
        };
        let plan = plan(plan_stream(stored, ingested(Some(30)), &settings(10)));
        assert_eq!(plan.segments[0].request, StreamPosition::from_time(21));

        // A later only_logs_after wins, as in the reference.
        let later = PlanSettings {
            only_logs_after: Some(25),
            lower_bound: 25,
            ..settings(10)
        };
        let plan = plan_stream(stored, ingested(Some(30)), &later);
        assert_eq!(
            super::tests::plan(plan).segments[0].request,
            StreamPosition::from_time(25)
        );
    }

    #[test]
    fn an_earlier_only_logs_after_backfills_first() {
        let reference = row("f/1", 10 * HOUR, 20 * HOUR);
        let forward = read_cursor("f/1");
        let stored = StoredStream {
            reference: Some(&reference),
            forward: Some(&forward),
            backfill: None,
        };
        // Idle by its listing, but the backfill makes it worth reading.
        let plan = plan(plan_stream(
            stored,
            ingested(Some(HOUR)),
            &settings(2 * HOUR),
        ));
        assert_eq!(plan.segments.len(), 2);
        assert_eq!(plan.segments[0].cursor.segment, Segment::Backfill);
        assert_eq!(
            plan.segments[0].request,
            StreamPosition::from_time(2 * HOUR).until(Some(10 * HOUR))
        );
        assert_eq!(plan.segments[1].cursor, forward);
    }

    #[test]
    fn idle_only_when_aws_shows_nothing_newer_and_the_lag_has_passed() {
        let reference = row("f/1", 10 * HOUR, 50 * HOUR);
        let forward = read_cursor("f/1");
        let stored = StoredStream {
            reference: Some(&reference),
            forward: Some(&forward),
            backfill: None,
        };
        // Last ingested 50 h, our read ended 60 h: idle with a 1 h lag.
        assert_eq!(
            plan_stream(stored, ingested(Some(50 * HOUR)), &settings(10 * HOUR)),
            StreamDecision::Idle
        );
        // Something ingested after what we read: read, late events included.
        assert!(matches!(
            plan_stream(stored, ingested(Some(50 * HOUR + 1)), &settings(10 * HOUR)),
            StreamDecision::Read(_)
        ));
        // Active within the lag before our read: AWS may not show it all yet.
        let long_lag = PlanSettings {
            idle_stream_lag: Duration::from_secs(11 * 3600),
            ..settings(10 * HOUR)
        };
        assert!(matches!(
            plan_stream(stored, ingested(Some(50 * HOUR)), &long_lag),
            StreamDecision::Read(_)
        ));
        // No listing time, or a database that never recorded our read: read.
        assert!(matches!(
            plan_stream(stored, ingested(None), &settings(10 * HOUR)),
            StreamDecision::Read(_)
        ));
    }

    #[test]
    fn a_cursor_the_reference_moved_past_is_ignored() {
        let reference = row("f/9", 10 * HOUR, 70 * HOUR);
        let forward = read_cursor("f/1");
        let stored = StoredStream {
            reference: Some(&reference),
            forward: Some(&forward),
            backfill: None,
        };
        let plan = plan(plan_stream(
            stored,
            ingested(Some(70 * HOUR)),
            &settings(10 * HOUR),
        ));
        assert_eq!(
            plan.segments[0].request,
            StreamPosition::from_time(70 * HOUR + 1)
        );
    }

    #[test]
    fn without_a_row_of_its_own_an_account_goes_on_from_its_cursor() {
        // The row was written for another account: the caller leaves it out.
        let forward = read_cursor("f/1");
        let stored = StoredStream {
            reference: None,
            forward: Some(&forward),
            backfill: None,
        };
        let plan = plan(plan_stream(
            stored,
            ingested(Some(50 * HOUR + 1)),
            &settings(10 * HOUR),
        ));
        assert_eq!(plan.segments.len(), 1);
        assert_eq!(plan.segments[0].cursor, forward);
    }

    #[test]
    fn a_stream_the_last_complete_read_found_empty_is_idle_until_it_grows() {
        let read = PlanSettings {
            group_read: Some(GroupRead {
                read_at: 60 * HOUR,
                lower_bound: 10 * HOUR,
            }),
            ..settings(10 * HOUR)
        };
        let nothing = StoredStream::default();
        // Last ingested long before that read (its events are older than the bound).
        assert_eq!(
            plan_stream(nothing, ingested(Some(5 * HOUR)), &read),
            StreamDecision::Idle
        );
        // Ingested within the lag before it, or after it: read.
        assert!(matches!(
            plan_stream(nothing, ingested(Some(59 * HOUR + 1)), &read),
            StreamDecision::Read(_)
        ));
        // No event ever: the creation time decides.
        let empty_old = Listed {
            last_ingestion_time: None,
            creation_time: Some(HOUR),
        };
        assert_eq!(plan_stream(nothing, empty_old, &read), StreamDecision::Idle);
        let empty_new = Listed {
            last_ingestion_time: None,
            creation_time: Some(60 * HOUR),
        };
        assert!(matches!(
            plan_stream(nothing, empty_new, &read),
            StreamDecision::Read(_)
        ));
        // The lower bound moved earlier: its older events may now count.
        let earlier = PlanSettings {
            lower_bound: 2 * HOUR,
            ..read
        };
        assert!(matches!(
            plan_stream(nothing, ingested(Some(5 * HOUR)), &earlier),
            StreamDecision::Read(_)
        ));
        // Reparse reads everything.
        let reparse = PlanSettings {
            reparse: true,
            ..read
        };
        assert!(matches!(
            plan_stream(nothing, ingested(Some(5 * HOUR)), &reparse),
            StreamDecision::Read(_)
        ));
    }

    #[test]
    fn a_fresh_token_refetches_the_page_in_progress() {
        let cursor = StreamCursor {
            page_consumed: 3,
            ..read_cursor("f/4")
        };
        let plan = resume(&cursor, 100 * HOUR);
        assert_eq!(plan.request, StreamPosition::resume(Some(10 * HOUR), "f/4"));
        assert_eq!(
            plan.skip,
            Skip::Page {
                count: 3,
                last_timestamp: Some(50 * HOUR)
            }
        );
    }

    #[test]
    fn an_old_token_resumes_by_time_skipping_that_millisecond() {
        let cursor = StreamCursor {
            token_saved_at: Some(0),
            ..read_cursor("f/4")
        };
        let plan = resume(&cursor, 100 * HOUR);
        assert_eq!(plan.request, StreamPosition::from_time(50 * HOUR));
        assert_eq!(
            plan.skip,
            Skip::AtTimestamp {
                count: 2,
                timestamp: 50 * HOUR
            }
        );
        assert_eq!(plan.cursor.page_token, None);
        assert_eq!(plan.cursor.page_consumed, 2);
        assert_eq!(plan.cursor.window_start, 50 * HOUR);
    }

    #[test]
    fn reparse_reads_everything_again() {
        let reference = row("f/1", 10, 20);
        let stored = StoredStream {
            reference: Some(&reference),
            ..StoredStream::default()
        };
        let reparse = PlanSettings {
            reparse: true,
            ..settings(5)
        };
        let plan = plan(plan_stream(stored, ingested(Some(1)), &reparse));
        assert_eq!(plan.segments[0].request, StreamPosition::from_time(5));
    }

    #[test]
    fn skips_check_what_they_skip() {
        let page = [event(1), event(2), event(2), event(3)];
        let same = Skip::Page {
            count: 3,
            last_timestamp: Some(2),
        };
        assert_eq!(
            apply_skip(&page, same),
            Skipped::Prefix {
                first: 3,
                rest: Skip::Nothing
            }
        );
        let other = Skip::Page {
            count: 2,
            last_timestamp: Some(1),
        };
        assert_eq!(apply_skip(&page, other), Skipped::Mismatch);
        let too_long = Skip::Page {
            count: 9,
            last_timestamp: Some(3),
        };
        assert_eq!(apply_skip(&page, too_long), Skipped::Mismatch);

        let by_time = [event(2), event(2), event(3)];
        let skip = Skip::AtTimestamp {
            count: 1,
            timestamp: 2,
        };
        assert_eq!(
            apply_skip(&by_time, skip),
            Skipped::Prefix {
                first: 1,
                rest: Skip::Nothing
            }
        );
        // A page made only of that millisecond passes the rest on.
        let skip = Skip::AtTimestamp {
            count: 5,
            timestamp: 2,
        };
        assert_eq!(
            apply_skip(&by_time[..2], skip),
            Skipped::Prefix {
                first: 2,
                rest: Skip::AtTimestamp {
                    count: 3,
                    timestamp: 2
                }
            }
        );
    }

    #[test]
    fn days_start_at_midnight_utc() {
        // 2026-11-26T16:35:35Z
        assert_eq!(start_of_utc_day(1_795_710_935_000), 1_795_651_200_000);
        assert_eq!(start_of_utc_day(1_795_651_200_000), 1_795_651_200_000);
    }
}
