//! Human-readable descriptions of validated settings: what `check-config` prints
//! and what debug lines show. Never a secret.

use std::fmt::Write as _;

use wodle_config::{AwsS3Wodle, CloudWatchLogsService, Interval, LoadedConfig, Schedule};

use crate::paths::WazuhPaths;

/// The whole report of `check-config`: every wodle block, its services, and where
/// events and checkpoints would go.
pub fn describe_config(config: &LoadedConfig, paths: &WazuhPaths) -> String {
    let mut out = String::new();
    for wodle in &config.wodles {
        describe_wodle(&mut out, wodle);
    }
    let _ = writeln!(out, "Wazuh home: {}", paths.wazuh_home.display());
    let _ = writeln!(out, "Events go to: {}", paths.queue_socket.display());
    let _ = writeln!(out, "Checkpoints in: {}", paths.database.display());
    out
}

fn describe_wodle(out: &mut String, wodle: &AwsS3Wodle) {
    let state = if wodle.disabled {
        "disabled"
    } else {
        "enabled"
    };
    let _ = writeln!(
        out,
        "aws-s3 wodle (line {}): {state}, {}, run on start: {}, skip on error: {}",
        wodle.line,
        describe_schedule(&wodle.schedule),
        yes_no(wodle.run_on_start),
        yes_no(wodle.skip_on_error),
    );
    if wodle.static_keys.is_some() {
        let _ = writeln!(
            out,
            "  credentials for every service: deprecated static keys (secret not shown)"
        );
    }
    for service in &wodle.services {
        let _ = write!(out, "{}", describe_service(service));
    }
    if wodle.services.is_empty() {
        let _ = writeln!(out, "  no cloudwatchlogs service: nothing to collect");
    }
    for block in &wodle.other_blocks {
        let _ = writeln!(
            out,
            "  ignored: {} type=\"{}\" (line {}): wodle-aws collects CloudWatch Logs only",
            block.tag, block.kind, block.line
        );
    }
}

/// One service, as indented lines.
pub fn describe_service(service: &CloudWatchLogsService) -> String {
    let mut out = String::new();
    if service.line > 0 {
        let _ = writeln!(out, "  cloudwatchlogs service (line {}):", service.line);
    } else {
        let _ = writeln!(out, "  cloudwatchlogs service (command line):");
    }
    let _ = writeln!(out, "    log groups: {}", service.log_groups.join(", "));
    let regions = if service.regions.is_empty() {
        "the profile's region, else every commercial region".to_owned()
    } else {
        service
            .regions
            .iter()
            .map(|region| region.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "    regions: {regions}");
    let credentials = match (&service.static_keys, &service.aws_profile) {
        (Some(keys), _) => format!(
            "deprecated static keys, access key id {} (secret not shown)",
            keys.access_key_id
        ),
        (None, Some(profile)) => format!("profile '{profile}'"),
        (None, None) => {
            "the SDK's default chain (environment, SSO, container, instance)".to_owned()
        }
    };
    let _ = writeln!(out, "    credentials: {credentials}");
    if let Some(arn) = &service.iam_role_arn {
        let duration = service
            .iam_role_duration
            .map(|seconds| format!("{seconds} s"))
            .unwrap_or_else(|| "the role's default duration".to_owned());
        let _ = writeln!(out, "    role: {arn} (session WazuhLogParsing, {duration})");
    }
    let start = match service.only_logs_after {
        Some(date) => format!("{date} 00:00 UTC"),
        None => "00:00 UTC of the first run's day".to_owned(),
    };
    let _ = writeln!(out, "    events from: {start}");
    if !service.aws_account_ids.is_empty() {
        let _ = writeln!(
            out,
            "    account ids: {}",
            service.aws_account_ids.join(", ")
        );
    }
    if let Some(alias) = &service.aws_account_alias {
        let _ = writeln!(out, "    account alias: {alias}");
    }
    if let Some(discard) = &service.discard {
        match &discard.field {
            Some(field) => {
                let _ = writeln!(
                    out,
                    "    discard: events whose JSON field '{field}' matches /{}/",
                    discard.regex.as_str()
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "    discard: events whose message matches /{}/",
                    discard.regex.as_str()
                );
            }
        }
    }
    if let Some(endpoint) = &service.sts_endpoint {
        let _ = writeln!(out, "    STS endpoint: {endpoint}");
    }
    if let Some(endpoint) = &service.service_endpoint {
        let _ = writeln!(out, "    CloudWatch Logs endpoint: {endpoint}");
    }
    let _ = writeln!(
        out,
        "    remove log streams after reading: {}",
        yes_no(service.remove_log_streams)
    );
    if let Some(lag) = service.extensions.idle_stream_lag {
        // Shown in the tag's own syntax, which is the interval's.
        let _ = writeln!(out, "    idle stream lag: {}", Interval::Every(lag));
    }
    out
}

fn describe_schedule(schedule: &Schedule) -> String {
    let mut text = format!("every {}", schedule.interval);
    if let Some(day) = schedule.day_of_month {
        let _ = write!(text, " on day {day}");
    }
    if let Some(weekday) = schedule.weekday {
        let _ = write!(text, " on {}", weekday.as_str());
    }
    if let Some(time) = schedule.time_of_day {
        let _ = write!(text, " at {time}");
    }
    text
}

fn yes_no(value: bool) -> &'static str {
    if value { "yes" } else { "no" }
}
