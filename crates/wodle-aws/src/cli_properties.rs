//! Hostile command lines: whatever argv modulesd or a user hands us, parsing
//! and the one-shot validation (flag values, `--api-quotas`, `--max-datagram`,
//! the discard regex) end in settings or in an error that says something,
//! never in a panic or a hang.
//!
//! Each property runs in a child process with a per-case timeout (proptest's
//! `timeout`, which implies `fork`), so a hang fails instead of stalling.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::cli::{Cli, rewrite_reference_short_flags};
use crate::one_shot::service_from_args;
use crate::service::Tuning;

fn config() -> Config {
    Config {
        cases: 256,
        // Generous: only a hang should reach it.
        timeout: 20_000,
        ..Config::default()
    }
}

/// Every flag and subcommand the program knows, in every spelling, and clap's
/// own (`--help`, `--version`, `--`).
const FLAGS: &[&str] = &[
    "--service",
    "-sr",
    "-p",
    "--aws_profile",
    "-i",
    "--iam_role_arn",
    "-rd",
    "--iam_role_duration",
    "-c",
    "--aws_account_id",
    "-n",
    "--aws_account_alias",
    "-s",
    "--only_logs_after",
    "-r",
    "--regions",
    "-g",
    "--aws_log_groups",
    "-P",
    "--remove-log-streams",
    "-df",
    "--discard-field",
    "-dr",
    "--discard-regex",
    "-st",
    "--sts_endpoint",
    "-se",
    "--service_endpoint",
    "-e",
    "--skip_on_error",
    "-o",
    "--reparse",
    "-a",
    "--access_key",
    "-k",
    "--secret_key",
    "-b",
    "--bucket",
    "-sb",
    "--subscriber",
    "-d",
    "--debug",
    "--wazuh-home",
    "--queue-socket",
    "--db",
    "--log-format",
    "--idle-stream-lag",
    "--external-id",
    "--commit-every",
    "--max-concurrent-streams",
    "--analysisd-timeout",
    "--aws-attempt-timeout",
    "--max-datagram",
    "--api-quotas",
    "run",
    "--config",
    "--once",
    "--ossec-log",
    "check-config",
    "help",
    "--help",
    "-h",
    "--version",
    "-V",
    "--",
    "-",
];

/// Values good and bad for those flags.
const VALUES: &[&str] = &[
    "cloudwatchlogs",
    "CloudWatchLogs",
    "cloudtrail",
    "app,audit",
    "us-east-1",
    "us-east-1,eu-west-1",
    "us-east-9",
    "US-EAST-1",
    "2026-JAN-31",
    "2023-FEB-29",
    "2026-01-31",
    "900",
    "3601",
    "arn:aws:iam::123456789012:role/x",
    "123456789012",
    "(a+)+$",
    "(?=x)",
    "\\1",
    "[",
    "",
    "http://127.0.0.1:5000",
    "ftp://x",
    "GetLogEvents=10,DescribeLogStreams=25",
    "GetLogEvents=0",
    "GetLogEvents=-1",
    "Nope=1",
    "GetLogEvents=99999999999999999999",
    "=,=",
    "0",
    "1",
    "3",
    "4",
    "-1",
    "18446744073709551615",
    "18446744073709551616",
    "1024",
    "1025",
    "65535",
    "json",
    "text",
    "/nonexistent/ossec.conf",
];

fn argument() -> impl Strategy<Value = OsString> {
    prop_oneof![
        6 => proptest::sample::select(FLAGS).prop_map(OsString::from),
        4 => proptest::sample::select(VALUES).prop_map(OsString::from),
        2 => (proptest::sample::select(FLAGS), proptest::sample::select(VALUES))
            .prop_map(|(flag, value)| OsString::from(format!("{flag}={value}"))),
        1 => any::<String>().prop_map(OsString::from),
        // Not UTF-8 at all: argv is bytes.
        1 => proptest::collection::vec(any::<u8>(), 0..12).prop_map(OsString::from_vec),
    ]
}

fn argv() -> impl Strategy<Value = Vec<OsString>> {
    proptest::collection::vec(argument(), 0..14).prop_map(|args| {
        std::iter::once(OsString::from("wodle-aws"))
            .chain(args)
            .collect()
    })
}

/// Everything the binary does with a command line before it touches the
/// network, the socket or the database.
fn parse_and_validate(args: Vec<OsString>) {
    let cli = match Cli::try_parse_args(rewrite_reference_short_flags(args)) {
        Ok(cli) => cli,
        Err(error) => {
            assert!(!error.to_string().trim().is_empty(), "{error:?}");
            return;
        }
    };
    if cli.command.is_none() {
        match service_from_args(&cli.one_shot) {
            Ok((service, warnings)) => {
                assert!(!service.log_groups.is_empty());
                assert!(warnings.iter().all(|w| !w.trim().is_empty()));
                if let Some(rule) = service.discard {
                    // What the collector builds from the rule: a valid rule
                    // always makes a filter.
                    let filter = wodle_discard::DiscardFilter::new(rule.field, rule.regex)
                        .expect("a validated discard rule builds a filter");
                    let _ = filter.should_discard("probe");
                }
            }
            Err(error) => assert!(!error.to_string().trim().is_empty(), "{error:?}"),
        }
    }
    match Tuning::from_options(
        &cli.global.tuning,
        Arc::new(wodle_cloudwatch::FixedClock(0)),
    ) {
        Ok(_) => {}
        Err(message) => assert!(!message.trim().is_empty()),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_argv_parses_or_is_refused_without_panic(args in argv()) {
        parse_and_validate(args);
    }

    #[test]
    fn any_value_of_each_flag_is_validated_without_panic(
        flag in proptest::sample::select(FLAGS),
        value in any::<String>(),
        inline in any::<bool>(),
    ) {
        // A complete one-shot line, so the value reaches the validators.
        let mut args: Vec<OsString> = ["wodle-aws", "--service", "cloudwatchlogs", "-g", "app"]
            .into_iter()
            .map(OsString::from)
            .collect();
        if inline {
            args.push(format!("{flag}={value}").into());
        } else {
            args.push(flag.into());
            args.push(value.into());
        }
        parse_and_validate(args);
    }

    #[test]
    fn api_quotas_reject_garbage_naming_the_flag(value in any::<String>()) {
        let args: Vec<OsString> = ["wodle-aws", "--service", "cloudwatchlogs", "-g", "app", "--api-quotas"]
            .into_iter()
            .map(OsString::from)
            .chain([OsString::from(value)])
            .collect();
        if let Ok(cli) = Cli::try_parse_args(rewrite_reference_short_flags(args))
            && let Err(message) = Tuning::from_options(&cli.global.tuning, Arc::new(wodle_cloudwatch::FixedClock(0)))
        {
            prop_assert!(message.contains("--api-quotas"), "{}", message);
        }
    }
}
