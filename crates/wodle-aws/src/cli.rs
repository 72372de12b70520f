//! The command line: the reference's one-shot flags, our subcommands, and the
//! rewriting of the reference's multi-letter short flags that clap cannot parse.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Collects AWS CloudWatch Logs for Wazuh: a drop-in for the aws-s3 wodle's
/// cloudwatchlogs service.
///
/// Three ways to run it:
///   wodle-aws --service cloudwatchlogs [flags]   the reference's one-shot command, as modulesd runs it
///   wodle-aws run --config FILE [--once]         our own scheduler for the aws-s3 block of FILE
///   wodle-aws check-config FILE                  validate FILE and print what would run
#[derive(Debug, Parser)]
#[command(
    name = "wodle-aws",
    version,
    verbatim_doc_comment,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOptions,

    #[command(flatten)]
    pub one_shot: OneShotArgs,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Options shared by every mode.
#[derive(Debug, Args)]
pub struct GlobalOptions {
    /// Wazuh's installation directory. Default: derived from this program's path
    /// when installed as <home>/wodles/aws/aws-s3, else /var/ossec.
    #[arg(long, env = "WAZUH_HOME", global = true, value_name = "DIR")]
    pub wazuh_home: Option<PathBuf>,

    /// analysisd's queue socket. Default: <wazuh-home>/queue/sockets/queue.
    #[arg(long, global = true, value_name = "PATH")]
    pub queue_socket: Option<PathBuf>,

    /// The checkpoint database. Default: <wazuh-home>/wodles/aws/aws_services.db.
    #[arg(long, global = true, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Debug level, as the reference: 0 quiet, 1 and 2 more detail, 3 also the AWS SDK's own
    /// debug lines.
    #[arg(
        short = 'd',
        long,
        global = true,
        value_name = "0..3",
        value_parser = clap::value_parser!(u8).range(0..=3)
    )]
    pub debug: Option<u8>,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(flatten)]
    pub tuning: TuningOptions,
}

/// Settings of ours that the reference does not have. All have defaults that
/// suit a Wazuh manager; none is needed for a drop-in replacement.
#[derive(Debug, Args)]
#[command(next_help_heading = "Collection tuning (wodle-aws only)")]
pub struct TuningOptions {
    /// A stream whose DescribeLogStreams times show nothing new is still read for this many
    /// seconds after its last activity, because AWS updates those times late ("typically in
    /// less than an hour"). 0 trusts them fully. Services with an <idle_stream_lag> tag use
    /// the tag. [default: 3600]
    #[arg(
        long,
        global = true,
        env = "WODLE_AWS_IDLE_STREAM_LAG",
        value_name = "SECONDS"
    )]
    pub idle_stream_lag: Option<u64>,

    /// External id sent with AssumeRole (iam_role_arn). Default: the `external_id` of the
    /// service's profile, if any.
    #[arg(long, global = true, value_name = "ID")]
    pub external_id: Option<String>,

    /// Commit checkpoints after this many delivered events: a killed process re-sends at
    /// most this many.
    #[arg(long, global = true, value_name = "EVENTS", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub commit_every: u64,

    /// Streams read at the same time, per service.
    #[arg(long, global = true, value_name = "STREAMS", default_value_t = 16,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub max_concurrent_streams: u64,

    /// How long to wait for analysisd (socket missing, nobody listening, queue full) before
    /// giving up with "Wazuh must be running.".
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60)]
    pub analysisd_timeout: u64,

    /// How long one attempt of an AWS call may take before it is abandoned and retried
    /// (AWS_MAX_ATTEMPTS attempts in all); connecting is bounded by 10 seconds within it.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 60,
          env = "WODLE_AWS_ATTEMPT_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub aws_attempt_timeout: u64,

    /// Client-side request quotas per account and region, requests per second, e.g.
    /// `GetLogEvents=10,DescribeLogStreams=25,DeleteLogStream=5` (APIs left out keep these
    /// defaults, AWS's default quotas). Lower them when other tools share the account's quota.
    #[arg(
        long,
        global = true,
        env = "WODLE_AWS_API_QUOTAS",
        value_name = "API=RATE,..."
    )]
    pub api_quotas: Option<String>,

    /// The largest datagram sent to analysisd, header included; longer events are truncated
    /// at a UTF-8 boundary and reported.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 65_535)]
    pub max_datagram: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// `LEVEL: message`, as the reference prints them.
    Text,
    /// One JSON object per line.
    Json,
}

/// The reference's one-shot command line (what modulesd runs every interval).
#[derive(Debug, Default, PartialEq, Eq, Args)]
pub struct OneShotArgs {
    /// Service to collect: only `cloudwatchlogs` is supported (short form: -sr).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,

    /// Credential profile from ~/.aws/credentials or ~/.aws/config.
    #[arg(short = 'p', long = "aws_profile", value_name = "NAME")]
    pub aws_profile: Option<String>,

    /// Role to assume (session name WazuhLogParsing).
    #[arg(short = 'i', long = "iam_role_arn", value_name = "ARN")]
    pub iam_role_arn: Option<String>,

    /// Role session duration in seconds, 900-3600 (short form: -rd).
    #[arg(long = "iam_role_duration", value_name = "SECONDS")]
    pub iam_role_duration: Option<String>,

    /// AWS account ids (12 digits, comma-separated).
    #[arg(short = 'c', long = "aws_account_id", value_name = "IDS")]
    pub aws_account_id: Option<String>,

    /// Account alias used in log lines.
    #[arg(short = 'n', long = "aws_account_alias", value_name = "ALIAS")]
    pub aws_account_alias: Option<String>,

    /// Only events after this date, YYYY-MMM-DD (e.g. 2026-JAN-31).
    #[arg(short = 's', long = "only_logs_after", value_name = "DATE")]
    pub only_logs_after: Option<String>,

    /// Regions, comma-separated.
    #[arg(short = 'r', long = "regions", value_name = "REGIONS")]
    pub regions: Option<String>,

    /// Log groups, comma-separated.
    #[arg(short = 'g', long = "aws_log_groups", value_name = "GROUPS")]
    pub aws_log_groups: Option<String>,

    /// Delete each log stream after reading it.
    #[arg(short = 'P', long = "remove-log-streams")]
    pub remove_log_streams: bool,

    /// Dotted path of the JSON field that --discard-regex applies to (short form: -df).
    #[arg(long = "discard-field", value_name = "FIELD")]
    pub discard_field: Option<String>,

    /// Skip events whose message (or --discard-field) matches (short form: -dr).
    #[arg(long = "discard-regex", value_name = "REGEX")]
    pub discard_regex: Option<String>,

    /// STS endpoint (VPC endpoint, FIPS...) (short form: -st).
    #[arg(long = "sts_endpoint", value_name = "URL")]
    pub sts_endpoint: Option<String>,

    /// CloudWatch Logs endpoint (short form: -se).
    #[arg(long = "service_endpoint", value_name = "URL")]
    pub service_endpoint: Option<String>,

    /// Go on after an error in one log group.
    #[arg(short = 'e', long = "skip_on_error")]
    pub skip_on_error: bool,

    /// Read everything again from --only_logs_after.
    #[arg(short = 'o', long = "reparse")]
    pub reparse: bool,

    /// Deprecated static access key id (visible in `ps`: use a profile or a role).
    #[arg(short = 'a', long = "access_key", value_name = "KEY", hide = true)]
    pub access_key: Option<String>,

    /// Deprecated static secret key (visible in `ps`: use a profile or a role).
    #[arg(short = 'k', long = "secret_key", value_name = "KEY", hide = true)]
    pub secret_key: Option<String>,

    /// The reference's S3 mode, which this program does not implement.
    #[arg(short = 'b', long = "bucket", value_name = "NAME", hide = true)]
    pub bucket: Option<String>,

    /// The reference's SQS subscriber mode, which this program does not implement.
    #[arg(long = "subscriber", value_name = "TYPE", hide = true)]
    pub subscriber: Option<String>,
}

impl Cli {
    /// Parses the arguments; usage errors, `--help` and `--version` exit here with
    /// clap's messages (2 for errors, as the reference's argparse).
    pub fn parse_args(args: Vec<OsString>) -> Cli {
        match Cli::try_parse_args(args) {
            Ok(cli) => cli,
            Err(error) => error.exit(),
        }
    }

    /// Like [`Cli::parse_args`], returning the error. Global options may stand
    /// before a subcommand, so clap cannot itself refuse one-shot flags beside a
    /// subcommand: that check is here.
    pub fn try_parse_args(args: Vec<OsString>) -> Result<Cli, clap::Error> {
        let cli = Cli::try_parse_from(args)?;
        if cli.command.is_some() && cli.one_shot != OneShotArgs::default() {
            let mut command = <Cli as clap::CommandFactory>::command();
            return Err(command.error(
                clap::error::ErrorKind::ArgumentConflict,
                "the reference's one-shot flags (--service, --aws_log_groups, ...) cannot be combined with the 'run' or 'check-config' subcommands",
            ));
        }
        Ok(cli)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every enabled cloudwatchlogs service of an ossec.conf-format file on its schedule.
    Run {
        /// Wazuh's ossec.conf, or a file holding just the aws-s3 wodle block.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        /// Run each service once, then exit.
        #[arg(long)]
        once: bool,
        /// Also append log lines to <wazuh-home>/logs/ossec.log in Wazuh's own format.
        #[arg(long)]
        ossec_log: bool,
    },
    /// Validate an ossec.conf-format file and print what would run (never a secret).
    CheckConfig {
        /// Wazuh's ossec.conf, or a file holding just the aws-s3 wodle block.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// The reference's short flags of more than one letter, and their long forms.
/// Python's argparse accepts them; clap would read `-st X` as `-s t X`.
const MULTI_LETTER_SHORT_FLAGS: &[(&str, &str)] = &[
    ("-sr", "--service"),
    ("-rd", "--iam_role_duration"),
    ("-df", "--discard-field"),
    ("-dr", "--discard-regex"),
    ("-st", "--sts_endpoint"),
    ("-se", "--service_endpoint"),
    // Not ours to implement, but rewritten so the user gets our message about it
    // rather than a confusing parse of `-s b`.
    ("-sb", "--subscriber"),
];

/// Flags whose next argument is their value, so that a value that happens to
/// look like a multi-letter short flag (`--discard-regex -st`) is left alone.
const FLAGS_WITH_VALUE: &[&str] = &[
    "--service",
    "-p",
    "--aws_profile",
    "-i",
    "--iam_role_arn",
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
    "--discard-field",
    "--discard-regex",
    "--sts_endpoint",
    "--service_endpoint",
    "-a",
    "--access_key",
    "-k",
    "--secret_key",
    "-b",
    "--bucket",
    "--subscriber",
    "-d",
    "--debug",
    "--wazuh-home",
    "--queue-socket",
    "--db",
    "--log-format",
    "--config",
    "--idle-stream-lag",
    "--external-id",
    "--commit-every",
    "--max-concurrent-streams",
    "--analysisd-timeout",
    "--aws-attempt-timeout",
    "--max-datagram",
    "--api-quotas",
];

/// Rewrites the reference's multi-letter short flags (`-sr`, `-rd`, `-df`, `-dr`,
/// `-st`, `-se`, also in their `-st=VALUE` form) into their long forms, so modulesd's
/// and administrators' command lines parse exactly as they did with the reference.
/// Values of flags, and everything after `--`, are never rewritten.
pub fn rewrite_reference_short_flags<I>(args: I) -> Vec<OsString>
where
    I: IntoIterator<Item = OsString>,
{
    let mut rewritten = Vec::new();
    let mut next_is_value = false;
    let mut after_double_dash = false;
    for (index, arg) in args.into_iter().enumerate() {
        // The program name is never a flag.
        if index == 0 || next_is_value || after_double_dash {
            next_is_value = false;
            rewritten.push(arg);
            continue;
        }
        let Some(text) = arg.to_str().map(str::to_owned) else {
            rewritten.push(arg);
            continue;
        };
        if text == "--" {
            after_double_dash = true;
            rewritten.push(arg);
            continue;
        }
        let text = text.as_str();
        let (flag, inline_value) = match text.split_once('=') {
            Some((flag, value)) => (flag, Some(value)),
            None => (text, None),
        };
        let long = MULTI_LETTER_SHORT_FLAGS
            .iter()
            .find(|(short, _)| *short == flag)
            .map(|(_, long)| *long);
        let canonical = long.unwrap_or(flag);
        match (long, inline_value) {
            (Some(long), Some(value)) => rewritten.push(OsString::from(format!("{long}={value}"))),
            (Some(long), None) => rewritten.push(OsString::from(long)),
            (None, _) => rewritten.push(arg),
        }
        next_is_value = inline_value.is_none() && FLAGS_WITH_VALUE.contains(&canonical);
    }
    rewritten
}

#[cfg(test)]
#[path = "cli_properties.rs"]
mod properties;

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(args: &[&str]) -> Vec<String> {
        rewrite_reference_short_flags(args.iter().map(OsString::from))
            .into_iter()
            .map(|arg| arg.into_string().unwrap())
            .collect()
    }

    #[test]
    fn multi_letter_short_flags_become_long_flags() {
        assert_eq!(
            rewrite(&[
                "aws-s3",
                "-sr",
                "cloudwatchlogs",
                "-rd",
                "900",
                "-df",
                "data.source",
                "-dr",
                "^x",
                "-st",
                "sts.local",
                "-se",
                "logs.local"
            ]),
            [
                "aws-s3",
                "--service",
                "cloudwatchlogs",
                "--iam_role_duration",
                "900",
                "--discard-field",
                "data.source",
                "--discard-regex",
                "^x",
                "--sts_endpoint",
                "sts.local",
                "--service_endpoint",
                "logs.local"
            ]
        );
    }

    #[test]
    fn inline_values_are_kept() {
        assert_eq!(
            rewrite(&["aws-s3", "-sr=cloudwatchlogs", "-st=https://sts.local"]),
            [
                "aws-s3",
                "--service=cloudwatchlogs",
                "--sts_endpoint=https://sts.local"
            ]
        );
    }

    #[test]
    fn values_that_look_like_flags_are_not_rewritten() {
        assert_eq!(
            rewrite(&[
                "aws-s3",
                "--discard-regex",
                "-st",
                "-dr",
                "-se",
                "-p",
                "-sr"
            ]),
            [
                "aws-s3",
                "--discard-regex",
                "-st",
                "--discard-regex",
                "-se",
                "-p",
                "-sr"
            ]
        );
    }

    #[test]
    fn nothing_after_double_dash_is_rewritten() {
        assert_eq!(rewrite(&["aws-s3", "--", "-sr"]), ["aws-s3", "--", "-sr"]);
    }

    #[test]
    fn single_letter_short_flags_pass_through() {
        assert_eq!(
            rewrite(&[
                "aws-s3",
                "-p",
                "default",
                "-r",
                "us-east-1",
                "-d",
                "2",
                "-P",
                "-o"
            ]),
            [
                "aws-s3",
                "-p",
                "default",
                "-r",
                "us-east-1",
                "-d",
                "2",
                "-P",
                "-o"
            ]
        );
    }

    #[test]
    fn the_reference_command_line_parses() {
        let cli = Cli::try_parse_from(rewrite_reference_short_flags(
            [
                "aws-s3",
                "-sr",
                "cloudwatchlogs",
                "-p",
                "prod",
                "-i",
                "arn:aws:iam::123456789012:role/wazuh",
                "-rd",
                "1800",
                "-g",
                "g1,g2",
                "-r",
                "us-east-1",
                "-s",
                "2026-JAN-31",
                "-df",
                "data.source",
                "-dr",
                "^internal",
                "-st",
                "sts.us-east-1.amazonaws.com",
                "-se",
                "logs.us-east-1.amazonaws.com",
                "-d",
                "2",
                "-P",
                "-e",
                "-o",
            ]
            .map(OsString::from),
        ))
        .unwrap();
        let one_shot = &cli.one_shot;
        assert_eq!(one_shot.service.as_deref(), Some("cloudwatchlogs"));
        assert_eq!(one_shot.aws_profile.as_deref(), Some("prod"));
        assert_eq!(one_shot.iam_role_duration.as_deref(), Some("1800"));
        assert_eq!(one_shot.discard_field.as_deref(), Some("data.source"));
        assert_eq!(one_shot.discard_regex.as_deref(), Some("^internal"));
        assert_eq!(
            one_shot.sts_endpoint.as_deref(),
            Some("sts.us-east-1.amazonaws.com")
        );
        assert_eq!(
            one_shot.service_endpoint.as_deref(),
            Some("logs.us-east-1.amazonaws.com")
        );
        assert_eq!(cli.global.debug, Some(2));
        assert!(one_shot.remove_log_streams && one_shot.skip_on_error && one_shot.reparse);
        assert!(cli.command.is_none());
    }

    #[test]
    fn subcommands_parse_with_global_options() {
        let cli = Cli::try_parse_from([
            "wodle-aws",
            "--wazuh-home",
            "/opt/wazuh",
            "check-config",
            "ossec.conf",
        ])
        .unwrap();
        assert_eq!(cli.global.wazuh_home, Some(PathBuf::from("/opt/wazuh")));
        assert!(matches!(cli.command, Some(Command::CheckConfig { .. })));
    }

    #[test]
    fn one_shot_flags_conflict_with_subcommands() {
        for args in [
            &[
                "wodle-aws",
                "--service",
                "cloudwatchlogs",
                "check-config",
                "f",
            ][..],
            &["wodle-aws", "-g", "group", "run", "--config", "f"][..],
        ] {
            let error = Cli::try_parse_args(args.iter().map(OsString::from).collect()).unwrap_err();
            assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
