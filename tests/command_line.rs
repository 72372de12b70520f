//! End-to-end tests of the command line: the reference's one-shot flags (with its
//! multi-letter short forms), usage errors and exit codes, run by the real binary.

use std::process::{Command, Output};

/// Runs the binary with no AWS setup at all: no credentials, no profile files,
/// and every AWS call aimed at a closed loopback port, so a test can never
/// reach AWS (or the instance-metadata service).
fn wodle_aws(args: &[&str]) -> Output {
    let home = tempfile::tempdir().expect("a temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wodle-aws"));
    wodle_testkit::ChildEnv::hermetic()
        .set("AWS_CONFIG_FILE", home.path().join("no-config"))
        .set(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("no-credentials"),
        )
        .set("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .set("WAZUH_HOME", home.path())
        .unset("RUST_LOG")
        .unset("WODLE_AWS_IDLE_STREAM_LAG")
        .apply(&mut command);
    command
        .args(args)
        .output()
        .expect("the wodle-aws binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn version_prints_the_version() {
    let output = wodle_aws(&["--version"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        format!("wodle-aws {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn no_mode_is_a_usage_error() {
    let output = wodle_aws(&[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--service cloudwatchlogs"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    let output = wodle_aws(&["--service", "cloudwatchlogs", "--no-such-flag"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--no-such-flag"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn the_reference_short_forms_reach_the_right_settings() {
    let output = wodle_aws(&[
        "-sr",
        "cloudwatchlogs",
        "-g",
        "apache-access,app",
        "-r",
        "us-east-1,eu-west-1,us-east-1",
        "-s",
        "2026-JAN-31",
        "-i",
        "arn:aws:iam::123456789012:role/wazuh",
        "-rd",
        "1800",
        "-df",
        "data.source",
        "-dr",
        "^internal",
        "-st",
        "sts.us-east-1.amazonaws.com",
        "-se",
        "http://127.0.0.1:9/",
        "-p",
        "prod",
        "-d",
        "1",
    ]);
    let err = stderr(&output);
    // There is no profile 'prod' (and no ~/.aws/config): the reference's error.
    assert_eq!(output.status.code(), Some(12), "{err}");
    assert!(
        err.contains("ERROR: The config profile (prod) could not be found"),
        "{err}"
    );
    // The debug description shows every flag landed where it belongs.
    for expected in [
        "DEBUG: Service settings from the command line:",
        "    log groups: apache-access, app",
        "    regions: eu-west-1, us-east-1",
        "    credentials: profile 'prod'",
        "    role: arn:aws:iam::123456789012:role/wazuh (session WazuhLogParsing, 1800 s)",
        "    events from: 2026-01-31 00:00 UTC",
        "    discard: events whose JSON field 'data.source' matches /^internal/",
        "    STS endpoint: https://sts.us-east-1.amazonaws.com/",
        "    CloudWatch Logs endpoint: http://127.0.0.1:9/",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in:\n{err}");
    }
}

#[test]
fn without_debug_only_the_error_is_printed() {
    let output = wodle_aws(&["--service", "cloudwatchlogs", "--aws_log_groups", "g"]);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(12), "{err}");
    assert_eq!(err, "ERROR: Unable to locate credentials\n");
    assert!(stdout(&output).is_empty());
}

#[test]
fn an_invalid_region_exits_22_naming_it() {
    let output = wodle_aws(&[
        "-sr",
        "cloudwatchlogs",
        "-g",
        "g",
        "-r",
        "us-east-1,moon-base-1",
    ]);
    assert_eq!(output.status.code(), Some(22));
    let err = stderr(&output);
    assert!(err.starts_with("ERROR: "), "{err}");
    assert!(err.contains("moon-base-1"), "{err}");
}

#[test]
fn invalid_values_are_usage_errors_naming_the_flag() {
    let cases: &[(&[&str], &str)] = &[
        (&["-s", "2026-13-31"], "--only_logs_after"),
        (&["-c", "1234"], "--aws_account_id"),
        (&["-i", "not-an-arn"], "--iam_role_arn"),
        (
            &["-i", "arn:aws:iam::123456789012:role/r", "-rd", "60"],
            "--iam_role_duration",
        ),
        (&["-rd", "900"], "--iam_role_arn"),
        (&["-dr", "(?=x)"], "--discard-regex"),
        (&["-df", "data.source"], "--discard-regex"),
        (&["-a", "AKIAEXAMPLE"], "--secret_key"),
    ];
    for (extra, flag) in cases {
        let mut args = vec!["-sr", "cloudwatchlogs", "-g", "g"];
        args.extend_from_slice(extra);
        let output = wodle_aws(&args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag), "{args:?}: expected {flag} in {err}");
    }
}

#[test]
fn other_services_and_modes_are_refused_with_a_reason() {
    for args in [
        &["-sr", "inspector"][..],
        &["-b", "my-bucket"][..],
        &["-sb", "security_lake"][..],
    ] {
        let output = wodle_aws(args);
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("CloudWatch Logs only"), "{args:?}: {err}");
    }
}

#[test]
fn missing_log_groups_are_a_usage_error() {
    let output = wodle_aws(&["-sr", "cloudwatchlogs"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--aws_log_groups"));
}

#[test]
fn static_keys_on_the_command_line_warn_and_the_secret_never_shows() {
    // Through a whole run at debug level 3 (the AWS SDK's own debug lines
    // included): STS, DescribeLogStreams and the missing group's error.
    let moto = wodle_testkit::MotoServer::start();
    let home = wodle_testkit::WazuhHome::new();
    let aws_dir = tempfile::tempdir().expect("a temp dir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_wodle-aws"));
    wodle_testkit::ChildEnv::hermetic()
        .set("AWS_CONFIG_FILE", aws_dir.path().join("no-config"))
        .set(
            "AWS_SHARED_CREDENTIALS_FILE",
            aws_dir.path().join("no-credentials"),
        )
        .set("AWS_ENDPOINT_URL", moto.endpoint_url())
        .set("WAZUH_HOME", home.path())
        .unset("RUST_LOG")
        .apply(&mut command);
    let output = command
        .args([
            "-sr",
            "cloudwatchlogs",
            "-g",
            "g",
            "-r",
            "us-east-1",
            "-a",
            "AKIAEXAMPLEKEY",
            "-k",
            "wJalrXUtnFEMI-super-secret",
            "-d",
            "3",
        ])
        .output()
        .expect("the wodle-aws binary runs");
    let all = format!("{}{}", stdout(&output), stderr(&output));
    assert_eq!(output.status.code(), Some(16), "{all}");
    assert!(
        all.contains("WARNING: Deprecated flags --access_key"),
        "{all}"
    );
    assert!(all.contains("AKIAEXAMPLEKEY"), "{all}");
    assert!(!all.contains("wJalrXUtnFEMI-super-secret"), "{all}");
}

#[test]
fn json_log_format_gives_json_lines() {
    let output = wodle_aws(&[
        "--log-format",
        "json",
        "--service",
        "cloudwatchlogs",
        "--aws_log_groups",
        "g",
    ]);
    let err = stderr(&output);
    let line = err.lines().next().expect("one log line");
    assert!(line.starts_with('{') && line.ends_with('}'), "{line}");
    assert!(line.contains("\"level\":\"ERROR\""), "{line}");
}
