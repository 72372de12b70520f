//! The pull engine against moto: a stream is read to its real end across pages,
//! from a time or from a stored token, with every event once and in order.

use wodle_cloudwatch::{LogEvent, PullError, StreamPosition, StreamReader};
use wodle_testkit::{CloudWatchSeeder, MotoServer, now_millis};

const REGION: &str = "us-east-1";

async fn read_all(reader: &mut StreamReader) -> (Vec<LogEvent>, Vec<usize>) {
    let mut events = Vec::new();
    let mut page_sizes = Vec::new();
    while let Some(page) = reader.next_page().await.expect("GetLogEvents") {
        page_sizes.push(page.events.len());
        events.extend(page.events);
    }
    (events, page_sizes)
}

/// A fresh moto with the group `app` holding one empty stream.
async fn moto_with_stream(stream: &str) -> (MotoServer, CloudWatchSeeder) {
    let moto = MotoServer::start();
    let seeder = moto.seeder(REGION);
    seeder.create_log_group("app").await;
    seeder.create_log_stream("app", stream).await;
    (moto, seeder)
}

fn messages(events: &[LogEvent]) -> Vec<String> {
    events.iter().map(|event| event.message.clone()).collect()
}

#[tokio::test]
async fn a_stream_larger_than_a_page_is_read_to_the_end_in_order() {
    let (moto, seeder) = moto_with_stream("big").await;
    let start = now_millis() - 3_600_000;
    // 25,000 events: moto's pages hold 10,000, so three pages and then the end.
    let seeded: Vec<(i64, String)> = (0..25_000)
        .map(|i| (start + i / 10, format!("event {i:05}")))
        .collect();
    seeder.put_events("app", "big", &seeded).await;

    let mut reader = StreamReader::new(
        moto.logs_client(REGION),
        "app",
        "big",
        StreamPosition::from_time(start),
    );
    let (events, page_sizes) = read_all(&mut reader).await;

    assert_eq!(page_sizes, [10_000, 10_000, 5_000]);
    let expected: Vec<String> = seeded.iter().map(|(_, message)| message.clone()).collect();
    assert_eq!(messages(&events), expected);
    assert!(
        events
            .iter()
            .zip(&seeded)
            .all(|(event, (time, _))| event.timestamp == *time)
    );
    assert_eq!(reader.position().start_time, Some(start));
    assert!(reader.position().forward_token.is_some());
    // Once finished, a reader stays finished.
    assert!(reader.next_page().await.expect("no call needed").is_none());
}

#[tokio::test]
async fn reading_from_a_time_skips_what_came_before() {
    let (moto, seeder) = moto_with_stream("s").await;
    let start = now_millis() - 60_000;
    seeder
        .put_events(
            "app",
            "s",
            &[(start, "old"), (start + 10, "new 1"), (start + 20, "new 2")],
        )
        .await;

    let client = moto.logs_client(REGION);
    let mut reader = StreamReader::new(
        client.clone(),
        "app",
        "s",
        StreamPosition::from_time(start + 10),
    );
    let (events, _) = read_all(&mut reader).await;
    assert_eq!(messages(&events), ["new 1", "new 2"]);

    // A later run resumes the time-filtered read from where it stopped: the token
    // goes with the filter it came from, so nothing repeats and nothing is skipped.
    seeder
        .put_events("app", "s", &[(start + 30, "newer")])
        .await;
    let mut resumed = StreamReader::new(client, "app", "s", reader.position().clone());
    let (events, _) = read_all(&mut resumed).await;
    assert_eq!(messages(&events), ["newer"]);
}

#[tokio::test]
async fn a_stored_token_resumes_after_what_was_read() {
    let (moto, seeder) = moto_with_stream("s").await;
    let start = now_millis() - 60_000;
    seeder
        .put_events("app", "s", &[(start, "first"), (start + 1, "second")])
        .await;

    let client = moto.logs_client(REGION);
    let mut reader =
        StreamReader::new(client.clone(), "app", "s", StreamPosition::from_time(start));
    let (events, _) = read_all(&mut reader).await;
    assert_eq!(messages(&events), ["first", "second"]);
    let stored = reader.position().clone();

    // New events arrive; a new run resumes from the stored token alone.
    seeder
        .put_events("app", "s", &[(start + 2, "third"), (start + 3, "fourth")])
        .await;
    let mut resumed = StreamReader::new(client.clone(), "app", "s", stored);
    let (events, _) = read_all(&mut resumed).await;
    assert_eq!(messages(&events), ["third", "fourth"]);

    // Nothing new: the resumed position gives no page at all.
    let mut idle = StreamReader::new(client, "app", "s", resumed.position().clone());
    assert!(idle.next_page().await.expect("GetLogEvents").is_none());
}

#[tokio::test]
async fn an_empty_stream_has_no_pages() {
    let (moto, _seeder) = moto_with_stream("empty").await;
    let mut reader = StreamReader::new(
        moto.logs_client(REGION),
        "app",
        "empty",
        StreamPosition::from_head(),
    );
    assert!(reader.next_page().await.expect("GetLogEvents").is_none());
}

#[tokio::test]
async fn a_missing_stream_is_a_typed_error() {
    let moto = MotoServer::start();
    let seeder = moto.seeder(REGION);
    seeder.create_log_group("app").await;
    let mut reader = StreamReader::new(
        moto.logs_client(REGION),
        "app",
        "gone",
        StreamPosition::from_head(),
    );
    let error = reader.next_page().await.expect_err("no such stream");
    assert!(
        matches!(&error, PullError::StreamNotFound { group, stream } if group == "app" && stream == "gone"),
        "{error:?}"
    );
}
