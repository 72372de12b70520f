//! Tests of whole files: every tag, error and warning as the reader reports
//! them, the example files of `config/` and the fixtures of
//! `tests/fixtures/config/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::macros::date;

use super::*;

/// A file whose module-level tags start at line 2.
fn module_file(tags: &str) -> String {
    format!(
        "<wodle name=\"aws-s3\">\n{tags}\n<service type=\"cloudwatchlogs\">\n\
         <aws_log_groups>g</aws_log_groups>\n</service>\n</wodle>\n"
    )
}

/// A file whose service child tags start at line 4.
fn service_file(children: &str) -> String {
    format!(
        "<ossec_config>\n<wodle name=\"aws-s3\">\n<service type=\"cloudwatchlogs\">\n\
         {children}\n</service>\n</wodle>\n</ossec_config>\n"
    )
}

fn ok(text: &str) -> LoadedConfig {
    match parse_str(text) {
        Ok(config) => config,
        Err(e) => panic!("expected a valid file, got {e}\n{text}"),
    }
}

fn invalid(text: &str) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    match parse_str(text) {
        Err(LoadError::Invalid { errors, warnings }) => (errors, warnings),
        Err(e) => panic!("expected invalid settings, got {e}"),
        Ok(config) => panic!("expected invalid settings, got {config:?}"),
    }
}

/// The one error of `text`.
fn one_error(text: &str) -> Diagnostic {
    let (errors, _) = invalid(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

fn service(text: &str) -> CloudWatchLogsService {
    let mut config = ok(text);
    assert_eq!(config.wodles.len(), 1);
    assert_eq!(config.wodles[0].services.len(), 1);
    config.wodles.remove(0).services.remove(0)
}

fn diag(line: u32, tag: &str, message: &str) -> Diagnostic {
    Diagnostic {
        line,
        tag: tag.to_owned(),
        message: message.to_owned(),
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// Module-level tags.

#[test]
fn module_defaults() {
    let config = ok(&module_file(""));
    let wodle = &config.wodles[0];
    assert_eq!(wodle.line, 1);
    assert!(!wodle.disabled);
    assert!(wodle.run_on_start);
    assert!(!wodle.skip_on_error);
    assert!(!wodle.remove_from_bucket);
    assert_eq!(wodle.schedule, Schedule::default());
    assert!(wodle.static_keys.is_none());
    assert!(wodle.other_blocks.is_empty());
    assert!(config.warnings.is_empty());
    assert!(config.other_sections.is_empty());
}

#[test]
fn yes_no_module_tags() {
    let config = ok(&module_file(
        "<disabled>yes</disabled>\n<run_on_start>no</run_on_start>\n\
         <skip_on_error>yes</skip_on_error>\n<remove_from_bucket> yes </remove_from_bucket>",
    ));
    let wodle = &config.wodles[0];
    assert!(wodle.disabled);
    assert!(!wodle.run_on_start);
    assert!(wodle.skip_on_error);
    assert!(wodle.remove_from_bucket);
}

#[test]
fn bad_yes_no_values_use_the_reference_wording_and_collect_all() {
    let (errors, _) = invalid(&module_file(
        "<disabled>maybe</disabled>\n<run_on_start>Yes</run_on_start>\n\
         <skip_on_error></skip_on_error>\n<remove_from_bucket>1</remove_from_bucket>",
    ));
    assert_eq!(
        errors,
        [
            diag(
                2,
                "disabled",
                "Invalid content for tag 'disabled' at module 'aws-s3'. Got 'maybe'; accepted: \
                 'yes' or 'no'."
            ),
            diag(
                3,
                "run_on_start",
                "Invalid content for tag 'run_on_start' at module 'aws-s3'. Got 'Yes'; accepted: \
                 'yes' or 'no'."
            ),
            diag(
                4,
                "skip_on_error",
                "Invalid content for tag 'skip_on_error' at module 'aws-s3'. Got ''; accepted: \
                 'yes' or 'no'."
            ),
            diag(
                5,
                "remove_from_bucket",
                "Invalid content for tag 'remove_from_bucket' at module 'aws-s3'. Got '1'; \
                 accepted: 'yes' or 'no'."
            ),
        ]
    );
}

#[test]
fn unknown_module_tag() {
    let error = one_error(&module_file(
        "<disabled>no</disabled>\n<frequency>5</frequency>",
    ));
    assert_eq!(error.line, 3);
    assert_eq!(error.tag, "frequency");
    assert!(
        error.message.starts_with(
            "No such tag 'frequency' at module 'aws-s3'. Valid tags: disabled, interval,"
        ),
        "{}",
        error.message
    );
}

#[test]
fn module_without_any_block_is_an_error() {
    let error = one_error("<wodle name=\"aws-s3\">\n<disabled>no</disabled>\n</wodle>");
    assert_eq!(error.line, 1);
    assert_eq!(error.tag, "wodle");
    assert!(
        error.message.starts_with(
            "No buckets, services or subscribers definitions found at module 'aws-s3'."
        )
    );
}

#[test]
fn text_only_tags_reject_child_elements() {
    let error = one_error(&module_file("<interval>\n<x>5</x>\n</interval>"));
    assert_eq!(error.line, 3);
    assert_eq!(error.tag, "interval");
    assert_eq!(
        error.message,
        "Tag 'interval' at module 'aws-s3' takes text only, but holds the element <x>."
    );
}

#[test]
fn repeated_tags_warn_and_the_last_wins() {
    let config = ok(&module_file(
        "<interval>1h</interval>\n<interval>2h</interval>",
    ));
    assert_eq!(
        config.wodles[0].schedule.interval,
        Interval::Every(Duration::from_secs(7200))
    );
    assert_eq!(
        config.warnings,
        [diag(
            3,
            "interval",
            "Tag 'interval' appears more than once at module 'aws-s3' (line 2 and line 3); the \
             last one is used."
        )]
    );
}

// Scheduling in a file.

#[test]
fn interval_in_a_file() {
    let config = ok(&module_file("<interval>90</interval>"));
    assert_eq!(
        config.wodles[0].schedule.interval,
        Interval::Every(Duration::from_secs(90))
    );
    let error = one_error(&module_file("<interval>often</interval>"));
    assert_eq!(error.line, 2);
    assert_eq!(error.tag, "interval");
    assert!(
        error
            .message
            .starts_with("Invalid interval value at module 'aws-s3': 'often'.")
    );
}

#[test]
fn day_adjusts_the_interval_with_the_reference_warning_at_its_line() {
    let config = ok(&module_file(
        "<interval>10m</interval>\n<day>15</day>\n<time>2:30</time>",
    ));
    assert_eq!(
        config.wodles[0].schedule,
        Schedule {
            interval: Interval::Months(1),
            day_of_month: Some(15),
            weekday: None,
            time_of_day: Some(TimeOfDay {
                hour: 2,
                minute: 30
            }),
        }
    );
    assert_eq!(
        config.warnings,
        [diag(
            3,
            "interval",
            "Interval must be a multiple of one month. New interval value: 1M ('day' needs an \
             interval in months; the interval was 10m)."
        )]
    );
}

#[test]
fn weekday_in_a_file() {
    let config = ok(&module_file("<interval>2w</interval>\n<wday>Sunday</wday>"));
    let schedule = &config.wodles[0].schedule;
    assert_eq!(schedule.weekday, Some(Weekday::Sunday));
    assert_eq!(
        schedule.interval,
        Interval::Every(Duration::from_secs(2 * 604_800))
    );
    assert_eq!(schedule.time_of_day, Some(TimeOfDay { hour: 0, minute: 0 }));
    assert!(config.warnings.is_empty());
}

#[test]
fn day_and_wday_together_and_bad_schedule_values() {
    let error = one_error(&module_file("<day>1</day>\n<wday>mon</wday>"));
    assert_eq!(error.line, 3);
    assert_eq!(error.tag, "wday");
    assert!(
        error
            .message
            .starts_with("Options 'day' and 'wday' are not compatible.")
    );

    let (errors, _) = invalid(&module_file(
        "<day>0</day>\n<wday>funday</wday>\n<time>7</time>",
    ));
    let tags: Vec<(&str, u32)> = errors.iter().map(|e| (e.tag.as_str(), e.line)).collect();
    assert_eq!(tags, [("day", 2), ("wday", 3), ("time", 4)]);
    assert_eq!(
        errors[0].message,
        "Invalid value for element 'day': '0'. Expected a day of the month from 1 to 31."
    );
}

// Deprecated keys; the secret is never shown.

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzzSECRET";

#[test]
fn deprecated_keys_warn_and_never_show_the_secret() {
    let text = format!(
        "<wodle name=\"aws-s3\">\n<access_key>AKIAEXAMPLE1</access_key>\n<secret_key>{SECRET}</secret_key>\n\
         <service type=\"cloudwatchlogs\">\n<aws_log_groups>g</aws_log_groups>\n\
         <access_key>AKIAEXAMPLE2</access_key>\n<secret_key>{SECRET}2</secret_key>\n</service>\n</wodle>\n"
    );
    let config = ok(&text);
    let wodle = &config.wodles[0];
    let keys = wodle.static_keys.as_ref().unwrap();
    assert_eq!(keys.access_key_id, "AKIAEXAMPLE1");
    assert_eq!(keys.secret_access_key.expose(), SECRET);
    let service_keys = wodle.services[0].static_keys.as_ref().unwrap();
    assert_eq!(service_keys.access_key_id, "AKIAEXAMPLE2");
    assert_eq!(
        service_keys.secret_access_key.expose(),
        format!("{SECRET}2")
    );

    let deprecated = |line, tag: &str| {
        diag(
            line,
            tag,
            &format!(
                "Deprecated tag <{tag}> found at module 'aws-s3'. This tag was deprecated in 4.4; \
                 use a profile or a role instead (see Wazuh's credentials documentation)."
            ),
        )
    };
    assert_eq!(
        config.warnings,
        [
            deprecated(2, "access_key"),
            deprecated(3, "secret_key"),
            deprecated(6, "access_key"),
            deprecated(7, "secret_key"),
        ]
    );
    let shown = format!("{config:?}");
    assert!(!shown.contains(SECRET), "{shown}");
    assert!(shown.contains("***"));
    assert_eq!(keys.secret_access_key.to_string(), "***");
}

#[test]
fn a_lone_key_is_an_error_that_does_not_show_the_secret() {
    let text = format!(
        "<wodle name=\"aws-s3\">\n<secret_key>{SECRET}</secret_key>\n\
         <service type=\"cloudwatchlogs\">\n<aws_log_groups>g</aws_log_groups>\n\
         <access_key>AKIAEXAMPLE</access_key>\n</service>\n</wodle>\n"
    );
    let err = parse_str(&text).unwrap_err();
    let LoadError::Invalid { errors, warnings } = &err else {
        panic!("{err}");
    };
    let tags: Vec<(&str, u32)> = errors.iter().map(|e| (e.tag.as_str(), e.line)).collect();
    assert_eq!(tags, [("secret_key", 2), ("access_key", 5)]);
    assert!(errors[0].message.starts_with(
        "Tag <secret_key> found without <access_key> at module 'aws-s3': static keys take both tags."
    ));
    assert!(
        errors[1].message.starts_with(
            "Tag <access_key> found without <secret_key> of service at module 'aws-s3'"
        )
    );
    assert_eq!(warnings.len(), 2);
    for shown in [format!("{err}"), format!("{err:?}")] {
        assert!(!shown.contains(SECRET), "{shown}");
    }
}

#[test]
fn empty_keys_are_ignored_like_the_reference() {
    let config = ok(&module_file("<access_key></access_key>\n<secret_key/>"));
    assert!(config.wodles[0].static_keys.is_none());
    assert!(config.warnings.is_empty());
}

// Service, bucket and subscriber blocks.

#[test]
fn service_type_errors_use_the_reference_wording() {
    let error = one_error(&module_file(
        "<service>\n<aws_log_groups>g</aws_log_groups>\n</service>",
    ));
    assert_eq!(error.line, 2);
    assert_eq!(error.tag, "service");
    assert!(
        error.message.starts_with("Undefined type for service."),
        "{}",
        error.message
    );

    let error = one_error(&module_file("<service type=\"cloudwatch\"/>"));
    assert_eq!(
        error,
        diag(
            2,
            "service",
            "Invalid service type 'cloudwatch'. Valid ones are 'inspector' or 'cloudwatchlogs'"
        )
    );

    let error = one_error(&module_file("<service type=\"\"/>"));
    assert_eq!(
        error.message,
        "Empty service type. Valid ones are 'inspector' or 'cloudwatchlogs'"
    );

    let error = one_error(&module_file("<service kind=\"cloudwatchlogs\"/>"));
    assert!(
        error
            .message
            .starts_with("Attribute name 'kind' is not valid. The valid one is 'type'")
    );
}

#[test]
fn blocks_we_do_not_collect_get_one_warning_each() {
    let config = ok(&module_file(
        "<service type=\"inspector\">\n<regions>us-east-1</regions>\n<anything>x</anything>\n</service>\n\
         <bucket type=\"server_access\">\n<name>b</name>\n</bucket>\n\
         <subscriber type=\"security_hub\">\n<sqs_name>q</sqs_name>\n</subscriber>",
    ));
    let wodle = &config.wodles[0];
    assert_eq!(wodle.services.len(), 1);
    let blocks: Vec<(u32, &str, &str)> = wodle
        .other_blocks
        .iter()
        .map(|b| (b.line, b.tag.as_str(), b.kind.as_str()))
        .collect();
    assert_eq!(
        blocks,
        [
            (2, "service", "inspector"),
            (6, "bucket", "server_access"),
            (9, "subscriber", "security_hub")
        ]
    );
    assert_eq!(config.warnings.len(), 3);
    assert_eq!(
        config.warnings[0],
        diag(
            2,
            "service",
            "<service type=\"inspector\"> is ignored: wodle-aws collects CloudWatch Logs only \
             (<service type=\"cloudwatchlogs\">). Keep Wazuh's own aws-s3 module for this block."
        )
    );
    assert_eq!(config.warnings[1].tag, "bucket");
    assert_eq!(config.warnings[2].tag, "subscriber");
}

#[test]
fn every_bucket_and_subscriber_type_of_the_reference_is_recognised() {
    for kind in [
        "cloudtrail",
        "vpcflow",
        "config",
        "custom",
        "guardduty",
        "waf",
        "alb",
        "clb",
        "nlb",
        "server_access",
        "cisco_umbrella",
    ] {
        let config = ok(&format!(
            "<wodle name=\"aws-s3\">\n<bucket type=\"{kind}\"><name>b</name></bucket>\n</wodle>"
        ));
        assert_eq!(config.wodles[0].other_blocks[0].kind, kind);
    }
    for kind in ["security_lake", "buckets", "security_hub"] {
        let config = ok(&format!(
            "<wodle name=\"aws-s3\">\n<subscriber type=\"{kind}\"/>\n</wodle>"
        ));
        assert_eq!(config.wodles[0].other_blocks[0].kind, kind);
    }
}

#[test]
fn bad_bucket_and_subscriber_types() {
    let error = one_error(&module_file("<bucket type=\"s3\"><name>b</name></bucket>"));
    assert_eq!(
        error,
        diag(
            2,
            "bucket",
            "Invalid bucket type 's3'. Valid ones are 'cloudtrail', 'config', 'guardduty', \
             'vpcflow', 'waf', 'cisco_umbrella', 'custom', 'alb', 'clb', 'nlb' or 'server_access'"
        )
    );
    let error = one_error(&module_file("<subscriber/>"));
    assert!(error.message.starts_with("Undefined type for subscriber."));
    let error = one_error(&module_file("<subscriber type=\"sqs\"/>"));
    assert_eq!(
        error.message,
        "Invalid subscriber type 'sqs'. Valid ones are 'security_lake', 'buckets' or 'security_hub'"
    );
}

#[test]
fn legacy_bucket_is_recognised_and_empty_legacy_bucket_is_an_error() {
    let config = ok(&module_file("<bucket>my-trail</bucket>"));
    assert_eq!(
        config.wodles[0].other_blocks,
        [OtherBlock {
            line: 2,
            tag: "bucket".to_owned(),
            kind: "cloudtrail".to_owned()
        }]
    );
    assert!(
        config.warnings[0]
            .message
            .starts_with("Deprecated config defined; please use current config definition")
    );
    let error = one_error(&module_file("<bucket></bucket>"));
    assert!(
        error
            .message
            .starts_with("Empty content for tag 'bucket' at module 'aws-s3'.")
    );
}

// Children of a cloudwatchlogs service.

#[test]
fn every_service_tag_typed() {
    let service = service(&service_file(
        "<aws_profile>prod</aws_profile>\n\
         <aws_log_groups> g1 , /aws/g2,,g1 </aws_log_groups>\n\
         <regions>us-west-2,eu-west-1,us-west-2</regions>\n\
         <only_logs_after>2026-jan-31</only_logs_after>\n\
         <iam_role_arn>arn:aws:iam::123456789012:role/wazuh</iam_role_arn>\n\
         <iam_role_duration>3600</iam_role_duration>\n\
         <aws_account_id>123456789012,210987654321</aws_account_id>\n\
         <aws_account_alias>prod account</aws_account_alias>\n\
         <remove_log_streams>yes</remove_log_streams>\n\
         <discard_regex field=\"data.source\">^internal</discard_regex>\n\
         <sts_endpoint>sts.us-east-1.amazonaws.com</sts_endpoint>\n\
         <service_endpoint>http://127.0.0.1:5000</service_endpoint>",
    ));
    assert_eq!(service.line, 3);
    assert_eq!(service.aws_profile.as_deref(), Some("prod"));
    assert_eq!(service.log_groups, ["g1", "/aws/g2"]);
    let regions: Vec<&str> = service.regions.iter().map(Region::as_str).collect();
    assert_eq!(regions, ["eu-west-1", "us-west-2"]);
    assert_eq!(service.only_logs_after, Some(date!(2026 - 01 - 31)));
    assert_eq!(
        service.iam_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/wazuh")
    );
    assert_eq!(service.iam_role_duration, Some(3600));
    assert_eq!(service.aws_account_ids, ["123456789012", "210987654321"]);
    assert_eq!(service.aws_account_alias.as_deref(), Some("prod account"));
    assert!(service.remove_log_streams);
    let discard = service.discard.as_ref().unwrap();
    assert_eq!(discard.field.as_deref(), Some("data.source"));
    assert_eq!(discard.regex.as_str(), "^internal");
    assert_eq!(
        service.sts_endpoint.as_ref().map(url::Url::as_str),
        Some("https://sts.us-east-1.amazonaws.com/")
    );
    assert_eq!(
        service.service_endpoint.as_ref().map(url::Url::as_str),
        Some("http://127.0.0.1:5000/")
    );
    assert!(service.static_keys.is_none());
    assert_eq!(service.extensions, ServiceExtensions::default());
}

#[test]
fn service_defaults_and_empty_optional_tags() {
    let service = service(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<aws_profile></aws_profile>\n\
         <aws_account_alias/>\n<iam_role_arn></iam_role_arn>\n<iam_role_duration/>\n\
         <sts_endpoint></sts_endpoint>\n<service_endpoint/>",
    ));
    assert_eq!(service.aws_profile, None);
    assert_eq!(service.aws_account_alias, None);
    assert_eq!(service.iam_role_arn, None);
    assert_eq!(service.iam_role_duration, None);
    assert_eq!(service.sts_endpoint, None);
    assert_eq!(service.service_endpoint, None);
    assert!(service.regions.is_empty());
    assert!(service.aws_account_ids.is_empty());
    assert!(!service.remove_log_streams);
    assert!(service.discard.is_none());
    assert_eq!(service.only_logs_after, None);
}

#[test]
fn empty_regions_only_logs_after_and_discard_regex_warn() {
    let config = ok(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<regions></regions>\n\
         <only_logs_after> </only_logs_after>\n<discard_regex field=\"x\"></discard_regex>",
    ));
    assert_eq!(
        config.warnings,
        [
            diag(
                5,
                "regions",
                "Empty content for tag 'regions' at module 'aws-s3'. The profile's region is \
                 used, else every commercial region."
            ),
            diag(
                6,
                "only_logs_after",
                "Empty content for tag 'only_logs_after' at module 'aws-s3'. Logs are read from \
                 today, 00:00 UTC."
            ),
            diag(
                7,
                "discard_regex",
                "No value was provided for 'discard_regex'. No event will be skipped."
            ),
        ]
    );
}

#[test]
fn log_groups_missing_or_empty() {
    let error = one_error(&service_file("<aws_profile>p</aws_profile>"));
    assert_eq!(error.line, 3);
    assert_eq!(error.tag, "aws_log_groups");
    assert!(
        error
            .message
            .starts_with("Empty content for tag 'aws_log_groups' at module 'aws-s3'.")
    );

    let error = one_error(&service_file("<aws_log_groups> </aws_log_groups>"));
    assert_eq!(error.line, 4);
    assert_eq!(error.tag, "aws_log_groups");
    assert!(
        error
            .message
            .starts_with("Empty content for tag 'aws_log_groups' at module 'aws-s3'.")
    );

    let error = one_error(&service_file("<aws_log_groups>,,</aws_log_groups>"));
    assert!(
        error
            .message
            .starts_with("Empty content for tag 'aws_log_groups' at module 'aws-s3'.")
    );
}

#[test]
fn log_groups_reject_entities_as_written_and_forbidden_characters() {
    let error = one_error(&service_file("<aws_log_groups>a&amp;b</aws_log_groups>"));
    assert_eq!(error.line, 4);
    assert!(
        error
            .message
            .starts_with("'a&amp;b' has an invalid character."),
        "{}",
        error.message
    );
    let error = one_error(&service_file("<aws_log_groups>ok,a&#35;b</aws_log_groups>"));
    assert!(
        error.message.starts_with("'a#b' has an invalid character."),
        "{}",
        error.message
    );
    // A character reference to an allowed character is fine.
    let service = service(&service_file("<aws_log_groups>a&#45;b</aws_log_groups>"));
    assert_eq!(service.log_groups, ["a-b"]);
}

#[test]
fn bad_service_values_are_all_reported_in_line_order() {
    let (errors, _) = invalid(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n\
         <regions>us-east-1,mars-north-1</regions>\n\
         <only_logs_after>2026-01-31</only_logs_after>\n\
         <iam_role_arn>wazuh</iam_role_arn>\n\
         <aws_account_id>42</aws_account_id>\n\
         <remove_log_streams>true</remove_log_streams>\n\
         <discard_regex>(?&lt;=x)y</discard_regex>\n\
         <sts_endpoint>ftp://x</sts_endpoint>\n\
         <service_endpoint>http://</service_endpoint>\n\
         <idle_stream_lag>soon</idle_stream_lag>\n\
         <log_groups>g</log_groups>",
    ));
    let tags: Vec<(&str, u32)> = errors.iter().map(|e| (e.tag.as_str(), e.line)).collect();
    assert_eq!(
        tags,
        [
            ("regions", 5),
            ("only_logs_after", 6),
            ("iam_role_arn", 7),
            ("aws_account_id", 8),
            ("remove_log_streams", 9),
            ("discard_regex", 10),
            ("sts_endpoint", 11),
            ("service_endpoint", 12),
            ("idle_stream_lag", 13),
            ("log_groups", 14),
        ]
    );
    assert!(
        errors[0]
            .message
            .starts_with("Invalid region 'mars-north-1'")
    );
    assert_eq!(
        errors[1].message,
        "Argument not a valid date in format YYYY-MMM-DD: '2026-01-31'. Tag 'only_logs_after' \
         takes a date such as 2026-JAN-31 (English month abbreviation, any case)."
    );
    assert!(errors[2].message.starts_with("Invalid ARN Role specified."));
    assert!(
        errors[3]
            .message
            .starts_with("Not valid AWS account ID (numeric digits only): '42'.")
    );
    assert_eq!(
        errors[4].message,
        "Invalid content for tag 'remove_log_streams' at module 'aws-s3'. Got 'true'; \
         accepted: 'yes' or 'no'."
    );
    assert!(errors[5].message.starts_with(
        "Invalid pattern for tag 'discard_regex': '(?<=x)y' uses look-behind '(?<=...)'"
    ));
    assert!(
        errors[6]
            .message
            .starts_with("Invalid endpoint URL for tag 'sts_endpoint': 'ftp://x'")
    );
    assert!(errors[9].message.starts_with(
        "No such child tag 'log_groups' of service at module 'aws-s3'. Valid child tags"
    ));
    assert!(errors[9].message.contains("idle_stream_lag"));
}

#[test]
fn account_id_empty_is_an_error() {
    let error = one_error(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<aws_account_id></aws_account_id>",
    ));
    assert_eq!(
        error,
        diag(
            5,
            "aws_account_id",
            "Empty content for tag 'aws_account_id' at module 'aws-s3'. It takes one or more \
             12-digit account ids separated by commas."
        )
    );
}

#[test]
fn role_duration_needs_a_role_and_a_range() {
    let error = one_error(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<iam_role_duration>900</iam_role_duration>",
    ));
    assert_eq!(
        error,
        diag(
            5,
            "iam_role_duration",
            "Used iam_role_duration ('900') but no iam_role_arn provided: a session duration \
             applies only to an assumed role. Add <iam_role_arn> to this <service> or remove \
             <iam_role_duration>."
        )
    );
    let error = one_error(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n\
         <iam_role_arn>arn:aws:iam::123456789012:role/r</iam_role_arn>\n\
         <iam_role_duration>43200</iam_role_duration>",
    ));
    assert_eq!(error.line, 6);
    assert_eq!(
        error.message,
        "Invalid session duration specified. Value must be between 900 and 3600. Tag \
         'iam_role_duration' got '43200' (seconds)."
    );
}

#[test]
fn discard_regex_without_field_and_other_attributes() {
    let config = ok(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<discard_regex kind=\"x\">DEBUG</discard_regex>",
    ));
    let discard = config.wodles[0].services[0].discard.as_ref().unwrap();
    assert_eq!(discard.field, None);
    assert!(discard.regex.is_match("a DEBUG line"));
    assert_eq!(
        config.warnings,
        [diag(
            5,
            "discard_regex",
            "Attribute 'kind' of <discard_regex> is ignored: the only attribute is 'field'."
        )]
    );
}

#[test]
fn several_services_each_with_their_own_settings() {
    let config = ok(&module_file(
        "<service type=\"cloudwatchlogs\">\n<aws_profile>a</aws_profile>\n\
         <aws_log_groups>x</aws_log_groups>\n</service>",
    ));
    let services = &config.wodles[0].services;
    assert_eq!(services.len(), 2);
    assert_eq!(services[0].line, 2);
    assert_eq!(services[0].aws_profile.as_deref(), Some("a"));
    assert_eq!(services[0].log_groups, ["x"]);
    assert_eq!(services[1].aws_profile, None);
    assert_eq!(services[1].log_groups, ["g"]);
}

// Extensions.

#[test]
fn idle_stream_lag_is_read_with_its_line() {
    let lag = service(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<idle_stream_lag>90m</idle_stream_lag>",
    ));
    assert_eq!(
        lag.extensions,
        ServiceExtensions {
            idle_stream_lag: Some(Duration::from_secs(5400)),
            tag_lines: vec![("idle_stream_lag".to_owned(), 5)],
        }
    );
    let zero = service(&service_file(
        "<aws_log_groups>g</aws_log_groups>\n<idle_stream_lag>0</idle_stream_lag>",
    ));
    assert_eq!(zero.extensions.idle_stream_lag, Some(Duration::ZERO));
}

#[test]
fn extension_warnings_only_when_the_file_holds_other_sections() {
    // A file of its own: extensions are fine.
    let own = ok(&module_file("").replace(
        "<aws_log_groups>g</aws_log_groups>",
        "<aws_log_groups>g</aws_log_groups>\n<idle_stream_lag>1h</idle_stream_lag>",
    ));
    assert!(own.other_sections.is_empty());
    assert!(extension_warnings(&own).is_empty());

    // Wazuh's own ossec.conf: one warning per extension tag.
    let text = "<ossec_config>\n<global><logall>no</logall></global>\n<wodle name=\"aws-s3\">\n\
                <service type=\"cloudwatchlogs\">\n<aws_log_groups>g</aws_log_groups>\n\
                <idle_stream_lag>1h</idle_stream_lag>\n</service>\n</wodle>\n</ossec_config>\n";
    let config = ok(text);
    assert_eq!(config.other_sections, ["global"]);
    assert!(config.warnings.is_empty(), "reading alone does not warn");
    let warnings = extension_warnings(&config);
    assert_eq!(warnings.len(), 1);
    assert_eq!(warnings[0].line, 6);
    assert_eq!(warnings[0].tag, "idle_stream_lag");
    assert_eq!(
        warnings[0].message,
        "Tag <idle_stream_lag> at line 6 is a wodle-aws extension that Wazuh's modulesd does not \
         know: in Wazuh's own ossec.conf, modulesd would reject it (\"No such child tag \
         'idle_stream_lag' of service at module 'aws-s3'.\") and refuse to start. Keep the \
         aws-s3 block in a file of its own, read by 'wodle-aws run --config <file>', and leave \
         extension tags out of ossec.conf."
    );
}

// Whole files.

#[test]
fn other_sections_are_collected_once_in_order() {
    let text = "<ossec_config>\n<global/>\n<wodle name=\"syscollector\"/>\n<global/>\n\
                <wodle name=\"aws-s3\"><service type=\"cloudwatchlogs\"><aws_log_groups>g</aws_log_groups></service></wodle>\n\
                <localfile/>\n<wodle/>\n</ossec_config>\n<ossec_config>\n<localfile/>\n<ruleset/>\n</ossec_config>\n";
    let config = ok(text);
    assert_eq!(
        config.other_sections,
        [
            "global",
            "wodle:syscollector",
            "localfile",
            "wodle",
            "ruleset"
        ]
    );
    assert_eq!(config.wodles.len(), 1);
    assert_eq!(config.wodles[0].line, 5);
}

#[test]
fn a_file_without_aws_block_is_empty_not_an_error() {
    let config = ok("<ossec_config><global/></ossec_config>");
    assert!(config.wodles.is_empty());
    assert_eq!(config.other_sections, ["global"]);
    let config = ok("<!-- nothing -->\n");
    assert!(config.wodles.is_empty());
    assert!(config.other_sections.is_empty());
}

#[test]
fn malformed_xml_is_reported_with_its_line() {
    match parse_str("<ossec_config>\n<wodle name=\"aws-s3\">\n</ossec_config>") {
        Err(LoadError::Xml { line, message }) => {
            assert_eq!(line, 3);
            assert!(message.contains("<wodle>"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let err = parse_str("<a>\n<b>&bogus;</b></a>").unwrap_err();
    assert_eq!(
        err.to_string(),
        "line 2: malformed XML: unknown entity '&bogus;': only &amp; &lt; &gt; &quot; &apos; and \
         character references like &#38; are allowed"
    );
}

#[test]
fn invalid_error_displays_every_error_on_its_own_line() {
    let err = parse_str(&module_file("<disabled>x</disabled>\n<bogus/>")).unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("line 2: Invalid content for tag 'disabled'"));
    assert!(lines[1].starts_with("line 3: No such tag 'bogus'"));
}

#[test]
fn warnings_for_each_wodle() {
    let text = "<ossec_config>\n<wodle name=\"aws-s3\">\n<service type=\"inspector\"/>\n\
                <service type=\"cloudwatchlogs\"><aws_log_groups>g</aws_log_groups></service>\n</wodle>\n\
                <wodle name=\"aws-s3\">\n<bucket type=\"waf\"/>\n<subscriber type=\"buckets\"/>\n\
                <service type=\"cloudwatchlogs\"><aws_log_groups>h</aws_log_groups></service>\n</wodle>\n\
                </ossec_config>";
    let config = ok(text);
    assert_eq!(config.wodles.len(), 2);
    let first: Vec<u32> = config.warnings_for(0).map(|d| d.line).collect();
    let second: Vec<u32> = config.warnings_for(1).map(|d| d.line).collect();
    assert_eq!(first, [3]);
    assert_eq!(second, [7, 8]);
    assert_eq!(config.warnings_for(2).count(), 0);
}

#[test]
fn load_file_reads_files_and_reports_io_and_encoding_problems() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aws.conf");
    std::fs::write(&path, format!("\u{feff}{}", module_file(""))).unwrap();
    let config = load_file(&path).unwrap();
    assert_eq!(config.wodles.len(), 1);
    assert_eq!(config.wodles[0].line, 1);

    let missing = dir.path().join("missing.conf");
    match load_file(&missing) {
        Err(LoadError::Io { path, source }) => {
            assert_eq!(path, missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("{other:?}"),
    }

    std::fs::write(&path, b"<a>\n<b>\xff</b></a>").unwrap();
    match load_file(&path) {
        Err(LoadError::Xml { line, message }) => {
            assert_eq!(line, 2);
            assert_eq!(message, "the file is not valid UTF-8");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn cloudwatch_service_new_has_the_defaults() {
    let service = CloudWatchLogsService::new(vec!["g".to_owned()]);
    assert_eq!(service.log_groups, ["g"]);
    assert_eq!(service.line, 0);
    assert!(service.regions.is_empty());
    assert!(!service.remove_log_streams);
    assert!(service.discard.is_none());
}

// The example files of config/.

#[test]
fn example_manager_conf_parses_field_by_field() {
    let config = load_file(&repo_root().join("config/ossec-manager-example.conf")).unwrap();
    for section in [
        "global",
        "alerts",
        "logging",
        "remote",
        "rootcheck",
        "wodle:cis-cat",
        "wodle:osquery",
        "wodle:syscollector",
        "sca",
        "syscheck",
        "command",
        "localfile",
        "ruleset",
        "auth",
        "cluster",
    ] {
        assert!(
            config.other_sections.iter().any(|s| s == section),
            "{section} missing from {:?}",
            config.other_sections
        );
    }
    assert_eq!(
        config
            .other_sections
            .iter()
            .filter(|s| *s == "localfile")
            .count(),
        1
    );
    assert_eq!(config.wodles.len(), 1);
    let wodle = &config.wodles[0];
    assert!(!wodle.disabled);
    assert!(wodle.run_on_start);
    assert!(wodle.skip_on_error);
    assert!(!wodle.remove_from_bucket);
    assert_eq!(
        wodle.schedule,
        Schedule {
            interval: Interval::Every(Duration::from_secs(600)),
            day_of_month: None,
            weekday: None,
            time_of_day: None,
        }
    );
    assert!(wodle.static_keys.is_none());

    assert_eq!(wodle.services.len(), 1);
    let service = &wodle.services[0];
    assert_eq!(service.aws_profile.as_deref(), Some("wazuh"));
    assert_eq!(
        service.log_groups,
        ["/aws/lambda/orders", "/aws/rds/instance/prod/error"]
    );
    let regions: Vec<&str> = service.regions.iter().map(Region::as_str).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(service.only_logs_after, Some(date!(2026 - 02 - 15)));
    assert_eq!(
        service.iam_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/wazuh-cloudwatch-reader")
    );
    assert_eq!(service.iam_role_duration, Some(1800));
    assert!(service.aws_account_ids.is_empty());
    assert_eq!(service.aws_account_alias.as_deref(), Some("production"));
    assert!(!service.remove_log_streams);
    let discard = service.discard.as_ref().unwrap();
    assert_eq!(discard.field, None);
    assert_eq!(discard.regex.as_str(), "^DEBUG");
    assert_eq!(
        service.sts_endpoint.as_ref().map(url::Url::as_str),
        Some("https://sts.us-east-1.amazonaws.com/")
    );
    assert_eq!(
        service.service_endpoint.as_ref().map(url::Url::as_str),
        Some("https://logs.us-east-1.amazonaws.com/")
    );
    assert_eq!(service.extensions, ServiceExtensions::default());

    let blocks: Vec<(&str, &str)> = wodle
        .other_blocks
        .iter()
        .map(|b| (b.tag.as_str(), b.kind.as_str()))
        .collect();
    assert_eq!(blocks, [("service", "inspector"), ("bucket", "cloudtrail")]);
    // One warning per ignored block, nothing else.
    assert_eq!(config.warnings.len(), 2, "{:#?}", config.warnings);
    assert!(extension_warnings(&config).is_empty());
}

#[test]
fn example_cloudwatch_conf_parses_field_by_field() {
    let config = load_file(&repo_root().join("config/ossec-aws-cloudwatch.conf")).unwrap();
    assert!(config.other_sections.is_empty());
    assert!(config.warnings.is_empty(), "{:#?}", config.warnings);
    assert!(extension_warnings(&config).is_empty());
    assert_eq!(config.wodles.len(), 1);
    let wodle = &config.wodles[0];
    assert!(!wodle.disabled);
    assert!(wodle.run_on_start);
    assert!(wodle.skip_on_error);
    assert_eq!(wodle.schedule, Schedule::default());
    assert!(wodle.other_blocks.is_empty());
    assert_eq!(wodle.services.len(), 1);
    let service = &wodle.services[0];
    assert_eq!(service.aws_profile.as_deref(), Some("wazuh"));
    assert_eq!(
        service.log_groups,
        ["/aws/lambda/orders", "/ecs/web-frontend"]
    );
    let regions: Vec<&str> = service.regions.iter().map(Region::as_str).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    assert_eq!(service.only_logs_after, Some(date!(2026 - 01 - 01)));
    assert_eq!(service.iam_role_arn, None);
    assert_eq!(service.iam_role_duration, None);
    let discard = service.discard.as_ref().unwrap();
    assert_eq!(discard.field.as_deref(), Some("data.source"));
    assert_eq!(discard.regex.as_str(), "^healthcheck");
    assert_eq!(
        service.extensions.idle_stream_lag,
        Some(Duration::from_secs(7200))
    );
    assert_eq!(service.extensions.tag_lines.len(), 1);
    assert_eq!(service.extensions.tag_lines[0].0, "idle_stream_lag");
    assert!(service.static_keys.is_none());
}

// The fixtures of tests/fixtures/config/.

/// The tag named by a fixture's first line, `<!-- expect: TAG -->`.
fn expected_tag(text: &str) -> Option<&str> {
    text.lines()
        .next()?
        .trim()
        .strip_prefix("<!-- expect:")?
        .strip_suffix("-->")
        .map(str::trim)
}

#[test]
fn fixtures_give_the_expected_verdict_and_name_the_expected_tag() {
    let dir = repo_root().join("tests/fixtures/config");
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "conf"))
        .collect();
    entries.sort();
    let (mut valid, mut invalid) = (0, 0);
    for path in &entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(path).unwrap();
        let result = parse_str(&text);
        if name.starts_with("valid-") {
            valid += 1;
            assert!(result.is_ok(), "{name}: {}", result.unwrap_err());
            assert_eq!(expected_tag(&text), None, "{name}");
            continue;
        }
        assert!(
            name.starts_with("invalid-"),
            "{name}: neither valid- nor invalid-"
        );
        invalid += 1;
        let tag = expected_tag(&text).unwrap_or_else(|| panic!("{name}: no expect comment"));
        match result {
            Ok(_) => panic!("{name}: accepted"),
            Err(LoadError::Invalid { errors, .. }) => {
                assert!(
                    errors
                        .iter()
                        .any(|e| e.tag == tag && e.message.contains(tag) && e.line > 0),
                    "{name}: no error names '{tag}': {errors:#?}"
                );
            }
            Err(LoadError::Xml { line, message }) => {
                assert!(
                    message.contains(tag),
                    "{name}: '{message}' does not name '{tag}'"
                );
                assert!(line > 0);
            }
            Err(e @ LoadError::Io { .. }) => panic!("{name}: {e}"),
        }
    }
    assert!(valid >= 5, "{valid} valid fixtures");
    assert!(invalid >= 14, "{invalid} invalid fixtures");
}

#[test]
fn valid_fixtures_hold_what_they_claim() {
    let dir = repo_root().join("tests/fixtures/config");
    let load = |name: &str| load_file(&dir.join(name)).unwrap();

    let cdata = load("valid-cdata.conf");
    let service = &cdata.wodles[0].services[0];
    assert_eq!(service.log_groups, ["/aws/lambda/a", "/aws/lambda/b"]);
    let discard = service.discard.as_ref().unwrap();
    assert_eq!(discard.regex.as_str(), "^<(debug|trace)>$");
    assert_eq!(discard.field.as_deref(), Some("log.level"));

    let entities = load("valid-entities.conf");
    let service = &entities.wodles[0].services[0];
    assert_eq!(service.log_groups, ["app-logs"]);
    assert_eq!(
        service.aws_account_alias.as_deref(),
        Some("R&D \"prod\" 'eu'")
    );
    assert_eq!(
        service.discard.as_ref().unwrap().regex.as_str(),
        r"^<\d+> health"
    );

    let two_roots = load("valid-two-roots.conf");
    assert_eq!(two_roots.wodles.len(), 1);
    assert_eq!(two_roots.other_sections, ["global"]);

    let two_wodles = load("valid-two-wodles.conf");
    assert_eq!(two_wodles.wodles.len(), 2);
    assert_eq!(
        two_wodles.wodles[1].services[0].aws_profile.as_deref(),
        Some("audit")
    );

    let bare = load("valid-bare-block.conf");
    assert!(bare.other_sections.is_empty());
    assert_eq!(
        bare.wodles[0].services[0].extensions.idle_stream_lag,
        Some(Duration::ZERO)
    );

    let others = load("valid-other-blocks.conf");
    assert_eq!(others.wodles[0].other_blocks.len(), 3);
    assert_eq!(others.warnings.len(), 3);

    let adjusted = load("valid-schedule-adjusted.conf");
    assert_eq!(adjusted.wodles[0].schedule.interval, Interval::Months(1));
    assert_eq!(adjusted.warnings.len(), 1);

    let keys = load("valid-deprecated-keys.conf");
    assert!(keys.wodles[0].services[0].static_keys.is_some());
    assert_eq!(keys.warnings.len(), 2);
    assert!(!format!("{keys:?}").contains("EXAMPLEfakeSECRET"));
}
