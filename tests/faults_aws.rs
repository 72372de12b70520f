//! Faults from AWS, end to end: the binary → the fault proxy → moto, with a real analysisd
//! socket and a real database, measured with the ledger.
//!
//! Each test seeds a group of streams with ledger events, puts a [`FaultProxy`] between the
//! binary and moto (`AWS_ENDPOINT_URL`), arms a fault and runs the reference's one-shot
//! command; when the fault is meant to exhaust the retries, the run fails and a second run
//! without it completes. Then every event that still exists must have been delivered, in
//! order per stream, none twice. The proxy makes moto answer in small pages (as AWS does for
//! larger streams), so that a fault can land in the middle of a stream.

mod support;

use std::time::Duration;

use support::ledger::{Ledger, Scale, Tally, report};
use support::seed::date_arg;
use support::seed::put_ledger_stream;
use support::{DAY_MS, Daemon, World};
use wodle_fault_proxy::{Fault, FaultProxy, FaultRule};

const GROUP: &str = "faults";
const REGION: &str = "us-east-1";
const HOUR_MS: i64 = 3_600_000;
const HEADER: &str = "1:Wazuh-AWS:";

/// How large a test runs: in the suite, a few seconds; under `cargo xtask faults`, larger.
#[derive(Clone, Copy, Debug)]
struct Size {
    streams: usize,
    per_stream: usize,
    /// Events per GetLogEvents page (moto answers in pages of this many).
    page: usize,
    commit_every: usize,
}

fn size() -> Size {
    Scale::from_env().pick(
        Size {
            streams: 3,
            per_stream: 300,
            page: 50,
            commit_every: 40,
        },
        Size {
            streams: 5,
            per_stream: 5_000,
            page: 500,
            commit_every: 1_000,
        },
    )
}

/// One test's world, ledger and proxy, and what each run delivered.
struct Case {
    world: World,
    ledger: Ledger,
    /// Every group seeded, with its streams.
    groups: Vec<(String, Vec<String>)>,
    proxy: FaultProxy,
    size: Size,
    /// Datagrams of each run so far, in arrival order.
    runs: Vec<Vec<String>>,
    seen: usize,
}

/// How a run ended.
struct Ended {
    code: Option<i32>,
    stderr: Vec<String>,
}

impl Ended {
    fn stderr(&self) -> String {
        self.stderr.join("\n")
    }

    fn expect_code(&self, code: i32) -> &Ended {
        assert_eq!(
            self.code,
            Some(code),
            "exit code; stderr:\n{}",
            self.stderr()
        );
        self
    }

    /// Panics unless some stderr line contains every one of `parts`.
    fn expect_line_with(&self, parts: &[&str]) -> &Ended {
        assert!(
            self.stderr
                .iter()
                .any(|line| parts.iter().all(|part| line.contains(part))),
            "no stderr line contains all of {parts:?}:\n{}",
            self.stderr()
        );
        self
    }
}

impl Case {
    /// [`size`]'s streams in [`GROUP`], seeded with ledger events.
    async fn seed() -> Case {
        let size = size();
        let streams: Vec<String> = (0..size.streams).map(|i| format!("s{i}")).collect();
        Case::seed_groups(size, &[(GROUP, &streams)], "event body").await
    }

    /// Groups of streams, `size.per_stream` events each with messages `body` after their
    /// identity, stamped a millisecond apart from an hour ago.
    async fn seed_groups(size: Size, groups: &[(&str, &[String])], body: &str) -> Case {
        let world = World::new();
        let seeder = world.moto.seeder(REGION);
        let mut ledger = Ledger::new();
        let first = world.now - HOUR_MS;
        for (group, streams) in groups {
            seeder.create_log_group(group).await;
            for stream in *streams {
                put_ledger_stream(
                    &seeder,
                    &mut ledger,
                    group,
                    stream,
                    size.per_stream,
                    first,
                    body,
                )
                .await;
            }
        }
        let proxy = FaultProxy::start(&world.moto.endpoint_url());
        proxy.limit_pages(size.page);
        Case {
            world,
            ledger,
            groups: groups
                .iter()
                .map(|(group, streams)| ((*group).to_owned(), streams.to_vec()))
                .collect(),
            proxy,
            size,
            runs: Vec::new(),
            seen: 0,
        }
    }

    /// Runs the one-shot command through the proxy with `env` and `args` added, bounded by
    /// the daemon helper's wait; records what analysisd received during the run.
    fn run(&mut self, env: &[(&str, &str)], args: &[&str]) -> Ended {
        let groups: Vec<&str> = self.groups.iter().map(|(g, _)| g.as_str()).collect();
        let groups = groups.join(",");
        let after = date_arg(self.world.now - DAY_MS);
        let commit_every = self.size.commit_every.to_string();
        let mut all = vec![
            "--service",
            "cloudwatchlogs",
            "--aws_log_groups",
            &groups,
            "--regions",
            REGION,
            "--only_logs_after",
            &after,
            "--commit-every",
            &commit_every,
        ];
        all.extend_from_slice(args);
        let mut command = self.world.command(&all);
        command.env("AWS_ENDPOINT_URL", self.proxy.endpoint_url());
        command.envs(env.iter().copied());
        let mut daemon = Daemon::spawn(command);
        let code = daemon.wait_exit();
        let stderr = daemon.lines();
        let received = self.delivered();
        self.runs.push(received[self.seen..].to_vec());
        self.seen = received.len();
        // Shown when a test fails (or with --no-capture): what each run did.
        eprintln!(
            "--- run {}: exit {code:?}, {} datagrams, {} faults injected so far\n{}",
            self.runs.len(),
            self.runs.last().map_or(0, Vec::len),
            self.proxy.injected(),
            stderr.join("\n")
        );
        Ended { code, stderr }
    }

    /// Everything analysisd received, once all the binary sent has arrived: a datagram of
    /// ours queues behind the binary's, so when it shows up nothing is in flight.
    fn delivered(&self) -> Vec<String> {
        self.world.settled(Duration::from_secs(30))
    }

    fn tally(&self) -> Tally {
        self.ledger.tally(&self.runs)
    }

    /// A new proxy in front of moto, with no faults, after the old one vanished or
    /// failed every call.
    fn fresh_endpoint(&mut self) {
        self.proxy = FaultProxy::start(&self.world.moto.endpoint_url());
        self.proxy.limit_pages(self.size.page);
    }
}

/// How many times each fault is tried, each time at another point of the read: once in the
/// suite, more under `cargo xtask faults`.
fn trial_count() -> usize {
    Scale::from_env().pick(1, 3)
}

/// What the trials of one fault measured, summed into one row of the table.
#[derive(Default)]
struct Trials {
    count: usize,
    tally: Tally,
}

impl Trials {
    /// Asserts this trial's delivery (nothing lost, in order, nothing twice) and adds it up.
    fn add(&mut self, fault: &str, case: &Case) {
        let tally = case.tally();
        tally.assert_within(&format!("{fault} (trial {})", self.count + 1), 0);
        self.count += 1;
        self.tally.add(&tally);
    }

    fn report(&self, fault: &str, outcome: &str) {
        report(fault, self.count, &self.tally, outcome);
    }

    /// Asserts and reports a fault tried once, on `case`.
    fn report_one(fault: &str, case: &Case, outcome: &str) {
        let mut trials = Trials::default();
        trials.add(fault, case);
        trials.report(fault, outcome);
    }
}

/// Tries `fault` [`trial_count`] times, each on a freshly seeded case whose proxy injects
/// `rules(trial)`: one run with `args`, which must absorb exactly `injected` faults and
/// exit 0 with every event delivered once. Reports the trials as one row.
async fn retried_within_one_run(
    fault: &str,
    args: &[&str],
    injected: usize,
    outcome: &str,
    rules: impl Fn(usize) -> Vec<FaultRule>,
) {
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        for rule in rules(trial) {
            case.proxy.add(rule);
        }
        case.run(&[], args).expect_code(0);
        assert_eq!(case.proxy.injected(), injected);
        trials.add(fault, &case);
    }
    trials.report(fault, outcome);
}

/// `AWS_MAX_ATTEMPTS` for runs whose fault must exhaust the retries quickly.
const FEW_ATTEMPTS: (&str, &str) = ("AWS_MAX_ATTEMPTS", "2");

#[tokio::test]
async fn a_throttling_storm_within_the_retry_budget_costs_nothing() {
    let fault = "ThrottlingException storm (within retries)";
    retried_within_one_run(fault, &[], 5, "exit 0; 1 run", |trial| {
        // Two in a row on the listing and three on the pages: the default budget is 10 attempts.
        vec![
            FaultRule::on("DescribeLogStreams", Fault::Throttle).times(2),
            FaultRule::on("GetLogEvents", Fault::Throttle)
                .skip(2 + 5 * trial)
                .times(3),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_throttling_storm_beyond_the_retry_budget_fails_clearly_and_a_rerun_completes() {
    const FAULT: &str = "ThrottlingException storm (beyond retries)";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        case.proxy.add(
            FaultRule::on("GetLogEvents", Fault::Throttle)
                .skip(2 + 4 * trial)
                .times(usize::MAX),
        );
        // Each failed stream says why, and the run ends with the AWS client error's code.
        case.run(&[FEW_ATTEMPTS], &[])
            .expect_code(16)
            .expect_line_with(&[
                "ERROR: The \"get_log_events\" request failed",
                "(ThrottlingException)",
                "Rate exceeded",
                "stream \"s",
            ]);
        let after_failure = case.tally();
        assert!(
            after_failure.delivered > 0 && after_failure.lost > 0,
            "the storm began after some pages: {after_failure:?}"
        );
        case.proxy.clear();
        case.run(&[FEW_ATTEMPTS], &[]).expect_code(0);
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 16, then exit 0");
}

#[tokio::test]
async fn bursts_of_server_errors_are_retried() {
    retried_within_one_run("5xx bursts", &[], 8, "exit 0; 1 run", |trial| {
        vec![
            FaultRule::on("DescribeLogStreams", Fault::ServerError(500)).times(2),
            FaultRule::on("GetLogEvents", Fault::ServerError(503))
                .skip(1 + trial)
                .times(3),
            FaultRule::on("GetLogEvents", Fault::ServerError(500))
                .skip(4 + 3 * trial)
                .times(3),
        ]
    })
    .await;
}

#[tokio::test]
async fn connections_reset_before_the_response_are_retried() {
    let fault = "connection reset before response";
    retried_within_one_run(fault, &[], 4, "exit 0; 1 run", |trial| {
        vec![
            FaultRule::on("DescribeLogStreams", Fault::ResetBeforeResponse),
            FaultRule::on("GetLogEvents", Fault::ResetBeforeResponse)
                .skip(1 + 4 * trial)
                .times(3),
        ]
    })
    .await;
}

#[tokio::test]
async fn connections_reset_mid_body_are_retried() {
    let fault = "connection reset mid-body";
    retried_within_one_run(fault, &[], 4, "exit 0; 1 run", |trial| {
        vec![
            FaultRule::on("DescribeLogStreams", Fault::ResetMidBody),
            FaultRule::on("GetLogEvents", Fault::ResetMidBody)
                .skip(2 + 4 * trial)
                .times(3),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_stall_past_the_attempt_timeout_is_abandoned_and_retried() {
    retried_within_one_run(
        "stall past the attempt timeout",
        &["--aws-attempt-timeout", "1"],
        3,
        "exit 0; 1 run (--aws-attempt-timeout 1)",
        |trial| {
            // Far longer than the run may take: only the attempt timeout can end these.
            let stall = Fault::Stall(Duration::from_secs(600));
            vec![
                FaultRule::on("DescribeLogStreams", stall.clone()),
                FaultRule::on("GetLogEvents", stall)
                    .skip(2 + 4 * trial)
                    .times(2),
            ]
        },
    )
    .await;
}

#[tokio::test]
async fn slow_responses_only_slow_the_run() {
    let slow = Scale::from_env().pick(10, 50);
    retried_within_one_run("slow responses", &[], slow, "exit 0; 1 run", |trial| {
        vec![
            FaultRule::any(Fault::Slow(Duration::from_millis(200)))
                .skip(1 + trial)
                .times(slow),
        ]
    })
    .await;
}

#[tokio::test]
async fn empty_pages_before_the_end_are_followed() {
    let fault = "empty pages before the end";
    retried_within_one_run(fault, &[], 7, "exit 0; 1 run", |trial| {
        // Empty first pages, then empty pages between full ones, some in a row.
        vec![
            FaultRule::on("GetLogEvents", Fault::EmptyPage).times(2),
            FaultRule::on("GetLogEvents", Fault::EmptyPage)
                .skip(3 + trial)
                .times(3),
            FaultRule::on("GetLogEvents", Fault::EmptyPage)
                .skip(8 + 3 * trial)
                .times(2),
        ]
    })
    .await;
}

#[tokio::test]
async fn a_token_rejected_mid_read_falls_back_to_reading_by_time() {
    const FAULT: &str = "token rejected mid-read";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        let streams = case.groups[0].1.clone();
        // Once per stream, on a request that carries a token (the second page on).
        for stream in &streams {
            case.proxy.add(
                FaultRule::on("GetLogEvents", Fault::RejectToken)
                    .stream(stream.clone())
                    .skip(trial),
            );
        }
        case.run(&[], &[])
            .expect_code(0)
            .expect_line_with(&["rejected the forward token", "resuming"]);
        assert_eq!(case.proxy.injected(), streams.len());
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 0; 1 run");
}

#[tokio::test]
async fn an_expired_stored_token_falls_back_to_reading_by_time() {
    const FAULT: &str = "stored token rejected";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        // A first run ends with tokens stored mid-stream...
        case.proxy.add(
            FaultRule::on("GetLogEvents", Fault::Throttle)
                .skip((2 + trial) * case.size.streams)
                .times(usize::MAX),
        );
        case.run(&[("AWS_MAX_ATTEMPTS", "1")], &[]).expect_code(16);
        let rows = case.world.reference_rows();
        assert!(
            rows.iter().any(|row| row.3.is_some()),
            "a token was stored: {rows:?}"
        );
        let throttled = case.proxy.injected();
        // ...which AWS no longer accepts in the next: once per stream (AWS does not reject
        // the fresh tokens it has just given), on the stored token or, for a stream stopped
        // before its first page, on the first token of the run.
        case.proxy.clear();
        for stream in case.groups[0].1.clone() {
            case.proxy
                .add(FaultRule::on("GetLogEvents", Fault::RejectToken).stream(stream));
        }
        case.run(&[], &[])
            .expect_code(0)
            .expect_line_with(&["rejected the forward token", "resuming"]);
        assert_eq!(case.proxy.injected() - throttled, case.size.streams);
        trials.add(FAULT, &case);
    }
    trials.report(
        FAULT,
        "exit 0 on the rejected tokens (stored by a setup run throttled to exit 16)",
    );
}

#[tokio::test]
async fn a_stream_deleted_mid_read_leaves_the_others_complete() {
    const FAULT: &str = "stream deleted mid-read";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        let deleted = case.groups[0].1[1].clone();
        case.proxy.add(
            FaultRule::on("GetLogEvents", Fault::DeleteStream)
                .stream(deleted.clone())
                .skip(2 + trial),
        );
        // The stream fails (exit 16, naming it); the others are read to their end.
        case.run(&[], &[])
            .expect_code(16)
            .expect_line_with(&[&format!("log stream \"{deleted}\""), "does not exist"]);
        assert_eq!(case.proxy.injected(), 1);
        // What it delivered before the deletion no longer exists: the ledger holds the rest.
        case.ledger.remove(&deleted);
        case.run(&[], &[]).expect_code(0);
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 16, then exit 0");
}

#[tokio::test]
async fn a_group_deleted_mid_read_leaves_the_other_groups_complete() {
    const FAULT: &str = "group deleted mid-read";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let size = size();
        let doomed: Vec<String> = (0..size.streams).map(|i| format!("d{i}")).collect();
        let kept: Vec<String> = (0..size.streams).map(|i| format!("k{i}")).collect();
        let mut case =
            Case::seed_groups(size, &[("doomed", &doomed), ("kept", &kept)], "event body").await;
        case.proxy.add(
            FaultRule::on("GetLogEvents", Fault::DeleteGroup)
                .stream(doomed[0].clone())
                .skip(2 + trial),
        );
        // Every stream of the group fails, naming it; the other group is read to its end.
        case.run(&[], &[])
            .expect_code(16)
            .expect_line_with(&["log stream \"d0\" of group \"doomed\"", "does not exist"]);
        assert_eq!(case.proxy.injected(), 1);
        for stream in &doomed {
            case.ledger.remove(stream);
        }
        // The group is gone: the reference's missing-group error; nothing more to deliver.
        case.run(&[], &[])
            .expect_code(16)
            .expect_line_with(&["(ResourceNotFoundException)", "log group \"doomed\""]);
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 16, then exit 16 (group missing)");
}

#[tokio::test]
async fn pages_of_1_mib_events_arrive_truncated_with_their_identity() {
    const FAULT: &str = "1 MiB events in 1 MiB pages";
    let mut size = size();
    size.per_stream = Scale::from_env().pick(3, 20);
    size.page = 1;
    // The largest event PutLogEvents takes: 1 MiB with its 26 bytes of overhead.
    let body = "x".repeat(1_048_576 - 26 - "s0#00 ".len());
    let streams: Vec<String> = (0..size.streams).map(|i| format!("s{i}")).collect();
    let mut case = Case::seed_groups(size, &[(GROUP, &streams)], &body).await;
    let max_datagram = 8_192;
    let run = case.run(&[], &["--max-datagram", &max_datagram.to_string()]);
    run.expect_code(0);
    for stream in &streams {
        run.expect_line_with(&[
            "WARNING: Event of 1048549 bytes",
            &format!("log group \"{GROUP}\", stream \"{stream}\""),
            "was truncated to",
        ]);
    }
    // Each datagram is exactly the limit, and starts with its identity (the tally reads it).
    for datagram in &case.runs[0] {
        assert_eq!(datagram.len() + HEADER.len(), max_datagram);
    }
    Trials::report_one(
        FAULT,
        &case,
        "exit 0; each truncated to --max-datagram, warned",
    );
}

#[tokio::test]
async fn the_endpoint_vanishing_mid_stream_ends_the_run_and_a_fresh_endpoint_completes() {
    const FAULT: &str = "endpoint vanishes mid-stream";
    let mut trials = Trials::default();
    for trial in 0..trial_count() {
        let mut case = Case::seed().await;
        let pages = (2 + trial) * case.size.streams;
        case.proxy
            .add(FaultRule::on("GetLogEvents", Fault::Vanish).skip(pages));
        // Every stream still open fails, saying so, and the run ends: no hang.
        case.run(&[FEW_ATTEMPTS], &[])
            .expect_code(16)
            .expect_line_with(&[
                "ERROR: The \"get_log_events\" request failed",
                "Connection refused",
                &format!("log group \"{GROUP}\""),
            ]);
        assert!(case.proxy.vanished());
        let after_failure = case.tally();
        assert!(
            after_failure.delivered > 0 && after_failure.lost > 0,
            "{after_failure:?}"
        );
        case.fresh_endpoint();
        case.run(&[], &[]).expect_code(0);
        // Nothing sent twice: each stream's checkpoint was at its last delivered page.
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 16, then exit 0 (fresh endpoint)");
}

#[tokio::test]
async fn an_endpoint_unreachable_from_the_start_ends_the_run_and_a_fresh_endpoint_completes() {
    const FAULT: &str = "endpoint unreachable at the start";
    let mut case = Case::seed().await;
    case.proxy.vanish();
    // The account lookup (STS) is the first call: it fails, saying why, and nothing is read.
    case.run(&[FEW_ATTEMPTS], &[])
        .expect_code(12)
        .expect_line_with(&["ERROR: STS GetCallerIdentity failed", "Connection refused"]);
    assert!(case.runs[0].is_empty());
    case.fresh_endpoint();
    case.run(&[], &[]).expect_code(0);
    Trials::report_one(FAULT, &case, "exit 12, then exit 0 (fresh endpoint)");
}

#[tokio::test]
async fn a_listing_that_fails_beyond_the_retries_fails_the_group_and_a_rerun_completes() {
    const FAULT: &str = "DescribeLogStreams throttled / endpoint vanishes while listing";
    let mut trials = Trials::default();
    for fault in [Fault::Throttle, Fault::Vanish] {
        let mut case = Case::seed().await;
        case.proxy
            .add(FaultRule::on("DescribeLogStreams", fault.clone()).times(usize::MAX));
        let expected = match fault {
            Fault::Throttle => "(ThrottlingException) when calling the DescribeLogStreams",
            _ => "Connection refused",
        };
        case.run(&[FEW_ATTEMPTS], &[])
            .expect_code(16)
            .expect_line_with(&[
                "ERROR: The \"get_log_streams\" request failed",
                expected,
                &format!("log group \"{GROUP}\""),
            ]);
        assert!(case.runs[0].is_empty());
        case.fresh_endpoint();
        case.run(&[], &[]).expect_code(0);
        trials.add(FAULT, &case);
    }
    trials.report(FAULT, "exit 16, then exit 0");
}
