//! From the element tree to typed settings: walks the ossec.conf sections, reads
//! every aws-s3 wodle block and collects every error and warning.

use crate::extensions::{SERVICE_EXTENSIONS, service_extension};
use crate::schedule::{self, ScheduleTags};
use crate::validate::{
    check_log_group_references, parse_account_ids, parse_discard_rule, parse_endpoint,
    parse_iam_role_arn, parse_iam_role_duration, parse_log_groups, parse_only_logs_after,
    parse_regions,
};
use crate::xml::Element;
use crate::{
    AwsS3Wodle, CloudWatchLogsService, Diagnostic, InvalidValue, LoadError, LoadedConfig,
    OtherBlock, Schedule, Secret, StaticKeys,
};

/// Where module-level tags live, as the reference words it.
const MODULE: &str = "at module 'aws-s3'";
/// Where service child tags live.
const SERVICE: &str = "of service at module 'aws-s3'";

const MODULE_TAGS: &[&str] = &[
    "disabled",
    "interval",
    "day",
    "wday",
    "time",
    "run_on_start",
    "skip_on_error",
    "remove_from_bucket",
    "access_key",
    "secret_key",
    "service",
    "bucket",
    "subscriber",
];

const SERVICE_TAGS: &[&str] = &[
    "aws_profile",
    "aws_log_groups",
    "regions",
    "only_logs_after",
    "iam_role_arn",
    "iam_role_duration",
    "aws_account_id",
    "aws_account_alias",
    "remove_log_streams",
    "discard_regex",
    "sts_endpoint",
    "service_endpoint",
    "access_key",
    "secret_key",
];

const SERVICE_TYPES: &[&str] = &["inspector", "cloudwatchlogs"];
const BUCKET_TYPES: &[&str] = &[
    "cloudtrail",
    "config",
    "guardduty",
    "vpcflow",
    "waf",
    "cisco_umbrella",
    "custom",
    "alb",
    "clb",
    "nlb",
    "server_access",
];
const SUBSCRIBER_TYPES: &[&str] = &["security_lake", "buckets", "security_hub"];

/// `'a', 'b' or 'c'`.
fn one_of(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("'{item}'")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// The warning for a deprecated static key (never with its value).
pub(crate) fn deprecated_key_message(tag: &str) -> String {
    format!(
        "Deprecated tag <{tag}> found at module 'aws-s3'. This tag was deprecated in 4.4; use a \
         profile or a role instead (see Wazuh's credentials documentation)."
    )
}

/// `yes` or `no`, exactly, as modulesd reads them.
fn yes_no(tag: &str, value: &str) -> Result<bool, String> {
    match value {
        "yes" => Ok(true),
        "no" => Ok(false),
        _ => Err(format!(
            "Invalid content for tag '{tag}' at module 'aws-s3'. Got '{value}'; accepted: 'yes' \
             or 'no'."
        )),
    }
}

/// Static keys seen in one scope: each with its line.
#[derive(Default)]
struct KeyTags {
    access: Option<(String, u32)>,
    secret: Option<(Secret, u32)>,
}

/// Single-valued tags already seen in one scope, for the "repeated" warning.
#[derive(Default)]
struct Seen(Vec<(String, u32)>);

/// Everything found so far.
#[derive(Default)]
struct Walker {
    wodles: Vec<AwsS3Wodle>,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    other_sections: Vec<String>,
}

/// Reads the top-level elements of a file.
pub(crate) fn read(roots: &[Element]) -> Result<LoadedConfig, LoadError> {
    let mut walker = Walker::default();
    for root in roots {
        if root.name == "ossec_config" {
            for section in &root.children {
                walker.section(section);
            }
        } else {
            walker.section(root);
        }
    }
    let Walker {
        wodles,
        mut errors,
        mut warnings,
        other_sections,
    } = walker;
    errors.sort_by_key(|d| d.line);
    warnings.sort_by_key(|d| d.line);
    if errors.is_empty() {
        Ok(LoadedConfig {
            wodles,
            warnings,
            other_sections,
        })
    } else {
        Err(LoadError::Invalid { errors, warnings })
    }
}

impl Walker {
    fn error(&mut self, line: u32, tag: &str, message: String) {
        self.errors.push(Diagnostic {
            line,
            tag: tag.to_owned(),
            message,
        });
    }

    fn warn(&mut self, line: u32, tag: &str, message: String) {
        self.warnings.push(Diagnostic {
            line,
            tag: tag.to_owned(),
            message,
        });
    }

    fn invalid(&mut self, line: u32, tag: &str, invalid: InvalidValue) {
        self.error(line, tag, invalid.message);
    }

    fn other_section(&mut self, name: String) {
        if !self.other_sections.contains(&name) {
            self.other_sections.push(name);
        }
    }

    fn section(&mut self, element: &Element) {
        if element.name != "wodle" {
            self.other_section(element.name.clone());
            return;
        }
        match element.attr("name") {
            Some("aws-s3") => {
                let wodle = self.wodle(element);
                self.wodles.push(wodle);
            }
            Some(name) => self.other_section(format!("wodle:{name}")),
            None => self.other_section("wodle".to_owned()),
        }
    }

    /// The trimmed text of a tag that takes text only.
    fn leaf(&mut self, element: &Element, scope: &str) -> Option<String> {
        if let Some(child) = element.children.first() {
            self.error(
                child.line,
                &element.name,
                format!(
                    "Tag '{}' {scope} takes text only, but holds the element <{}>.",
                    element.name, child.name
                ),
            );
            return None;
        }
        Some(element.text.trim().to_owned())
    }

    /// Warns when a single-valued tag comes again in the same scope.
    fn note(&mut self, seen: &mut Seen, element: &Element, scope: &str) {
        let tag = element.name.as_str();
        if let Some((_, first)) = seen.0.iter().find(|(name, _)| name == tag) {
            let message = format!(
                "Tag '{tag}' appears more than once {scope} (line {first} and line {}); the last \
                 one is used.",
                element.line
            );
            self.warn(element.line, tag, message);
        } else {
            seen.0.push((tag.to_owned(), element.line));
        }
    }

    fn static_key(&mut self, element: &Element, keys: &mut KeyTags, scope: &str) {
        let Some(value) = self.leaf(element, scope) else {
            return;
        };
        if value.is_empty() {
            // The reference ignores empty keys.
            return;
        }
        self.warn(
            element.line,
            &element.name,
            deprecated_key_message(&element.name),
        );
        if element.name == "access_key" {
            keys.access = Some((value, element.line));
        } else {
            keys.secret = Some((Secret::new(value), element.line));
        }
    }

    fn static_keys(&mut self, keys: KeyTags, scope: &str) -> Option<StaticKeys> {
        match (keys.access, keys.secret) {
            (Some((access_key_id, _)), Some((secret_access_key, _))) => Some(StaticKeys {
                access_key_id,
                secret_access_key,
            }),
            (Some((_, line)), None) => {
                self.error(
                    line,
                    "access_key",
                    format!(
                        "Tag <access_key> found without <secret_key> {scope}: static keys take \
                         both tags. Better, remove both and use a profile or a role."
                    ),
                );
                None
            }
            (None, Some((_, line))) => {
                self.error(
                    line,
                    "secret_key",
                    format!(
                        "Tag <secret_key> found without <access_key> {scope}: static keys take \
                         both tags. Better, remove both and use a profile or a role."
                    ),
                );
                None
            }
            (None, None) => None,
        }
    }

    fn wodle(&mut self, element: &Element) -> AwsS3Wodle {
        let mut wodle = AwsS3Wodle {
            line: element.line,
            disabled: false,
            run_on_start: true,
            skip_on_error: false,
            remove_from_bucket: false,
            schedule: Schedule::default(),
            static_keys: None,
            services: Vec::new(),
            other_blocks: Vec::new(),
        };
        let mut tags = ScheduleTags::default();
        let mut keys = KeyTags::default();
        let mut seen = Seen::default();
        let mut blocks = 0_usize;
        let mut schedule_failed = false;

        for child in &element.children {
            let tag = child.name.as_str();
            let line = child.line;
            match tag {
                "service" => {
                    blocks += 1;
                    self.service(child, &mut wodle);
                    continue;
                }
                "bucket" => {
                    blocks += 1;
                    self.bucket(child, &mut wodle);
                    continue;
                }
                "subscriber" => {
                    blocks += 1;
                    if let Some(kind) = self.block_type(child, SUBSCRIBER_TYPES) {
                        self.ignored_block(child, kind, &mut wodle);
                    }
                    continue;
                }
                _ if !MODULE_TAGS.contains(&tag) => {
                    self.error(
                        line,
                        tag,
                        format!(
                            "No such tag '{tag}' {MODULE}. Valid tags: {}.",
                            MODULE_TAGS.join(", ")
                        ),
                    );
                    continue;
                }
                _ => {}
            }
            self.note(&mut seen, child, MODULE);
            if matches!(tag, "access_key" | "secret_key") {
                self.static_key(child, &mut keys, MODULE);
                continue;
            }
            let Some(value) = self.leaf(child, MODULE) else {
                continue;
            };
            if let Some(field) = match tag {
                "disabled" => Some(&mut wodle.disabled),
                "run_on_start" => Some(&mut wodle.run_on_start),
                "skip_on_error" => Some(&mut wodle.skip_on_error),
                "remove_from_bucket" => Some(&mut wodle.remove_from_bucket),
                _ => None,
            } {
                match yes_no(tag, &value) {
                    Ok(flag) => *field = flag,
                    Err(message) => self.error(line, tag, message),
                }
                continue;
            }
            let scheduled = match tag {
                "interval" => {
                    schedule::parse_interval(&value).map(|v| tags.interval = Some((v, line)))
                }
                "day" => schedule::parse_day(&value).map(|v| tags.day = Some((v, line))),
                "wday" => schedule::parse_wday(&value).map(|v| tags.wday = Some((v, line))),
                "time" => schedule::parse_time(&value).map(|v| tags.time = Some((v, line))),
                _ => Ok(()),
            };
            if let Err(e) = scheduled {
                self.invalid(line, tag, e);
                schedule_failed = true;
            }
        }

        // With a bad scheduling tag, combining the others would only add noise.
        if !schedule_failed {
            match schedule::resolve(&tags) {
                Ok((resolved, warnings)) => {
                    wodle.schedule = resolved;
                    self.warnings.extend(warnings);
                }
                Err(error) => self.errors.push(error),
            }
        }
        wodle.static_keys = self.static_keys(keys, MODULE);
        if blocks == 0 {
            self.error(
                element.line,
                "wodle",
                "No buckets, services or subscribers definitions found at module 'aws-s3'. Add a \
                 <service type=\"cloudwatchlogs\"> block to this <wodle name=\"aws-s3\">."
                    .to_owned(),
            );
        }
        wodle
    }

    /// The validated `type` attribute of a `<service>`, `<bucket>` or
    /// `<subscriber>`, with the reference's messages.
    fn block_type<'e>(&mut self, element: &'e Element, valid: &[&str]) -> Option<&'e str> {
        let tag = element.name.as_str();
        let line = element.line;
        let valid_ones = one_of(valid);
        if element.attrs.is_empty() {
            self.error(
                line,
                tag,
                format!(
                    "Undefined type for {tag}. Add a type attribute: valid ones are {valid_ones}."
                ),
            );
            return None;
        }
        if let Some((name, _)) = element.attrs.iter().find(|(name, _)| name != "type") {
            let message = format!(
                "Attribute name '{name}' is not valid. The valid one is 'type' (on <{tag}>)."
            );
            self.error(line, tag, message);
            return None;
        }
        let kind = element.attr("type").unwrap_or_default();
        if kind.is_empty() {
            self.error(
                line,
                tag,
                format!("Empty {tag} type. Valid ones are {valid_ones}"),
            );
            return None;
        }
        if !valid.contains(&kind) {
            self.error(
                line,
                tag,
                format!("Invalid {tag} type '{kind}'. Valid ones are {valid_ones}"),
            );
            return None;
        }
        Some(kind)
    }

    /// A block this program does not collect: one warning, recorded.
    fn ignored_block(&mut self, element: &Element, kind: &str, wodle: &mut AwsS3Wodle) {
        let tag = element.name.as_str();
        self.warn(
            element.line,
            tag,
            format!(
                "<{tag} type=\"{kind}\"> is ignored: wodle-aws collects CloudWatch Logs only \
                 (<service type=\"cloudwatchlogs\">). Keep Wazuh's own aws-s3 module for this \
                 block."
            ),
        );
        wodle.other_blocks.push(OtherBlock {
            line: element.line,
            tag: tag.to_owned(),
            kind: kind.to_owned(),
        });
    }

    fn bucket(&mut self, element: &Element, wodle: &mut AwsS3Wodle) {
        if element.attrs.is_empty() {
            // The legacy form: the bucket name as the content, a CloudTrail bucket.
            if element.children.is_empty() && element.text.trim().is_empty() {
                self.error(
                    element.line,
                    "bucket",
                    "Empty content for tag 'bucket' at module 'aws-s3'. Use <bucket \
                     type=\"...\"> with a <name>, or remove it."
                        .to_owned(),
                );
                return;
            }
            self.warn(
                element.line,
                "bucket",
                "Deprecated config defined; please use current config definition at module \
                 'aws-s3'. This legacy <bucket> (a CloudTrail bucket) is ignored: wodle-aws \
                 collects CloudWatch Logs only."
                    .to_owned(),
            );
            wodle.other_blocks.push(OtherBlock {
                line: element.line,
                tag: "bucket".to_owned(),
                kind: "cloudtrail".to_owned(),
            });
            return;
        }
        if let Some(kind) = self.block_type(element, BUCKET_TYPES) {
            self.ignored_block(element, kind, wodle);
        }
    }

    fn service(&mut self, element: &Element, wodle: &mut AwsS3Wodle) {
        match self.block_type(element, SERVICE_TYPES) {
            Some("cloudwatchlogs") => {
                let service = self.cloudwatchlogs(element);
                wodle.services.push(service);
            }
            Some(kind) => self.ignored_block(element, kind, wodle),
            None => {}
        }
    }

    fn cloudwatchlogs(&mut self, element: &Element) -> CloudWatchLogsService {
        let mut service = CloudWatchLogsService::new(Vec::new());
        service.line = element.line;
        let mut groups_seen = false;
        let mut duration_line = None;
        let mut keys = KeyTags::default();
        let mut seen = Seen::default();

        for child in &element.children {
            let tag = child.name.as_str();
            let line = child.line;
            if let Some(extension) = service_extension(tag) {
                self.note(&mut seen, child, SERVICE);
                let Some(value) = self.leaf(child, SERVICE) else {
                    continue;
                };
                match (extension.apply)(&value, &mut service.extensions) {
                    Ok(()) => service.extensions.tag_lines.push((tag.to_owned(), line)),
                    Err(e) => self.invalid(line, tag, e),
                }
                continue;
            }
            if !SERVICE_TAGS.contains(&tag) {
                let extensions: Vec<String> = SERVICE_EXTENSIONS
                    .iter()
                    .map(|ext| format!("{} ({}; a wodle-aws extension)", ext.tag, ext.summary))
                    .collect();
                self.error(
                    line,
                    tag,
                    format!(
                        "No such child tag '{tag}' {SERVICE}. Valid child tags of <service \
                         type=\"cloudwatchlogs\">: {}, {}.",
                        SERVICE_TAGS.join(", "),
                        extensions.join(", ")
                    ),
                );
                continue;
            }
            self.note(&mut seen, child, SERVICE);
            if matches!(tag, "access_key" | "secret_key") {
                self.static_key(child, &mut keys, SERVICE);
                continue;
            }
            let Some(value) = self.leaf(child, SERVICE) else {
                continue;
            };
            let optional = || (!value.is_empty()).then(|| value.clone());
            match tag {
                "aws_profile" => service.aws_profile = optional(),
                "aws_account_alias" => service.aws_account_alias = optional(),
                "aws_log_groups" => {
                    groups_seen = true;
                    self.log_groups(child, &value, &mut service);
                }
                "regions" => {
                    if value.is_empty() {
                        self.warn(
                            line,
                            tag,
                            "Empty content for tag 'regions' at module 'aws-s3'. The profile's \
                             region is used, else every commercial region."
                                .to_owned(),
                        );
                        service.regions.clear();
                    } else {
                        match parse_regions(&value) {
                            Ok(regions) => service.regions = regions,
                            Err(e) => self.invalid(line, tag, e),
                        }
                    }
                }
                "only_logs_after" => {
                    if value.is_empty() {
                        self.warn(
                            line,
                            tag,
                            "Empty content for tag 'only_logs_after' at module 'aws-s3'. Logs \
                             are read from today, 00:00 UTC."
                                .to_owned(),
                        );
                        service.only_logs_after = None;
                    } else {
                        match parse_only_logs_after(&value) {
                            Ok(date) => service.only_logs_after = Some(date),
                            Err(e) => self.invalid(line, tag, e),
                        }
                    }
                }
                "iam_role_arn" => {
                    service.iam_role_arn = None;
                    if !value.is_empty() {
                        match parse_iam_role_arn(&value) {
                            Ok(arn) => service.iam_role_arn = Some(arn),
                            Err(e) => self.invalid(line, tag, e),
                        }
                    }
                }
                "iam_role_duration" => {
                    service.iam_role_duration = None;
                    duration_line = None;
                    if !value.is_empty() {
                        duration_line = Some((line, value.clone()));
                        match parse_iam_role_duration(&value) {
                            Ok(seconds) => service.iam_role_duration = Some(seconds),
                            Err(e) => self.invalid(line, tag, e),
                        }
                    }
                }
                "aws_account_id" => {
                    if value.is_empty() {
                        self.error(
                            line,
                            tag,
                            "Empty content for tag 'aws_account_id' at module 'aws-s3'. It takes \
                             one or more 12-digit account ids separated by commas."
                                .to_owned(),
                        );
                    } else {
                        match parse_account_ids(&value) {
                            Ok(ids) => service.aws_account_ids = ids,
                            Err(e) => self.invalid(line, tag, e),
                        }
                    }
                }
                "remove_log_streams" => match yes_no(tag, &value) {
                    Ok(flag) => service.remove_log_streams = flag,
                    Err(message) => self.error(line, tag, message),
                },
                "discard_regex" => self.discard_regex(child, &value, &mut service),
                "sts_endpoint" | "service_endpoint" => {
                    let url = if value.is_empty() {
                        None
                    } else {
                        match parse_endpoint(tag, &value) {
                            Ok(url) => Some(url),
                            Err(e) => {
                                self.invalid(line, tag, e);
                                None
                            }
                        }
                    };
                    if tag == "sts_endpoint" {
                        service.sts_endpoint = url;
                    } else {
                        service.service_endpoint = url;
                    }
                }
                _ => {}
            }
        }

        if !groups_seen {
            self.error(
                element.line,
                "aws_log_groups",
                "Empty content for tag 'aws_log_groups' at module 'aws-s3'. The tag is required \
                 in <service type=\"cloudwatchlogs\">: one or more log group names separated by \
                 commas."
                    .to_owned(),
            );
        }
        if let (Some((line, value)), None) = (duration_line, &service.iam_role_arn) {
            self.error(
                line,
                "iam_role_duration",
                format!(
                    "Used iam_role_duration ('{value}') but no iam_role_arn provided: a session \
                     duration applies only to an assumed role. Add <iam_role_arn> to this \
                     <service> or remove <iam_role_duration>."
                ),
            );
        }
        service.static_keys = self.static_keys(keys, SERVICE);
        service
    }

    fn log_groups(&mut self, element: &Element, value: &str, service: &mut CloudWatchLogsService) {
        let line = element.line;
        if value.is_empty() {
            self.error(
                line,
                "aws_log_groups",
                "Empty content for tag 'aws_log_groups' at module 'aws-s3'. It takes one or more \
                 log group names separated by commas."
                    .to_owned(),
            );
            return;
        }
        // The reference's entities as written (`&amp;`...) first, then the text.
        let checked =
            check_log_group_references(element.raw.trim()).and_then(|()| parse_log_groups(value));
        match checked {
            Ok(groups) => service.log_groups = groups,
            Err(e) => self.invalid(line, "aws_log_groups", e),
        }
    }

    fn discard_regex(
        &mut self,
        element: &Element,
        value: &str,
        service: &mut CloudWatchLogsService,
    ) {
        let line = element.line;
        for (name, _) in element.attrs.iter().filter(|(name, _)| name != "field") {
            let message = format!(
                "Attribute '{name}' of <discard_regex> is ignored: the only attribute is 'field'."
            );
            self.warn(line, "discard_regex", message);
        }
        if value.is_empty() {
            self.warn(
                line,
                "discard_regex",
                "No value was provided for 'discard_regex'. No event will be skipped.".to_owned(),
            );
            service.discard = None;
            return;
        }
        match parse_discard_rule(element.attr("field"), value) {
            Ok(rule) => service.discard = Some(rule),
            Err(e) => self.invalid(line, "discard_regex", e),
        }
    }
}
