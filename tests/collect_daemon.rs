//! `wodle-aws run --config FILE` end to end: the daemon's schedule, its INFO
//! lines, signals (SIGTERM, SIGINT, SIGHUP), ossec.log, Wazuh's internal
//! options, and the crash bound of a kill -9, against moto and a real
//! analysisd socket.

mod support;

use std::collections::BTreeSet;
use std::path::Path;

use support::{Daemon, Run, StallingReceiver, World};

const STARTED: &str = "INFO: Module AWS started";
const STARTING: &str = "INFO: Starting fetching of logs.";
const FINISHED: &str = "INFO: Fetching logs finished.";
const DEFAULT_PROFILE: &str =
    "INFO: Executing Service Analysis: (Service: cloudwatchlogs, Profile: default)";

/// An instant from which a test's events are stamped, one millisecond apart:
/// recent, and not before today 00:00 UTC, the default lower bound.
fn base_time(world: &World) -> i64 {
    (world.now - 60_000).max(world.today())
}

/// `count` events `"{prefix} {i}"` stamped from `from`, one millisecond apart.
fn events(prefix: &str, from: i64, count: usize) -> Vec<(i64, String)> {
    (0..count)
        .map(|i| (from + i as i64, format!("{prefix} {i}")))
        .collect()
}

fn messages(events: &[(i64, String)]) -> Vec<String> {
    events.iter().map(|(_, message)| message.clone()).collect()
}

/// One aws-s3 block: `schedule` holds its scheduling tags, `services` its
/// `<service>` elements.
fn wodle(schedule: &str, services: &[String]) -> String {
    format!(
        "<wodle name=\"aws-s3\">\n  <disabled>no</disabled>\n  {schedule}\n{}</wodle>\n",
        services.concat()
    )
}

/// A cloudwatchlogs service reading `groups`; `extra` holds more of its tags.
fn service(groups: &str, extra: &str) -> String {
    format!(
        "  <service type=\"cloudwatchlogs\">\n    <aws_log_groups>{groups}</aws_log_groups>\n    {extra}\n  </service>\n"
    )
}

fn run_args(config: &Path) -> Vec<&str> {
    vec!["run", "--config", config.to_str().expect("a UTF-8 path")]
}

fn sorted(messages: &[String]) -> Vec<String> {
    let mut messages = messages.to_vec();
    messages.sort();
    messages
}

/// The lines of `lines` that are exactly one of `wanted`, in order.
fn only<'l>(lines: &'l [String], wanted: &[&str]) -> Vec<&'l str> {
    lines
        .iter()
        .map(String::as_str)
        .filter(|line| wanted.contains(line))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_once_collects_every_service_of_the_block_and_logs_the_reference_lines_in_order() {
    let world = World::new();
    let virginia = world.moto.seeder("us-east-1");
    virginia.create_log_group("apache").await;
    virginia.create_log_stream("apache", "web-1").await;
    let apache = events("apache", base_time(&world), 5);
    virginia.put_events("apache", "web-1", &apache).await;
    // The profile `dev` has region eu-west-1 in ~/.aws/config and the service
    // names none: the profile's region is read.
    let ireland = world.moto.seeder("eu-west-1");
    ireland.create_log_group("audit").await;
    ireland.create_log_stream("audit", "trail").await;
    let audit = events("audit", base_time(&world), 3);
    ireland.put_events("audit", "trail", &audit).await;

    // The endpoints come from the file: the environment's points at a closed
    // port, so a run that ignored the tags would fail (and never reach AWS).
    let endpoints = format!(
        "<service_endpoint>{url}</service_endpoint>\n    <sts_endpoint>{url}</sts_endpoint>",
        url = world.moto.endpoint_url()
    );
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>",
            &[
                service(
                    "apache",
                    &format!("<regions>us-east-1</regions>\n    {endpoints}"),
                ),
                service(
                    "audit",
                    &format!("<aws_profile>dev</aws_profile>\n    {endpoints}"),
                ),
            ],
        ),
    );
    let mut args = run_args(&config);
    args.push("--once");
    let mut command = world.command(&args);
    command.env("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    let run = Run::of(command);
    run.expect_code(0);

    let plain_http = support::plain_http_warning(&world.moto.endpoint_url());
    assert_eq!(
        run.stderr_lines(),
        [
            STARTED,
            STARTING,
            DEFAULT_PROFILE,
            plain_http.as_str(),
            "INFO: Executing Service Analysis: (Service: cloudwatchlogs, Profile: dev)",
            FINISHED,
        ],
        "the reference's INFO lines, in order, and nothing else without --debug but one \
         warning for the plain-http endpoint both services share"
    );
    let received = world.wait_received(8);
    assert_eq!(received.len(), 8, "{received:?}");
    assert_eq!(received[..5], messages(&apache), "the first service first");
    assert_eq!(received[5..], messages(&audit));
}

#[tokio::test(flavor = "multi_thread")]
async fn run_on_an_interval_delivers_new_events_at_the_next_run_and_sigterm_exits_0() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", "s1").await;
    let base = base_time(&world);
    let first = events("first", base, 5);
    seeder.put_events("app", "s1", &first).await;

    // Wazuh takes intervals in seconds; the parser's minimum is 1s.
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1s</interval>\n  <run_on_start>yes</run_on_start>",
            &[service("app", "<regions>us-east-1</regions>")],
        ),
    );
    let mut daemon = world.spawn(&run_args(&config));
    daemon.wait_for_line(FINISHED, 1);
    assert_eq!(world.wait_received(5), messages(&first));

    // While the daemon waits: more events in the stream and a new stream.
    let later = events("later", base + 100, 3);
    seeder.put_events("app", "s1", &later).await;
    seeder.create_log_stream("app", "s2").await;
    let other = events("other", base + 200, 2);
    seeder.put_events("app", "s2", &other).await;
    world.wait_received(10);
    // Two more whole runs after everything arrived: nothing is sent twice.
    let runs = daemon.count(FINISHED);
    daemon.wait_for_line(FINISHED, runs + 2);

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0), "{}", daemon.lines().join("\n"));
    let received = world.received();
    assert_eq!(
        received.len(),
        10,
        "nothing lost, nothing duplicated: {received:?}"
    );
    assert_eq!(received[..5], messages(&first));
    assert_eq!(
        sorted(&received[5..]),
        sorted(&[messages(&later), messages(&other)].concat())
    );

    let lines = daemon.lines();
    assert_eq!(daemon.count(STARTED), 1, "{lines:#?}");
    let runs = only(&lines, &[STARTING, DEFAULT_PROFILE, FINISHED]);
    assert!(runs.len() >= 6, "at least two runs: {lines:#?}");
    for (index, run) in runs.chunks(3).enumerate() {
        // The last run may have been cut by the signal after its first line.
        if index * 3 + 3 <= runs.len() {
            assert_eq!(run, [STARTING, DEFAULT_PROFILE, FINISHED], "{lines:#?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_exits_2_after_delivering() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", "s1").await;
    let seeded = events("event", base_time(&world), 3);
    seeder.put_events("app", "s1", &seeded).await;
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>\n  <run_on_start>yes</run_on_start>",
            &[service("app", "<regions>us-east-1</regions>")],
        ),
    );
    let mut daemon = world.spawn(&run_args(&config));
    daemon.wait_for_line(FINISHED, 1);

    daemon.signal("INT");
    assert_eq!(daemon.wait_exit(), Some(2), "{}", daemon.lines().join("\n"));
    assert_eq!(world.wait_received(3), messages(&seeded));
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_loads_a_new_file_and_keeps_the_old_configuration_when_the_new_one_is_invalid() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    let base = base_time(&world);
    for group in ["first", "second"] {
        seeder.create_log_group(group).await;
        seeder.create_log_stream(group, "s").await;
    }
    let first = events("first", base, 2);
    seeder.put_events("first", "s", &first).await;
    let second = events("second", base, 2);
    seeder.put_events("second", "s", &second).await;

    let schedule = "<interval>1s</interval>\n  <run_on_start>yes</run_on_start>";
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            schedule,
            &[service("first", "<regions>us-east-1</regions>")],
        ),
    );
    let mut daemon = world.spawn(&run_args(&config));
    daemon.wait_for_line(FINISHED, 1);
    assert_eq!(world.wait_received(2), messages(&first));
    // Another run of the first file: `second` stays unread.
    let runs = daemon.count(FINISHED);
    daemon.wait_for_line(FINISHED, runs + 1);
    assert_eq!(world.received().len(), 2);

    let reloading = format!("INFO: SIGHUP: reloading {}", config.display());
    world.write_config(
        "ossec.conf",
        &wodle(
            schedule,
            &[service("first,second", "<regions>us-east-1</regions>")],
        ),
    );
    daemon.signal("HUP");
    daemon.wait_for_line(&reloading, 1);
    let received = world.wait_received(4);
    assert_eq!(received[2..], messages(&second), "{received:?}");

    world.write_config(
        "ossec.conf",
        &wodle(schedule, &[service("", "<regions>us-east-1</regions>")]),
    );
    daemon.signal("HUP");
    daemon.wait_for_line(
        &format!(
            "ERROR: {}: the new configuration is invalid; the previous one keeps running",
            config.display()
        ),
        1,
    );
    // The file as loaded before still runs: `second` is still read.
    let late = events("late", base + 100, 1);
    seeder.put_events("second", "s", &late).await;
    let received = world.wait_received(5);
    assert_eq!(received[4..], messages(&late));

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0), "{}", daemon.lines().join("\n"));
    assert_eq!(world.received().len(), 5, "{:?}", world.received());
    assert_eq!(
        daemon.count(STARTED),
        1,
        "a reload does not restart the module"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_group_fails_its_service_with_16_and_the_rest_is_still_collected() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    let base = base_time(&world);
    for group in ["alpha", "beta"] {
        seeder.create_log_group(group).await;
        seeder.create_log_stream(group, "s").await;
    }
    let alpha = events("alpha", base, 2);
    seeder.put_events("alpha", "s", &alpha).await;
    let beta = events("beta", base, 2);
    seeder.put_events("beta", "s", &beta).await;

    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>",
            &[
                service("ghost,alpha", "<regions>us-east-1</regions>"),
                service(
                    "beta",
                    "<regions>us-east-1</regions>\n    <aws_profile>dev</aws_profile>",
                ),
            ],
        ),
    );
    let mut args = run_args(&config);
    args.push("--once");
    let run = world.command(&args);
    let run = Run::of(run);
    run.expect_code(16);

    let lines: Vec<String> = run.stderr_lines().into_iter().map(str::to_owned).collect();
    let warning = "WARNING: Service: cloudwatchlogs - Returned exit code 16";
    let dev = "INFO: Executing Service Analysis: (Service: cloudwatchlogs, Profile: dev)";
    assert_eq!(
        only(
            &lines,
            &[STARTED, STARTING, DEFAULT_PROFILE, warning, dev, FINISHED]
        ),
        [STARTED, STARTING, DEFAULT_PROFILE, warning, dev, FINISHED],
        "{lines:#?}"
    );
    // The reference's line, then (ours) which group and region failed.
    let error = "ERROR: The \"get_log_streams\" request failed: An error occurred \
                 (ResourceNotFoundException) when calling the DescribeLogStreams operation: The \
                 specified log group does not exist. (log group \"ghost\", region us-east-1)";
    assert_eq!(
        only(&lines, &[DEFAULT_PROFILE, error, warning]),
        [DEFAULT_PROFILE, error, warning],
        "{lines:#?}"
    );
    assert_eq!(
        sorted(&world.wait_received(4)),
        sorted(&[messages(&alpha), messages(&beta)].concat())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ossec_log_gets_every_line_in_wazuh_format() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", "s").await;
    seeder
        .put_events("app", "s", &events("event", base_time(&world), 1))
        .await;
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>",
            &[service("app", "<regions>us-east-1</regions>")],
        ),
    );
    std::fs::create_dir_all(world.home.logs_dir()).expect("create logs/");
    let mut args = run_args(&config);
    args.extend(["--once", "--ossec-log"]);
    let run = Run::of(world.command(&args));
    run.expect_code(0);
    world.wait_received(1);

    let path = world.home.logs_dir().join("ossec.log");
    let log =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut rest = Vec::new();
    for line in log.lines() {
        assert!(
            support::starts_with_wazuh_timestamp(line),
            "not `YYYY/MM/DD HH:MM:SS `: {line:?}"
        );
        let (_, after) = line.split_at("YYYY/MM/DD HH:MM:SS ".len());
        let message = after
            .strip_prefix("wazuh-modulesd:aws-s3: ")
            .unwrap_or_else(|| panic!("not modulesd's aws-s3 tag: {line:?}"));
        rest.push(message.to_owned());
    }
    assert_eq!(rest[0], STARTED, "{log}");
    assert_eq!(rest, run.stderr_lines(), "the same lines as on stderr");
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_level_comes_from_internal_options_and_the_local_file_overrides_it() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", "s").await;
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>",
            &[service("app", "<regions>us-east-1</regions>")],
        ),
    );
    let mut args = run_args(&config);
    args.push("--once");
    let etc = world.home.etc_dir();

    std::fs::write(
        etc.join("internal_options.conf"),
        "# Wazuh's defaults\nanalysisd.debug=0\nwazuh_modules.debug=1\n",
    )
    .expect("write internal_options.conf");
    let run = Run::of(world.command(&args));
    run.expect_code(0);
    let region = "DEBUG: +++ Getting alerts from \"us-east-1\" region.";
    assert!(
        run.stderr_lines().contains(&region),
        "wazuh_modules.debug=1 shows debug lines:\n{}",
        run.stderr
    );

    std::fs::write(
        etc.join("local_internal_options.conf"),
        "wazuh_modules.debug=0\n",
    )
    .expect("write local_internal_options.conf");
    let run = Run::of(world.command(&args));
    run.expect_code(0);
    assert!(
        !run.stderr.contains("DEBUG:"),
        "local_internal_options.conf wins:\n{}",
        run.stderr
    );
    assert_eq!(run.stderr_lines()[0], STARTED, "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_kill_9_mid_run_loses_nothing_and_resends_at_most_one_commit_interval() {
    const STREAMS: usize = 4;
    const PER_STREAM: usize = 500;
    const COMMIT_EVERY: usize = 50;
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("bulk").await;
    let base = base_time(&world);
    let mut seeded = Vec::new();
    for stream in 0..STREAMS {
        let name = format!("s{stream}");
        seeder.create_log_stream("bulk", &name).await;
        let batch = events(&format!("stream {stream} event"), base, PER_STREAM);
        seeder.put_events("bulk", &name, &batch).await;
        seeded.extend(messages(&batch));
    }
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1h</interval>",
            &[service("bulk", "<regions>us-east-1</regions>")],
        ),
    );
    // An analysisd that stops reading after 300 events: the daemon blocks on
    // a full queue, several commits in, and is killed there.
    let analysisd = StallingReceiver::bind(world.home.path().join("queue/sockets/stalling"), 300);
    let commit_every = COMMIT_EVERY.to_string();
    let mut args = run_args(&config);
    args.extend([
        "--once",
        "--commit-every",
        &commit_every,
        "--queue-socket",
        analysisd.path().to_str().expect("a UTF-8 path"),
    ]);

    let mut daemon: Daemon = world.spawn(&args);
    analysisd.wait_for(300);
    daemon.kill_hard();
    let before_kill = analysisd.flush();
    assert!(
        before_kill.len() < STREAMS * PER_STREAM,
        "killed mid-run: {} of {} events",
        before_kill.len(),
        STREAMS * PER_STREAM
    );

    let rerun = Run::of(world.command(&args));
    rerun.expect_code(0);
    let all: Vec<String> = analysisd
        .flush()
        .into_iter()
        .map(|text| {
            text.strip_prefix("1:Wazuh-AWS:")
                .unwrap_or_else(|| panic!("datagram without the header: {text:?}"))
                .to_owned()
        })
        .collect();
    let distinct: BTreeSet<&String> = all.iter().collect();
    let missing: Vec<&String> = seeded.iter().filter(|m| !distinct.contains(m)).collect();
    assert!(
        missing.is_empty(),
        "lost {} events: {missing:?}",
        missing.len()
    );
    assert_eq!(distinct.len(), seeded.len(), "only seeded events arrive");
    let duplicates = all.len() - distinct.len();
    assert!(
        duplicates <= COMMIT_EVERY,
        "{duplicates} events re-sent after the kill; the bound is the commit interval {COMMIT_EVERY} \
         ({} delivered before the kill)",
        before_kill.len()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_too_long_for_one_interval_yields_at_the_deadline_and_resumes() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", "busy").await;
    // Three GetLogEvents pages (moto's pages hold 10,000 events), and one
    // GetLogEvents call a second: the read needs about 2 s, the interval is 1 s.
    let seeded = events("busy", base_time(&world), 25_000);
    let refs: Vec<(i64, &str)> = seeded.iter().map(|(t, m)| (*t, m.as_str())).collect();
    seeder.put_events("app", "busy", &refs).await;
    let config = world.write_config(
        "ossec.conf",
        &wodle(
            "<interval>1s</interval>\n  <run_on_start>yes</run_on_start>",
            &[service("app", "<regions>us-east-1</regions>")],
        ),
    );
    let mut args = run_args(&config);
    args.extend(["--api-quotas", "GetLogEvents=1"]);
    let mut daemon = world.spawn(&args);
    daemon.wait_for_line(
        "INFO: The run reached its interval; streams still growing continue next run.",
        1,
    );
    daemon.wait_for_line(FINISHED, 1);
    let after_first_run = world.received().len();
    assert!(
        after_first_run < seeded.len(),
        "the first run yielded before the end: {after_first_run}"
    );
    // Later runs go on from where it stopped.
    let received = world.wait_received(seeded.len());
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0), "{}", daemon.lines().join("\n"));
    assert_eq!(
        received,
        messages(&seeded),
        "in order, none lost, none twice"
    );
    assert_eq!(world.received().len(), seeded.len());
}
