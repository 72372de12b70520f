//! The reference's one-shot command end to end: moto, a real analysisd socket
//! and a real database; exact datagrams, rows, stderr lines and exit codes.

mod support;

use std::process::Stdio;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::error::DisplayErrorContext;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use support::seed::date_arg;
use support::{CONFIG, CREDENTIALS, DAY_MS, ReferenceRow, Run, World};
use wodle_testkit::{AwsFiles, MotoServer, WazuhHome, now_millis};

const HOUR_MS: i64 = 3_600_000;
/// The account moto serves the test credentials from.
const DEFAULT_ACCOUNT: &str = "123456789012";
/// Another account, reached through a role (or moto's account header).
const OTHER_ACCOUNT: &str = "111111111111";
const HEADER: &str = "1:Wazuh-AWS:";
const MISSING_GROUP_ERROR: &str = "ERROR: The \"get_log_streams\" request failed: An error \
     occurred (ResourceNotFoundException) when calling the DescribeLogStreams operation: The \
     specified log group does not exist.";
/// The reference's line for a missing group, then (ours) which group and region:
/// the other groups go on, so several such lines can follow one another.
fn missing_group_error(group: &str, region: &str) -> String {
    format!("{MISSING_GROUP_ERROR} (log group \"{group}\", region {region})")
}
/// Only so that a broken binary cannot hang the suite.
const WAIT: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Helpers of these tests.

/// `(timestamp, message)` events of one stream, in the order they must arrive.
type Events = Vec<(i64, String)>;

/// Events `"{prefix} #{i}"` at the given timestamps.
fn events(prefix: &str, timestamps: &[i64]) -> Events {
    timestamps
        .iter()
        .enumerate()
        .map(|(i, ts)| (*ts, format!("{prefix} #{i}")))
        .collect()
}

fn messages(events: &[(i64, String)]) -> Vec<String> {
    events.iter().map(|(_, m)| m.clone()).collect()
}

/// A world whose moto was started by the caller (e.g. with IAM checks on).
fn world_on(moto: MotoServer) -> World {
    let home = WazuhHome::new();
    let analysisd = home.bind_analysisd();
    World {
        moto,
        home,
        analysisd,
        aws: AwsFiles::new(CONFIG, CREDENTIALS),
        now: now_millis(),
    }
}

/// A timestamp inside the world's "today" and at most an hour old: the binary
/// starts reading at today 00:00 UTC, so an event of a minute ago would be
/// missed by a test that runs just after midnight.
fn recent(world: &World, offset: i64) -> i64 {
    world.today().max(world.now - HOUR_MS) + offset
}

/// Creates `group` in `region` of the default account with the given streams
/// and events.
async fn seed(world: &World, region: &str, group: &str, streams: &[(&str, &Events)]) {
    let seeder = world.moto.seeder(region);
    seeder.create_log_group(group).await;
    for (stream, events) in streams {
        seeder.create_log_stream(group, stream).await;
        seeder.put_events(group, stream, events).await;
    }
}

/// [`seed`] into another account, through moto's `x-moto-account-id` header.
async fn seed_account(
    world: &World,
    account: &str,
    region: &str,
    group: &str,
    streams: &[(&str, &Events)],
) {
    let client = world.moto.logs_client(region);
    let header = |account: String| {
        move |request: &mut aws_sdk_cloudwatchlogs::config::http::HttpRequest| {
            request
                .headers_mut()
                .insert("x-moto-account-id", account.clone());
        }
    };
    client
        .create_log_group()
        .log_group_name(group)
        .customize()
        .mutate_request(header(account.to_owned()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateLogGroup {group}: {}", DisplayErrorContext(e)));
    for (stream, events) in streams {
        client
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(*stream)
            .customize()
            .mutate_request(header(account.to_owned()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateLogStream {stream}: {}", DisplayErrorContext(e)));
        put_in_account(world, account, region, group, stream, events).await;
    }
}

/// PutLogEvents into another account (one call: these tests put a few events).
async fn put_in_account(
    world: &World,
    account: &str,
    region: &str,
    group: &str,
    stream: &str,
    events: &[(i64, String)],
) {
    let account = account.to_owned();
    let input: Vec<InputLogEvent> = events
        .iter()
        .map(|(ts, message)| {
            InputLogEvent::builder()
                .timestamp(*ts)
                .message(message)
                .build()
                .expect("timestamp and message are set")
        })
        .collect();
    world
        .moto
        .logs_client(region)
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(input))
        .customize()
        .mutate_request(move |request| {
            request
                .headers_mut()
                .insert("x-moto-account-id", account.clone());
        })
        .send()
        .await
        .unwrap_or_else(|e| panic!("PutLogEvents {stream}: {}", DisplayErrorContext(e)));
}

/// Every message analysisd received, in arrival order, once everything the
/// binary sent has arrived: a datagram of ours sent now queues behind the
/// binary's (one receive queue), so when it shows up nothing is in flight.
/// This also proves that nothing else arrived, without waiting for a while.
fn delivered(world: &World) -> Vec<String> {
    world.settled(WAIT)
}

/// One row of our `wodle_aws_cursor` table.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    region: String,
    group: String,
    stream: String,
    account: String,
    segment: String,
    window_start: i64,
    window_end: Option<i64>,
    page_token: Option<String>,
    page_consumed: i64,
    token_saved_at: Option<i64>,
    last_timestamp: Option<i64>,
    last_timestamp_count: i64,
    max_ingestion_time: Option<i64>,
    read_at: Option<i64>,
    reference_token: Option<String>,
}

fn cursors(world: &World) -> Vec<Cursor> {
    let connection = rusqlite::Connection::open(world.database()).expect("the database opens");
    let mut statement = connection
        .prepare(
            "SELECT aws_region, aws_log_group, aws_log_stream, aws_account_id, segment,
                    window_start, window_end, page_token, page_consumed, token_saved_at,
                    last_timestamp, last_timestamp_count, max_ingestion_time, read_at,
                    reference_token
             FROM wodle_aws_cursor ORDER BY 1, 2, 3, 4, 5",
        )
        .expect("our cursor table exists");
    statement
        .query_map([], |row| {
            Ok(Cursor {
                region: row.get(0)?,
                group: row.get(1)?,
                stream: row.get(2)?,
                account: row.get(3)?,
                segment: row.get(4)?,
                window_start: row.get(5)?,
                window_end: row.get(6)?,
                page_token: row.get(7)?,
                page_consumed: row.get(8)?,
                token_saved_at: row.get(9)?,
                last_timestamp: row.get(10)?,
                last_timestamp_count: row.get(11)?,
                max_ingestion_time: row.get(12)?,
                read_at: row.get(13)?,
                reference_token: row.get(14)?,
            })
        })
        .and_then(Iterator::collect)
        .expect("cursor rows read")
}

/// The reference row of a stream read from `start` whose newest event is at `end`:
/// the token is AWS's, whatever it is.
fn row(region: &str, group: &str, stream: &str, start: i64, end: i64) -> ReferenceRow {
    (
        region.to_owned(),
        group.to_owned(),
        stream.to_owned(),
        None,
        Some(start),
        Some(end),
    )
}

/// The rows with their tokens checked (present) and then blanked, for exact comparison.
fn rows_without_tokens(world: &World) -> Vec<ReferenceRow> {
    world
        .reference_rows()
        .into_iter()
        .map(|mut row| {
            assert!(row.3.is_some(), "a row without a token: {row:?}");
            row.3 = None;
            row
        })
        .collect()
}

/// Checks a forward cursor after a complete read of a stream whose events were
/// put between `seeded_from` and `seeded_to` (our clock) and whose newest is at
/// `last_timestamp`: it is at the end of the stream, with the token of the
/// reference's row.
fn assert_read_to_end(
    world: &World,
    cursor: &Cursor,
    key: (&str, &str, &str, &str),
    window_start: i64,
    last_timestamp: i64,
    seeded: (i64, i64),
) {
    let (region, group, stream, account) = key;
    let rows = world.reference_rows();
    let reference = rows
        .iter()
        .find(|row| (row.0.as_str(), row.1.as_str(), row.2.as_str()) == (region, group, stream))
        .unwrap_or_else(|| panic!("no reference row for {key:?}: {rows:?}"));
    assert!(reference.3.is_some());
    let ingested = cursor.max_ingestion_time.expect("an ingestion time");
    assert!(
        (seeded.0..=seeded.1).contains(&ingested),
        "ingestion time {ingested} outside the seeding {seeded:?}"
    );
    let read_at = cursor.read_at.expect("the time of the read");
    // AWS's Date header has whole seconds.
    assert!(
        read_at >= seeded.0 - 1000 && read_at <= now_millis(),
        "read at {read_at}, seeded {seeded:?}"
    );
    let expected = Cursor {
        region: region.to_owned(),
        group: group.to_owned(),
        stream: stream.to_owned(),
        account: account.to_owned(),
        segment: "forward".to_owned(),
        window_start,
        window_end: None,
        page_token: reference.3.clone(),
        page_consumed: 0,
        token_saved_at: Some(world.now),
        last_timestamp: Some(last_timestamp),
        last_timestamp_count: 1,
        max_ingestion_time: Some(ingested),
        read_at: Some(read_at),
        reference_token: reference.3.clone(),
    };
    assert_eq!(*cursor, expected);
}

/// Waits until the wall clock is in a later second than `millis`: AWS's Date
/// header, our "time of the read", has whole seconds, so a read in the very
/// second of the last ingestion cannot tell that it saw everything.
fn wait_for_next_second(millis: i64) {
    let next = (millis.div_euclid(1000) + 1) * 1000;
    while now_millis() < next {
        std::thread::sleep(Duration::from_millis(10));
    }
}

// ---------------------------------------------------------------------------
// The tests.

#[tokio::test(flavor = "multi_thread")]
async fn first_run_delivers_every_event_in_order_then_a_rerun_delivers_nothing() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("apache").await;
    seeder.create_log_stream("apache", "web-1").await;
    let t = recent(&world, 0);
    let lines: Vec<(i64, String)> = (0..25)
        .map(|i| {
            (
                t + i,
                format!("10.0.0.{i} - - \"GET /index.html HTTP/1.1\" 200 {i}"),
            )
        })
        .collect();
    let events: Vec<(i64, &str)> = lines.iter().map(|(ts, m)| (*ts, m.as_str())).collect();
    seeder.put_events("apache", "web-1", &events).await;

    let run = world.one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "", "a successful run without --debug is silent");
    let received = world.wait_received(25);
    let expected: Vec<String> = lines.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(received, expected);

    let rows = world.reference_rows();
    assert_eq!(rows.len(), 1);
    let (region, group, stream, token, start, end) = &rows[0];
    assert_eq!(
        (region.as_str(), group.as_str(), stream.as_str()),
        ("us-east-1", "apache", "web-1")
    );
    assert!(token.is_some());
    assert_eq!(*start, Some(world.today()));
    assert_eq!(*end, Some(t + 24));

    // Nothing new: nothing sent, the checkpoint does not move.
    world
        .one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"])
        .expect_code(0);
    assert_eq!(delivered(&world).len(), 25);
    assert_eq!(world.reference_rows(), rows);

    // New events only.
    seeder
        .put_events(
            "apache",
            "web-1",
            &[(t + 100, "late arrival"), (t + 101, "another")],
        )
        .await;
    world
        .one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"])
        .expect_code(0);
    let received = delivered(&world);
    assert_eq!(received.len(), 27);
    assert_eq!(&received[25..], ["late arrival", "another"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_groups_in_several_regions_are_all_delivered_in_stream_order() {
    let world = World::new();
    let t = recent(&world, 0);
    let regions = ["eu-west-1", "us-east-1"];
    // (group, stream) in the order of the reference table's key.
    let layout = [
        ("apache", "web-1"),
        ("apache", "web-2"),
        ("syslog", "host-1"),
    ];
    let mut all: Vec<((String, String, String), Events)> = Vec::new();
    let seeded_from = now_millis();
    for region in regions {
        for group in ["apache", "syslog"] {
            let streams: Vec<(&str, Events)> = layout
                .iter()
                .filter(|(g, _)| *g == group)
                .map(|(_, stream)| {
                    (
                        *stream,
                        events(&format!("{region} {group} {stream}"), &[t, t + 1, t + 2]),
                    )
                })
                .collect();
            let refs: Vec<(&str, &Events)> = streams.iter().map(|(s, e)| (*s, e)).collect();
            seed(&world, region, group, &refs).await;
            for (stream, events) in streams {
                all.push((
                    (region.to_owned(), group.to_owned(), stream.to_owned()),
                    events,
                ));
            }
        }
    }
    let seeded_to = now_millis();

    let run = world.one_shot(&[
        "--aws_log_groups",
        "apache,syslog",
        "--regions",
        "us-east-1,eu-west-1",
    ]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");

    let received = delivered(&world);
    assert_eq!(received.len(), 18, "{received:?}");
    // Streams are read concurrently: each stream's events in order, all of them once.
    for ((region, group, stream), events) in &all {
        let prefix = format!("{region} {group} {stream} #");
        let of_stream: Vec<String> = received
            .iter()
            .filter(|m| m.starts_with(&prefix))
            .cloned()
            .collect();
        assert_eq!(of_stream, messages(events), "{region}/{group}/{stream}");
    }

    let expected_rows: Vec<ReferenceRow> = all
        .iter()
        .map(|((region, group, stream), _)| row(region, group, stream, world.today(), t + 2))
        .collect();
    assert_eq!(rows_without_tokens(&world), expected_rows);
    let cursors = cursors(&world);
    assert_eq!(cursors.len(), 6, "{cursors:?}");
    for (cursor, ((region, group, stream), _)) in cursors.iter().zip(&all) {
        assert_read_to_end(
            &world,
            cursor,
            (region, group, stream, DEFAULT_ACCOUNT),
            world.today(),
            t + 2,
            (seeded_from, seeded_to),
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_group_fails_with_16_and_the_reference_error_while_the_others_are_collected() {
    let world = World::new();
    let t = recent(&world, 0);
    let mut expected_rows = Vec::new();
    for region in ["eu-west-1", "us-east-1"] {
        for group in ["apache", "syslog"] {
            let events = events(&format!("{region} {group}"), &[t, t + 1]);
            seed(&world, region, group, &[("s", &events)]).await;
            expected_rows.push(row(region, group, "s", world.today(), t + 1));
        }
    }
    let args = [
        "--aws_log_groups",
        "apache,missing,syslog",
        "--regions",
        "us-east-1,eu-west-1",
    ];

    let run = world.one_shot(&args);
    run.expect_code(16);
    // Once per region, in any order (regions are read concurrently).
    let mut lines = run.stderr_lines();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            missing_group_error("missing", "eu-west-1"),
            missing_group_error("missing", "us-east-1"),
        ],
        "{}",
        run.stderr
    );
    let mut received = delivered(&world);
    received.sort();
    assert_eq!(
        received,
        [
            "eu-west-1 apache #0",
            "eu-west-1 apache #1",
            "eu-west-1 syslog #0",
            "eu-west-1 syslog #1",
            "us-east-1 apache #0",
            "us-east-1 apache #1",
            "us-east-1 syslog #0",
            "us-east-1 syslog #1",
        ]
    );
    assert_eq!(rows_without_tokens(&world), expected_rows);
    let cursor_keys: Vec<(String, String)> = cursors(&world)
        .into_iter()
        .map(|c| (c.region, c.group))
        .collect();
    assert_eq!(
        cursor_keys,
        [
            ("eu-west-1".to_owned(), "apache".to_owned()),
            ("eu-west-1".to_owned(), "syslog".to_owned()),
            ("us-east-1".to_owned(), "apache".to_owned()),
            ("us-east-1".to_owned(), "syslog".to_owned()),
        ]
    );

    // The good groups were checkpointed: a rerun fails the same way and sends nothing.
    let rows = world.reference_rows();
    let rerun = world.one_shot(&args);
    rerun.expect_code(16);
    let mut lines = rerun.stderr_lines();
    lines.sort_unstable();
    assert_eq!(
        lines,
        [
            missing_group_error("missing", "eu-west-1"),
            missing_group_error("missing", "us-east-1"),
        ]
    );
    assert_eq!(delivered(&world).len(), 8);
    assert_eq!(world.reference_rows(), rows);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_region_exits_22_naming_it_before_anything_is_read_or_written() {
    let world = World::new();
    let t = recent(&world, 0);
    seed(&world, "us-east-1", "apache", &[("s", &events("e", &[t]))]).await;

    let run = world.one_shot(&[
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1,moon-base-1",
    ]);
    run.expect_code(22);
    let lines = run.stderr_lines();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].starts_with(
            "ERROR: invalid value for --regions: Invalid region 'moon-base-1': not a region name"
        ),
        "{}",
        run.stderr
    );
    assert!(delivered(&world).is_empty());
    assert!(
        !world.database().exists(),
        "no database is created for a command line that cannot run"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_from_the_aws_files_brings_its_region() {
    let world = World::new();
    let t = recent(&world, 0);
    // `dev` has region eu-west-1 in ~/.aws/config; the default profile us-east-1.
    seed(
        &world,
        "eu-west-1",
        "apache",
        &[("s", &events("eu", &[t, t + 1]))],
    )
    .await;
    seed(
        &world,
        "us-east-1",
        "apache",
        &[("s", &events("us", &[t, t + 1]))],
    )
    .await;

    let run = world.one_shot(&["--aws_profile", "dev", "--aws_log_groups", "apache"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(delivered(&world), ["eu #0", "eu #1"]);
    assert_eq!(
        rows_without_tokens(&world),
        [row("eu-west-1", "apache", "s", world.today(), t + 1)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_missing_from_an_existing_config_file_exits_23() {
    let world = World::new();
    let run = world.one_shot(&[
        "--aws_profile",
        "nope",
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
    ]);
    run.expect_code(23);
    assert_eq!(
        run.stderr_lines(),
        ["ERROR: No profile named: 'profile nope' was found in the user config file"]
    );
    assert!(
        !world.database().exists(),
        "credentials come before the database"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credentials_at_all_exit_12() {
    let mut world = World::new();
    world.aws = AwsFiles::with(None, None);
    let run = world.one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"]);
    run.expect_code(12);
    assert_eq!(run.stderr_lines(), ["ERROR: Unable to locate credentials"]);
    assert!(!world.database().exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_aws_rejects_exit_3_without_showing_the_secret() {
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY";
    let mut world = world_on(MotoServer::start_with_env(&[(
        "INITIAL_NO_AUTH_ACTION_COUNT",
        "0",
    )]));
    world.aws = AwsFiles::new(
        CONFIG,
        &format!(
            "[default]\naws_access_key_id = AKIAUNKNOWNKEY000000\naws_secret_access_key = {SECRET}\n"
        ),
    );
    let run = world.one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"]);
    run.expect_code(3);
    assert_eq!(
        run.stderr_lines(),
        [
            "ERROR: Invalid credentials to access AWS service: InvalidClientTokenId: The security \
             token included in the request is invalid. (access key id AKIAUNKNOWNKEY000000)"
        ]
    );
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
    assert!(!world.database().exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assumed_role_reads_its_own_account_and_accounts_never_share_a_cursor() {
    let world = World::new();
    let t = recent(&world, 0);
    // Same group and stream names in both accounts, events interleaved in time.
    let default_events = events("default", &[t, t + 2, t + 4]);
    let other_events = events("other", &[t + 1, t + 3, t + 5]);
    let seeded_from = now_millis();
    seed(&world, "us-east-1", "apache", &[("web-1", &default_events)]).await;
    seed(
        &world,
        "us-east-1",
        "only-default",
        &[("s", &events("x", &[t]))],
    )
    .await;
    seed_account(
        &world,
        OTHER_ACCOUNT,
        "us-east-1",
        "apache",
        &[("web-1", &other_events)],
    )
    .await;
    let seeded_to = now_millis();
    let as_default = [
        "--iam_role_arn",
        "arn:aws:iam::123456789012:role/wazuh",
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
    ];
    let as_other = [
        "--iam_role_arn",
        "arn:aws:iam::111111111111:role/wazuh",
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
    ];

    let run = world.one_shot(&as_default);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(delivered(&world), messages(&default_events));
    let after_default = cursors(&world);
    assert_eq!(after_default.len(), 1);
    assert_read_to_end(
        &world,
        &after_default[0],
        ("us-east-1", "apache", "web-1", DEFAULT_ACCOUNT),
        world.today(),
        t + 4,
        (seeded_from, seeded_to),
    );

    // The role of the other account sees that account's stream, every event of
    // it, although the reference's table (keyed without the account) already
    // holds a row for the same names.
    let run = world.one_shot(&as_other);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let received = delivered(&world);
    assert_eq!(received[3..], messages(&other_events));
    let accounts: Vec<String> = cursors(&world).into_iter().map(|c| c.account).collect();
    assert_eq!(accounts, [OTHER_ACCOUNT, DEFAULT_ACCOUNT]);

    // The role was really used: the default account's group is not there.
    let run = world.one_shot(&[
        "--iam_role_arn",
        "arn:aws:iam::111111111111:role/wazuh",
        "--aws_log_groups",
        "only-default",
        "--regions",
        "us-east-1",
    ]);
    run.expect_code(16);
    assert_eq!(
        run.stderr_lines(),
        [missing_group_error("only-default", "us-east-1")]
    );

    // Each account goes on from its own position, whichever account wrote the
    // shared reference row last: the other account's newer row must not make
    // this one skip its own events.
    world
        .moto
        .seeder("us-east-1")
        .put_events("apache", "web-1", &[(t + 6, "default new")])
        .await;
    put_in_account(
        &world,
        OTHER_ACCOUNT,
        "us-east-1",
        "apache",
        "web-1",
        &[(t + 7, "other new".to_owned())],
    )
    .await;
    world.one_shot(&as_other).expect_code(0);
    world.one_shot(&as_default).expect_code(0);
    world.one_shot(&as_other).expect_code(0);
    world.one_shot(&as_default).expect_code(0);
    let received = delivered(&world);
    assert_eq!(received[6..], ["other new", "default new"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_only_one_account_has_is_not_purged_by_the_other() {
    let world = World::new();
    let t = recent(&world, 0);
    let shared = events("default shared", &[t]);
    let own = events("default own", &[t + 1]);
    seed(
        &world,
        "us-east-1",
        "apache",
        &[("web-1", &shared), ("default-only", &own)],
    )
    .await;
    seed_account(
        &world,
        OTHER_ACCOUNT,
        "us-east-1",
        "apache",
        &[("web-1", &events("other shared", &[t + 2]))],
    )
    .await;
    let as_role = |account: &str| {
        vec![
            "--iam_role_arn".to_owned(),
            format!("arn:aws:iam::{account}:role/wazuh"),
            "--aws_log_groups".to_owned(),
            "apache".to_owned(),
            "--regions".to_owned(),
            "us-east-1".to_owned(),
        ]
    };
    let run_as = |account: &str| {
        let args = as_role(account);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        world.one_shot(&args).expect_code(0);
    };
    run_as(DEFAULT_ACCOUNT);
    assert_eq!(delivered(&world).len(), 2);
    // The other account lists no "default-only" stream: that must not make the
    // default account forget where it is in it.
    run_as(OTHER_ACCOUNT);
    assert_eq!(delivered(&world).len(), 3);
    run_as(DEFAULT_ACCOUNT);
    assert_eq!(delivered(&world).len(), 3, "{:?}", delivered(&world));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_earlier_only_logs_after_backfills_once_and_reparse_sends_everything_again() {
    let world = World::new();
    let today = world.today();
    let yesterday = today - DAY_MS;
    let five_days_ago = today - 5 * DAY_MS;
    let t = recent(&world, 0);
    let first = vec![
        (yesterday + HOUR_MS, "yesterday #0".to_owned()),
        (yesterday + 2 * HOUR_MS, "yesterday #1".to_owned()),
        (t, "today #0".to_owned()),
        (t + 1, "today #1".to_owned()),
    ];
    seed(&world, "us-east-1", "apache", &[("web-1", &first)]).await;
    let args = |after: i64| {
        vec![
            "--aws_log_groups".to_owned(),
            "apache".to_owned(),
            "--regions".to_owned(),
            "us-east-1".to_owned(),
            "--only_logs_after".to_owned(),
            date_arg(after),
        ]
    };
    let run_with = |args: &[String], extra: &[&str]| {
        let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
        all.extend_from_slice(extra);
        world.one_shot(&all)
    };

    let run = run_with(&args(yesterday), &[]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(delivered(&world), messages(&first));
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "apache", "web-1", yesterday, t + 1)]
    );
    let token = world.reference_rows()[0].3.clone();

    // only_logs_after moves five days back; events of three days ago appear.
    let older = vec![
        (today - 3 * DAY_MS + HOUR_MS, "3 days ago #0".to_owned()),
        (today - 3 * DAY_MS + 2 * HOUR_MS, "3 days ago #1".to_owned()),
    ];
    world
        .moto
        .seeder("us-east-1")
        .put_events("apache", "web-1", &older)
        .await;
    let run = run_with(&args(five_days_ago), &[]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let received = delivered(&world);
    assert_eq!(
        received[4..],
        messages(&older),
        "only the uncovered days: {received:?}"
    );
    assert_eq!(
        world.reference_rows(),
        [(
            "us-east-1".to_owned(),
            "apache".to_owned(),
            "web-1".to_owned(),
            token,
            Some(five_days_ago),
            Some(t + 1)
        )],
        "the row now covers from the new bound"
    );
    let segments: Vec<String> = cursors(&world).into_iter().map(|c| c.segment).collect();
    assert_eq!(
        segments,
        ["forward"],
        "the finished backfill leaves no cursor"
    );

    // Done once: the same command again sends nothing.
    let rows = world.reference_rows();
    run_with(&args(five_days_ago), &[]).expect_code(0);
    assert_eq!(delivered(&world).len(), 6);
    assert_eq!(world.reference_rows(), rows);

    // --reparse: everything from the bound again, in time order.
    let run = run_with(&args(five_days_ago), &["--reparse"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let received = delivered(&world);
    let mut everything = older.clone();
    everything.extend(first.iter().cloned());
    assert_eq!(received[6..], messages(&everything));
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "apache", "web-1", five_days_ago, t + 1)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn discard_regex_and_field_skip_exactly_the_matching_events() {
    let world = World::new();
    let t = recent(&world, 0);
    let at = |messages: &[&str]| -> Events {
        messages
            .iter()
            .enumerate()
            .map(|(i, m)| (t + i as i64, (*m).to_owned()))
            .collect()
    };
    let plain = at(&[
        "internal health check",
        "an internal error",
        "GET /internal 200",
        "internal",
        r#"{"source": "internal"}"#,
    ]);
    let json = at(&[
        r#"{"data": {"source": "internal-probe"}}"#,
        r#"{"data": {"source": "vpc internal"}}"#,
        r#"{"data": {"source": ["public", "internal"]}}"#,
        r#"{"data": {"source": ["public", "private"]}}"#,
        r#"{"data": [{"source": "public"}, {"source": "internal"}]}"#,
        r#"{"data": {"other": "internal"}}"#,
        r#"{"data": "internal"}"#,
        "internal text, not JSON",
        "text, not JSON, internal",
    ]);
    let scalars = at(&[
        r#"{"data": {"code": 42}}"#,
        r#"{"data": {"code": 7}}"#,
        r#"{"data": {"code": true}}"#,
        r#"{"data": {"code": false}}"#,
        r#"{"data": {"code": "x42"}}"#,
        r#"{"data": {"code": null}}"#,
    ]);
    let untouched = at(&[
        "None of these events",
        "internal",
        r#"{"data": {"source": "internal"}}"#,
    ]);
    seed(&world, "us-east-1", "plain", &[("s", &plain)]).await;
    seed(&world, "us-east-1", "json", &[("s", &json)]).await;
    seed(&world, "us-east-1", "scalars", &[("s", &scalars)]).await;
    seed(&world, "us-east-1", "untouched", &[("s", &untouched)]).await;
    let mut seen = 0;
    let mut run_group = |group: &str, options: &[&str]| -> Vec<String> {
        let mut args = vec!["--aws_log_groups", group, "--regions", "us-east-1"];
        args.extend_from_slice(options);
        let run = world.one_shot(&args);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "{group}");
        let received = delivered(&world);
        let new = received[seen..].to_vec();
        seen = received.len();
        new
    };

    // No field: the whole text, anchored at its start ("^" implied).
    assert_eq!(
        run_group("plain", &["--discard-regex", "internal"]),
        [
            "an internal error",
            "GET /internal 200",
            r#"{"source": "internal"}"#
        ]
    );
    // A field: the values at the dotted path, arrays element by element.
    assert_eq!(
        run_group(
            "json",
            &[
                "--discard-field",
                "data.source",
                "--discard-regex",
                "internal"
            ]
        ),
        [
            r#"{"data": {"source": "vpc internal"}}"#,
            r#"{"data": {"source": ["public", "private"]}}"#,
            r#"{"data": {"other": "internal"}}"#,
            r#"{"data": "internal"}"#,
            "text, not JSON, internal",
        ]
    );
    // Numbers and booleans are matched as their JSON text.
    assert_eq!(
        run_group(
            "scalars",
            &["--discard-field", "data.code", "--discard-regex", "4|true"]
        ),
        [
            r#"{"data": {"code": 7}}"#,
            r#"{"data": {"code": false}}"#,
            r#"{"data": {"code": "x42"}}"#,
            r#"{"data": {"code": null}}"#,
        ]
    );
    // No discard option: nothing is discarded (the reference drops "None..." here).
    assert_eq!(run_group("untouched", &[]), messages(&untouched));

    // Discarded events are handled: each checkpoint covers its whole stream.
    assert_eq!(
        rows_without_tokens(&world),
        [
            row("us-east-1", "json", "s", world.today(), t + 8),
            row("us-east-1", "plain", "s", world.today(), t + 4),
            row("us-east-1", "scalars", "s", world.today(), t + 5),
            row("us-east-1", "untouched", "s", world.today(), t + 2),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn remove_log_streams_deletes_streams_after_delivery_and_their_rows() {
    let world = World::new();
    let t = recent(&world, 0);
    let first = events("web-1", &[t, t + 1]);
    let second = events("web-2", &[t, t + 1]);
    seed(
        &world,
        "us-east-1",
        "apache",
        &[("web-1", &first), ("web-2", &second)],
    )
    .await;
    seed(&world, "us-east-1", "kept", &[("s", &events("kept", &[t]))]).await;

    let run = world.one_shot(&[
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "--remove-log-streams",
    ]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    let mut received = delivered(&world);
    received.sort();
    assert_eq!(received, ["web-1 #0", "web-1 #1", "web-2 #0", "web-2 #1"]);

    let client = world.moto.logs_client("us-east-1");
    let listed = client
        .describe_log_streams()
        .log_group_name("apache")
        .send()
        .await
        .expect("DescribeLogStreams");
    assert!(
        listed.log_streams().is_empty(),
        "the streams are gone: {:?}",
        listed.log_streams()
    );
    let other = client
        .describe_log_streams()
        .log_group_name("kept")
        .send()
        .await
        .expect("DescribeLogStreams");
    assert_eq!(
        other.log_streams().len(),
        1,
        "a group not named is untouched"
    );
    assert_eq!(world.reference_rows(), []);
    assert_eq!(cursors(&world), []);
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_coming_back_within_the_timeout_gets_everything() {
    let mut world = World::new();
    let t = recent(&world, 0);
    let events = events("e", &[t, t + 1, t + 2]);
    seed(&world, "us-east-1", "apache", &[("s", &events)]).await;
    // analysisd is down: no socket file at all.
    world.analysisd.crash();
    std::fs::remove_file(world.home.queue_socket_path()).expect("remove the socket file");

    let mut command = world.command(&[
        "--service",
        "cloudwatchlogs",
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "--analysisd-timeout",
        "10",
    ]);
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    std::thread::sleep(Duration::from_secs(1));
    assert!(
        child.try_wait().expect("the child's status").is_none(),
        "the binary waits for analysisd"
    );
    world.analysisd.restart();
    let output = child.wait_with_output().expect("the binary ends");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(delivered(&world), messages(&events));
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "apache", "s", world.today(), t + 2)]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn analysisd_absent_exits_11_and_checkpoints_only_what_was_delivered() {
    let mut world = World::new();
    let t = recent(&world, 0);
    let first = events("first", &[t, t + 1]);
    seed(&world, "us-east-1", "apache", &[("s", &first)]).await;
    let args = [
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "--analysisd-timeout",
        "1",
    ];

    // A first run with no socket file: nothing delivered, no row.
    world.analysisd.crash();
    std::fs::remove_file(world.home.queue_socket_path()).expect("remove the socket file");
    let run = world.one_shot(&args);
    run.expect_code(11);
    assert_eq!(run.stderr_lines(), ["ERROR: Wazuh must be running."]);
    assert_eq!(world.reference_rows(), []);
    assert_eq!(cursors(&world), []);

    // analysisd back: everything, once.
    world.analysisd.restart();
    world.one_shot(&args).expect_code(0);
    assert_eq!(delivered(&world), messages(&first));
    let rows = world.reference_rows();
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "apache", "s", world.today(), t + 1)]
    );

    // New events while analysisd crashed (its socket file left behind): the row
    // does not move past what was delivered.
    let second = vec![
        (t + 2, "second #0".to_owned()),
        (t + 3, "second #1".to_owned()),
    ];
    world
        .moto
        .seeder("us-east-1")
        .put_events("apache", "s", &second)
        .await;
    world.analysisd.crash();
    let run = world.one_shot(&args);
    run.expect_code(11);
    assert_eq!(run.stderr_lines(), ["ERROR: Wazuh must be running."]);
    assert_eq!(world.reference_rows(), rows);

    world.analysisd.restart();
    world.one_shot(&args).expect_code(0);
    let received = delivered(&world);
    assert_eq!(received[2..], messages(&second), "{received:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_written_by_the_reference_is_continued_after_its_row() {
    const REFERENCE_DDL: &str = "
    CREATE TABLE IF NOT EXISTS cloudwatch_logs (
            aws_region 'text' NOT NULL,
            aws_log_group 'text' NOT NULL,
            aws_log_stream 'text' NOT NULL,
            next_token 'text',
            start_time 'integer',
            end_time 'integer',
            PRIMARY KEY (aws_region, aws_log_group, aws_log_stream));
    CREATE TABLE IF NOT EXISTS metadata (
        key 'text' NOT NULL,
        value 'text' NOT NULL,
        PRIMARY KEY (key, value));";
    let world = World::new();
    let t = recent(&world, 0);
    let events = events("e", &[t, t + 1, t + 2, t + 3, t + 4]);
    seed(&world, "us-east-1", "apache", &[("web-1", &events)]).await;
    {
        let db = rusqlite::Connection::open(world.database()).expect("create the database");
        db.execute_batch(REFERENCE_DDL)
            .expect("the reference's DDL");
        db.execute(
            "INSERT INTO metadata (key, value) VALUES ('version', '4.9.0')",
            [],
        )
        .expect("metadata row");
        db.execute(
            "INSERT INTO cloudwatch_logs VALUES ('us-east-1', 'apache', 'web-1', 'x', ?1, ?2)",
            [world.today(), t + 2],
        )
        .expect("the reference's row");
    }

    let run = world.one_shot(&["--aws_log_groups", "apache", "--regions", "us-east-1"]);
    run.expect_code(0);
    assert_eq!(run.stderr, "");
    assert_eq!(delivered(&world), ["e #3", "e #4"]);
    let rows = world.reference_rows();
    assert_eq!(rows.len(), 1);
    assert_ne!(rows[0].3.as_deref(), Some("x"), "the token is AWS's now");
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "apache", "web-1", world.today(), t + 4)]
    );

    let db = rusqlite::Connection::open(world.database()).expect("the database opens");
    let metadata: Vec<(String, String)> = db
        .prepare("SELECT key, value FROM metadata")
        .expect("metadata")
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .and_then(Iterator::collect)
        .expect("metadata rows");
    assert_eq!(metadata, [("version".to_owned(), "4.9.0".to_owned())]);
    let ddl: String = db
        .query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'cloudwatch_logs'",
            [],
            |row| row.get(0),
        )
        .expect("the table");
    assert!(
        ddl.contains("aws_region 'text' NOT NULL"),
        "the reference's table is kept as it was: {ddl}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_stream_is_skipped_until_it_has_new_events() {
    let world = World::new();
    let t = recent(&world, 0);
    seed(
        &world,
        "us-east-1",
        "apache",
        &[("web-1", &events("e", &[t, t + 1]))],
    )
    .await;
    let ingested = now_millis();
    wait_for_next_second(ingested);
    let args = [
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "--idle-stream-lag",
        "0",
        "-d",
        "1",
    ];
    let no_new_events =
        "DEBUG: +++ There are no new events in the \"web-1\" stream of the \"apache\" group";
    let reading =
        "DEBUG: Getting CloudWatch logs from log stream \"web-1\" in log group \"apache\"";

    let run = world.one_shot(&args);
    run.expect_code(0);
    assert!(run.stderr.contains(reading), "{}", run.stderr);
    assert_eq!(delivered(&world), ["e #0", "e #1"]);
    let rows = world.reference_rows();

    let run = world.one_shot(&args);
    run.expect_code(0);
    assert!(
        run.stderr_lines().contains(&no_new_events),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(reading), "{}", run.stderr);
    assert_eq!(delivered(&world).len(), 2);
    assert_eq!(world.reference_rows(), rows);

    // With the default lag (an hour) a stream this fresh is still read.
    let run = world.one_shot(&[
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "-d",
        "1",
    ]);
    run.expect_code(0);
    assert!(run.stderr.contains(reading), "{}", run.stderr);
    assert!(!run.stderr.contains(no_new_events), "{}", run.stderr);
    assert_eq!(delivered(&world).len(), 2);

    // New events move lastIngestionTime: the stream is read again.
    world
        .moto
        .seeder("us-east-1")
        .put_events("apache", "web-1", &[(t + 2, "new")])
        .await;
    let run = world.one_shot(&args);
    run.expect_code(0);
    assert!(run.stderr.contains(reading), "{}", run.stderr);
    assert!(!run.stderr.contains(no_new_events), "{}", run.stderr);
    assert_eq!(delivered(&world), ["e #0", "e #1", "new"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn debug_levels_add_lines_but_never_change_the_exit_code() {
    let mut world = World::new();
    let t = recent(&world, 0);
    seed(
        &world,
        "us-east-1",
        "apache",
        &[("s", &events("e", &[t, t + 1, t + 2]))],
    )
    .await;

    let run = world.one_shot(&[
        "--aws_log_groups",
        "apache",
        "--regions",
        "us-east-1",
        "-d",
        "1",
    ]);
    run.expect_code(0);
    let lines = run.stderr_lines();
    for expected in [
        "DEBUG: +++ Getting alerts from \"us-east-1\" region.",
        "DEBUG: Getting log streams for \"apache\" log group",
        "DEBUG: +++ Sent 3 events to Analysisd",
        "DEBUG: committing changes and closing the DB",
    ] {
        assert!(
            lines.contains(&expected),
            "{expected}\n--- stderr\n{}",
            run.stderr
        );
    }
    let plain_http = support::plain_http_warning(&world.moto.endpoint_url());
    assert!(
        lines.iter().all(|line| line.starts_with("DEBUG: ")
            || line.starts_with("  ")
            || *line == plain_http),
        "{}",
        run.stderr
    );
    assert_eq!(
        lines.iter().filter(|line| **line == plain_http).count(),
        1,
        "one warning for moto's plain-http endpoint with --debug\n{}",
        run.stderr
    );
    assert_eq!(delivered(&world), ["e #0", "e #1", "e #2"]);

    for level in ["0", "1", "2", "3"] {
        let run = world.one_shot(&[
            "--aws_log_groups",
            "missing",
            "--regions",
            "us-east-1",
            "-d",
            level,
        ]);
        run.expect_code(16);
        assert!(
            run.stderr_lines()
                .contains(&missing_group_error("missing", "us-east-1").as_str()),
            "level {level}: {}",
            run.stderr
        );
    }

    // The reference turns 12 into 1 with a traceback at debug levels; not here.
    world.aws = AwsFiles::with(None, None);
    for level in ["0", "1", "2", "3"] {
        let run = world.one_shot(&[
            "--aws_log_groups",
            "apache",
            "--regions",
            "us-east-1",
            "-d",
            level,
        ]);
        run.expect_code(12);
        assert!(
            run.stderr_lines()
                .contains(&"ERROR: Unable to locate credentials"),
            "level {level}: {}",
            run.stderr
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_event_is_truncated_at_a_character_boundary_with_a_warning() {
    let world = World::new();
    let t = recent(&world, 0);
    let big = "é".repeat(50_000);
    assert_eq!(big.len(), 100_000);
    let stream = vec![(t, big.clone()), (t + 1, "after".to_owned())];
    seed(&world, "us-east-1", "big", &[("s", &stream)]).await;

    let run = world.one_shot(&["--aws_log_groups", "big", "--regions", "us-east-1"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr_lines(),
        [format!(
            "WARNING: Event of 100000 bytes in log group \"big\", stream \"s\", timestamp {t} \
             was truncated to 65522 bytes to fit analysisd's message limit."
        )]
    );
    assert_eq!(delivered(&world).len(), 2);
    let datagrams = world.analysisd.datagrams();
    // 65,535 bytes at most with the header; a two-byte character does not fit whole in the last one.
    let expected = format!("{HEADER}{}", "é".repeat(32_761));
    assert_eq!(expected.len(), 65_534);
    assert_eq!(datagrams[0], expected.as_bytes());
    assert_eq!(datagrams[1], b"1:Wazuh-AWS:after");
    assert_eq!(
        rows_without_tokens(&world),
        [row("us-east-1", "big", "s", world.today(), t + 1)]
    );
}
