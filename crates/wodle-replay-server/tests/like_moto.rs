//! The replay server answers as moto does: the same dataset seeded into moto and served by
//! the replay server, read through the real SDK, gives the same events, pages, tokens'
//! end-of-stream rule, stream listings, identity and errors.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata as _;
use wodle_replay_server::{Dataset, LogGroup, LogStream, ReplayServer, message};
use wodle_testkit::{MotoServer, TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, now_millis};

const GROUP: &str = "replay";
const REGION: &str = "us-east-1";
/// 25,000 events make three pages of moto's and AWS's 10,000.
const EVENTS: u64 = 25_000;
/// Small enough that 10,000 events stay under 1 MB, as moto (which has no byte limit) pages.
const MESSAGE_BYTES: usize = 40;
/// The safety net of every paging loop: far more pages than any read here needs.
const MAX_PAGES: usize = 1_000;

fn dataset(first_timestamp: i64) -> Dataset {
    let mut streams: Vec<LogStream> = ["web-1", "web-2", "db"]
        .into_iter()
        .map(|name| LogStream {
            name: name.to_owned(),
            events: EVENTS,
            message_bytes: MESSAGE_BYTES,
        })
        .collect();
    // 60 streams in all: two DescribeLogStreams pages.
    streams.extend((0..57).map(|index| LogStream {
        name: format!("empty-{index:02}"),
        events: 0,
        message_bytes: MESSAGE_BYTES,
    }));
    Dataset {
        groups: vec![LogGroup {
            name: GROUP.to_owned(),
            streams,
        }],
        ..Dataset::uniform(first_timestamp, GROUP, 0, 0, 0)
    }
}

async fn seed_moto(moto: &MotoServer, dataset: &Dataset) {
    let seeder = moto.seeder(REGION);
    for group in &dataset.groups {
        seeder.create_log_group(&group.name).await;
        for stream in &group.streams {
            seeder.create_log_stream(&group.name, &stream.name).await;
            let events: Vec<(i64, String)> = (0..stream.events)
                .map(|index| {
                    (
                        dataset.first_timestamp + index as i64,
                        message(&stream.name, index, stream.message_bytes),
                    )
                })
                .collect();
            seeder.put_events(&group.name, &stream.name, &events).await;
        }
    }
}

/// What reading a stream gave: its events, each page's size, and whether it ended on the
/// token sent coming back.
#[derive(Debug, PartialEq)]
struct Read {
    events: Vec<(i64, String)>,
    page_sizes: Vec<usize>,
}

async fn read_stream(
    client: &Client,
    stream: &str,
    start_time: Option<i64>,
    limit: Option<i32>,
) -> Read {
    let mut read = Read {
        events: Vec::new(),
        page_sizes: Vec::new(),
    };
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_start_time(start_time)
            .set_limit(limit)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("GetLogEvents {stream}: {e:?}"));
        let next = page
            .next_forward_token()
            .expect("every page has a forward token")
            .to_owned();
        read.page_sizes.push(page.events().len());
        read.events.extend(page.events().iter().map(|event| {
            (
                event.timestamp().expect("timestamp"),
                event.message().expect("message").to_owned(),
            )
        }));
        if token.as_deref() == Some(next.as_str()) {
            assert!(page.events().is_empty(), "the last page is empty");
            return read;
        }
        token = Some(next);
    }
    panic!("{stream}: no end after {MAX_PAGES} pages");
}

/// Names, first and last event times, and the number of pages of DescribeLogStreams.
async fn list_streams(client: &Client) -> (Vec<(String, Option<i64>, Option<i64>)>, usize) {
    let mut streams = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let page = client
            .describe_log_streams()
            .log_group_name(GROUP)
            .limit(50)
            .set_next_token(token)
            .send()
            .await
            .expect("DescribeLogStreams");
        pages += 1;
        streams.extend(page.log_streams().iter().map(|stream| {
            (
                stream.log_stream_name().expect("name").to_owned(),
                stream.first_event_timestamp(),
                stream.last_event_timestamp(),
            )
        }));
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return (streams, pages);
        }
    }
    panic!("DescribeLogStreams: no end after {MAX_PAGES} pages");
}

fn sts_client(endpoint_url: &str) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
        .region(aws_sdk_sts::config::Region::new(REGION))
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
            None,
            None,
            "like-moto",
        ))
        .endpoint_url(endpoint_url)
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

#[tokio::test]
async fn replays_what_moto_answers_for_the_same_dataset() {
    let moto = MotoServer::start();
    // An hour ago: moto refuses events older than 14 days or in the future.
    let first = now_millis() - 3_600_000;
    let dataset = dataset(first);
    seed_moto(&moto, &dataset).await;
    let replay = ReplayServer::start(dataset);
    let from_moto = moto.logs_client(REGION);
    let from_replay = wodle_testkit::logs_client(&replay.endpoint_url(), REGION);

    for stream in ["web-1", "db"] {
        for (start_time, limit) in [
            (None, None),
            (Some(first + 12_345), None),
            (Some(first + 100), Some(7_000)),
            (Some(first + EVENTS as i64 + 10), None),
        ] {
            let expected = read_stream(&from_moto, stream, start_time, limit).await;
            let replayed = read_stream(&from_replay, stream, start_time, limit).await;
            assert_eq!(
                replayed.page_sizes, expected.page_sizes,
                "{stream} from {start_time:?}, limit {limit:?}: pages"
            );
            assert!(
                replayed.events == expected.events,
                "{stream} from {start_time:?}, limit {limit:?}: {} events against moto's {}",
                replayed.events.len(),
                expected.events.len()
            );
        }
    }
    // An empty stream ends at once in both, on the second call.
    assert_eq!(
        read_stream(&from_replay, "empty-00", None, None).await,
        read_stream(&from_moto, "empty-00", None, None).await
    );

    let (moto_streams, moto_pages) = list_streams(&from_moto).await;
    let (replay_streams, replay_pages) = list_streams(&from_replay).await;
    assert_eq!(replay_streams, moto_streams);
    assert_eq!((replay_pages, moto_pages), (2, 2));

    for (client, name) in [(&from_moto, "moto"), (&from_replay, "replay")] {
        let missing = client
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name("missing")
            .send()
            .await
            .expect_err("a missing stream is an error");
        assert_eq!(missing.code(), Some("ResourceNotFoundException"), "{name}");
        let bad_token = client
            .get_log_events()
            .log_group_name(GROUP)
            .log_stream_name("web-1")
            .next_token("not a token")
            .send()
            .await
            .expect_err("a token not given out is an error");
        assert_eq!(
            bad_token.code(),
            Some("InvalidParameterException"),
            "{name}"
        );
    }

    let moto_identity = sts_client(&moto.endpoint_url())
        .get_caller_identity()
        .send()
        .await
        .expect("moto's GetCallerIdentity");
    let replay_identity = sts_client(&replay.endpoint_url())
        .get_caller_identity()
        .send()
        .await
        .expect("the replay server's GetCallerIdentity");
    assert_eq!(replay_identity.account(), moto_identity.account());
    assert_eq!(replay_identity.arn(), moto_identity.arn());

    assert!(replay.requests("GetLogEvents") > 0);
    assert_eq!(replay.requests("DescribeLogStreams"), 2);
    assert_eq!(replay.requests("GetCallerIdentity"), 1);
    assert!(replay.first_request_at().is_some());
}

#[tokio::test]
async fn pages_of_large_events_stop_at_1_mb() {
    let replay = ReplayServer::start(Dataset::uniform(1_000_000, GROUP, 1, 10_000, 1_000));
    let client = wodle_testkit::logs_client(&replay.endpoint_url(), REGION);
    let read = read_stream(&client, "stream-0000", None, None).await;
    assert_eq!(read.events.len(), 10_000);
    let per_page = 1_048_576 / (1_000 + 26);
    assert_eq!(read.page_sizes[0], per_page);
    assert_eq!(read.page_sizes.len(), 10_000usize.div_ceil(per_page) + 1);
    assert_eq!(
        read.events[9_999],
        (1_009_999, message("stream-0000", 9_999, 1_000))
    );
}
