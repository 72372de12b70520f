//! The proxy in front of a real moto: it forwards faithfully, and each fault does what it says.
//!
//! The clients here make one attempt per call (retries disabled) so that each fault is seen
//! as the collector's SDK meets it before its retry layer.

use std::time::Duration;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::operation::get_log_events::{GetLogEventsError, GetLogEventsOutput};
use wodle_fault_proxy::{Fault, FaultProxy, FaultRule, INVALID_TOKEN_MESSAGE};
use wodle_testkit::{MotoServer, now_millis};

const REGION: &str = "eu-west-1";
const GROUP: &str = "app";
const STREAM: &str = "web-1";

/// A client with one attempt per call and a 1 s attempt bound, sending to `endpoint`.
fn one_attempt_client(endpoint: &str) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(1))
                .build(),
        )
        .build();
    Client::from_conf(config)
}

/// Moto with one stream of `count` events (message `event N`), and a proxy in front of it.
async fn seeded(count: usize) -> (MotoServer, FaultProxy) {
    let moto = MotoServer::start();
    let seeder = moto.seeder(REGION);
    seeder.create_log_group(GROUP).await;
    seeder.create_log_stream(GROUP, STREAM).await;
    let start = now_millis() - 60_000;
    let events: Vec<(i64, String)> = (0..count)
        .map(|i| (start + i as i64, format!("event {i}")))
        .collect();
    seeder.put_events(GROUP, STREAM, &events).await;
    let proxy = FaultProxy::start(&moto.endpoint_url());
    (moto, proxy)
}

async fn get(
    client: &Client,
    token: Option<&str>,
) -> Result<GetLogEventsOutput, SdkError<GetLogEventsError>> {
    client
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .start_from_head(true)
        .limit(2)
        .set_next_token(token.map(str::to_owned))
        .send()
        .await
}

fn messages(output: &GetLogEventsOutput) -> Vec<String> {
    output
        .events()
        .iter()
        .map(|event| event.message().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn a_forwarded_call_answers_as_moto_does() {
    let (moto, proxy) = seeded(3).await;
    let direct = get(&one_attempt_client(&moto.endpoint_url()), None)
        .await
        .unwrap();
    let proxied = get(&one_attempt_client(&proxy.endpoint_url()), None)
        .await
        .unwrap();
    assert_eq!(messages(&proxied), ["event 0", "event 1"]);
    assert_eq!(messages(&proxied), messages(&direct));
    assert_eq!(proxied.next_forward_token(), direct.next_forward_token());
    assert_eq!(proxy.requests("GetLogEvents"), 1);
    assert_eq!(proxy.injected(), 0);
}

#[tokio::test]
async fn a_page_limit_makes_moto_answer_in_smaller_pages() {
    let (_moto, proxy) = seeded(5).await;
    proxy.limit_pages(3);
    let client = one_attempt_client(&proxy.endpoint_url());
    let page = client
        .get_log_events()
        .log_group_name(GROUP)
        .log_stream_name(STREAM)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    assert_eq!(messages(&page), ["event 0", "event 1", "event 2"]);
    // A limit the client sets is kept.
    assert_eq!(
        messages(&get(&client, None).await.unwrap()),
        ["event 0", "event 1"]
    );
}

#[tokio::test]
async fn sts_is_forwarded_untouched_even_when_every_logs_call_fails() {
    let (_moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::any(Fault::Throttle).times(usize::MAX));
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new(REGION))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .endpoint_url(proxy.endpoint_url())
            .build(),
    );
    let identity = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account(), Some("123456789012"));
    assert_eq!(proxy.requests("GetCallerIdentity"), 1);
    assert_eq!(proxy.injected(), 0);
}

#[tokio::test]
async fn throttle_answers_a_throttling_exception_then_lets_calls_through() {
    let (_moto, proxy) = seeded(3).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::Throttle).skip(1));
    let client = one_attempt_client(&proxy.endpoint_url());
    get(&client, None).await.unwrap();
    let error = get(&client, None).await.unwrap_err();
    assert_eq!(error.code(), Some("ThrottlingException"));
    assert_eq!(error.message(), Some("Rate exceeded"));
    assert_eq!(error.raw_response().map(|r| r.status().as_u16()), Some(400));
    get(&client, None).await.unwrap();
    assert_eq!((proxy.requests("GetLogEvents"), proxy.injected()), (3, 1));
}

#[tokio::test]
async fn server_error_answers_its_status_with_service_unavailable() {
    let (_moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::ServerError(503)));
    proxy.add(FaultRule::on("GetLogEvents", Fault::ServerError(500)));
    let client = one_attempt_client(&proxy.endpoint_url());
    for status in [503, 500] {
        let error = get(&client, None).await.unwrap_err();
        assert_eq!(error.code(), Some("ServiceUnavailableException"));
        assert_eq!(
            error.raw_response().map(|r| r.status().as_u16()),
            Some(status)
        );
    }
    get(&client, None).await.unwrap();
}

#[tokio::test]
async fn reset_before_response_closes_the_connection_unanswered() {
    let (_moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::ResetBeforeResponse));
    let client = one_attempt_client(&proxy.endpoint_url());
    let error = get(&client, None).await.unwrap_err();
    assert!(
        matches!(error, SdkError::DispatchFailure(_)),
        "{}",
        DisplayErrorContext(&error)
    );
    assert!(error.raw_response().is_none());
    get(&client, None).await.unwrap();
}

#[tokio::test]
async fn reset_mid_body_sends_the_headers_and_half_the_body() {
    let (moto, proxy) = seeded(2).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::ResetMidBody));
    // Raw HTTP through hyper's own client would hide nothing: read the bytes by hand.
    let body = r#"{"logGroupName":"app","logStreamName":"web-1","startFromHead":true}"#;
    let whole = raw_post(&moto.endpoint_url(), body);
    let cut = raw_post(&proxy.endpoint_url(), body);
    let (whole_head, whole_body) = whole.split_once("\r\n\r\n").unwrap();
    let (cut_head, cut_body) = cut.split_once("\r\n\r\n").unwrap();
    assert!(cut_head.starts_with("HTTP/1.1 200"), "{cut_head}");
    let length = format!("content-length: {}", whole_body.len());
    assert!(
        cut_head.to_ascii_lowercase().contains(&length),
        "{cut_head}\nexpected {length}"
    );
    assert!(whole_head.starts_with("HTTP/1.1 200"));
    assert_eq!(cut_body, &whole_body[..whole_body.len() / 2]);

    // The SDK sees an unreadable answer.
    proxy.add(FaultRule::on("GetLogEvents", Fault::ResetMidBody));
    let error = get(&one_attempt_client(&proxy.endpoint_url()), None)
        .await
        .unwrap_err();
    assert!(
        error
            .raw_response()
            .is_none_or(|r| r.status().as_u16() == 200)
    );
    assert!(error.code().is_none(), "{}", DisplayErrorContext(&error));
}

/// POSTs a GetLogEvents body and returns everything read until the server closes.
fn raw_post(endpoint: &str, body: &str) -> String {
    use std::io::{Read as _, Write as _};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("set a read timeout");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-amz-json-1.1\r\n\
         X-Amz-Target: Logs_20140328.GetLogEvents\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/logs/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut answer = Vec::new();
    // A reset may end the read with an error after the bytes that came.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn stall_holds_the_answer_past_the_attempt_timeout() {
    let (_moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::on(
        "GetLogEvents",
        Fault::Stall(Duration::from_secs(30)),
    ));
    let client = one_attempt_client(&proxy.endpoint_url());
    let error = get(&client, None).await.unwrap_err();
    assert!(
        matches!(error, SdkError::TimeoutError(_)),
        "{}",
        DisplayErrorContext(&error)
    );
    get(&client, None).await.unwrap();
}

#[tokio::test]
async fn slow_delays_then_answers_as_moto_does() {
    let (_moto, proxy) = seeded(3).await;
    proxy.add(FaultRule::on(
        "GetLogEvents",
        Fault::Slow(Duration::from_millis(300)),
    ));
    let output = get(&one_attempt_client(&proxy.endpoint_url()), None)
        .await
        .unwrap();
    assert_eq!(messages(&output), ["event 0", "event 1"]);
    assert_eq!(proxy.injected(), 1);
}

#[tokio::test]
async fn an_empty_page_leads_back_to_where_it_was_sent_from() {
    let (moto, proxy) = seeded(5).await;
    let direct = one_attempt_client(&moto.endpoint_url());
    let client = one_attempt_client(&proxy.endpoint_url());
    // One empty page on the first request (no token), one on the request after the first
    // real page (with a token): the second rule lets the first real page's request pass.
    proxy.add(FaultRule::on("GetLogEvents", Fault::EmptyPage));
    proxy.add(FaultRule::on("GetLogEvents", Fault::EmptyPage).skip(1));

    let empty = get(&client, None).await.unwrap();
    assert!(empty.events().is_empty());
    let minted = empty.next_forward_token().unwrap().to_owned();
    let first = get(&client, Some(&minted)).await.unwrap();
    assert_eq!(messages(&first), ["event 0", "event 1"]);
    let token = first.next_forward_token().unwrap();
    assert_eq!(
        Some(token),
        get(&direct, None).await.unwrap().next_forward_token()
    );

    let empty = get(&client, Some(token)).await.unwrap();
    assert!(empty.events().is_empty());
    let minted = empty.next_forward_token().unwrap().to_owned();
    assert_ne!(minted, token, "an empty page is not the end of the stream");
    let second = get(&client, Some(&minted)).await.unwrap();
    assert_eq!(messages(&second), ["event 2", "event 3"]);
    assert_eq!(proxy.injected(), 2);
}

#[tokio::test]
async fn reject_token_answers_aws_invalid_token_error_to_a_token_only() {
    let (_moto, proxy) = seeded(3).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::RejectToken));
    let client = one_attempt_client(&proxy.endpoint_url());
    let first = get(&client, None).await.unwrap();
    let token = first.next_forward_token().unwrap();
    let error = get(&client, Some(token)).await.unwrap_err();
    assert_eq!(error.code(), Some("InvalidParameterException"));
    assert_eq!(error.message(), Some(INVALID_TOKEN_MESSAGE));
    assert_eq!(
        messages(&get(&client, Some(token)).await.unwrap()),
        ["event 2"]
    );
}

#[tokio::test]
async fn delete_stream_removes_the_stream_before_forwarding() {
    let (moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::DeleteStream).stream(STREAM));
    let error = get(&one_attempt_client(&proxy.endpoint_url()), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    let streams = moto
        .logs_client(REGION)
        .describe_log_streams()
        .log_group_name(GROUP)
        .send()
        .await
        .unwrap();
    assert!(streams.log_streams().is_empty(), "{streams:?}");
}

#[tokio::test]
async fn delete_group_removes_the_group_before_forwarding() {
    let (moto, proxy) = seeded(1).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::DeleteGroup));
    let error = get(&one_attempt_client(&proxy.endpoint_url()), None)
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some("ResourceNotFoundException"));
    let groups = moto
        .logs_client(REGION)
        .describe_log_groups()
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "{groups:?}");
}

#[tokio::test]
async fn a_vanished_endpoint_refuses_connections() {
    let (_moto, proxy) = seeded(3).await;
    let client = one_attempt_client(&proxy.endpoint_url());
    get(&client, None).await.unwrap();
    proxy.vanish();
    assert!(proxy.vanished());
    let error = get(&client, None).await.unwrap_err();
    assert!(
        matches!(error, SdkError::DispatchFailure(_)),
        "{}",
        DisplayErrorContext(&error)
    );
}

#[tokio::test]
async fn the_vanish_fault_takes_the_endpoint_down_mid_call() {
    let (_moto, proxy) = seeded(3).await;
    proxy.add(FaultRule::on("GetLogEvents", Fault::Vanish).skip(1));
    let client = one_attempt_client(&proxy.endpoint_url());
    get(&client, None).await.unwrap();
    let error = get(&client, None).await.unwrap_err();
    assert!(
        matches!(error, SdkError::DispatchFailure(_)),
        "{}",
        DisplayErrorContext(&error)
    );
    assert!(proxy.vanished());
    let error = get(&client, None).await.unwrap_err();
    assert!(matches!(error, SdkError::DispatchFailure(_)));
}
