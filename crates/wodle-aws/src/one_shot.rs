//! The reference's one-shot command line, validated into the same typed service
//! settings that an ossec.conf block gives.

use wodle_config::{
    CloudWatchLogsService, InvalidValue, InvalidValueKind, Secret, ServiceExtensions, StaticKeys,
};

use crate::cli::OneShotArgs;

/// Why the one-shot command line cannot run.
#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    /// A flag's value broke a rule; `flag` is its long form.
    #[error("invalid value for {flag}: {source}")]
    InvalidValue {
        flag: &'static str,
        #[source]
        source: InvalidValue,
    },
    /// Flags that do not go together, or a missing one.
    #[error("{0}")]
    Usage(String),
}

impl OneShotError {
    /// The reference exits 22 for a bad region and 2 for the rest of its argument errors.
    pub fn is_invalid_region(&self) -> bool {
        matches!(self, OneShotError::InvalidValue { source, .. } if source.kind == InvalidValueKind::Region)
    }
}

/// The name the reference's `--service` takes for CloudWatch Logs.
const CLOUDWATCH_LOGS: &str = "cloudwatchlogs";

/// Builds the service settings from the reference's flags, applying the same rules
/// as the ossec.conf parser. Returns the settings and the warnings to log.
pub fn service_from_args(
    args: &OneShotArgs,
) -> Result<(CloudWatchLogsService, Vec<String>), OneShotError> {
    let mut warnings = Vec::new();
    if let Some(bucket) = &args.bucket {
        return Err(OneShotError::Usage(format!(
            "--bucket {bucket}: wodle-aws collects CloudWatch Logs only; S3 buckets are read by Wazuh's own aws-s3 script"
        )));
    }
    if let Some(subscriber) = &args.subscriber {
        return Err(OneShotError::Usage(format!(
            "--subscriber {subscriber}: wodle-aws collects CloudWatch Logs only; subscribers are read by Wazuh's own aws-s3 script"
        )));
    }
    match args.service.as_deref() {
        Some(service) if service.eq_ignore_ascii_case(CLOUDWATCH_LOGS) => {}
        Some(other) => {
            return Err(OneShotError::Usage(format!(
                "--service {other}: wodle-aws collects CloudWatch Logs only; the accepted value is '{CLOUDWATCH_LOGS}'"
            )));
        }
        None => {
            return Err(OneShotError::Usage(
                "one of --service cloudwatchlogs, 'run --config FILE' or 'check-config FILE' is required"
                    .to_owned(),
            ));
        }
    }

    let invalid = |flag: &'static str| move |source| OneShotError::InvalidValue { flag, source };

    let log_groups = match args.aws_log_groups.as_deref() {
        Some(groups) => {
            wodle_config::parse_log_groups(groups).map_err(invalid("--aws_log_groups"))?
        }
        None => Vec::new(),
    };
    if log_groups.is_empty() {
        return Err(OneShotError::Usage(
            "--aws_log_groups (-g) is required with --service cloudwatchlogs: name at least one log group"
                .to_owned(),
        ));
    }
    let regions = match args.regions.as_deref() {
        Some(regions) => wodle_config::parse_regions(regions).map_err(invalid("--regions"))?,
        None => Vec::new(),
    };
    let only_logs_after = args
        .only_logs_after
        .as_deref()
        .map(wodle_config::parse_only_logs_after)
        .transpose()
        .map_err(invalid("--only_logs_after"))?;
    let iam_role_arn = args
        .iam_role_arn
        .as_deref()
        .map(wodle_config::parse_iam_role_arn)
        .transpose()
        .map_err(invalid("--iam_role_arn"))?;
    let iam_role_duration = args
        .iam_role_duration
        .as_deref()
        .map(wodle_config::parse_iam_role_duration)
        .transpose()
        .map_err(invalid("--iam_role_duration"))?;
    if iam_role_duration.is_some() && iam_role_arn.is_none() {
        return Err(OneShotError::Usage(
            "--iam_role_duration (-rd) needs --iam_role_arn (-i): it is the duration of the assumed role's session"
                .to_owned(),
        ));
    }
    let aws_account_ids = args
        .aws_account_id
        .as_deref()
        .map(wodle_config::parse_account_ids)
        .transpose()
        .map_err(invalid("--aws_account_id"))?
        .unwrap_or_default();
    let discard = match (&args.discard_field, &args.discard_regex) {
        (_, Some(regex)) if regex.is_empty() => {
            warnings.push(
                "No value was provided for 'discard_regex'. No event will be skipped.".to_owned(),
            );
            None
        }
        (field, Some(regex)) => Some(
            wodle_config::parse_discard_rule(field.as_deref(), regex)
                .map_err(invalid("--discard-regex"))?,
        ),
        (Some(_), None) => {
            return Err(OneShotError::Usage(
                "--discard-field (-df) needs --discard-regex (-dr): the field is where the regex is applied"
                    .to_owned(),
            ));
        }
        (None, None) => None,
    };
    let sts_endpoint = args
        .sts_endpoint
        .as_deref()
        .map(|value| wodle_config::parse_endpoint("sts_endpoint", value))
        .transpose()
        .map_err(invalid("--sts_endpoint"))?;
    let service_endpoint = args
        .service_endpoint
        .as_deref()
        .map(|value| wodle_config::parse_endpoint("service_endpoint", value))
        .transpose()
        .map_err(invalid("--service_endpoint"))?;
    let static_keys = match (&args.access_key, &args.secret_key) {
        (Some(access_key_id), Some(secret)) => {
            warnings.push(
                "Deprecated flags --access_key and --secret_key: the secret is visible to every user in the process list. Use a profile (--aws_profile) or a role (--iam_role_arn) instead."
                    .to_owned(),
            );
            Some(StaticKeys {
                access_key_id: access_key_id.clone(),
                secret_access_key: Secret::new(secret.clone()),
            })
        }
        (None, None) => None,
        _ => {
            return Err(OneShotError::Usage(
                "--access_key (-a) and --secret_key (-k) go together: give both or neither"
                    .to_owned(),
            ));
        }
    };

    let service = CloudWatchLogsService {
        line: 0,
        aws_profile: args
            .aws_profile
            .clone()
            .filter(|profile| !profile.is_empty()),
        log_groups,
        regions,
        only_logs_after,
        iam_role_arn,
        iam_role_duration,
        aws_account_ids,
        aws_account_alias: args
            .aws_account_alias
            .clone()
            .filter(|alias| !alias.is_empty()),
        remove_log_streams: args.remove_log_streams,
        discard,
        sts_endpoint,
        service_endpoint,
        static_keys,
        extensions: ServiceExtensions::default(),
    };
    Ok((service, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::Parser;

    fn args(line: &[&str]) -> OneShotArgs {
        let mut all = vec!["aws-s3"];
        all.extend_from_slice(line);
        Cli::try_parse_from(crate::cli::rewrite_reference_short_flags(
            all.into_iter().map(std::ffi::OsString::from),
        ))
        .unwrap()
        .one_shot
    }

    #[test]
    fn a_full_command_line_gives_typed_settings() {
        let (service, warnings) = service_from_args(&args(&[
            "-sr",
            "CloudWatchLogs",
            "-g",
            "b,a,,b",
            "-r",
            "us-east-1,eu-west-1",
            "-s",
            "2026-jan-31",
            "-i",
            "arn:aws:iam::123456789012:role/wazuh",
            "-rd",
            "900",
            "-df",
            "data.source",
            "-dr",
            "^internal",
            "-se",
            "logs.us-east-1.amazonaws.com",
        ]))
        .unwrap();
        assert!(warnings.is_empty());
        // Order is kept (the reference reads groups in the order given); empty items go.
        assert_eq!(&service.log_groups[..2], ["b", "a"]);
        assert!(service.log_groups.iter().all(|group| !group.is_empty()));
        assert_eq!(
            service
                .regions
                .iter()
                .map(|r| r.as_str())
                .collect::<Vec<_>>(),
            ["eu-west-1", "us-east-1"]
        );
        assert_eq!(service.iam_role_duration, Some(900));
        assert_eq!(
            service.service_endpoint.unwrap().as_str(),
            "https://logs.us-east-1.amazonaws.com/"
        );
        let discard = service.discard.unwrap();
        assert_eq!(discard.field.as_deref(), Some("data.source"));
        assert_eq!(discard.regex.as_str(), "^internal");
    }

    #[test]
    fn other_services_are_refused_by_name() {
        let error = service_from_args(&args(&["-sr", "inspector"])).unwrap_err();
        assert!(error.to_string().contains("--service inspector"), "{error}");
        let error = service_from_args(&args(&["-b", "my-bucket"])).unwrap_err();
        assert!(error.to_string().contains("--bucket my-bucket"), "{error}");
    }

    #[test]
    fn log_groups_are_required() {
        let error = service_from_args(&args(&["-sr", "cloudwatchlogs"])).unwrap_err();
        assert!(error.to_string().contains("--aws_log_groups"), "{error}");
    }

    #[test]
    fn a_bad_region_is_told_apart() {
        let error = service_from_args(&args(&[
            "-sr",
            "cloudwatchlogs",
            "-g",
            "g",
            "-r",
            "mars-north-1",
        ]))
        .unwrap_err();
        assert!(error.is_invalid_region());
        assert!(error.to_string().contains("mars-north-1"), "{error}");
        let error = service_from_args(&args(&[
            "-sr",
            "cloudwatchlogs",
            "-g",
            "g",
            "-s",
            "2026-13-01",
        ]))
        .unwrap_err();
        assert!(!error.is_invalid_region());
        assert!(error.to_string().contains("--only_logs_after"), "{error}");
    }

    #[test]
    fn role_duration_needs_a_role() {
        let error = service_from_args(&args(&["-sr", "cloudwatchlogs", "-g", "g", "-rd", "900"]))
            .unwrap_err();
        assert!(error.to_string().contains("--iam_role_arn"), "{error}");
    }

    #[test]
    fn static_keys_warn_and_never_show_the_secret() {
        let (service, warnings) = service_from_args(&args(&[
            "-sr",
            "cloudwatchlogs",
            "-g",
            "g",
            "-a",
            "AKIAEXAMPLE",
            "-k",
            "very-secret-value",
        ]))
        .unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(!warnings[0].contains("very-secret-value"));
        assert!(!format!("{service:?}").contains("very-secret-value"));
    }
}
