//! Stream discovery against moto: every page of DescribeLogStreams is followed,
//! stream times come back, and a missing group is told apart.

use std::collections::BTreeSet;

use wodle_discovery::{DiscoveryError, list_log_streams};
use wodle_testkit::{MotoServer, now_millis};

#[tokio::test]
async fn every_stream_of_a_group_is_listed_across_pages() {
    let moto = MotoServer::start();
    let seeder = moto.seeder("us-east-1");
    seeder.create_log_group("web").await;
    // 120 streams: three pages of at most 50.
    let names: BTreeSet<String> = (0..120).map(|i| format!("i-{i:04}")).collect();
    for name in &names {
        seeder.create_log_stream("web", name).await;
    }
    let written_at = now_millis() - 5_000;
    seeder
        .put_events("web", "i-0007", &[(written_at, "GET / 200")])
        .await;

    let streams = list_log_streams(&moto.logs_client("us-east-1"), "web")
        .await
        .expect("the group exists");

    let listed: BTreeSet<String> = streams.iter().map(|stream| stream.name.clone()).collect();
    assert_eq!(listed, names);
    assert_eq!(streams.len(), 120, "no stream listed twice");
    let active = streams
        .iter()
        .find(|stream| stream.name == "i-0007")
        .expect("the stream with an event");
    assert_eq!(active.last_event_timestamp, Some(written_at));
    assert!(
        active
            .last_ingestion_time
            .is_some_and(|time| time >= written_at)
    );
    let idle = streams
        .iter()
        .find(|stream| stream.name == "i-0008")
        .expect("an idle stream");
    assert_eq!(idle.last_event_timestamp, None);
}

#[tokio::test]
async fn a_missing_group_is_a_typed_error_naming_it() {
    let moto = MotoServer::start();
    let seeder = moto.seeder("eu-west-1");
    seeder.create_log_group("present").await;

    let error = list_log_streams(&moto.logs_client("eu-west-1"), "absent")
        .await
        .expect_err("the group does not exist");
    assert!(
        matches!(&error, DiscoveryError::LogGroupNotFound { group, .. } if group == "absent"),
        "{error:?}"
    );
    // The reference's wording (botocore's rendering of the AWS error).
    assert_eq!(
        error.to_string(),
        "The \"get_log_streams\" request failed: An error occurred (ResourceNotFoundException) \
         when calling the DescribeLogStreams operation: The specified log group does not exist."
    );

    // Regions are kept apart: the group exists in eu-west-1 only.
    let error = list_log_streams(&moto.logs_client("us-west-2"), "present")
        .await
        .expect_err("no such group in us-west-2");
    assert!(matches!(error, DiscoveryError::LogGroupNotFound { .. }));
}

#[tokio::test]
async fn an_empty_group_has_no_streams() {
    let moto = MotoServer::start();
    moto.seeder("us-east-1").create_log_group("empty").await;
    let streams = list_log_streams(&moto.logs_client("us-east-1"), "empty")
        .await
        .expect("the group exists");
    assert!(streams.is_empty());
}
