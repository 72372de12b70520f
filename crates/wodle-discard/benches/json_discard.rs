//! Judging one event against `discard_regex`: a field path into a
//! CloudTrail-like JSON message (matching and not), and plain text.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use regex::Regex;
use wodle_discard::DiscardFilter;

/// A CloudTrail record as CloudWatch Logs carries it (about 1.2 KB).
const CLOUDTRAIL: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:session","arn":"arn:aws:sts::123456789012:assumed-role/ops/session","accountId":"123456789012","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLE","arn":"arn:aws:iam::123456789012:role/ops","accountId":"123456789012","userName":"ops"},"attributes":{"creationDate":"2026-11-26T18:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2026-11-26T18:59:20Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.3.17","userAgent":"[aws-sdk-go/1.44.0]","requestParameters":{"bucketName":"logs-bucket","key":"2026/11/26/object.gz","Host":"logs-bucket.s3.amazonaws.com"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"ECDHE-RSA-AES128-GCM-SHA256","bytesTransferredIn":0,"bytesTransferredOut":5123},"requestID":"EXAMPLE123","eventID":"4c5a0b4e-0000-4000-8000-000000000000","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::logs-bucket/2026/11/26/object.gz"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012","eventCategory":"Data"}"#;

const PLAIN: &str = r#"10.0.3.17 - - [26/Nov/2026:18:59:20 +0000] "GET /healthz HTTP/1.1" 200 2 "-" "ELB-HealthChecker/2.0""#;

fn filter(field: Option<&str>, pattern: &str) -> DiscardFilter {
    let regex = Regex::new(pattern).expect("a valid pattern");
    DiscardFilter::new(field.map(str::to_owned), regex).expect("an anchorable pattern")
}

fn json_discard(c: &mut Criterion) {
    let by_field = filter(
        Some("userIdentity.sessionContext.sessionIssuer.userName"),
        "ops",
    );
    let by_field_miss = filter(
        Some("userIdentity.sessionContext.sessionIssuer.userName"),
        "admin",
    );
    let by_event = filter(Some("eventName"), "Get(Object|BucketAcl)");
    let plain = filter(None, r"\S+ - - \[[^]]+\] .GET /healthz");
    let plain_miss = filter(None, r"\S+ - - \[[^]]+\] .POST ");

    let mut group = c.benchmark_group("discard");
    group.bench_function("json_field_deep/match", |b| {
        b.iter(|| by_field.should_discard(black_box(CLOUDTRAIL)));
    });
    group.bench_function("json_field_deep/no_match", |b| {
        b.iter(|| by_field_miss.should_discard(black_box(CLOUDTRAIL)));
    });
    group.bench_function("json_field_top/match", |b| {
        b.iter(|| by_event.should_discard(black_box(CLOUDTRAIL)));
    });
    group.bench_function("plain/match", |b| {
        b.iter(|| plain.should_discard(black_box(PLAIN)));
    });
    group.bench_function("plain/no_match", |b| {
        b.iter(|| plain_miss.should_discard(black_box(PLAIN)));
    });
    group.finish();
}

criterion_group!(benches, json_discard);
criterion_main!(benches);
