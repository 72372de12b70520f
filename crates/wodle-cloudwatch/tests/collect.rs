//! The pull engine end to end inside the library: moto, a real checkpoint file
//! and a real analysisd socket, driven through `spawn_owner` + `collect_service`.
//!
//! Every test asserts the exact datagrams a run delivers. A run's datagrams are
//! fenced by a sentinel the test sends after the owner thread has ended: the
//! receiving socket is one FIFO, so what precedes the sentinel is exactly what
//! the run delivered, with nothing still in flight.
//!
//! Times: our clock (`FixedClock`) only decides "today" and a token's age, so
//! the tests put it at yesterday 20:00 UTC and seed events earlier that day.
//! Those times are in the past whatever the hour the suite runs at, and within
//! the 14 days moto accepts.

use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tempfile::TempDir;
use tokio_util::sync::CancellationToken;
use wodle_analysisd::{HEADER, ReconnectBackoff, SocketOptions};
use wodle_checkpoint::{CheckpointStore, Segment, StreamCheckpoint, StreamCursor, StreamKey};
use wodle_cloudwatch::plan::start_of_utc_day;
use wodle_cloudwatch::{
    DEFAULT_IDLE_STREAM_LAG, DeliveryCounts, DiscardRule, EventSink, FixedClock, OwnerError,
    OwnerSettings, RateLimiters, RegionClient, ServiceReport, ServiceRun, collect_service,
    spawn_owner,
};
use wodle_testkit::{AnalysisdReceiver, MOTO_DEFAULT_ACCOUNT_ID, MotoServer, now_millis};

const REGION: &str = "us-east-1";
const GROUP: &str = "app";
const ACCOUNT: &str = MOTO_DEFAULT_ACCOUNT_ID;
const SECOND: i64 = 1_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// How long a test waits for something that must happen; never a bound on speed.
const PATIENCE: Duration = Duration::from_secs(20);

/// 00:00 UTC yesterday: the day our fixed clock lives in.
fn yesterday() -> i64 {
    start_of_utc_day(now_millis()) - DAY
}

/// Events `range`, the i-th at `start + i` seconds, named `{prefix} {i:03}`.
fn numbered(prefix: &str, start: i64, range: std::ops::Range<usize>) -> Vec<(i64, String)> {
    range
        .map(|i| (start + i as i64 * SECOND, format!("{prefix} {i:03}")))
        .collect()
}

fn messages(events: &[(i64, String)]) -> Vec<String> {
    events.iter().map(|(_, message)| message.clone()).collect()
}

fn key(stream: &str) -> StreamKey {
    StreamKey::new(REGION, GROUP, stream)
}

/// The settings of one run that tests vary.
#[derive(Debug, Clone)]
struct RunSettings {
    now: i64,
    only_logs_after: Option<i64>,
    idle_stream_lag: Duration,
    commit_every: u64,
    max_concurrent_streams: usize,
    socket: SocketOptions,
}

impl RunSettings {
    fn at(now: i64) -> RunSettings {
        RunSettings {
            now,
            only_logs_after: None,
            idle_stream_lag: DEFAULT_IDLE_STREAM_LAG,
            commit_every: 1_000,
            max_concurrent_streams: 16,
            socket: SocketOptions {
                connect_timeout: Duration::from_secs(5),
                ..SocketOptions::default()
            },
        }
    }
}

/// What a run reported, without the store and sink (closed when it returns).
#[derive(Debug)]
struct Finished {
    report: ServiceReport,
    counts: DeliveryCounts,
    error: Option<OwnerError>,
}

impl Finished {
    /// A run that went through without any failure.
    fn assert_clean(&self) {
        assert!(self.error.is_none(), "owner error: {:?}", self.error);
        let report = &self.report;
        assert!(
            report.group_failures.is_empty()
                && report.stream_failures.is_empty()
                && report.checkpoint_error.is_none()
                && !report.stopped,
            "the run was not clean: {report:?}"
        );
    }
}

/// moto with the group `app`, a checkpoint file and an analysisd receiver.
struct Bench {
    moto: MotoServer,
    _dir: TempDir,
    db: PathBuf,
    socket: PathBuf,
    receiver: Arc<Mutex<AnalysisdReceiver>>,
    /// Datagrams already returned by [`Bench::delivered`].
    seen: usize,
    sentinels: usize,
}

impl Bench {
    async fn new() -> Bench {
        let moto = MotoServer::start();
        moto.seeder(REGION).create_log_group(GROUP).await;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let db = dir.path().join("aws_services.db");
        let socket = dir.path().join("queue/sockets/queue");
        let receiver = Arc::new(Mutex::new(AnalysisdReceiver::bind(&socket)));
        Bench {
            moto,
            _dir: dir,
            db,
            socket,
            receiver,
            seen: 0,
            sentinels: 0,
        }
    }

    fn receiver(&self) -> MutexGuard<'_, AnalysisdReceiver> {
        self.receiver.lock().expect("the receiver's lock")
    }

    async fn stream(&self, stream: &str, events: &[(i64, String)]) {
        let seeder = self.moto.seeder(REGION);
        seeder.create_log_stream(GROUP, stream).await;
        if !events.is_empty() {
            seeder.put_events(GROUP, stream, events).await;
        }
    }

    async fn put(&self, stream: &str, events: &[(i64, String)]) {
        self.moto
            .seeder(REGION)
            .put_events(GROUP, stream, events)
            .await;
    }

    async fn run(&self, settings: &RunSettings) -> Finished {
        self.run_with_discard(settings, None).await
    }

    /// One run of the service over the group, as the binary wires it.
    async fn run_with_discard(
        &self,
        settings: &RunSettings,
        discard: Option<DiscardRule>,
    ) -> Finished {
        let store = CheckpointStore::open(&self.db).expect("open the checkpoint database");
        let sink = EventSink::new(&self.socket, settings.socket);
        let clock = Arc::new(FixedClock(settings.now));
        let (owner, thread) = spawn_owner(
            store,
            sink,
            OwnerSettings {
                commit_every: settings.commit_every,
                discard,
                clock: clock.clone(),
                probe: None,
            },
            32,
        );
        let run = ServiceRun {
            account_id: ACCOUNT.to_owned(),
            regions: vec![RegionClient {
                region: REGION.to_owned(),
                client: self.moto.logs_client(REGION),
            }],
            log_groups: vec![GROUP.to_owned()],
            only_logs_after: settings.only_logs_after,
            reparse: false,
            remove_log_streams: false,
            idle_stream_lag: settings.idle_stream_lag,
            max_concurrent_streams: settings.max_concurrent_streams,
            clock,
            limits: RateLimiters::default(),
        };
        let report = tokio::time::timeout(
            PATIENCE,
            collect_service(run, owner, CancellationToken::new()),
        )
        .await
        .expect("the run ends");
        let outcome =
            tokio::task::spawn_blocking(move || thread.join().expect("the owner thread ends"))
                .await
                .expect("join the owner thread");
        // The store closes here, releasing its lock for the next run.
        Finished {
            report,
            counts: outcome.counts,
            error: outcome.error,
        }
    }

    /// The messages delivered since the last call, exactly: a sentinel sent now
    /// arrives after every datagram the (finished) run sent.
    fn delivered(&mut self) -> Vec<String> {
        self.sentinels += 1;
        let sentinel = format!("sentinel {}", self.sentinels);
        UnixDatagram::unbound()
            .and_then(|sender| sender.send_to(sentinel.as_bytes(), &self.socket))
            .expect("send the sentinel datagram");
        let deadline = Instant::now() + PATIENCE;
        loop {
            let texts = self.receiver().texts();
            if let Some(at) = texts.iter().position(|text| *text == sentinel) {
                let run = strip_headers(&texts[self.seen..at]);
                self.seen = at + 1;
                return run;
            }
            assert!(
                Instant::now() < deadline,
                "the sentinel never arrived; got {texts:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn store(&self) -> CheckpointStore {
        CheckpointStore::open(&self.db).expect("open the checkpoint database")
    }

    fn row(&self, stream: &str) -> Option<StreamCheckpoint> {
        self.store().get(&key(stream)).expect("read the row")
    }

    fn cursor(&self, stream: &str, segment: Segment) -> Option<StreamCursor> {
        self.store()
            .get_cursor(ACCOUNT, &key(stream), segment)
            .expect("read the cursor")
    }

    fn lower_bound(&self) -> Option<i64> {
        self.store()
            .get_lower_bound(ACCOUNT, REGION, GROUP)
            .expect("read the lower bound")
    }

    /// Writes a stream's row and forward cursor as one commit would.
    fn rewrite(&self, stream: &str, row: &StreamCheckpoint, cursor: &StreamCursor) {
        let mut store = self.store();
        let batch = store.transaction().expect("start a transaction");
        batch.put(&key(stream), row).expect("write the row");
        batch
            .put_cursor(ACCOUNT, &key(stream), cursor)
            .expect("write the cursor");
        batch.commit().expect("commit");
    }
}

fn strip_headers(texts: &[String]) -> Vec<String> {
    let header = std::str::from_utf8(HEADER).expect("the header is ASCII");
    texts
        .iter()
        .map(|text| {
            text.strip_prefix(header)
                .unwrap_or_else(|| panic!("datagram without the Wazuh header: {text:?}"))
                .to_owned()
        })
        .collect()
}

/// 1a. A kill in the middle of a read's first page: the next run fetches the
/// page again (no token) and skips what was delivered.
#[tokio::test]
async fn a_kill_in_the_first_page_resumes_after_the_last_event_delivered() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..30);
    bench.stream("s", &events).await;

    let first = bench.run(&RunSettings::at(now)).await;
    first.assert_clean();
    assert_eq!(bench.delivered(), messages(&events));
    assert_eq!(
        first.counts.commits, 1,
        "1,000 events per commit: one at the end"
    );

    // What a SIGKILL after a commit at event 12 leaves: the first page (no
    // token) with 12 events consumed, and the reference's row as the owner
    // builds it before the page's end (no token yet).
    let done = bench.cursor("s", Segment::Forward).unwrap();
    let killed = StreamCursor {
        page_token: None,
        page_consumed: 12,
        token_saved_at: None,
        last_timestamp: Some(events[11].0),
        last_timestamp_count: 1,
        read_at: None,
        reference_token: None,
        ..done.clone()
    };
    let row = StreamCheckpoint {
        next_token: None,
        start_time: Some(day),
        end_time: Some(events[11].0),
    };
    bench.rewrite("s", &row, &killed);

    let second = bench.run(&RunSettings::at(now)).await;
    second.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[12..]));
    assert_eq!(second.counts.delivered, 18);
    // Back where the complete first run ended.
    assert_eq!(bench.row("s").unwrap().end_time, Some(events[29].0));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(
        cursor.window_start, day,
        "the page was fetched again, not read by time"
    );
    assert_eq!(cursor.page_token, done.page_token);
    assert_eq!(cursor.page_consumed, 0);
}

/// 1b. A kill in the middle of a page fetched with a token: the next run sends
/// that token (with its time filter) again and skips what was delivered.
#[tokio::test]
async fn a_kill_in_a_page_fetched_by_token_resumes_after_the_last_event_delivered() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..30);
    bench.stream("s", &events[..10]).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[..10]));

    let after_first = bench.cursor("s", Segment::Forward).unwrap();
    let token = after_first
        .page_token
        .clone()
        .expect("a token after a page");
    let row = bench.row("s").unwrap();
    assert_eq!(row.next_token.as_ref(), Some(&token));

    bench.put("s", &events[10..]).await;
    // Killed after delivering 2 of the page that this token fetches.
    let killed = StreamCursor {
        page_consumed: 2,
        last_timestamp: Some(events[11].0),
        last_timestamp_count: 1,
        read_at: None,
        ..after_first
    };
    let killed_row = StreamCheckpoint {
        end_time: Some(events[11].0),
        ..row
    };
    bench.rewrite("s", &killed_row, &killed);

    let second = bench.run(&RunSettings::at(now)).await;
    second.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[12..]));
    assert_eq!(bench.row("s").unwrap().end_time, Some(events[29].0));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(
        cursor.window_start, day,
        "the token was sent again, not a read by time"
    );
}

/// 2. A token older than AWS keeps it: the read restarts by time at the last
/// event's millisecond and skips only the events of it already handled.
#[tokio::test]
async fn an_old_token_resumes_by_time_without_losing_events_of_the_same_millisecond() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let before = numbered("before", day + 10 * HOUR, 0..10);
    let same_ms = day + 11 * HOUR;
    let same: Vec<(i64, String)> = (0..5).map(|i| (same_ms, format!("same {i}"))).collect();
    let after = numbered("after", same_ms + SECOND, 0..5);

    let mut first_batch = before.clone();
    first_batch.extend_from_slice(&same[..3]);
    bench.stream("s", &first_batch).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&first_batch));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(cursor.last_timestamp, Some(same_ms));
    assert_eq!(cursor.last_timestamp_count, 3);
    assert_eq!(cursor.token_saved_at, Some(now));

    // Two more of that millisecond arrive late, then newer ones.
    bench.put("s", &same[3..]).await;
    bench.put("s", &after).await;

    let two_days_later = RunSettings::at(now + 2 * DAY);
    bench.run(&two_days_later).await.assert_clean();
    let mut expected = messages(&same[3..]);
    expected.extend(messages(&after));
    assert_eq!(bench.delivered(), expected);

    // The read restarted by time, not with the stale token.
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(cursor.window_start, same_ms);
    assert_eq!(cursor.token_saved_at, Some(now + 2 * DAY));
    assert_eq!(bench.row("s").unwrap().end_time, Some(after[4].0));

    // And the next run, with the new token, finds nothing more.
    bench.run(&two_days_later).await.assert_clean();
    assert_eq!(bench.delivered(), Vec::<String>::new());
}

/// 3a. A token AWS rejects: moto answers InvalidParameterException "The
/// specified nextToken is invalid." to anything that is not `f/<n>` or
/// `b/<n>`; the engine then reads by time from the last event handled.
#[tokio::test]
async fn a_rejected_token_falls_back_to_a_read_by_time() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..20);
    bench.stream("s", &events[..10]).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[..10]));
    bench.put("s", &events[10..]).await;

    const GARBAGE: &str = "not-a-token";
    let rejected = bench
        .moto
        .logs_client(REGION)
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name("s")
        .start_from_head(true)
        .next_token(GARBAGE)
        .send()
        .await
        .expect_err("moto rejects a malformed token");
    assert_eq!(rejected.code(), Some("InvalidParameterException"));
    assert_eq!(
        rejected.message(),
        Some("The specified nextToken is invalid.")
    );

    let stored = bench.cursor("s", Segment::Forward).unwrap();
    let row = bench.row("s").unwrap();
    let garbage = StreamCursor {
        page_token: Some(GARBAGE.to_owned()),
        token_saved_at: Some(now),
        ..stored
    };
    bench.rewrite("s", &row, &garbage);

    let second = bench.run(&RunSettings::at(now)).await;
    second.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[10..]));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(
        cursor.window_start, events[9].0,
        "read by time from the last event"
    );
    assert!(
        cursor
            .page_token
            .is_some_and(|token| token.starts_with("f/"))
    );
}

/// 3b. A well-formed token that fetches some other page (moto takes any
/// `f/<n>` as an index, so it cannot reject it): the page fetched again does
/// not end its skipped prefix with the recorded timestamp, and the engine
/// reads by time instead of skipping the wrong events.
#[tokio::test]
async fn a_token_that_fetches_another_page_is_noticed_and_read_by_time() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..30);
    bench.stream("s", &events).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events));

    let stored = bench.cursor("s", Segment::Forward).unwrap();
    let wrong_page = StreamCursor {
        // Fetches events 5.. instead of the page that held events 10..12.
        page_token: Some(format!("f/{:056}", 4)),
        page_consumed: 2,
        token_saved_at: Some(now),
        last_timestamp: Some(events[11].0),
        last_timestamp_count: 1,
        read_at: None,
        reference_token: None,
        ..stored
    };
    let row = StreamCheckpoint {
        next_token: None,
        start_time: Some(day),
        end_time: Some(events[11].0),
    };
    bench.rewrite("s", &row, &wrong_page);

    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[12..]));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    assert_eq!(
        cursor.window_start, events[11].0,
        "read by time from the last event"
    );
}

/// Reads what the owner last committed for a stream, beside its own
/// connection (WAL lets a reader in): how many of `first` + 1s events it claims.
fn committed_claim(db: &PathBuf, stream: &str, first: i64) -> usize {
    let connection = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database beside the owner");
    let last: Option<Option<i64>> = connection
        .query_row(
            "SELECT last_timestamp FROM wodle_aws_cursor
             WHERE aws_log_stream = ?1 AND segment = 'forward'",
            [stream],
            |row| row.get(0),
        )
        .optional()
        .expect("read the committed cursor");
    match last.flatten() {
        Some(timestamp) => {
            usize::try_from((timestamp - first) / SECOND + 1).expect("a timestamp of ours")
        }
        None => 0,
    }
}

/// As each event is looked at (the discard rule runs as the owner frames the
/// batch the event goes in, on the thread that commits), checks that what is
/// committed has reached analysisd and is no more than `commit_every` behind
/// this event; crashes the receiver at `crash_at`.
///
/// Events are sent in batches, so the events before this one in its batch
/// are not sent yet: what analysisd must hold is what the database claims.
fn watch_commits(
    bench: &Bench,
    stream: &'static str,
    first: i64,
    commit_every: usize,
    crash_at: Option<usize>,
) -> (DiscardRule, Arc<Mutex<Vec<String>>>) {
    let receiver = Arc::clone(&bench.receiver);
    let db = bench.db.clone();
    let already = bench.seen;
    let violations = Arc::new(Mutex::new(Vec::new()));
    let found = Arc::clone(&violations);
    let crashed = AtomicBool::new(false);
    let rule: DiscardRule = Box::new(move |message: &str| {
        let Some(index) = message
            .strip_prefix("event ")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return false;
        };
        if crashed.load(Ordering::Relaxed) {
            return false;
        }
        let mut receiver = receiver.lock().expect("the receiver's lock");
        let claimed = committed_claim(&db, stream, first);
        // Panics if the claimed events never arrive: a commit ran ahead.
        let received = receiver
            .wait_for_blocking(already + claimed, PATIENCE)
            .len()
            - already;
        if claimed > received || index > claimed + commit_every {
            found.lock().expect("the violations' lock").push(format!(
                "at event {index}: analysisd got {received}, the database claims {claimed}"
            ));
        }
        if crash_at == Some(index) {
            receiver.crash();
            crashed.store(true, Ordering::Relaxed);
        }
        false
    });
    (rule, violations)
}

/// 4a. Commits come every `commit_every` delivered events, and what is
/// committed never runs ahead of delivery nor more than that behind.
#[tokio::test]
async fn commits_follow_delivery_within_the_commit_interval() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let first = day + 10 * HOUR;
    let events = numbered("event", first, 0..100);
    bench.stream("s", &events).await;

    let settings = RunSettings {
        commit_every: 7,
        ..RunSettings::at(now)
    };
    let (watch, violations) = watch_commits(&bench, "s", first, 7, None);
    let run = bench.run_with_discard(&settings, Some(watch)).await;
    run.assert_clean();
    assert_eq!(bench.delivered(), messages(&events));
    assert_eq!(run.counts.delivered, 100);
    assert!(
        run.counts.commits >= 100 / 7,
        "{} commits",
        run.counts.commits
    );
    assert_eq!(*violations.lock().unwrap(), Vec::<String>::new());

    // Everything is in the database: the next run has nothing to send.
    assert_eq!(committed_claim(&bench.db, "s", first), 100);
    assert_eq!(bench.row("s").unwrap().end_time, Some(events[99].0));
    bench.run(&settings).await.assert_clean();
    assert_eq!(bench.delivered(), Vec::<String>::new());
}

/// 4b. analysisd dies mid-run: the run stops with a delivery error, the
/// database claims no more than analysisd got (and at most `commit_every`
/// fewer), and the next run sends the rest, re-sending at most that many.
#[tokio::test]
async fn a_delivery_failure_leaves_the_database_within_one_commit_of_analysisd() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let first = day + 10 * HOUR;
    let events = numbered("event", first, 0..100);
    bench.stream("s", &events).await;

    let settings = RunSettings {
        commit_every: 7,
        socket: SocketOptions {
            connect_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_millis(300),
            reconnect_backoff: ReconnectBackoff {
                initial: Duration::from_millis(10),
                max: Duration::from_millis(50),
            },
            ..SocketOptions::default()
        },
        ..RunSettings::at(now)
    };
    let (watch, violations) = watch_commits(&bench, "s", first, 7, Some(40));
    let failed = bench.run_with_discard(&settings, Some(watch)).await;
    assert!(
        matches!(failed.error, Some(OwnerError::Delivery(_))),
        "expected a delivery error, got {:?}",
        failed.error
    );
    assert_eq!(*violations.lock().unwrap(), Vec::<String>::new());

    // The receiver is closed: nothing more can arrive. The batch event 40
    // was framed in was refused whole.
    let received = strip_headers(&bench.receiver().texts());
    let got = received.len();
    assert!(got <= 40, "analysisd got {got}");
    assert_eq!(received, messages(&events[..got]));
    bench.seen = got;
    let claimed = committed_claim(&bench.db, "s", first);
    assert!(
        claimed <= got && got - claimed <= 7,
        "analysisd got {got}, the database claims {claimed}"
    );

    bench.receiver().restart();
    bench.run(&settings).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events[claimed..]));
}

/// 5. A stream created after the group was first read is read from the
/// group's stored lower bound, also on a later day.
#[tokio::test]
async fn a_late_stream_is_read_from_the_groups_stored_lower_bound() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let early = numbered("early", day + 10 * HOUR, 0..2);
    bench.stream("early", &early).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&early));
    assert_eq!(bench.lower_bound(), Some(day));

    let late = numbered("late", day + 2 * HOUR, 0..2);
    bench.stream("late", &late).await;
    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&late));

    // The next day: "today" has moved on, the group's bound has not.
    let later = numbered("later", day + 3 * HOUR, 0..2);
    bench.stream("later", &later).await;
    bench
        .run(&RunSettings::at(day + DAY + HOUR))
        .await
        .assert_clean();
    assert_eq!(bench.delivered(), messages(&later));
    assert_eq!(bench.lower_bound(), Some(day));
}

/// 6. only_logs_after in the future reads nothing and records nothing, so a
/// later run without it starts from today as if the first had not happened.
#[tokio::test]
async fn a_future_only_logs_after_records_nothing() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..3);
    bench.stream("s", &events).await;

    let tomorrow = RunSettings {
        only_logs_after: Some(day + DAY),
        ..RunSettings::at(now)
    };
    let run = bench.run(&tomorrow).await;
    run.assert_clean();
    assert_eq!(bench.delivered(), Vec::<String>::new());
    assert_eq!(run.counts, DeliveryCounts::default());
    assert_eq!(bench.row("s"), None);
    assert_eq!(bench.cursor("s", Segment::Forward), None);
    assert_eq!(bench.lower_bound(), None);

    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events));
    assert_eq!(bench.lower_bound(), Some(day));
    assert_eq!(bench.row("s").unwrap().start_time, Some(day));
}

/// 7. A stream DescribeLogStreams shows nothing new for is skipped once the
/// idle lag has passed since its last activity; within the lag it is read.
#[tokio::test]
async fn an_idle_stream_is_skipped_only_after_the_lag() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let events = numbered("event", day + 10 * HOUR, 0..3);
    bench.stream("s", &events).await;
    // read_at is AWS's Date header, whole seconds: let it pass the second of
    // the ingestion, or a lag of 0 would still (rightly) call it active.
    let ingested = now_millis();
    let next_second = (ingested / SECOND + 1) * SECOND;
    while now_millis() < next_second {
        std::thread::sleep(Duration::from_millis(10));
    }

    bench.run(&RunSettings::at(now)).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&events));
    let cursor = bench.cursor("s", Segment::Forward).unwrap();
    let read_at = cursor.read_at.expect("a complete read records AWS's time");
    assert!(read_at >= next_second, "read_at {read_at} < {next_second}");

    let no_lag = RunSettings {
        idle_stream_lag: Duration::ZERO,
        ..RunSettings::at(now)
    };
    let idle = bench.run(&no_lag).await;
    idle.assert_clean();
    assert_eq!(idle.report.streams_idle, 1);
    assert_eq!(idle.report.streams_read, 0);
    assert_eq!(bench.delivered(), Vec::<String>::new());

    let hour_lag = RunSettings {
        idle_stream_lag: Duration::from_secs(3600),
        ..RunSettings::at(now)
    };
    let polled = bench.run(&hour_lag).await;
    polled.assert_clean();
    assert_eq!(polled.report.streams_idle, 0);
    assert_eq!(polled.report.streams_read, 1);
    assert_eq!(bench.delivered(), Vec::<String>::new());

    // Something new is never idle, whatever the lag.
    let newer = numbered("newer", day + 12 * HOUR, 0..1);
    bench.put("s", &newer).await;
    let fresh = bench.run(&no_lag).await;
    fresh.assert_clean();
    assert_eq!(fresh.report.streams_read, 1);
    assert_eq!(bench.delivered(), messages(&newer));
}

/// 8. An only_logs_after earlier than what the row covers reads the gap
/// first, without re-sending the row's first event (moto's endTime is
/// inclusive), and then covers the gap in the row.
#[tokio::test]
async fn an_earlier_only_logs_after_backfills_the_gap_once() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let t0 = day + 12 * HOUR;
    let covered = vec![
        (t0, "at t0".to_owned()),
        (t0 + SECOND, "after t0".to_owned()),
    ];
    bench.stream("s", &covered).await;
    let from_t0 = RunSettings {
        only_logs_after: Some(t0),
        ..RunSettings::at(now)
    };
    bench.run(&from_t0).await.assert_clean();
    assert_eq!(bench.delivered(), messages(&covered));
    assert_eq!(bench.row("s").unwrap().start_time, Some(t0));
    assert!(bench.cursor("s", Segment::Forward).is_some());

    let gap = vec![
        (t0 - HOUR, "gap 1".to_owned()),
        (t0 - HOUR + 1, "gap 2".to_owned()),
    ];
    bench.put("s", &gap).await;
    let earlier = RunSettings {
        only_logs_after: Some(t0 - 2 * HOUR),
        ..RunSettings::at(now)
    };
    let backfill = bench.run(&earlier).await;
    backfill.assert_clean();
    assert_eq!(bench.delivered(), messages(&gap));
    assert_eq!(backfill.counts.delivered, 2);
    assert_eq!(backfill.counts.outside_window, 1, "the event at t0");

    assert_eq!(bench.cursor("s", Segment::Backfill), None);
    let row = bench.row("s").unwrap();
    assert_eq!(row.start_time, Some(t0 - 2 * HOUR));
    assert_eq!(row.end_time, Some(t0 + SECOND));

    bench.run(&earlier).await.assert_clean();
    assert_eq!(bench.delivered(), Vec::<String>::new());
}

/// 9. Streams read concurrently still deliver each stream's events in order.
#[tokio::test]
async fn concurrent_streams_keep_their_own_order() {
    const STREAMS: usize = 8;
    const EVENTS: usize = 300;
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    let mut expected_all = Vec::new();
    for stream in 0..STREAMS {
        // Interleaved timestamps, so no stream is "before" another.
        let events: Vec<(i64, String)> = (0..EVENTS)
            .map(|i| {
                let at = day + 10 * HOUR + (i * STREAMS + stream) as i64;
                (at, format!("s{stream} {i:03}"))
            })
            .collect();
        bench.stream(&format!("s{stream}"), &events).await;
        expected_all.extend(messages(&events));
    }

    let settings = RunSettings {
        max_concurrent_streams: 4,
        commit_every: 50,
        ..RunSettings::at(now)
    };
    let run = bench.run(&settings).await;
    run.assert_clean();
    assert_eq!(run.report.streams_read, STREAMS as u64);
    let delivered = bench.delivered();
    assert_eq!(delivered.len(), STREAMS * EVENTS);

    for stream in 0..STREAMS {
        let prefix = format!("s{stream} ");
        let own: Vec<&String> = delivered
            .iter()
            .filter(|m| m.starts_with(&prefix))
            .collect();
        let expected: Vec<String> = (0..EVENTS).map(|i| format!("s{stream} {i:03}")).collect();
        assert_eq!(own, expected.iter().collect::<Vec<_>>(), "stream s{stream}");
    }
    let mut sorted = delivered;
    sorted.sort();
    expected_all.sort();
    assert_eq!(sorted, expected_all);
}

/// A stream whose events all precede the lower bound gets no cursor (nothing
/// was delivered from it), yet after the group's first complete read it is
/// not read again until AWS shows something ingested since.
#[tokio::test]
async fn a_stream_with_nothing_after_the_bound_is_idle_after_the_first_complete_read() {
    let mut bench = Bench::new().await;
    let day = yesterday();
    let now = day + 20 * HOUR;
    // Both exist before the first run; "old" holds only events before `day`,
    // the group's lower bound.
    let old = numbered("old", day - 2 * HOUR, 0..3);
    let current = numbered("current", day + 10 * HOUR, 0..3);
    bench.stream("old", &old).await;
    bench.stream("current", &current).await;
    let next_second = (now_millis() / SECOND + 1) * SECOND;
    while now_millis() < next_second {
        std::thread::sleep(Duration::from_millis(10));
    }

    let first = bench.run(&RunSettings::at(now)).await;
    first.assert_clean();
    assert_eq!(first.report.streams_read, 2);
    assert_eq!(bench.delivered(), messages(&current));
    assert_eq!(
        bench.row("old"),
        None,
        "nothing delivered, nothing recorded"
    );
    assert_eq!(bench.cursor("old", Segment::Forward), None);

    let no_lag = RunSettings {
        idle_stream_lag: Duration::ZERO,
        ..RunSettings::at(now)
    };
    let idle = bench.run(&no_lag).await;
    idle.assert_clean();
    assert_eq!(idle.report.streams_idle, 2);
    assert_eq!(idle.report.streams_read, 0);

    // Within the lag of that read, it is still read (AWS may not show all yet).
    let hour_lag = RunSettings {
        idle_stream_lag: Duration::from_secs(3600),
        ..RunSettings::at(now)
    };
    let polled = bench.run(&hour_lag).await;
    polled.assert_clean();
    assert_eq!(polled.report.streams_read, 2);
    assert_eq!(bench.delivered(), Vec::<String>::new());

    // Something ingested after it is read, whatever its timestamp.
    let newer = numbered("newer", day + 12 * HOUR, 0..2);
    bench.put("old", &newer).await;
    let fresh = bench.run(&no_lag).await;
    fresh.assert_clean();
    assert_eq!(fresh.report.streams_read, 1);
    assert_eq!(bench.delivered(), messages(&newer));

    // A lower bound moved earlier reads the old events after all.
    let earlier = RunSettings {
        only_logs_after: Some(day - DAY),
        idle_stream_lag: Duration::ZERO,
        ..RunSettings::at(now)
    };
    let backfill = bench.run(&earlier).await;
    backfill.assert_clean();
    let delivered = bench.delivered();
    for message in messages(&old) {
        assert!(delivered.contains(&message), "{message} in {delivered:?}");
    }
}
