//! The one owner of delivery and of every stream's position.
//!
//! Readers fetch pages concurrently; this thread alone sends their events to
//! analysisd, keeps each stream's cursor and the reference's row in memory,
//! and commits all of them in one transaction every `commit_every` delivered
//! events. Because the same thread sends and commits, nothing is sent past
//! the bound until the commit has returned: a SIGKILL re-sends at most
//! `commit_every` events in total, whatever the concurrency. Pages of one
//! stream arrive in the order its reader fetched them (one channel, FIFO), so
//! its events reach the socket in order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::{OwnedSemaphorePermit, mpsc, oneshot};
use wodle_analysisd::{
    AnalysisdError, AnalysisdSocket, BatchError, Interrupt, SendOutcome, SocketOptions,
};
use wodle_checkpoint::{
    CheckpointError, CheckpointStore, GroupRead, Segment, StreamCheckpoint, StreamCursor, StreamKey,
};

use crate::clock::Clock;
use crate::plan::{
    Listed, PlanSettings, StoredStream, StreamDecision, note_handled, plan_stream, start_of_utc_day,
};
use crate::reader::Page;

/// Decides whether an event is skipped (`discard_regex`): true discards.
pub type DiscardRule = Box<dyn Fn(&str) -> bool + Send>;

/// Where events go: analysisd's queue socket, connected at the first event
/// (as the reference, a run with nothing to send never touches it) and then
/// kept for the whole process.
#[derive(Debug)]
pub struct EventSink {
    path: PathBuf,
    options: SocketOptions,
    socket: Option<AnalysisdSocket>,
    /// Raised on a stop request: ends any wait for analysisd.
    interrupt: Option<Interrupt>,
}

impl EventSink {
    pub fn new(path: impl Into<PathBuf>, options: SocketOptions) -> EventSink {
        EventSink {
            path: path.into(),
            options,
            socket: None,
            interrupt: None,
        }
    }

    /// Every wait for analysisd (connecting, a full queue, reconnecting)
    /// ends soon after `interrupt` is raised.
    pub fn with_interrupt(mut self, interrupt: Interrupt) -> EventSink {
        self.interrupt = Some(interrupt);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a datagram was ever sent (the socket is connected).
    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends `messages` in order, as [`AnalysisdSocket::send_batch`] does;
    /// connects first if need be. Nothing to send touches nothing.
    fn send_batch(&mut self, messages: &[&[u8]]) -> Result<Vec<SendOutcome>, BatchError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let socket = match &mut self.socket {
            Some(socket) => socket,
            empty => {
                let socket = match &self.interrupt {
                    Some(interrupt) => AnalysisdSocket::connect_interruptible(
                        &self.path,
                        self.options,
                        interrupt.clone(),
                    ),
                    None => AnalysisdSocket::connect_with(&self.path, self.options),
                };
                let socket = socket.map_err(|error| BatchError {
                    delivered: Vec::new(),
                    error,
                })?;
                if let Some(lowered) = socket.limit_lowered() {
                    tracing::warn!("{lowered}");
                }
                empty.insert(socket)
            }
        };
        socket.send_batch(messages)
    }
}

/// Observes the owner at the points where a crash decides what is sent
/// again: after a datagram is accepted, inside a commit, after a commit.
///
/// The owner calls it on its own thread, synchronously: whatever the probe
/// does happens exactly there, before the owner goes on (tests raise SIGKILL
/// from it to crash at a chosen point). Counts start at 1 for each owner.
pub trait DeliveryProbe: std::fmt::Debug + Send + Sync {
    /// The kernel accepted the datagram of the `total`-th event this owner
    /// delivered; its cursor is not yet advanced past it.
    fn delivered(&self, _total: u64) {}
    /// The rows of commit number `commit` are written inside the open
    /// transaction, which is not committed yet.
    fn commit_written(&self, _commit: u64) {}
    /// Commit number `commit` is durable.
    fn committed(&self, _commit: u64) {}
}

/// How the owner delivers and commits.
pub struct OwnerSettings {
    /// Commit after this many delivered events (1,000 by default).
    pub commit_every: u64,
    pub discard: Option<DiscardRule>,
    pub clock: Arc<dyn Clock>,
    /// Told of each delivery and commit; `None` in production.
    pub probe: Option<Arc<dyn DeliveryProbe>>,
}

impl std::fmt::Debug for OwnerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerSettings")
            .field("commit_every", &self.commit_every)
            .field("discard", &self.discard.is_some())
            .field("probe", &self.probe)
            .finish()
    }
}

/// Datagrams handed to the kernel in one system call (sendmmsg): enough to
/// make the call's cost vanish per event, small enough that a batch's framed
/// bytes (at most 256 × 64 KiB, typically 256 × 200 B) stay modest.
const MAX_BATCH: usize = 256;

/// What the owner does with one event of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Handling {
    /// At or past a backfill's upper edge: already delivered by the forward read.
    OutsideWindow,
    Discarded,
    Send,
}

/// The commit interval when none is configured.
pub const DEFAULT_COMMIT_EVERY: u64 = 1_000;

/// Counts of one run, for the summary line and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryCounts {
    pub delivered: u64,
    pub discarded: u64,
    /// Events delivered truncated to the datagram limit.
    pub truncated: u64,
    /// Events of a backfill at or past its upper edge (moto's inclusive
    /// `endTime`), already delivered by the forward read.
    pub outside_window: u64,
    pub commits: u64,
}

/// Why the owner stopped before the readers were done.
#[derive(Debug, thiserror::Error)]
pub enum OwnerError {
    #[error(transparent)]
    Delivery(#[from] AnalysisdError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// What the owner hands back when it stops: the store and sink (to be
/// reused by the next service), the counts, and the error that stopped it.
#[derive(Debug)]
pub struct OwnerOutcome {
    pub store: CheckpointStore,
    pub sink: EventSink,
    pub counts: DeliveryCounts,
    pub error: Option<OwnerError>,
}

/// Identifies a stream registered with the owner for this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StreamId(usize);

/// What a page in flight holds until the owner has delivered it: its share
/// of the service's memory budget, and its reader's place for a page.
#[derive(Debug)]
pub(crate) struct PageHold {
    pub(crate) _budget: OwnedSemaphorePermit,
    pub(crate) _place: OwnedSemaphorePermit,
}

pub(crate) enum Request {
    LowerBound {
        account: String,
        region: String,
        group: String,
        only_logs_after: Option<i64>,
        reply: oneshot::Sender<Result<(i64, Option<GroupRead>), CheckpointError>>,
    },
    Plan {
        account: String,
        key: StreamKey,
        listed: Listed,
        settings: PlanSettings,
        reply: oneshot::Sender<Result<(StreamId, StreamDecision), CheckpointError>>,
    },
    Page {
        stream: StreamId,
        segment: Segment,
        page: Page,
        /// Events before this index were handled by an earlier run.
        first: usize,
        /// Given back once the page is delivered.
        held: Option<PageHold>,
    },
    SegmentDone {
        stream: StreamId,
        segment: Segment,
        server_time: Option<i64>,
    },
    /// Every stream of a group was read to its end: recorded with the next
    /// commit, together with those streams' cursors.
    GroupRead {
        account: String,
        region: String,
        group: String,
        read: GroupRead,
    },
    /// Commits now and answers: the stream's events are all delivered and
    /// checkpointed (before `remove_log_streams` deletes it).
    Flush { reply: oneshot::Sender<()> },
    Forget {
        account: String,
        key: StreamKey,
        reply: oneshot::Sender<()>,
    },
    Purge {
        account: String,
        region: String,
        group: String,
        existing: HashSet<String>,
        reply: oneshot::Sender<Result<usize, CheckpointError>>,
    },
}

/// The readers' side of the owner.
#[derive(Clone, Debug)]
pub struct OwnerHandle {
    sender: mpsc::Sender<Request>,
}

/// The owner has stopped (delivery or the database failed): stop reading.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("delivery has stopped")]
pub struct OwnerGone;

impl OwnerHandle {
    pub(crate) async fn send(&self, request: Request) -> Result<(), OwnerGone> {
        self.sender.send(request).await.map_err(|_| OwnerGone)
    }

    /// The lower bound of a group for `account`: `only_logs_after` when
    /// given, else the one stored when the group was first read, else today
    /// 00:00 UTC (then stored, unless it is in the future); and the group's
    /// last complete read.
    pub async fn lower_bound(
        &self,
        account: &str,
        region: &str,
        group: &str,
        only_logs_after: Option<i64>,
    ) -> Result<Result<(i64, Option<GroupRead>), CheckpointError>, OwnerGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::LowerBound {
            account: account.to_owned(),
            region: region.to_owned(),
            group: group.to_owned(),
            only_logs_after,
            reply,
        })
        .await?;
        answer.await.map_err(|_| OwnerGone)
    }

    pub async fn plan(
        &self,
        account: &str,
        key: StreamKey,
        listed: Listed,
        settings: PlanSettings,
    ) -> Result<Result<(StreamId, StreamDecision), CheckpointError>, OwnerGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Plan {
            account: account.to_owned(),
            key,
            listed,
            settings,
            reply,
        })
        .await?;
        answer.await.map_err(|_| OwnerGone)
    }

    /// Records that every stream of the group was read to its end.
    pub async fn group_read(
        &self,
        account: &str,
        region: &str,
        group: &str,
        read: GroupRead,
    ) -> Result<(), OwnerGone> {
        self.send(Request::GroupRead {
            account: account.to_owned(),
            region: region.to_owned(),
            group: group.to_owned(),
            read,
        })
        .await
    }

    pub async fn flush(&self) -> Result<(), OwnerGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Flush { reply }).await?;
        answer.await.map_err(|_| OwnerGone)
    }

    pub async fn forget(&self, account: &str, key: StreamKey) -> Result<(), OwnerGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Forget {
            account: account.to_owned(),
            key,
            reply,
        })
        .await?;
        answer.await.map_err(|_| OwnerGone)
    }

    pub async fn purge(
        &self,
        account: &str,
        region: &str,
        group: &str,
        existing: HashSet<String>,
    ) -> Result<Result<usize, CheckpointError>, OwnerGone> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Purge {
            account: account.to_owned(),
            region: region.to_owned(),
            group: group.to_owned(),
            existing,
            reply,
        })
        .await?;
        answer.await.map_err(|_| OwnerGone)
    }
}

/// Starts the owner thread. It runs until every [`OwnerHandle`] is dropped
/// (or delivery fails), commits what was delivered, and returns.
pub fn spawn_owner(
    store: CheckpointStore,
    sink: EventSink,
    settings: OwnerSettings,
    queue_capacity: usize,
) -> (OwnerHandle, JoinHandle<OwnerOutcome>) {
    let (sender, receiver) = mpsc::channel(queue_capacity.max(1));
    let owner = Owner {
        store,
        sink,
        settings,
        streams: Vec::new(),
        group_reads: Vec::new(),
        uncommitted: 0,
        dirty: false,
        counts: DeliveryCounts::default(),
    };
    let thread = std::thread::Builder::new()
        .name("wodle-delivery".to_owned())
        .spawn(move || owner.run(receiver));
    let thread = match thread {
        Ok(thread) => thread,
        // Without a thread there is no delivery at all: the system is out of
        // resources and nothing sensible can continue.
        Err(error) => panic!("cannot start the delivery thread: {error}"),
    };
    (OwnerHandle { sender }, thread)
}

struct StreamEntry {
    account: String,
    key: StreamKey,
    reference: Option<StreamCheckpoint>,
    forward: Option<StreamCursor>,
    backfill: Option<StreamCursor>,
    /// The backfill finished: delete its cursor at the next commit.
    backfill_done: bool,
    /// Something worth writing changed since the last commit.
    dirty: bool,
}

struct Owner {
    store: CheckpointStore,
    sink: EventSink,
    settings: OwnerSettings,
    streams: Vec<StreamEntry>,
    /// Complete group reads to record with the next commit.
    group_reads: Vec<(String, String, String, GroupRead)>,
    uncommitted: u64,
    dirty: bool,
    counts: DeliveryCounts,
}

impl Owner {
    fn run(mut self, mut receiver: mpsc::Receiver<Request>) -> OwnerOutcome {
        let mut error = None;
        while let Some(request) = receiver.blocking_recv() {
            if let Err(stop) = self.handle(request) {
                error = Some(stop);
                break;
            }
        }
        // Readers see the channel closed and stop; what was delivered is
        // committed either way.
        drop(receiver);
        if let Err(commit_error) = self.commit()
            && error.is_none()
        {
            error = Some(commit_error.into());
        }
        OwnerOutcome {
            store: self.store,
            sink: self.sink,
            counts: self.counts,
            error,
        }
    }

    fn handle(&mut self, request: Request) -> Result<(), OwnerError> {
        match request {
            Request::LowerBound {
                account,
                region,
                group,
                only_logs_after,
                reply,
            } => {
                let answer = self.lower_bound(&account, &region, &group, only_logs_after);
                let _ = reply.send(answer);
            }
            Request::Plan {
                account,
                key,
                listed,
                settings,
                reply,
            } => {
                let answer = self.plan(account, key, listed, &settings);
                let _ = reply.send(answer);
            }
            Request::GroupRead {
                account,
                region,
                group,
                read,
            } => {
                self.group_reads.push((account, region, group, read));
                self.dirty = true;
            }
            Request::Page {
                stream,
                segment,
                page,
                first,
                held,
            } => {
                self.deliver(stream, segment, page, first)?;
                drop(held);
            }
            Request::SegmentDone {
                stream,
                segment,
                server_time,
            } => self.segment_done(stream, segment, server_time),
            Request::Flush { reply } => {
                self.commit()?;
                let _ = reply.send(());
            }
            Request::Forget {
                account,
                key,
                reply,
            } => {
                self.commit()?;
                self.store.forget(&account, &key)?;
                let _ = reply.send(());
            }
            Request::Purge {
                account,
                region,
                group,
                existing,
                reply,
            } => {
                let answer = self
                    .store
                    .purge_missing(&account, &region, &group, &existing);
                let _ = reply.send(answer);
            }
        }
        Ok(())
    }

    fn lower_bound(
        &mut self,
        account: &str,
        region: &str,
        group: &str,
        only_logs_after: Option<i64>,
    ) -> Result<(i64, Option<GroupRead>), CheckpointError> {
        let now = self.settings.clock.now_millis();
        let stored = self.store.get_lower_bound(account, region, group)?;
        let bound = only_logs_after
            .or(stored)
            .unwrap_or_else(|| start_of_utc_day(now));
        // A bound in the future would make every later run start there.
        if stored.is_none() && bound <= now {
            self.store.put_lower_bound(account, region, group, bound)?;
        }
        Ok((bound, self.store.get_group_read(account, region, group)?))
    }

    fn plan(
        &mut self,
        account: String,
        key: StreamKey,
        listed: Listed,
        settings: &PlanSettings,
    ) -> Result<(StreamId, StreamDecision), CheckpointError> {
        tracing::debug!(
            "Getting data from DB for log stream \"{}\" in log group \"{}\"",
            key.log_stream,
            key.log_group
        );
        let mut reference = self.store.get(&key)?;
        if let Some(row) = &reference {
            tracing::trace!(
                "Token: \"{}\", start_time: \"{}\", end_time: \"{}\"",
                row.next_token.as_deref().unwrap_or("None"),
                row.start_time.map_or("None".to_owned(), |t| t.to_string()),
                row.end_time.map_or("None".to_owned(), |t| t.to_string())
            );
        }
        let forward = self.store.get_cursor(&account, &key, Segment::Forward)?;
        let backfill = self.store.get_cursor(&account, &key, Segment::Backfill)?;
        // A row we wrote for another account says nothing about this one:
        // this account goes on from its own cursor, or from the lower bound.
        if let Some(row) = &reference
            && !forward.as_ref().is_some_and(|cursor| cursor.describes(row))
            && let Some(token) = &row.next_token
            && self
                .store
                .written_for_another_account(&account, &key, token)?
        {
            reference = None;
        }
        let decision = plan_stream(
            StoredStream {
                reference: reference.as_ref(),
                forward: forward.as_ref(),
                backfill: backfill.as_ref(),
            },
            listed,
            settings,
        );
        let id = StreamId(self.streams.len());
        let mut entry = StreamEntry {
            account,
            key,
            reference,
            forward: None,
            backfill: None,
            backfill_done: false,
            dirty: false,
        };
        if let StreamDecision::Read(plan) = &decision {
            for segment in &plan.segments {
                match segment.cursor.segment {
                    Segment::Forward => entry.forward = Some(segment.cursor.clone()),
                    Segment::Backfill => entry.backfill = Some(segment.cursor.clone()),
                }
            }
        }
        self.streams.push(entry);
        Ok((id, decision))
    }

    fn deliver(
        &mut self,
        id: StreamId,
        segment: Segment,
        page: Page,
        first: usize,
    ) -> Result<(), OwnerError> {
        let now = self.settings.clock.now_millis();
        // Disjoint borrows: the loop below commits (all streams) between
        // events of this one.
        let Owner {
            store,
            sink,
            settings,
            streams,
            group_reads,
            uncommitted,
            dirty,
            counts,
        } = self;
        let Some(entry) = streams.get_mut(id.0) else {
            return Ok(());
        };
        let cursor = cursor_of(entry, segment).get_or_insert_with(|| {
            StreamCursor::new(
                segment,
                page.requested.start_time.unwrap_or(0),
                page.requested.end_time,
            )
        });
        // The page's own request becomes the cursor's: a restart fetches
        // this very page again and skips what is consumed below.
        if cursor.page_token != page.requested.forward_token {
            cursor.token_saved_at = Some(now);
            cursor.page_token = page.requested.forward_token.clone();
        }
        cursor.window_start = page.requested.start_time.unwrap_or(cursor.window_start);
        cursor.window_end = page.requested.end_time;
        cursor.page_consumed = first as u64;

        let max_batch = if settings.probe.is_some() {
            // A probe observes each datagram as the kernel takes it (the
            // crash tests kill right there), so it gets them one a call.
            1
        } else {
            MAX_BATCH
        };
        let events = page.events.get(first..).unwrap_or_default();
        let mut sent_in_page = 0u64;
        let mut handling: Vec<Handling> = Vec::with_capacity(max_batch.min(events.len()));
        let mut messages: Vec<&[u8]> = Vec::with_capacity(max_batch.min(events.len()));
        let mut next = 0;
        while next < events.len() {
            let Some(entry) = streams.get_mut(id.0) else {
                return Ok(());
            };
            let window_end = cursor_of(entry, segment)
                .as_ref()
                .and_then(|c| c.window_end);
            // A batch never crosses a commit: the bound on re-sent events
            // holds whatever the kernel took of it when a crash comes.
            let room = usize::try_from(settings.commit_every.saturating_sub(*uncommitted))
                .unwrap_or(usize::MAX)
                .clamp(1, max_batch);
            handling.clear();
            messages.clear();
            let mut end = next;
            while end < events.len() && messages.len() < room {
                let event = &events[end];
                handling.push(if window_end.is_some_and(|end| event.timestamp >= end) {
                    Handling::OutsideWindow
                } else if settings
                    .discard
                    .as_ref()
                    .is_some_and(|discard| discard(&event.message))
                {
                    Handling::Discarded
                } else {
                    messages.push(event.message.as_bytes());
                    Handling::Send
                });
                end += 1;
            }
            let (outcomes, failure) = match sink.send_batch(&messages) {
                Ok(outcomes) => (outcomes, None),
                Err(BatchError { delivered, error }) => (delivered, Some(error)),
            };
            let mut outcomes = outcomes.into_iter();
            for (event, handled) in events[next..end].iter().zip(&handling) {
                match handled {
                    Handling::OutsideWindow => counts.outside_window += 1,
                    Handling::Discarded => {
                        counts.discarded += 1;
                        tracing::trace!(
                            "Discarding the event of {} in \"{}\"/\"{}\": it matches discard_regex",
                            event.timestamp,
                            entry.key.log_group,
                            entry.key.log_stream
                        );
                    }
                    Handling::Send => {
                        // Past the last datagram the kernel took: neither
                        // this event nor any after it is handled.
                        let Some(outcome) = outcomes.next() else {
                            break;
                        };
                        if let SendOutcome::Truncated {
                            original_len,
                            kept_len,
                            ..
                        } = outcome
                        {
                            counts.truncated += 1;
                            tracing::warn!(
                                "Event of {original_len} bytes in log group \"{}\", stream \
                                 \"{}\", timestamp {} was truncated to {kept_len} bytes to fit \
                                 analysisd's message limit.",
                                entry.key.log_group,
                                entry.key.log_stream,
                                event.timestamp
                            );
                        }
                        counts.delivered += 1;
                        sent_in_page += 1;
                        *uncommitted += 1;
                        if let Some(probe) = &settings.probe {
                            probe.delivered(counts.delivered);
                        }
                    }
                }
                // Recorded only now that the kernel has the datagram.
                record_handled(
                    entry,
                    segment,
                    event.timestamp,
                    event.ingestion_time,
                    handled == &Handling::OutsideWindow,
                );
                *dirty = true;
            }
            if let Some(error) = failure {
                return Err(error.into());
            }
            if *uncommitted >= settings.commit_every {
                // Commit before the next send: the bound on re-sent events.
                commit_streams(
                    store,
                    streams,
                    group_reads,
                    counts,
                    settings.probe.as_deref(),
                )?;
                *uncommitted = 0;
                *dirty = false;
            }
            next = end;
        }

        // The whole page is handled: the next request is the next token.
        let Some(entry) = streams.get_mut(id.0) else {
            return Ok(());
        };
        let has_row = entry.reference.is_some();
        if let Some(cursor) = cursor_of(entry, segment).as_mut() {
            if cursor.page_token.as_deref() != Some(page.next_forward_token.as_str()) {
                cursor.page_token = Some(page.next_forward_token.clone());
                cursor.token_saved_at = Some(now);
            }
            cursor.page_consumed = 0;
        }
        if segment == Segment::Forward
            && let Some(row) = entry.reference.as_mut()
        {
            row.next_token = Some(page.next_forward_token.clone());
        }
        if has_row {
            entry.dirty = true;
            *dirty = true;
        }
        if sent_in_page > 0 {
            tracing::debug!("+++ Sent {sent_in_page} events to Analysisd");
        }
        Ok(())
    }

    fn segment_done(&mut self, id: StreamId, segment: Segment, server_time: Option<i64>) {
        let Some(entry) = self.streams.get_mut(id.0) else {
            return;
        };
        match segment {
            Segment::Backfill => {
                if let (Some(backfill), Some(row)) = (&entry.backfill, entry.reference.as_mut()) {
                    // Everything from the backfill's start on is covered now.
                    row.start_time = Some(row.start_time.map_or(backfill.window_start, |start| {
                        start.min(backfill.window_start)
                    }));
                    entry.backfill_done = true;
                    entry.dirty = true;
                    self.dirty = true;
                }
            }
            Segment::Forward => {
                // Only a stream with something recorded gets a read time: a
                // run that finds nothing in a new stream writes nothing.
                if entry.reference.is_some()
                    && let Some(forward) = entry.forward.as_mut()
                {
                    forward.read_at = server_time.or(forward.max_ingestion_time);
                    entry.dirty = true;
                    self.dirty = true;
                }
            }
        }
    }

    fn commit(&mut self) -> Result<(), CheckpointError> {
        if !self.dirty {
            return Ok(());
        }
        commit_streams(
            &mut self.store,
            &mut self.streams,
            &mut self.group_reads,
            &mut self.counts,
            self.settings.probe.as_deref(),
        )?;
        self.uncommitted = 0;
        self.dirty = false;
        Ok(())
    }
}

/// The cursor of one read of a stream.
fn cursor_of(entry: &mut StreamEntry, segment: Segment) -> &mut Option<StreamCursor> {
    match segment {
        Segment::Forward => &mut entry.forward,
        Segment::Backfill => &mut entry.backfill,
    }
}

/// Advances a read past one event, delivered or not.
fn record_handled(
    entry: &mut StreamEntry,
    segment: Segment,
    timestamp: i64,
    ingestion_time: i64,
    outside_window: bool,
) {
    let Some(cursor) = cursor_of(entry, segment).as_mut() else {
        return;
    };
    cursor.page_consumed += 1;
    note_handled(cursor, timestamp);
    cursor.max_ingestion_time = cursor.max_ingestion_time.max(Some(ingestion_time));
    let window_start = cursor.window_start;
    if !outside_window {
        // The reference's row: the oldest and newest timestamps covered.
        let row = entry.reference.get_or_insert(StreamCheckpoint {
            next_token: None,
            start_time: Some(window_start),
            end_time: None,
        });
        row.start_time = Some(
            row.start_time
                .map_or(timestamp, |start| start.min(timestamp)),
        );
        row.end_time = row.end_time.max(Some(timestamp));
    }
    entry.dirty = true;
}

fn commit_streams(
    store: &mut CheckpointStore,
    streams: &mut [StreamEntry],
    group_reads: &mut Vec<(String, String, String, GroupRead)>,
    counts: &mut DeliveryCounts,
    probe: Option<&dyn DeliveryProbe>,
) -> Result<(), CheckpointError> {
    let commit = counts.commits + 1;
    let batch = store.transaction()?;
    // In the same transaction as the cursors of the streams that group read
    // delivered from: a crash never leaves the mark without them.
    for (account, region, group, read) in group_reads.iter() {
        batch.put_group_read(account, region, group, *read)?;
    }
    for entry in streams.iter_mut().filter(|entry| entry.dirty) {
        let Some(row) = &entry.reference else {
            continue;
        };
        batch.put(&entry.key, row)?;
        if let Some(forward) = entry.forward.as_mut() {
            forward.reference_token = row.next_token.clone();
            batch.put_cursor(&entry.account, &entry.key, forward)?;
        }
        if entry.backfill_done {
            batch.delete_cursor(&entry.account, &entry.key, Segment::Backfill)?;
        } else if let Some(backfill) = &entry.backfill {
            batch.put_cursor(&entry.account, &entry.key, backfill)?;
        }
    }
    if let Some(probe) = probe {
        probe.commit_written(commit);
    }
    batch.commit()?;
    if let Some(probe) = probe {
        probe.committed(commit);
    }
    group_reads.clear();
    for entry in streams.iter_mut() {
        entry.dirty = false;
    }
    counts.commits = commit;
    Ok(())
}
