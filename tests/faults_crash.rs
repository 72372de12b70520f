//! Crashes and stops mid-run, measured with the ledger.
//!
//! SIGKILL: the test hook `WODLE_AWS_TEST_KILL` makes the binary kill itself
//! exactly after the N-th accepted datagram (`delivered=N`), inside the N-th
//! commit before it is durable (`commit-written=N`), or right after it
//! (`committed=N`). The kills of one test are chained in one database: the
//! backfill is seeded once, each run is killed at its point and the next run
//! resumes from what the killed one committed (and is itself killed), until a
//! last run without the hook completes the backfill. What each kill cost is
//! what the run after it sent again, and it is exactly the events delivered
//! since the last durable commit: `N mod commit_every` after `delivered=N`,
//! `commit_every` after `commit-written`, none after `committed`.
//!
//! SIGTERM and SIGINT: an analysisd that stops reading holds the run mid-way;
//! the signal comes, analysisd reads again, and the run delivers what it has
//! in hand, commits and exits (0, or 2 after SIGINT); the next run completes:
//! nothing lost, nothing sent twice, and the reference's rows of the stopped
//! run end exactly at the last event it delivered.

mod support;

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::process::ExitStatus;

use support::ledger::{Ledger, Scale, Tally, report};
use support::seed::{self, date_arg, ledger_events};
use support::{DAY_MS, Run, StallingReceiver, World};

const GROUP: &str = "backfill";
const REGION: &str = "us-east-1";
const KILL_ENV: &str = "WODLE_AWS_TEST_KILL";
const SIGKILL: i32 = 9;

/// Streams of one group, seeded with ledger events stamped one millisecond
/// apart from yesterday 01:00 UTC (read from `only_logs_after`, two days ago),
/// an analysisd that reads everything, and the datagrams of each run so far.
struct Backfill {
    world: World,
    ledger: Ledger,
    streams: Vec<String>,
    per_stream: usize,
    /// The timestamp of every stream's event 0; event `i` is `first + i`.
    first: i64,
    analysisd: StallingReceiver,
    /// Datagrams of each run, in arrival order.
    runs: Vec<Vec<String>>,
    seen: usize,
}

impl Backfill {
    async fn seed(streams: usize, per_stream: usize, analysisd_reads: usize) -> Backfill {
        let world = World::new();
        let seeder = world.moto.seeder(REGION);
        seeder.create_log_group(GROUP).await;
        let first = world.today() - DAY_MS + 3_600_000;
        let mut ledger = Ledger::new();
        let names: Vec<String> = (0..streams).map(|s| format!("s{s}")).collect();
        let mut seeding = Vec::new();
        for name in &names {
            seeder.create_log_stream(GROUP, name).await;
            let events = ledger_events(&mut ledger, name, per_stream, first, "crash test event");
            let seeder = seeder.clone();
            let name = name.clone();
            seeding.push(tokio::spawn(async move {
                seeder.put_events(GROUP, &name, &events).await;
            }));
        }
        for task in seeding {
            task.await.expect("seeding a stream");
        }
        let analysisd = StallingReceiver::bind(
            world.home.path().join("queue/sockets/crash"),
            analysisd_reads,
        );
        Backfill {
            world,
            ledger,
            streams: names,
            per_stream,
            first,
            analysisd,
            runs: Vec::new(),
            seen: 0,
        }
    }

    fn total(&self) -> usize {
        self.ledger.total()
    }

    /// The flags of a one-shot run over the whole backfill.
    fn one_shot_args(&self, extra: &[&str]) -> Vec<String> {
        let after = date_arg(self.first - DAY_MS);
        let socket = self.analysisd.path().to_str().expect("a UTF-8 path");
        let flags = ["--only_logs_after", &after, "--queue-socket", socket];
        let mut args: Vec<String> = seed::one_shot_args(GROUP, REGION, &flags)
            .into_iter()
            .map(str::to_owned)
            .collect();
        args.extend(extra.iter().map(|arg| arg.to_string()));
        args
    }

    fn command(&self, args: &[String], kill: Option<&str>) -> std::process::Command {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = self.world.command(&args);
        match kill {
            Some(point) => command.env(KILL_ENV, point),
            None => command.env_remove(KILL_ENV),
        };
        command
    }

    /// Runs the binary to its end; its datagrams become the next run's.
    fn run(&mut self, args: &[String], kill: Option<&str>) -> (ExitStatus, String) {
        let output = self
            .command(args, kill)
            .output()
            .expect("the wodle-aws binary runs");
        self.end_run();
        (
            output.status,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// Everything analysisd has accepted so far is read: it is the last run's.
    fn end_run(&mut self) -> &[String] {
        let all = self.analysisd.flush();
        self.runs.push(all[self.seen..].to_vec());
        self.seen = all.len();
        self.runs.last().expect("a run was just recorded")
    }

    fn tally(&self, runs: usize) -> Tally {
        self.ledger.tally(&self.runs[..runs])
    }

    /// For each run, how many of its datagrams a later run delivered again.
    fn resent_by_run(&self) -> Vec<u64> {
        let mut last_run: std::collections::HashMap<&str, usize> = Default::default();
        let mut resent = vec![0; self.runs.len()];
        for (run, datagrams) in self.runs.iter().enumerate() {
            for datagram in datagrams {
                if let Some(earlier) = last_run.insert(identity(datagram), run) {
                    resent[earlier] += 1;
                }
            }
        }
        resent
    }

    /// The reference's rows as (stream, end_time), for the test's group.
    fn end_times(&self) -> BTreeMap<String, Option<i64>> {
        self.world
            .reference_rows()
            .into_iter()
            .filter(|(region, group, ..)| region == REGION && group == GROUP)
            .map(|(_, _, stream, _, _, end_time)| (stream, end_time))
            .collect()
    }

    /// What the rows must say once every stream was read to its end.
    fn complete_end_times(&self) -> BTreeMap<String, Option<i64>> {
        let last = self.first + self.per_stream as i64 - 1;
        self.streams
            .iter()
            .map(|stream| (stream.clone(), Some(last)))
            .collect()
    }
}

/// `stream#index` of a ledger event's datagram.
fn identity(datagram: &str) -> &str {
    let message = datagram.strip_prefix("1:Wazuh-AWS:").unwrap_or(datagram);
    message.split(' ').next().unwrap_or(message)
}

// ---------------------------------------------------------------------------
// SIGKILL at chosen points.

#[derive(Clone, Copy, Debug)]
enum Kill {
    /// After the kernel accepted the N-th datagram of the run.
    Delivered(u64),
    /// Inside the N-th commit of the run: rows written, not committed.
    CommitWritten(u64),
    /// Right after the N-th commit of the run.
    Committed(u64),
}

impl Kill {
    fn env_value(self) -> String {
        match self {
            Kill::Delivered(n) => format!("delivered={n}"),
            Kill::CommitWritten(n) => format!("commit-written={n}"),
            Kill::Committed(n) => format!("committed={n}"),
        }
    }

    /// The datagrams the killed run delivered: the point itself.
    fn delivered_before(self, commit_every: u64) -> u64 {
        match self {
            Kill::Delivered(n) => n,
            Kill::CommitWritten(n) | Kill::Committed(n) => n * commit_every,
        }
    }

    /// What the next run sends again: what was delivered after the last
    /// durable commit.
    fn resent_after(self, commit_every: u64) -> u64 {
        match self {
            Kill::Delivered(n) => n % commit_every,
            Kill::CommitWritten(_) => commit_every,
            Kill::Committed(_) => 0,
        }
    }
}

/// `kind` of kill at each of `suite`'s points in the test suite, at each of `full`'s under
/// `cargo xtask faults`, in that order.
fn kill_points(kind: fn(u64) -> Kill, suite: &[u64], full: &[u64]) -> Vec<Kill> {
    let points = Scale::from_env().pick(suite, full);
    points.iter().copied().map(kind).collect()
}

/// Seeds the backfill, chains `kills` over it in one database, completes it,
/// and checks and reports what each kill cost.
async fn chained_kills(fault: &str, kills: &[Kill]) {
    let scale = Scale::from_env();
    let streams = 5;
    let per_stream = scale.pick(2_000, 25_000);
    let commit_every: u64 = scale.pick(200, 1_000);
    let mut backfill = Backfill::seed(streams, per_stream, usize::MAX).await;
    let every = commit_every.to_string();
    let args = backfill.one_shot_args(&["--commit-every", &every]);

    for (trial, kill) in kills.iter().enumerate() {
        let (status, stderr) = backfill.run(&args, Some(&kill.env_value()));
        assert_eq!(
            status.signal(),
            Some(SIGKILL),
            "kill {trial} at {kill:?} ended with {status:?}, not SIGKILL:\n{stderr}"
        );
        assert!(
            stderr.contains(&format!("{KILL_ENV}={} is set", kill.env_value())),
            "the hook is announced:\n{stderr}"
        );
        let delivered = backfill.runs.last().expect("the killed run").len() as u64;
        assert_eq!(
            delivered,
            kill.delivered_before(commit_every),
            "kill {trial} at {kill:?}: the killed run delivered exactly up to its point"
        );
    }
    let (status, stderr) = backfill.run(&args, None);
    assert_eq!(status.code(), Some(0), "the last run completes:\n{stderr}");

    let tally = backfill.tally(backfill.runs.len());
    tally.assert_within(fault, kills.len() * commit_every as usize);
    // What each kill cost: the events its run delivered that a later run sent
    // again (streams are read in a different order each run, so a re-send
    // may come runs later).
    let resent = backfill.resent_by_run();
    for (trial, kill) in kills.iter().enumerate() {
        let cost = resent[trial];
        assert!(
            cost <= commit_every,
            "kill {trial} at {kill:?} re-sent {cost} events, more than the commit interval {commit_every}"
        );
        assert_eq!(
            cost,
            kill.resent_after(commit_every),
            "kill {trial} at {kill:?}: exactly what was delivered after the last commit is sent again"
        );
    }
    assert_eq!(
        resent[kills.len()],
        0,
        "the completing run is never repeated"
    );
    assert_eq!(tally.foreign, 0, "{tally:?}");
    assert_eq!(tally.put, streams * per_stream);
    assert_eq!(
        backfill.end_times(),
        backfill.complete_end_times(),
        "every stream's row ends at its last event"
    );
    let max = resent.iter().copied().max().unwrap_or(0);
    report(
        fault,
        kills.len(),
        &tally,
        &format!(
            "{} SIGKILLs chained, then exit 0; max re-sent per kill {max} (bound {commit_every})",
            kills.len()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_page_resends_only_what_followed_the_last_commit() {
    // Points that are neither a multiple of the commit interval nor a page
    // boundary (moto's pages hold 10,000 events; a CI stream is one page).
    let kills = kill_points(
        Kill::Delivered,
        &[1_337, 523, 1_871],
        &[
            4_321, 7_777, 2_345, 9_999, 6_543, 3_210, 11_111, 5_432, 8_765, 1_234,
        ],
    );
    chained_kills("SIGKILL mid-page", &kills).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_mid_commit_rolls_back_and_resends_one_commit_interval() {
    let kills = kill_points(Kill::CommitWritten, &[4, 1, 7], &[3, 12, 1, 20, 7, 9, 15]);
    chained_kills("SIGKILL mid-commit", &kills).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigkill_right_after_a_commit_resends_nothing() {
    let kills = kill_points(Kill::Committed, &[3, 6], &[5, 11, 2, 17, 8, 13, 4]);
    chained_kills("SIGKILL after a commit", &kills).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unparsable_kill_point_is_a_startup_error_naming_the_variable() {
    let world = World::new();
    for value in ["delivered", "delivered=0", "sent=3", "committed=x"] {
        let mut command = world.command(&seed::one_shot_args(GROUP, REGION, &[]));
        command.env(KILL_ENV, value);
        let run = Run::of(command);
        run.expect_code(1);
        assert_eq!(
            run.stderr_lines(),
            [format!(
                "ERROR: invalid value for {KILL_ENV}: {value:?}; expected delivered=N, \
                 commit-written=N or committed=N (N a whole number >= 1)"
            )],
            "{value}"
        );
    }
    assert!(world.received().is_empty());
}

// ---------------------------------------------------------------------------
// SIGTERM and SIGINT mid-run.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    OneShot,
    Daemon,
}

/// Holds a run mid-way with an analysisd that stops reading, sends `signal`,
/// lets analysisd read again, and checks that the stopped run exits with
/// `code` having checkpointed exactly what it delivered; then a run completes
/// it with nothing lost and nothing sent twice.
async fn stop_mid_run(fault: &str, mode: Mode, signal: &str, code: i32) {
    let scale = Scale::from_env();
    // Streams read one at a time (--max-concurrent-streams 1) keep most of
    // them unread while the first ones wait on analysisd.
    let streams = scale.pick(10, 20);
    let per_stream = scale.pick(500, 5_000);
    let reads_before_stall = scale.pick(300, 3_000);
    let mut backfill = Backfill::seed(streams, per_stream, reads_before_stall).await;
    let one_shot = backfill.one_shot_args(&["--max-concurrent-streams", "1"]);
    let (stopped_args, completing_args) = match mode {
        Mode::OneShot => (one_shot.clone(), one_shot),
        Mode::Daemon => {
            let config = backfill.world.write_config(
                "ossec.conf",
                &format!(
                    "<wodle name=\"aws-s3\">\n  <disabled>no</disabled>\n  \
                     <interval>1h</interval>\n  <run_on_start>yes</run_on_start>\n  \
                     <service type=\"cloudwatchlogs\">\n    \
                     <aws_log_groups>{GROUP}</aws_log_groups>\n    <regions>{REGION}</regions>\n    \
                     <only_logs_after>{}</only_logs_after>\n  </service>\n</wodle>\n",
                    date_arg(backfill.first - DAY_MS)
                ),
            );
            let config = config.to_str().expect("a UTF-8 path").to_owned();
            let args: Vec<String> = [
                "run",
                "--config",
                &config,
                "--max-concurrent-streams",
                "1",
                "--queue-socket",
                backfill.analysisd.path().to_str().expect("a UTF-8 path"),
            ]
            .iter()
            .map(|arg| arg.to_string())
            .collect();
            let mut once = args.clone();
            once.push("--once".to_owned());
            (args, once)
        }
    };

    let mut process = support::Daemon::spawn(backfill.command(&stopped_args, None));
    backfill.analysisd.wait_for(reads_before_stall);
    process.signal(signal);
    backfill.analysisd.read_all();
    assert_eq!(
        process.wait_exit(),
        Some(code),
        "{}",
        process.lines().join("\n")
    );
    let stopped = backfill.end_run().to_vec();
    assert!(
        stopped.len() < backfill.total(),
        "the signal stopped the run mid-way: {} of {} delivered",
        stopped.len(),
        backfill.total()
    );
    // The checkpoint is exactly at delivery: each row ends at the last event
    // the stopped run delivered from its stream, and unread streams have none.
    let mut delivered_up_to: BTreeMap<String, Option<i64>> = BTreeMap::new();
    for datagram in &stopped {
        let (stream, index) = identity(datagram).rsplit_once('#').expect("stream#index");
        let index: i64 = index.parse().expect("an index");
        delivered_up_to.insert(stream.to_owned(), Some(backfill.first + index));
    }
    assert_eq!(
        backfill.end_times(),
        delivered_up_to,
        "rows of the stopped run"
    );

    let (status, stderr) = backfill.run(&completing_args, None);
    assert_eq!(status.code(), Some(0), "the next run completes:\n{stderr}");
    let tally = backfill.tally(2);
    tally.assert_within(fault, 0);
    assert_eq!(tally.foreign, 0, "{tally:?}");
    assert_eq!(backfill.end_times(), backfill.complete_end_times());
    report(
        fault,
        1,
        &tally,
        &format!(
            "exit {code} after {} of {} events, then exit 0",
            stopped.len(),
            backfill.total()
        ),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_of_the_daemon_loses_nothing_and_sends_nothing_twice() {
    stop_mid_run("SIGTERM mid-run (run --config)", Mode::Daemon, "TERM", 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_run_of_the_daemon_loses_nothing_and_sends_nothing_twice() {
    stop_mid_run("SIGINT mid-run (run --config)", Mode::Daemon, "INT", 2).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_of_the_one_shot_loses_nothing_and_sends_nothing_twice() {
    stop_mid_run("SIGTERM mid-run (one-shot)", Mode::OneShot, "TERM", 0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_run_of_the_one_shot_loses_nothing_and_sends_nothing_twice() {
    stop_mid_run("SIGINT mid-run (one-shot)", Mode::OneShot, "INT", 2).await;
}
