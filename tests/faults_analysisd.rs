//! analysisd in trouble, end to end: the binary against moto, a real
//! `AF_UNIX` datagram receiver at `<WAZUH_HOME>/queue/sockets/queue` and a
//! real SQLite file. analysisd absent at start, gone mid-run, not reading,
//! restarted, and events larger than a datagram may be: nothing is lost, and
//! the checkpoint is never ahead of what the kernel accepted.
//!
//! "Delivered" means the kernel accepted the datagram. What a dying receiver
//! had queued but not read is beyond any sender's knowledge, so the receivers
//! here drain their queue before they close: the sender is frozen (SIGSTOP)
//! while the receiver reads what is queued and closes, so that no datagram
//! slips in between the last read and the close.

mod support;

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use support::ledger::{Ledger, Scale, Tally, report};
use support::seed::{self, put_ledger_stream, wodle_config};
use support::{Daemon, StallingReceiver, World};

const HEADER: &str = "1:Wazuh-AWS:";
const GROUP: &str = "faults";
const REGION: &str = "us-east-1";
const HOUR_MS: i64 = 3_600_000;
/// The commit interval of these runs: small, so that several commits happen
/// before any fault.
const COMMIT_EVERY: usize = 50;
/// Only so that a broken binary or receiver cannot hang the suite.
const WAIT: Duration = Duration::from_secs(30);
const WAZUH_MUST_BE_RUNNING: &str = "ERROR: Wazuh must be running.";
/// The default datagram limit, header included (`OS_MAXSTR - 1`).
const DEFAULT_LIMIT: usize = 65_535;

// ---------------------------------------------------------------------------
// The data: streams of ledger events with timestamps `base + index`.

/// What a test put: the ledger and the first timestamp (event `i` of every
/// stream is at `base + i`, so a checkpoint's timestamp names its event).
struct Seeded {
    ledger: Ledger,
    base: i64,
}

/// Recent enough for the binary's default lower bound (today 00:00 UTC) and
/// for PutLogEvents, and never in the future of the world's clock.
fn base_time(world: &World) -> i64 {
    world.today().max(world.now - HOUR_MS)
}

/// `streams` streams `s0`, `s1`… of `per_stream` small events each in [`GROUP`].
async fn seed(world: &World, streams: usize, per_stream: usize) -> Seeded {
    let seeder = world.moto.seeder(REGION);
    seeder.create_log_group(GROUP).await;
    let base = base_time(world);
    let mut ledger = Ledger::new();
    for stream in 0..streams {
        let name = format!("s{stream}");
        put_ledger_stream(
            &seeder,
            &mut ledger,
            GROUP,
            &name,
            per_stream,
            base,
            "GET /index.html 200",
        )
        .await;
    }
    Seeded { ledger, base }
}

/// The one-shot command's arguments after `--service cloudwatchlogs`, then `extra`.
fn one_shot_args(analysisd_timeout: u64, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = seed::one_shot_args(GROUP, REGION, &["--commit-every"])
        .into_iter()
        .map(str::to_owned)
        .collect();
    args.push(COMMIT_EVERY.to_string());
    args.push("--analysisd-timeout".into());
    args.push(analysisd_timeout.to_string());
    args.extend(extra.iter().map(|arg| (*arg).to_owned()));
    args
}

fn spawn(world: &World, args: &[String]) -> Daemon {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    world.spawn(&args)
}

/// Runs to the end and returns the exit code and the stderr lines.
fn run(world: &World, args: &[String]) -> (Option<i32>, Vec<String>) {
    let mut daemon = spawn(world, args);
    let code = daemon.wait_exit();
    (code, daemon.lines())
}

fn expect_code(code: Option<i32>, expected: i32, lines: &[String]) {
    assert_eq!(
        code,
        Some(expected),
        "exit code; stderr:\n{}",
        lines.join("\n")
    );
}

/// A world whose analysisd is down: no receiver, no socket file.
fn world_without_analysisd() -> World {
    let mut world = World::new();
    world.analysisd.crash();
    std::fs::remove_file(world.home.queue_socket_path()).expect("remove the socket file");
    world
}

// ---------------------------------------------------------------------------
// The checkpoint against what arrived.

/// `(stream, index)` of a ledger datagram.
fn identity(datagram: &str) -> Option<(&str, i64)> {
    let message = datagram.strip_prefix(HEADER).unwrap_or(datagram);
    let (stream, index) = message.split(' ').next()?.rsplit_once('#')?;
    Some((stream, index.parse().ok()?))
}

/// Panics unless every position the database holds (our cursor's last
/// timestamp, the reference's end_time) is at or before the last event of its
/// stream that analysisd received in `received`.
fn assert_checkpoint_not_ahead(world: &World, seeded: &Seeded, received: &[String]) {
    let path = world.database();
    if !path.exists() {
        return;
    }
    let mut last_received: HashMap<String, i64> = HashMap::new();
    for datagram in received {
        if let Some((stream, index)) = identity(datagram) {
            let last = last_received.entry(stream.to_owned()).or_insert(index);
            *last = (*last).max(index);
        }
    }
    let connection = rusqlite::Connection::open(&path).expect("the database opens");
    let positions = |sql: &str| -> Vec<(String, Option<i64>)> {
        let mut statement = match connection.prepare(sql) {
            Ok(statement) => statement,
            // Created only by the first run that had something to store.
            Err(error) if error.to_string().contains("no such table") => return Vec::new(),
            Err(error) => panic!("{sql}: {error}"),
        };
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .and_then(Iterator::collect)
            .expect("rows read")
    };
    let cursors = positions(
        "SELECT aws_log_stream, last_timestamp FROM wodle_aws_cursor WHERE segment = 'forward'",
    );
    let rows = positions("SELECT aws_log_stream, end_time FROM cloudwatch_logs");
    for (table, stream, timestamp) in cursors
        .iter()
        .map(|(s, t)| ("wodle_aws_cursor.last_timestamp", s, t))
        .chain(rows.iter().map(|(s, t)| ("cloudwatch_logs.end_time", s, t)))
    {
        let Some(timestamp) = timestamp else { continue };
        let claimed = timestamp - seeded.base;
        let delivered = last_received.get(stream.as_str()).copied();
        assert!(
            delivered.is_some_and(|last| claimed <= last),
            "{table} of stream {stream} claims event #{claimed}, but analysisd received only up \
             to {delivered:?}"
        );
    }
}

/// Nothing of any stream is recorded: the failed run committed no progress.
fn assert_no_progress(world: &World, seeded: &Seeded) {
    assert_checkpoint_not_ahead(world, seeded, &[]);
}

// ---------------------------------------------------------------------------
// A receiver that can stop reading, crash and restart, draining first.

/// Plays analysisd at a path: reads on a thread up to a limit (then stops
/// reading, so the sender's queue fills and it blocks), and closes only after
/// reading everything queued.
struct Analysisd {
    path: PathBuf,
    shared: Arc<Shared>,
    life: Option<Life>,
    receive_buffer: Option<usize>,
}

struct Shared {
    received: Mutex<Vec<Vec<u8>>>,
    /// Read no more than this many datagrams in all (across restarts).
    limit: AtomicUsize,
}

/// One bound socket and its reader thread.
struct Life {
    socket: Arc<UnixDatagram>,
    stop: Arc<AtomicBool>,
    reader: JoinHandle<()>,
}

impl Analysisd {
    /// Binds at `path`; reads at most `limit` datagrams until [`Analysisd::read_all`].
    fn bind(path: &Path, limit: usize) -> Analysisd {
        Analysisd::bind_with(path, limit, None)
    }

    /// [`Analysisd::bind`] with SO_RCVBUF set to `receive_buffer` bytes (the
    /// kernel's minimum if smaller).
    fn bind_with(path: &Path, limit: usize, receive_buffer: Option<usize>) -> Analysisd {
        let mut analysisd = Analysisd {
            path: path.to_path_buf(),
            shared: Arc::new(Shared {
                received: Mutex::new(Vec::new()),
                limit: AtomicUsize::new(limit),
            }),
            life: None,
            receive_buffer,
        };
        analysisd.start();
        analysisd
    }

    fn start(&mut self) {
        let socket = UnixDatagram::bind(&self.path)
            .unwrap_or_else(|e| panic!("bind {}: {e}", self.path.display()));
        if let Some(bytes) = self.receive_buffer {
            let socket = socket2::SockRef::from(&socket);
            socket
                .set_recv_buffer_size(bytes)
                .expect("set SO_RCVBUF on the receiver");
        }
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("set the read timeout");
        let socket = Arc::new(socket);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = std::thread::spawn({
            let socket = Arc::clone(&socket);
            let stop = Arc::clone(&stop);
            let shared = Arc::clone(&self.shared);
            move || read_until_stopped(&socket, &shared, &stop)
        });
        self.life = Some(Life {
            socket,
            stop,
            reader,
        });
    }

    /// The SO_RCVBUF the kernel granted.
    fn receive_buffer_size(&self) -> usize {
        let life = self.life.as_ref().expect("the receiver is bound");
        socket2::SockRef::from(life.socket.as_ref())
            .recv_buffer_size()
            .expect("read SO_RCVBUF")
    }

    /// Lifts the limit: what is queued arrives, and everything after it.
    fn read_all(&self) {
        self.shared.limit.store(usize::MAX, Ordering::Relaxed);
    }

    /// Stops the reader, reads what is queued, closes the socket (its file
    /// stays, as a killed analysisd leaves it). Call with the sender frozen.
    fn close_drained(&mut self) {
        let Some(life) = self.life.take() else { return };
        life.stop.store(true, Ordering::Relaxed);
        life.reader.join().expect("the receiver thread panicked");
        life.socket
            .set_nonblocking(true)
            .expect("a non-blocking drain");
        let mut buffer = vec![0u8; RECEIVE_BUFFER_BYTES];
        loop {
            match life.socket.recv(&mut buffer) {
                Ok(length) => lock(&self.shared).push(buffer[..length].to_vec()),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => panic!("draining the receiver failed: {e}"),
            }
        }
        // The last reference: the socket closes here.
        drop(life.socket);
    }

    /// analysisd killed: reads what is queued while `sender` is frozen, then
    /// closes; the socket file stays, so the sender meets "connection refused".
    fn crash_drained(&mut self, sender: &Daemon) {
        let _frozen = Frozen::new(sender);
        self.close_drained();
    }

    /// analysisd stopped cleanly: like [`Analysisd::crash_drained`], and its
    /// socket file removed, so the sender finds no socket at all.
    fn stop_drained(&mut self, sender: &Daemon) {
        let _frozen = Frozen::new(sender);
        self.close_drained();
        std::fs::remove_file(&self.path)
            .unwrap_or_else(|e| panic!("remove {}: {e}", self.path.display()));
    }

    /// analysisd restarted: the old socket drained and closed while `sender`
    /// is frozen, a new one bound at the same path, reading everything.
    fn restart_drained(&mut self, sender: &Daemon) {
        let _frozen = Frozen::new(sender);
        self.close_drained();
        self.rebind();
    }

    /// analysisd (back) up: a new socket at the path, reading everything.
    fn rebind(&mut self) {
        self.close_drained();
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("remove {}: {e}", self.path.display()),
        }
        self.read_all();
        self.start();
    }

    /// Waits until `count` datagrams arrived in all; panics after [`WAIT`].
    fn wait_for(&self, count: usize) {
        let deadline = Instant::now() + WAIT;
        while lock(&self.shared).len() < count {
            assert!(
                Instant::now() < deadline,
                "expected {count} datagrams within {WAIT:?}, got {}",
                lock(&self.shared).len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every datagram so far, in arrival order.
    fn datagrams(&self) -> Vec<Vec<u8>> {
        lock(&self.shared).clone()
    }

    /// Every datagram so far as text; forgets them, so that the next call
    /// returns the next run's.
    fn take_texts(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.shared))
            .iter()
            .map(|datagram| String::from_utf8_lossy(datagram).into_owned())
            .collect()
    }
}

impl Drop for Analysisd {
    fn drop(&mut self) {
        if let Some(life) = self.life.take() {
            life.stop.store(true, Ordering::Relaxed);
            let _ = life.reader.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Big enough for any datagram of these tests (a 1 MB event whole).
const RECEIVE_BUFFER_BYTES: usize = 4 << 20;

fn read_until_stopped(socket: &UnixDatagram, shared: &Shared, stop: &AtomicBool) {
    let mut buffer = vec![0u8; RECEIVE_BUFFER_BYTES];
    while !stop.load(Ordering::Relaxed) {
        if lock(shared).len() >= shared.limit.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        match socket.recv(&mut buffer) {
            Ok(length) => lock(shared).push(buffer[..length].to_vec()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(e) => panic!("receiving failed: {e}"),
        }
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, Vec<Vec<u8>>> {
    shared
        .received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The sender stopped (SIGSTOP) until drop (SIGCONT): while frozen it can
/// queue no datagram, so a receiver can read its queue to the end and close
/// without one slipping in between.
struct Frozen<'d> {
    daemon: &'d Daemon,
}

impl<'d> Frozen<'d> {
    fn new(daemon: &'d Daemon) -> Frozen<'d> {
        daemon.signal("STOP");
        let frozen = Frozen { daemon };
        // kill(2) returns before the threads stop: wait until each one has.
        let tasks = PathBuf::from(format!("/proc/{}/task", daemon.pid()));
        let deadline = Instant::now() + WAIT;
        while !all_stopped(&tasks) {
            assert!(
                Instant::now() < deadline,
                "wodle-aws did not stop within {WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        frozen
    }
}

impl Drop for Frozen<'_> {
    fn drop(&mut self) {
        self.daemon.signal("CONT");
    }
}

/// Whether every thread under `/proc/<pid>/task` is stopped (or gone).
fn all_stopped(tasks: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(tasks) else {
        return true;
    };
    entries.flatten().all(|task| {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            return true;
        };
        // The state follows the command name, which is in parentheses.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.trim_start().chars().next());
        matches!(state, Some('T' | 't' | 'Z' | 'X') | None)
    })
}

fn assert_within_and_report(
    fault: &str,
    trials: usize,
    tally: &Tally,
    max_duplicated: usize,
    outcome: &str,
) {
    eprintln!("{fault}: {trials} trials, {tally:?}; {outcome}");
    tally.assert_within(fault, max_duplicated);
    report(fault, trials, tally, outcome);
}

/// Adds up the tallies of several trials.
fn sum(tallies: &[Tally]) -> Tally {
    Tally::sum(tallies)
}

/// `(streams, events per stream)` of these tests.
fn sizes() -> (usize, usize) {
    Scale::from_env().pick((3, 100), (4, 5_000))
}

/// A world whose analysisd is down, with [`sizes`]'s streams seeded.
async fn seeded_world() -> (World, Seeded) {
    let world = world_without_analysisd();
    let (streams, per_stream) = sizes();
    let seeded = seed(&world, streams, per_stream).await;
    (world, seeded)
}

/// An [`Analysisd`] at the world's queue socket reading at most `limit` datagrams.
fn bind_receiver(world: &World, limit: usize) -> Analysisd {
    Analysisd::bind(&world.home.queue_socket_path(), limit)
}

/// Waits for `daemon` to end and panics with its stderr unless it exited `expected`.
fn expect_exit(daemon: &mut Daemon, expected: i32) {
    let code = daemon.wait_exit();
    expect_code(code, expected, &daemon.lines());
}

/// Runs the one-shot command (no extra flags) to its end, expects the exit code
/// `expected` and returns the stderr lines.
fn run_expecting(world: &World, analysisd_timeout: u64, expected: i32) -> Vec<String> {
    let (code, lines) = run(world, &one_shot_args(analysisd_timeout, &[]));
    expect_code(code, expected, &lines);
    lines
}

/// The first run's datagrams `first` stopped short of the ledger (`why` says so
/// when they did not), and the checkpoint is not ahead of them.
fn assert_cut_short(world: &World, seeded: &Seeded, first: &[String], why: &str) {
    assert!(first.len() < seeded.ledger.total(), "{why}");
    assert_checkpoint_not_ahead(world, seeded, first);
}

/// What `analysisd` received after the datagrams `first`, once flushed.
fn flushed_after(analysisd: &StallingReceiver, first: &[String]) -> Vec<String> {
    analysisd.flush()[first.len()..].to_vec()
}

/// analysisd away long enough for the sender to meet the closed socket (or
/// find none) and wait to retry, then back, reading everything.
fn back_after_a_while(analysisd: &mut Analysisd) {
    std::thread::sleep(Duration::from_millis(500));
    analysisd.rebind();
}

/// Runs `trial` once at each of [`fault_points`] over [`sizes`]'s streams (each
/// trial seeds a world of its own) and returns the trials' tallies.
async fn at_fault_points(mut trial: impl AsyncFnMut(usize) -> Tally) -> Vec<Tally> {
    let (streams, per_stream) = sizes();
    let mut tallies = Vec::new();
    for point in fault_points(streams * per_stream) {
        tallies.push(trial(point).await);
    }
    tallies
}

/// Reports the trials of one fault as one row: their tallies summed, each
/// trial allowed `max_duplicated_per_trial` events twice.
fn report_trials(fault: &str, tallies: &[Tally], max_duplicated_per_trial: usize, outcome: &str) {
    assert_within_and_report(
        fault,
        tallies.len(),
        &sum(tallies),
        max_duplicated_per_trial * tallies.len(),
        outcome,
    );
}

// ---------------------------------------------------------------------------
// analysisd absent at start.

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_absent_at_start_exits_11_commits_nothing_and_the_rerun_delivers_all() {
    let (world, seeded) = seeded_world().await;

    let lines = run_expecting(&world, 1, 11);
    assert_eq!(lines, [WAZUH_MUST_BE_RUNNING]);
    assert_no_progress(&world, &seeded);

    let analysisd = bind_receiver(&world, usize::MAX);
    run_expecting(&world, 1, 0);
    let tally = seeded.ledger.tally(&[Vec::new(), analysisd.take_texts()]);
    assert_within_and_report(
        "analysisd absent at start",
        1,
        &tally,
        0,
        "exit 11, nothing committed; then exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_appearing_while_the_run_waits_gets_everything_once() {
    let (world, seeded) = seeded_world().await;

    let mut daemon = spawn(&world, &one_shot_args(20, &[]));
    std::thread::sleep(Duration::from_millis(500));
    let analysisd = bind_receiver(&world, usize::MAX);
    expect_exit(&mut daemon, 0);
    let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
    assert_within_and_report(
        "analysisd bound while the run waits",
        1,
        &tally,
        0,
        "exit 0",
    );
}

// ---------------------------------------------------------------------------
// analysisd gone mid-run.

/// Where the receivers of the mid-run faults stop reading: spread over the
/// run, several commits in and well before its end.
fn fault_points(total: usize) -> Vec<usize> {
    let trials = Scale::from_env().pick(1, 4);
    (1..=trials).map(|k| total * k / (trials + 1)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_gone_mid_run_exits_11_and_the_rerun_delivers_the_rest() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let mut analysisd = bind_receiver(&world, point);

        let mut daemon = spawn(&world, &one_shot_args(1, &[]));
        analysisd.wait_for(point);
        analysisd.crash_drained(&daemon);
        expect_exit(&mut daemon, 11);
        assert!(
            daemon.lines().iter().any(|l| l == WAZUH_MUST_BE_RUNNING),
            "{:?}",
            daemon.lines()
        );
        let first = analysisd.take_texts();
        assert_cut_short(
            &world,
            &seeded,
            &first,
            "the fault came before the end of the run",
        );

        analysisd.rebind();
        run_expecting(&world, 1, 0);
        let second = analysisd.take_texts();
        let tally = seeded.ledger.tally(&[first, second]);
        // What was delivered after the last commit may come again.
        tally.assert_within("analysisd gone mid-run", COMMIT_EVERY);
        tally
    })
    .await;
    report_trials(
        "analysisd gone mid-run",
        &tallies,
        COMMIT_EVERY,
        "exit 11, then exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_gone_and_back_within_the_timeout_the_run_goes_on() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let mut analysisd = bind_receiver(&world, point);

        let mut daemon = spawn(&world, &one_shot_args(20, &[]));
        analysisd.wait_for(point);
        analysisd.crash_drained(&daemon);
        back_after_a_while(&mut analysisd);
        expect_exit(&mut daemon, 0);
        let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
        tally.assert_within("analysisd gone and back mid-run", 0);
        tally
    })
    .await;
    report_trials("analysisd gone and back mid-run", &tallies, 0, "exit 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_stopped_with_its_socket_removed_mid_run_exits_11_and_the_rerun_completes() {
    let (streams, per_stream) = sizes();
    let point = streams * per_stream / 2;
    let (world, seeded) = seeded_world().await;
    let mut analysisd = bind_receiver(&world, point);

    let mut daemon = spawn(&world, &one_shot_args(1, &[]));
    analysisd.wait_for(point);
    analysisd.stop_drained(&daemon);
    expect_exit(&mut daemon, 11);
    let first = analysisd.take_texts();
    assert_checkpoint_not_ahead(&world, &seeded, &first);

    analysisd.rebind();
    run_expecting(&world, 1, 0);
    let tally = seeded.ledger.tally(&[first, analysisd.take_texts()]);
    assert_within_and_report(
        "analysisd stopped, socket file removed",
        1,
        &tally,
        COMMIT_EVERY,
        "exit 11, then exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_stopped_with_its_socket_removed_and_back_within_the_timeout_the_run_goes_on() {
    let (streams, per_stream) = sizes();
    let point = streams * per_stream / 2;
    let (world, seeded) = seeded_world().await;
    let mut analysisd = bind_receiver(&world, point);

    let mut daemon = spawn(&world, &one_shot_args(20, &[]));
    analysisd.wait_for(point);
    analysisd.stop_drained(&daemon);
    back_after_a_while(&mut analysisd);
    expect_exit(&mut daemon, 0);
    let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
    assert_within_and_report(
        "analysisd stopped, socket file removed, back",
        1,
        &tally,
        0,
        "exit 0",
    );
}

// ---------------------------------------------------------------------------
// analysisd not reading: its queue full.

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_not_reading_exits_11_stalled_and_the_rerun_completes() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let analysisd = StallingReceiver::bind(world.home.queue_socket_path(), point);

        let lines = run_expecting(&world, 1, 11);
        assert!(
            lines.iter().any(|l| l == WAZUH_MUST_BE_RUNNING),
            "{lines:?}"
        );
        // What the kernel accepted before the stall: read now, it was delivered.
        let first = analysisd.flush();
        assert_cut_short(
            &world,
            &seeded,
            &first,
            "the stall came before the end of the run",
        );

        run_expecting(&world, 1, 0);
        let second = flushed_after(&analysisd, &first);
        let tally = seeded.ledger.tally(&[first, second]);
        tally.assert_within("analysisd not reading", COMMIT_EVERY);
        tally
    })
    .await;
    report_trials(
        "analysisd not reading (queue full)",
        &tallies,
        COMMIT_EVERY,
        "exit 11 (stalled), then exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_reading_again_before_the_timeout_loses_and_repeats_nothing() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let analysisd = StallingReceiver::bind(world.home.queue_socket_path(), point);

        let mut daemon = spawn(&world, &one_shot_args(20, &[]));
        analysisd.wait_for(point);
        // The sender is blocked on the full queue meanwhile.
        std::thread::sleep(Duration::from_millis(300));
        analysisd.read_all();
        expect_exit(&mut daemon, 0);
        let tally = seeded.ledger.tally(&[analysisd.flush()]);
        tally.assert_within("analysisd reading again", 0);
        tally
    })
    .await;
    report_trials("analysisd stalls, then reads again", &tallies, 0, "exit 0");
}

/// A stop request while analysisd takes nothing: the run must not sit out
/// the analysisd timeout (an hour here, a minute by default, while modulesd
/// or systemd wait for the process to end), and loses nothing.
fn stop_while_analysisd_is_stuck(signal: &str, expected_code: i32) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the seeder");
    let world = world_without_analysisd();
    let (streams, per_stream) = sizes();
    let seeded = runtime.block_on(seed(&world, streams, per_stream));
    let point = streams * per_stream / 2;
    let analysisd = StallingReceiver::bind(world.home.queue_socket_path(), point);

    let mut daemon = spawn(&world, &one_shot_args(3_600, &[]));
    analysisd.wait_for(point);
    // Let the sender fill the queue and block on it.
    std::thread::sleep(Duration::from_millis(300));
    daemon.signal(signal);
    // Bounded by DAEMON_WAIT (30 s) only so that the suite cannot hang.
    expect_exit(&mut daemon, expected_code);
    let first = analysisd.flush();
    assert_checkpoint_not_ahead(&world, &seeded, &first);

    run_expecting(&world, 1, 0);
    let second = flushed_after(&analysisd, &first);
    let tally = seeded.ledger.tally(&[first, second]);
    assert_within_and_report(
        &format!("SIG{signal} while analysisd's queue is full"),
        1,
        &tally,
        0,
        &format!("exit {expected_code} at once, then exit 0"),
    );
}

#[test]
fn sigterm_while_analysisd_is_stuck_ends_the_run_without_waiting_out_the_timeout() {
    stop_while_analysisd_is_stuck("TERM", 0);
}

#[test]
fn sigint_while_analysisd_is_stuck_ends_the_run_without_waiting_out_the_timeout() {
    stop_while_analysisd_is_stuck("INT", 2);
}

// ---------------------------------------------------------------------------
// analysisd restarted: a new socket at the same path.

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_restarted_mid_run_is_reconnected_nothing_lost_nothing_twice() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let mut analysisd = bind_receiver(&world, point);

        let mut daemon = spawn(&world, &one_shot_args(20, &[]));
        analysisd.wait_for(point);
        analysisd.restart_drained(&daemon);
        expect_exit(&mut daemon, 0);
        let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
        tally.assert_within("analysisd restarted mid-run", 0);
        tally
    })
    .await;
    report_trials(
        "analysisd restarted mid-run",
        &tallies,
        0,
        "exit 0, reconnected",
    );
}

// ---------------------------------------------------------------------------
// Events larger than a datagram may be.

/// A message of `len` bytes: the ledger identity, then characters of one to
/// four bytes, so that wherever the limit falls it may split one.
fn big_message(stream: &str, index: usize, len: usize) -> String {
    let mut message = Ledger::message(stream, index, "");
    let pattern = ['a', 'é', '€', '😀'];
    let mut next = 0;
    while message.len() < len {
        let c = pattern[next % pattern.len()];
        if message.len() + c.len_utf8() > len {
            message.push('.');
        } else {
            message.push(c);
        }
        next += 1;
    }
    message
}

/// The sizes of the oversized events: 300 KB and 1 MB (the largest
/// PutLogEvents takes: 1 MiB with its 26 bytes of overhead per event).
const BIG_SIZES: [usize; 2] = [300_000, 1_048_576 - 26];

/// Stream `mix`: small events with a 300 KB and a 1 MB one among them.
/// Returns the seeded data and the big events' `(index, timestamp, message)`.
async fn seed_oversized(world: &World) -> (Seeded, Vec<(usize, i64, String)>) {
    let count = Scale::from_env().pick(40, 2_000);
    let seeder = world.moto.seeder(REGION);
    seeder.create_log_group(GROUP).await;
    seeder.create_log_stream(GROUP, "mix").await;
    let base = base_time(world);
    let mut ledger = Ledger::new();
    ledger.put("mix", count);
    let big_at = [count / 4, count / 2, count / 2 + 1, count - 1];
    let mut big = Vec::new();
    let events: Vec<(i64, String)> = (0..count)
        .map(|index| {
            let timestamp = base + index as i64;
            let message = match big_at.iter().position(|&at| at == index) {
                Some(which) => {
                    let message = big_message("mix", index, BIG_SIZES[which % 2]);
                    big.push((index, timestamp, message.clone()));
                    message
                }
                None => Ledger::message("mix", index, "small"),
            };
            (timestamp, message)
        })
        .collect();
    seeder.put_events(GROUP, "mix", &events).await;
    (Seeded { ledger, base }, big)
}

/// Checks the datagrams of the big events: each a prefix of its event, valid
/// UTF-8, identity intact, at most `limit` bytes and within a character of it;
/// and a WARNING naming group, stream and timestamp.
fn assert_truncated(
    datagrams: &[Vec<u8>],
    big: &[(usize, i64, String)],
    limit: usize,
    lines: &[String],
) {
    for (index, timestamp, message) in big {
        let datagram = &datagrams[*index];
        let text = std::str::from_utf8(datagram)
            .unwrap_or_else(|e| panic!("event #{index} not cut at a character boundary: {e}"));
        let kept = text.strip_prefix(HEADER).expect("the header");
        assert!(
            kept.starts_with(&Ledger::message("mix", *index, "")),
            "identity of event #{index}"
        );
        assert!(message.starts_with(kept), "event #{index} is a prefix");
        assert!(
            datagram.len() <= limit && datagram.len() > limit - 4,
            "event #{index}: {} bytes for a limit of {limit}",
            datagram.len()
        );
        let warning = format!(
            "WARNING: Event of {} bytes in log group \"{GROUP}\", stream \"mix\", timestamp \
             {timestamp} was truncated to {} bytes to fit analysisd's message limit.",
            message.len(),
            kept.len()
        );
        assert!(
            lines.contains(&warning),
            "no {warning:?} in:\n{}",
            lines.join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_events_are_delivered_truncated_with_their_identity() {
    let world = world_without_analysisd();
    let (seeded, big) = seed_oversized(&world).await;
    let analysisd = bind_receiver(&world, usize::MAX);

    let lines = run_expecting(&world, 1, 0);
    let datagrams = analysisd.datagrams();
    assert_truncated(&datagrams, &big, DEFAULT_LIMIT, &lines);
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("WARNING")).count(),
        big.len(),
        "{lines:?}"
    );
    let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
    assert_within_and_report(
        "events of 300 KB and 1 MB",
        1,
        &tally,
        0,
        "exit 0; truncated to 64 KiB with a warning",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receiver_with_a_tiny_receive_buffer_gets_every_event() {
    let world = world_without_analysisd();
    let (seeded, big) = seed_oversized(&world).await;
    let path = world.home.queue_socket_path();
    let analysisd = Analysisd::bind_with(&path, usize::MAX, Some(1));
    // Linux's floor for SO_RCVBUF is a few KB: far below one 64 KiB datagram.
    assert!(analysisd.receive_buffer_size() < 8_192);

    // The default limit: the big events truncated to 64 KiB.
    let lines = run_expecting(&world, 1, 0);
    let datagrams = analysisd.datagrams();
    assert_truncated(&datagrams, &big, DEFAULT_LIMIT, &lines);
    let first = analysisd.take_texts();
    let first_tally = seeded.ledger.tally(std::slice::from_ref(&first));
    first_tally.assert_within("tiny receive buffer", 0);

    // A limit above the largest event: the 1 MB event arrives whole (on
    // Linux the sender's SO_SNDBUF, which the sender raises, bounds a Unix
    // datagram; the receiver's SO_RCVBUF does not), nothing is cut.
    let fresh = world.home.path().join("wodles/aws/whole.db");
    let fresh = fresh.to_str().expect("a UTF-8 path");
    let (code, lines) = run(
        &world,
        &one_shot_args(1, &["--max-datagram", "2000000", "--db", fresh]),
    );
    expect_code(code, 0, &lines);
    assert!(!lines.iter().any(|l| l.starts_with("WARNING")), "{lines:?}");
    let datagrams = analysisd.datagrams();
    for (index, _, message) in &big {
        assert_eq!(
            datagrams[*index],
            [HEADER.as_bytes(), message.as_bytes()].concat(),
            "event #{index} whole"
        );
    }
    let second_tally = seeded.ledger.tally(&[analysisd.take_texts()]);
    second_tally.assert_within("tiny receive buffer, 2 MB datagrams", 0);
    let tally = sum(&[first_tally, second_tally]);
    assert_within_and_report(
        "receiver with a tiny SO_RCVBUF",
        2,
        &tally,
        0,
        "exit 0; 64 KiB and 2 MB limits",
    );
}

// ---------------------------------------------------------------------------
// `run --config`: the daemon outlives a failed interval.

const FINISHED: &str = "INFO: Fetching logs finished.";

/// A config running [`GROUP`] in [`REGION`] every second, from the start.
fn daemon_args(world: &World, analysisd_timeout: u64) -> Vec<String> {
    let config = world.write_config("ossec.conf", &wodle_config(GROUP, REGION, "1s"));
    [
        "run",
        "--config",
        config.to_str().expect("a UTF-8 path"),
        "--commit-every",
        &COMMIT_EVERY.to_string(),
        "--analysisd-timeout",
        &analysisd_timeout.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

/// Waits for two more whole runs (so that nothing more is coming), then
/// stops the daemon with SIGTERM and expects exit 0.
fn settle_and_stop(daemon: &mut Daemon) {
    let runs = daemon.count(FINISHED);
    daemon.wait_for_line(FINISHED, runs + 2);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0), "{}", daemon.lines().join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_run_mode_an_interval_without_analysisd_is_caught_up_by_the_next() {
    let (world, seeded) = seeded_world().await;

    let mut daemon = spawn(&world, &daemon_args(&world, 1));
    daemon.wait_for_line(WAZUH_MUST_BE_RUNNING, 1);
    assert_no_progress(&world, &seeded);
    let analysisd = bind_receiver(&world, usize::MAX);
    analysisd.wait_for(seeded.ledger.total());
    settle_and_stop(&mut daemon);
    let tally = seeded.ledger.tally(&[analysisd.take_texts()]);
    assert_within_and_report(
        "run mode: analysisd absent for an interval",
        1,
        &tally,
        0,
        "interval fails with 11, next delivers; SIGTERM exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn in_run_mode_analysisd_gone_mid_run_the_next_interval_delivers_the_rest() {
    let tallies = at_fault_points(async |point| {
        let (world, seeded) = seeded_world().await;
        let mut analysisd = bind_receiver(&world, point);

        let mut daemon = spawn(&world, &daemon_args(&world, 1));
        analysisd.wait_for(point);
        analysisd.crash_drained(&daemon);
        daemon.wait_for_line(WAZUH_MUST_BE_RUNNING, 1);
        let first = analysisd.take_texts();
        assert_cut_short(&world, &seeded, &first, "the fault came mid-run");

        analysisd.rebind();
        analysisd.wait_for(seeded.ledger.total() - first.len());
        settle_and_stop(&mut daemon);
        // One process: its sink reconnects; what it delivered before the
        // fault is committed, so nothing comes twice.
        let tally = seeded
            .ledger
            .tally(&[[first, analysisd.take_texts()].concat()]);
        tally.assert_within("run mode: analysisd gone mid-run", 0);
        tally
    })
    .await;
    report_trials(
        "run mode: analysisd gone mid-run",
        &tallies,
        0,
        "interval fails with 11, next delivers the rest; SIGTERM exit 0",
    );
}
