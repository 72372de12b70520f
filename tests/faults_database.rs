//! Database faults, measured with the ledger: a read-only file, a corrupt
//! file (garbage, or a damaged page), a database locked by another wodle-aws
//! (our lock file) or by another program (an SQLite write transaction), and a
//! disk that fills mid-run.
//!
//! Tests run as root, which ignores file modes, so the binary's test hook
//! `WODLE_AWS_TEST_SQLITE` makes SQLite itself misbehave: `read-only` opens
//! the file read-only (as SQLite does with a file owned by another user),
//! `max-page-count=N` makes writes past N pages fail as on a full disk,
//! `busy-timeout-ms=N` shortens the wait for another writer.
//!
//! Every fault must end with a clear message naming the file and the remedy,
//! a non-zero exit, and the checkpoints as they were: no reset, nothing
//! committed lost, and the next good run continues from the checkpoint.

mod support;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use support::ledger::{Ledger, Scale, Tally, report};
use support::seed::one_shot_args;
use support::{Run, World};

const GROUP: &str = "db-faults";
const REGION: &str = "us-east-1";
const HOOK: &str = "WODLE_AWS_TEST_SQLITE";
/// Only so that a broken binary cannot hang the suite.
const WAIT: Duration = Duration::from_secs(20);

/// A world with one log group, a ledger of what was put, and the datagrams
/// of each run so far.
struct Scenario {
    world: World,
    ledger: Ledger,
    /// The timestamp the next event is put at: one millisecond apart.
    next_timestamp: i64,
    runs: Vec<Vec<String>>,
    seen: usize,
}

impl Scenario {
    async fn new() -> Scenario {
        let world = World::new();
        world.moto.seeder(REGION).create_log_group(GROUP).await;
        // Recent and after today 00:00 UTC, the default lower bound.
        let next_timestamp = (world.now - 600_000).max(world.today());
        Scenario {
            world,
            ledger: Ledger::new(),
            next_timestamp,
            runs: Vec::new(),
            seen: 0,
        }
    }

    /// Puts `count` more ledger events into `stream`, creating it first if new.
    async fn put(&mut self, stream: &str, count: usize) {
        let seeder = self.world.moto.seeder(REGION);
        let first = self.ledger.put(stream, count);
        if first == 0 {
            seeder.create_log_stream(GROUP, stream).await;
        }
        let events: Vec<(i64, String)> = (first..first + count)
            .map(|index| {
                self.next_timestamp += 1;
                (
                    self.next_timestamp,
                    Ledger::message(stream, index, "database fault test event"),
                )
            })
            .collect();
        seeder.put_events(GROUP, stream, &events).await;
    }

    /// A scenario whose first run delivered `count` events of stream `app`, with
    /// `count` more put since: a database with checkpoints, and work left.
    async fn after_a_first_run(count: usize) -> Scenario {
        let mut scenario = Scenario::new().await;
        scenario.put("app", count).await;
        scenario.run(None, &[]).expect_code(0);
        scenario.put("app", count).await;
        scenario
    }

    /// A run without fault that must complete, then the whole scenario's delivery
    /// (nothing lost, nothing twice) asserted and reported as `fault`'s row.
    fn rerun_and_report(&mut self, fault: &str, outcome: &str) {
        self.run(None, &[]).expect_code(0);
        let tally = self.tally();
        tally.assert_within(fault, 0);
        report(fault, 1, &tally, outcome);
    }

    fn assert_nothing_sent(&self) {
        assert_eq!(self.last_run(), [] as [String; 0], "nothing is sent");
    }

    fn database(&self) -> PathBuf {
        self.world.database()
    }

    /// A one-shot run over the group; `hook` arms `WODLE_AWS_TEST_SQLITE`.
    /// Its datagrams are recorded as one run.
    fn run(&mut self, hook: Option<&str>, extra: &[&str]) -> Run {
        let mut command = self.world.command(&one_shot_args(GROUP, REGION, extra));
        match hook {
            Some(hook) => command.env(HOOK, hook),
            None => command.env_remove(HOOK),
        };
        let run = Run::of(command);
        let received = settled(&self.world);
        self.runs.push(received[self.seen..].to_vec());
        self.seen = received.len();
        run
    }

    fn last_run(&self) -> &[String] {
        self.runs.last().map_or(&[], Vec::as_slice)
    }

    fn tally(&self) -> Tally {
        self.ledger.tally(&self.runs)
    }
}

/// Everything analysisd received so far, once it all arrived: a datagram of
/// our own is queued behind the binary's and waited for.
fn settled(world: &World) -> Vec<String> {
    world.settled(WAIT)
}

/// The ERROR lines of a run.
fn errors(run: &Run) -> Vec<&str> {
    run.stderr
        .lines()
        .filter(|line| line.starts_with("ERROR: "))
        .collect()
}

/// The one ERROR line of a run that failed on the database.
fn the_error(run: &Run) -> &str {
    match errors(run).as_slice() {
        [line] => line,
        other => panic!("expected one ERROR line, got {other:#?}\n{}", run.stderr),
    }
}

fn assert_contains(text: &str, wanted: &str) {
    assert!(text.contains(wanted), "{wanted:?} not in {text:?}");
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn lock_path(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}.wodle-aws.lock", database.display()))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_database_stops_the_run_before_sending_and_the_next_run_goes_on() {
    let scale = Scale::from_env();
    let per_run = scale.pick(20, 2_000);
    let mut scenario = Scenario::after_a_first_run(per_run).await;
    scenario.put("new", per_run).await;
    let database = scenario.database();
    let before = bytes(&database);

    let run = scenario.run(Some("read-only"), &[]);
    run.expect_code(5);
    assert_eq!(
        the_error(&run),
        format!(
            "ERROR: The checkpoint database {} is read-only: SQLite opened it read-only. Make it, \
             and its directory, writable by the user wodle-aws runs as (wazuh).",
            database.display()
        )
    );
    assert_contains(
        &run.stderr,
        &format!("WARNING: {HOOK}=read-only: a test hook is armed"),
    );
    scenario.assert_nothing_sent();
    assert_eq!(bytes(&database), before, "the database is left as it was");

    scenario.rerun_and_report("database read-only", "exit 5, then exit 0");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_in_place_of_the_database_is_reported_and_left_untouched() {
    let mut scenario = Scenario::new().await;
    scenario.put("app", 5).await;
    let database = scenario.database();
    let garbage = b"not a database, and nobody may reset it\n".repeat(200);
    std::fs::write(&database, &garbage).expect("write the garbage");

    let run = scenario.run(None, &[]);
    run.expect_code(5);
    let error = the_error(&run);
    assert_contains(
        error,
        &format!(
            "ERROR: The checkpoint database {} is corrupt or is not an SQLite database: file is \
             not a database.",
            database.display()
        ),
    );
    assert_contains(
        error,
        "Move it aside to start over (all checkpoints are lost",
    );
    assert_contains(error, "or restore a backup.");
    assert_eq!(bytes(&database), garbage);
    scenario.assert_nothing_sent();

    // The first remedy: moved aside, the next run starts over.
    std::fs::rename(&database, database.with_extension("db.corrupt")).expect("move it aside");
    scenario.rerun_and_report(
        "database is garbage",
        "exit 5, file untouched; moved aside, exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_page_is_reported_the_file_is_left_untouched_and_a_backup_restores_the_run() {
    let scale = Scale::from_env();
    let per_run = scale.pick(20, 2_000);
    let mut scenario = Scenario::after_a_first_run(per_run).await;
    let database = scenario.database();
    let backup = bytes(&database);

    // Garble the root page of the reference's table: the schema (page 1)
    // still reads, so the damage shows only when checkpoints are read.
    let (page, page_size): (i64, i64) = {
        let connection = rusqlite::Connection::open(&database).expect("the database opens");
        let page = connection
            .query_row(
                "SELECT rootpage FROM sqlite_master WHERE name = 'cloudwatch_logs'",
                [],
                |row| row.get(0),
            )
            .expect("the table exists");
        let size = connection
            .query_row("PRAGMA page_size", [], |row| row.get(0))
            .expect("the page size");
        (page, size)
    };
    let mut damaged = backup.clone();
    let start = usize::try_from((page - 1) * page_size).expect("a small offset");
    damaged[start..start + 64].fill(0xA5);
    std::fs::write(&database, &damaged).expect("write the damaged page");

    let run = scenario.run(None, &[]);
    run.expect_code(5);
    let error = the_error(&run);
    assert_contains(
        error,
        &format!(
            "ERROR: The checkpoint database {} is corrupt or is not an SQLite database: database \
             disk image is malformed.",
            database.display()
        ),
    );
    assert_contains(error, "restore a backup");
    assert_eq!(
        bytes(&database),
        damaged,
        "the damaged file is left as found"
    );

    // The second remedy: the backup goes back, and the run goes on from it.
    std::fs::write(&database, &backup).expect("restore the backup");
    scenario.rerun_and_report(
        "database page damaged",
        "exit 5, file untouched; backup restored, exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_wodle_aws_holding_the_lock_stops_the_run_before_sending() {
    let mut scenario = Scenario::after_a_first_run(10).await;
    let database = scenario.database();
    let lock = lock_path(&database);

    // What a running wodle-aws holds: an exclusive lock, its pid inside.
    let mut holder = File::options()
        .read(true)
        .write(true)
        .open(&lock)
        .expect("the lock file exists after a run");
    holder.lock().expect("take the lock");
    holder.set_len(0).expect("truncate");
    writeln!(holder, "424242").expect("write a pid");
    let before = bytes(&database);

    let run = scenario.run(None, &[]);
    run.expect_code(12);
    assert_eq!(
        the_error(&run),
        format!(
            "ERROR: Another wodle-aws process (pid 424242) is using the checkpoint database {db}: \
             it holds the lock file {lock}. Only one wodle-aws may run per database: let it \
             finish or stop it, and make sure no other wodle-aws (a second `run` daemon, a \
             one-shot run by hand) uses {db}.",
            db = database.display(),
            lock = lock.display()
        )
    );
    scenario.assert_nothing_sent();
    assert_eq!(bytes(&database), before);

    drop(holder);
    scenario.rerun_and_report(
        "database locked by another wodle-aws",
        "exit 12, then exit 0",
    );
}

/// Another program's write transaction on the database (the reference run by
/// hand, an sqlite3 shell), holding SQLite's write lock until dropped.
fn hold_write_transaction(database: &Path) -> rusqlite::Connection {
    let holder = rusqlite::Connection::open(database).expect("the database opens");
    holder
        .execute_batch("BEGIN EXCLUSIVE")
        .expect("take the write lock");
    holder
        .execute("UPDATE metadata SET value = value", [])
        .expect("write inside the transaction");
    holder
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_holding_sqlite_s_lock_past_the_busy_timeout_stops_the_run_and_loses_nothing() {
    let mut scenario = Scenario::after_a_first_run(10).await;
    let database = scenario.database();
    let rows = scenario.world.reference_rows();

    let holder = hold_write_transaction(&database);
    let run = scenario.run(Some("busy-timeout-ms=300"), &[]);
    run.expect_code(5);
    let error = the_error(&run);
    assert_contains(
        error,
        &format!(
            "ERROR: The checkpoint database {} stayed locked by another program while",
            database.display()
        ),
    );
    assert_contains(error, "database is locked");
    assert_contains(
        error,
        "Let it finish (or stop it) and run again; no checkpoint was lost.",
    );
    scenario.assert_nothing_sent();
    drop(holder);
    assert_eq!(scenario.world.reference_rows(), rows, "no checkpoint moved");

    scenario.rerun_and_report(
        "database locked by another program",
        "exit 5 after the busy timeout, then exit 0",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_writer_that_finishes_within_the_busy_timeout_is_waited_for() {
    let mut scenario = Scenario::after_a_first_run(10).await;
    let holder = hold_write_transaction(&scenario.database());
    // The default busy timeout (10 s) outlasts the holder by far.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(500));
        holder.execute_batch("COMMIT").expect("commit");
    });
    scenario.run(None, &[]).expect_code(0);
    release.join().expect("the holder finished");
    let tally = scenario.tally();
    tally.assert_within("database briefly locked by another program", 0);
    report(
        "database briefly locked by another program",
        1,
        &tally,
        "waited, exit 0",
    );
}

/// One disk-full trial: a run whose database may grow by `margin` pages over
/// what a first run left, then a run without the limit. Returns the tally and
/// how many datagrams the run that filled the disk sent.
async fn disk_full_trial(margin: u32, streams: usize, per_stream: usize) -> (Tally, usize) {
    let commit_every: usize = 5;
    let mut scenario = Scenario::new().await;
    scenario.put("first", per_stream).await;
    scenario.run(None, &[]).expect_code(0);
    let rows_before = scenario.world.reference_rows();
    let database = scenario.database();
    let pages: u32 = rusqlite::Connection::open(&database)
        .expect("the database opens")
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .expect("the page count");

    // Long stream names fill pages fast: each stream's rows (the reference's
    // and our cursor, with their keys) take a good part of a page.
    for index in 0..streams {
        let name = format!("{index:03}-{}", "x".repeat(400));
        scenario.put(&name, per_stream).await;
    }
    scenario.put("first", per_stream).await;

    let commit_flag = commit_every.to_string();
    let hook = format!("max-page-count={}", pages + margin);
    let run = scenario.run(
        Some(&hook),
        &[
            "--commit-every",
            &commit_flag,
            "--max-concurrent-streams",
            "1",
        ],
    );
    run.expect_code(5);
    let error = the_error(&run);
    assert_contains(
        error,
        &format!(
            "ERROR: The checkpoint database {} could not be written while",
            database.display()
        ),
    );
    assert_contains(error, "the disk is full (database or disk is full)");
    assert_contains(
        error,
        "Free space on its file system; the checkpoints committed so far are kept",
    );
    let sent_while_full = scenario.last_run().len();
    assert!(
        sent_while_full > commit_every,
        "the disk filled after some commits, not at the first: {sent_while_full} sent"
    );
    // What was committed before stays (rows may only have moved on).
    let rows_after = scenario.world.reference_rows();
    for row in &rows_before {
        let kept = rows_after
            .iter()
            .find(|after| after.0 == row.0 && after.1 == row.1 && after.2 == row.2)
            .unwrap_or_else(|| panic!("the row of {:?} is gone: {rows_after:?}", row.2));
        assert!(kept.5 >= row.5, "{kept:?} went back from {row:?}");
    }

    // Space again: the next run goes on from what the full run committed, so
    // it re-sends at most what that run delivered after its last commit.
    scenario.run(None, &[]).expect_code(0);
    let tally = scenario.tally();
    tally.assert_within(
        &format!("disk full mid-run (+{margin} pages)"),
        commit_every,
    );
    (tally, sent_while_full)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disk_filling_mid_run_fails_the_commit_keeps_the_checkpoints_and_the_next_run_delivers_the_rest()
 {
    let scale = Scale::from_env();
    // How many pages the database may grow: the disk fills earlier or later.
    let margins: Vec<u32> = scale.pick(vec![2], vec![1, 4, 16]);
    let streams = scale.pick(12, 60);
    let per_stream = scale.pick(20, 200);
    let mut total = Tally::default();
    let mut sent = Vec::new();
    for &margin in &margins {
        let (tally, sent_while_full) = disk_full_trial(margin, streams, per_stream).await;
        total.add(&tally);
        sent.push(sent_while_full.to_string());
    }
    report(
        "disk full mid-run",
        margins.len(),
        &total,
        &format!("exit 5 after {} sent, then exit 0", sent.join("/")),
    );
}
