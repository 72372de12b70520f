//! One service's run: regions × log groups × streams, concurrently.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use wodle_checkpoint::{CheckpointError, GroupRead, StreamCursor, StreamKey};
use wodle_discovery::{CallQuota, DiscoveryError, LogStreamInfo};
use wodle_quota::{Api, RateLimiters};

use crate::clock::Clock;
use crate::owner::{OwnerGone, OwnerHandle, PageHold, Request, StreamId};
use crate::plan::{
    Listed, PlanSettings, Skip, Skipped, StreamDecision, StreamPlan, apply_skip, by_time,
    note_handled,
};
use crate::reader::{PullError, ReaderQuota, StreamPosition, StreamReader};

/// How many streams are read at once when nothing else is configured.
pub const DEFAULT_MAX_CONCURRENT_STREAMS: usize = 16;

/// The bytes of pages a service holds at once, fetched or being fetched:
/// as many of AWS's largest pages as streams are read at once by default,
/// so that a run with small pages (or none: the fan-out over every region)
/// keeps its 16 calls in flight, and memory stays well under 64 MB with any
/// number of streams and any backlog.
const PAGE_BUDGET: usize = DEFAULT_MAX_CONCURRENT_STREAMS * FETCH_RESERVE as usize;

/// What one GetLogEvents call is reserved until its page is known: AWS's
/// largest page (1 MB of messages, up to 10,000 events) as we hold it. A page
/// is counted at most this much (moto's can be larger; AWS's cannot).
const FETCH_RESERVE: u32 = 1536 * 1024;

/// Pages a reader holds at once: the one the owner delivers, the next one
/// queued for it, and the one after, being fetched meanwhile (with two, the
/// owner sat idle whenever a fetch took longer than a delivery: 5,000,000
/// events in one stream went at 347,000 events/s instead of 593,000).
const PAGES_PER_READER: u32 = 3;

/// The memory a page holds while it waits for the owner, in bytes.
fn page_cost(page: &crate::reader::Page) -> usize {
    std::mem::size_of_val(page)
        + page.next_forward_token.capacity()
        + page.events.capacity() * std::mem::size_of::<crate::reader::LogEvent>()
        + page
            .events
            .iter()
            .map(|event| event.message.capacity())
            .sum::<usize>()
}

/// The idle lag when nothing else is configured: AWS updates a stream's
/// `lastIngestionTime` "typically in less than an hour".
pub const DEFAULT_IDLE_STREAM_LAG: Duration = Duration::from_secs(3600);

/// One region to read, with a client for it.
#[derive(Debug, Clone)]
pub struct RegionClient {
    pub region: String,
    pub client: Client,
}

/// What one service reads and how.
#[derive(Debug, Clone)]
pub struct ServiceRun {
    /// Part of every checkpoint key of ours (the reference's has none).
    pub account_id: String,
    pub regions: Vec<RegionClient>,
    pub log_groups: Vec<String>,
    /// `only_logs_after`, epoch ms of 00:00 UTC of that date.
    pub only_logs_after: Option<i64>,
    pub reparse: bool,
    pub remove_log_streams: bool,
    pub idle_stream_lag: Duration,
    pub max_concurrent_streams: usize,
    pub clock: Arc<dyn Clock>,
    /// Client-side request quotas, shared by every service of the process so
    /// that two services on one account and region share one budget.
    pub limits: RateLimiters,
}

/// A log group that could not be listed.
#[derive(Debug)]
pub struct GroupFailure {
    pub region: String,
    pub error: DiscoveryError,
}

/// A stream that could not be read to its end.
#[derive(Debug)]
pub struct StreamFailure {
    pub region: String,
    pub error: PullError,
}

/// A stream read fully that `remove_log_streams` could not delete.
#[derive(Debug)]
pub struct RemoveFailure {
    pub region: String,
    pub group: String,
    pub stream: String,
    pub code: String,
    pub message: String,
}

/// What happened in one service's run, apart from the delivery counts.
#[derive(Debug, Default)]
pub struct ServiceReport {
    pub streams_listed: u64,
    pub streams_read: u64,
    /// Streams skipped because DescribeLogStreams showed nothing new.
    pub streams_idle: u64,
    pub streams_removed: u64,
    pub checkpoints_purged: u64,
    pub group_failures: Vec<GroupFailure>,
    pub stream_failures: Vec<StreamFailure>,
    pub remove_failures: Vec<RemoveFailure>,
    /// The database failed while planning; delivery stopped.
    pub checkpoint_error: Option<CheckpointError>,
    /// The run was stopped (signal or deadline) before every stream was read.
    pub stopped: bool,
}

/// Reads one service. Events go through `owner`; the run ends when every
/// stream is read to its current end, or early when `stop` is cancelled (no
/// new page is requested after that; pages in hand are still delivered).
pub async fn collect_service(
    run: ServiceRun,
    owner: OwnerHandle,
    stop: CancellationToken,
) -> ServiceReport {
    let concurrency = run.max_concurrent_streams.max(1);
    let shared = Shared {
        run: Arc::new(run),
        owner,
        stop: stop.clone(),
        stream_permits: Arc::new(Semaphore::new(concurrency)),
        page_budget: Arc::new(Semaphore::new(PAGE_BUDGET)),
        listing_permits: Arc::new(Semaphore::new(concurrency.max(LISTINGS_AT_ONCE))),
    };
    let mut groups = JoinSet::new();
    for region in &shared.run.regions {
        tracing::debug!("+++ Getting alerts from \"{}\" region.", region.region);
        for group in &shared.run.log_groups {
            groups.spawn(collect_group(shared.clone(), region.clone(), group.clone()));
        }
    }
    drop(shared);
    let mut report = ServiceReport::default();
    while let Some(done) = groups.join_next().await {
        match done {
            Ok(group_report) => merge(&mut report, group_report),
            // A panicking task is a bug; the others go on and the run reports it.
            Err(join_error) => tracing::error!("A collection task failed: {join_error}"),
        }
    }
    report.stopped |= stop.is_cancelled();
    report
}

fn merge(total: &mut ServiceReport, part: ServiceReport) {
    total.streams_listed += part.streams_listed;
    total.streams_read += part.streams_read;
    total.streams_idle += part.streams_idle;
    total.streams_removed += part.streams_removed;
    total.checkpoints_purged += part.checkpoints_purged;
    total.group_failures.extend(part.group_failures);
    total.stream_failures.extend(part.stream_failures);
    total.remove_failures.extend(part.remove_failures);
    if total.checkpoint_error.is_none() {
        total.checkpoint_error = part.checkpoint_error;
    }
    total.stopped |= part.stopped;
}

/// Groups listed at once, at the least: a listing holds no page, only the
/// group's stream names and times, and each region's quota paces the calls;
/// bounding it by the streams' permits made a many-region run list its groups
/// in rounds (33 regions, 16 permits: three rounds of AWS's latency).
const LISTINGS_AT_ONCE: usize = 64;

/// What every task of a service's run shares.
#[derive(Clone)]
struct Shared {
    run: Arc<ServiceRun>,
    owner: OwnerHandle,
    stop: CancellationToken,
    /// Streams read at once.
    stream_permits: Arc<Semaphore>,
    /// Bytes of pages in flight (being fetched, queued for the owner, being
    /// delivered): what bounds memory, whatever the number of streams and
    /// however long the backlog.
    page_budget: Arc<Semaphore>,
    /// Groups listed at once (separate from the streams' permits, which
    /// listed groups' readers hold).
    listing_permits: Arc<Semaphore>,
}

async fn collect_group(shared: Shared, region: RegionClient, group: String) -> ServiceReport {
    let Shared {
        run, owner, stop, ..
    } = &shared;
    let mut report = ServiceReport::default();
    if stop.is_cancelled() {
        report.stopped = true;
        return report;
    }
    let lower_bound = match owner
        .lower_bound(&run.account_id, &region.region, &group, run.only_logs_after)
        .await
    {
        Ok(Ok(bound)) => bound,
        Ok(Err(error)) => {
            report.checkpoint_error = Some(error);
            return report;
        }
        Err(OwnerGone) => return report,
    };
    let (lower_bound, group_read) = lower_bound;

    tracing::debug!("Getting log streams for \"{group}\" log group");
    let quota = CallQuota {
        limits: &run.limits,
        account: &run.account_id,
        region: &region.region,
    };
    let listed = {
        let Ok(_listing) = shared.listing_permits.acquire().await else {
            return report;
        };
        wodle_discovery::list_log_streams_within(&region.client, &group, Some(quota)).await
    };
    let streams = match listed {
        Ok(streams) => streams,
        Err(error) => {
            report.group_failures.push(GroupFailure {
                region: region.region.clone(),
                error,
            });
            return report;
        }
    };
    report.streams_listed = streams.len() as u64;
    if streams.is_empty() {
        tracing::debug!("No log streams were found for log group \"{group}\"");
    }

    // The listing is complete: checkpoints of streams gone from AWS can go.
    let existing: HashSet<String> = streams.iter().map(|s| s.name.clone()).collect();
    match owner
        .purge(&run.account_id, &region.region, &group, existing)
        .await
    {
        Ok(Ok(purged)) => report.checkpoints_purged = purged as u64,
        Ok(Err(error)) => {
            report.checkpoint_error = Some(error);
            return report;
        }
        Err(OwnerGone) => return report,
    }

    let settings = PlanSettings {
        lower_bound,
        only_logs_after: run.only_logs_after,
        reparse: run.reparse,
        idle_stream_lag: run.idle_stream_lag,
        now: run.clock.now_millis(),
        group_read: if run.reparse { None } else { group_read },
    };
    let mut readers = JoinSet::new();
    for stream in streams {
        let key = StreamKey::new(&region.region, &group, &stream.name);
        let planned = owner
            .plan(
                &run.account_id,
                key,
                Listed {
                    last_ingestion_time: stream.last_ingestion_time,
                    creation_time: stream.creation_time,
                },
                settings,
            )
            .await;
        let (id, plan) = match planned {
            Ok(Ok((id, StreamDecision::Read(plan)))) => (id, plan),
            Ok(Ok((_, StreamDecision::Idle))) => {
                report.streams_idle += 1;
                tracing::debug!(
                    "+++ There are no new events in the \"{}\" stream of the \"{group}\" group",
                    stream.name
                );
                continue;
            }
            Ok(Err(error)) => {
                report.checkpoint_error = Some(error);
                break;
            }
            Err(OwnerGone) => break,
        };
        report.streams_read += 1;
        let Ok(permit) = Arc::clone(&shared.stream_permits).acquire_owned().await else {
            break;
        };
        readers.spawn(read_stream(
            shared.clone(),
            region.clone(),
            group.clone(),
            stream,
            id,
            plan,
            permit,
        ));
    }
    // The end of the earliest read, as long as every read said when it ended.
    let mut earliest_end: Option<i64> = None;
    let mut every_end_known = true;
    let mut note_end = |read_at: Option<i64>| match read_at {
        Some(at) => earliest_end = Some(earliest_end.map_or(at, |earliest| earliest.min(at))),
        None => every_end_known = false,
    };
    while let Some(done) = readers.join_next().await {
        match done {
            Ok(StreamOutcome::Done(read_at)) => note_end(read_at),
            Ok(StreamOutcome::Stopped) => report.stopped = true,
            Ok(StreamOutcome::Removed(read_at)) => {
                report.streams_removed += 1;
                note_end(read_at);
            }
            Ok(StreamOutcome::Failed(error)) => report.stream_failures.push(StreamFailure {
                region: region.region.clone(),
                error,
            }),
            Ok(StreamOutcome::RemoveFailed(failure)) => report.remove_failures.push(failure),
            Err(join_error) => tracing::error!("A stream reader failed: {join_error}"),
        }
    }
    // The group's first complete read (or the first from a lower bound moved
    // earlier) is marked: its streams found empty need no reading until AWS
    // shows something ingested after it.
    let complete =
        !report.stopped && report.stream_failures.is_empty() && report.checkpoint_error.is_none();
    // A bound in the future found nothing and proves nothing: no mark.
    if complete
        && every_end_known
        && lower_bound <= settings.now
        && group_read.is_none_or(|read| read.lower_bound > lower_bound)
        && let Some(read_at) = earliest_end
    {
        let read = GroupRead {
            read_at,
            lower_bound,
        };
        let _ = owner
            .group_read(&run.account_id, &region.region, &group, read)
            .await;
    }
    report
}

enum StreamOutcome {
    /// Read to the end; AWS's clock then, if known.
    Done(Option<i64>),
    Removed(Option<i64>),
    Stopped,
    Failed(PullError),
    RemoveFailed(RemoveFailure),
}

async fn read_stream(
    shared: Shared,
    region: RegionClient,
    group: String,
    stream: LogStreamInfo,
    id: StreamId,
    plan: StreamPlan,
    _permit: tokio::sync::OwnedSemaphorePermit,
) -> StreamOutcome {
    let Shared {
        run,
        owner,
        stop,
        page_budget,
        ..
    } = &shared;
    let quota = ReaderQuota {
        limits: run.limits.clone(),
        account: run.account_id.clone(),
        region: region.region.clone(),
    };
    let mut read_at = None;
    for segment in plan.segments {
        let read = read_segment(
            &region.client,
            (&group, &stream.name),
            id,
            segment,
            (owner, &quota, page_budget),
            stop,
        );
        match read.await {
            Ok(SegmentEnd::Done(server_time)) => read_at = server_time,
            Ok(SegmentEnd::Stopped) | Err(SegmentError::OwnerGone) => {
                return StreamOutcome::Stopped;
            }
            Err(SegmentError::Pull(error)) => return StreamOutcome::Failed(error),
        }
    }
    if !run.remove_log_streams {
        return StreamOutcome::Done(read_at);
    }
    // Delete only what is delivered and checkpointed.
    if owner.flush().await.is_err() {
        return StreamOutcome::Stopped;
    }
    tracing::debug!(
        "Removing log stream \"{}\" from log group \"{group}\"",
        stream.name
    );
    run.limits
        .acquire(&run.account_id, &region.region, Api::DeleteLogStream)
        .await;
    let deleted = region
        .client
        .delete_log_stream()
        .log_group_name(&group)
        .log_stream_name(&stream.name)
        .send()
        .await;
    match deleted {
        Ok(_) => {
            let _ = owner
                .forget(
                    &run.account_id,
                    StreamKey::new(&region.region, &group, &stream.name),
                )
                .await;
            StreamOutcome::Removed(read_at)
        }
        Err(error) => {
            let (code, message) = wodle_credentials::failure_code_and_message(&error);
            StreamOutcome::RemoveFailed(RemoveFailure {
                region: region.region.clone(),
                group,
                stream: stream.name,
                code,
                message,
            })
        }
    }
}

enum SegmentEnd {
    /// AWS's clock at the end, if known.
    Done(Option<i64>),
    Stopped,
}

enum SegmentError {
    OwnerGone,
    Pull(PullError),
}

impl From<OwnerGone> for SegmentError {
    fn from(_: OwnerGone) -> Self {
        SegmentError::OwnerGone
    }
}

/// Reads one segment of a stream to its current end, handing every page to
/// the owner.
async fn read_segment(
    client: &Client,
    (group, stream): (&str, &str),
    id: StreamId,
    segment: crate::plan::SegmentPlan,
    (owner, quota, budget): (&OwnerHandle, &ReaderQuota, &Arc<Semaphore>),
    stop: &CancellationToken,
) -> Result<SegmentEnd, SegmentError> {
    let reader_for = |request| {
        StreamReader::new(client.clone(), group, stream, request).within(Some(quota.clone()))
    };
    let kind = segment.cursor.segment;
    // What has been handed to the owner so far, to resume by time if the
    // token is rejected: the same bookkeeping the owner keeps.
    let mut handed = segment.cursor.clone();
    let mut skip = segment.skip;
    let mut reader = reader_for(segment.request);
    let mut fell_back = false;
    let places = Arc::new(Semaphore::new(PAGES_PER_READER as usize));
    tracing::debug!(
        "Getting CloudWatch logs from log stream \"{stream}\" in log group \"{group}\" using \
         token \"{}\", start_time \"{}\" and end_time \"{}\"",
        reader.position().forward_token.as_deref().unwrap_or("None"),
        reader.position().start_time.unwrap_or_default(),
        reader
            .position()
            .end_time
            .map_or_else(|| "None".to_owned(), |end| end.to_string()),
    );
    loop {
        if stop.is_cancelled() {
            return Ok(SegmentEnd::Stopped);
        }
        // A stop abandons the request in flight: its page was not handed
        // over, so the cursor still points at it and the next run fetches it.
        // The largest page AWS can send is reserved before asking for it;
        // what the page does not use is given back once it is here.
        let fetch = async {
            // Its own place first: a reader waiting for its previous page to
            // be delivered holds none of the budget meanwhile.
            let (Ok(place), Ok(mut budget)) = (
                Arc::clone(&places).acquire_owned().await,
                Arc::clone(budget).acquire_many_owned(FETCH_RESERVE).await,
            ) else {
                return (None, Err(SegmentError::OwnerGone));
            };
            let next = reader.next_page().await;
            if let Ok(Some(page)) = &next {
                let cost = page_cost(page).clamp(1, budget.num_permits());
                drop(budget.split(budget.num_permits() - cost));
            }
            let held = PageHold {
                _budget: budget,
                _place: place,
            };
            (Some(held), Ok(next))
        };
        let (held, next) = tokio::select! {
            biased;
            () = stop.cancelled() => return Ok(SegmentEnd::Stopped),
            fetched = fetch => fetched,
        };
        let page = match next? {
            Ok(Some(page)) => page,
            Ok(None) => {
                owner
                    .send(Request::SegmentDone {
                        stream: id,
                        segment: kind,
                        server_time: reader.server_time(),
                    })
                    .await?;
                return Ok(SegmentEnd::Done(reader.server_time()));
            }
            Err(PullError::Api { code, message, .. })
                if is_rejected_token(&code, &message)
                    && reader.position().forward_token.is_some()
                    && !fell_back =>
            {
                tracing::warn!(
                    "AWS rejected the forward token of stream \"{stream}\" in log group \"{group}\" \
                     ({code}: {message}); resuming from the last event's timestamp."
                );
                fell_back = true;
                reader = reader_for(restart_by_time(&mut handed, &mut skip));
                continue;
            }
            Err(error) => return Err(SegmentError::Pull(error)),
        };
        let first = match apply_skip(&page.events, skip) {
            Skipped::Prefix { first, rest } => {
                skip = rest;
                first
            }
            Skipped::Mismatch => {
                // The page fetched again is not the one delivered from: read
                // by time from the last event handled instead.
                tracing::debug!(
                    "The page being delivered from stream \"{stream}\" changed; resuming by time."
                );
                reader = reader_for(restart_by_time(&mut handed, &mut skip));
                continue;
            }
        };
        for event in page.events.iter().skip(first) {
            note_handled(&mut handed, event.timestamp);
        }
        if skip == Skip::Nothing || first < page.events.len() {
            owner
                .send(Request::Page {
                    stream: id,
                    segment: kind,
                    page,
                    first,
                    held,
                })
                .await?;
        }
    }
}

/// Turns what was handed over so far into a read by time from its last
/// event ([`by_time`]), returning that read's first request.
fn restart_by_time(handed: &mut StreamCursor, skip: &mut Skip) -> StreamPosition {
    let restart = by_time(handed);
    *skip = restart.skip;
    *handed = restart.cursor;
    restart.request
}

/// GetLogEvents' answer to an expired or unknown token.
fn is_rejected_token(code: &str, message: &str) -> bool {
    code == "InvalidParameterException" && message.to_ascii_lowercase().contains("token")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_token_complaints_trigger_the_fallback() {
        assert!(is_rejected_token(
            "InvalidParameterException",
            "The specified nextToken is invalid."
        ));
        assert!(!is_rejected_token(
            "InvalidParameterException",
            "1 validation error detected"
        ));
        assert!(!is_rejected_token("ThrottlingException", "token bucket"));
    }
}
