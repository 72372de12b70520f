//! Parses the aws-s3 wodle block of ossec.conf into typed, validated settings.
//!
//! CONTRACT FILE (to be completed by the config helper): the public types below are
//! fixed so that the binary can be written against them in parallel. Function
//! bodies marked `todo!()` are to be implemented; extra public items may be added,
//! existing ones must keep their names and shapes (fields may be added).

use std::fmt;
use std::path::Path;
use std::time::Duration;

/// What a file held: every `<wodle name="aws-s3">` block, in file order, and the
/// warnings produced while reading them.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Every aws-s3 wodle block of every `<ossec_config>` root, in file order.
    pub wodles: Vec<AwsS3Wodle>,
    /// Warnings (deprecated tags, ignored blocks, empty values...), in file order.
    pub warnings: Vec<Diagnostic>,
    /// Names of top-level sections other than aws-s3 wodles (`global`, `alerts`,
    /// `wodle name="syscollector"` as `wodle:syscollector`...), de-duplicated, in
    /// first-seen order. Non-empty means this looks like Wazuh's own ossec.conf.
    pub other_sections: Vec<String>,
}

/// A warning or an error, always tied to a tag and a line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// 1-based line of the element the message is about (0 when there is no file,
    /// as for command-line values).
    pub line: u32,
    /// The tag the message is about, without angle brackets (`regions`, `service`).
    pub tag: String,
    /// The whole message: names the tag, the offending value and what is accepted;
    /// keeps the reference's wording where it has one.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            f.write_str(&self.message)
        }
    }
}

/// Why a file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The XML itself is malformed.
    #[error("line {line}: malformed XML: {message}")]
    Xml { line: u32, message: String },
    /// The XML is well formed but one or more settings are invalid. Every error
    /// found is listed, not only the first.
    #[error("{}", display_list(.errors))]
    Invalid {
        errors: Vec<Diagnostic>,
        /// Warnings found before or beside the errors, so they are not lost.
        warnings: Vec<Diagnostic>,
    },
}

fn display_list(errors: &[Diagnostic]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One `<wodle name="aws-s3">` block.
#[derive(Debug, Clone)]
pub struct AwsS3Wodle {
    pub line: u32,
    pub disabled: bool,
    pub run_on_start: bool,
    pub skip_on_error: bool,
    pub remove_from_bucket: bool,
    pub schedule: Schedule,
    /// Deprecated module-level `access_key` / `secret_key`.
    pub static_keys: Option<StaticKeys>,
    /// `<service type="cloudwatchlogs">` blocks, in file order.
    pub services: Vec<CloudWatchLogsService>,
    /// `<service type="inspector">`, `<bucket>` and `<subscriber>` blocks: recognised,
    /// validated for their type, warned about, not collected by this program.
    pub other_blocks: Vec<OtherBlock>,
}

/// A block this program recognises but does not collect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherBlock {
    pub line: u32,
    /// `service`, `bucket` or `subscriber`.
    pub tag: String,
    /// The `type` attribute (`inspector`, `cloudtrail`, `security_lake`...).
    pub kind: String,
}

/// When a wodle runs: Wazuh's shared scheduling tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub interval: Interval,
    /// `<day>`: 1-31, only with an interval in months.
    pub day_of_month: Option<u8>,
    /// `<wday>`: only with an interval in weeks.
    pub weekday: Option<Weekday>,
    /// `<time>`: hh:mm.
    pub time_of_day: Option<TimeOfDay>,
}

/// `<interval>`: a duration, or a number of calendar months (unit `M`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Every(Duration),
    Months(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeOfDay {
    pub hour: u8,
    pub minute: u8,
}

/// One `<service type="cloudwatchlogs">` block.
#[derive(Debug, Clone)]
pub struct CloudWatchLogsService {
    pub line: u32,
    pub aws_profile: Option<String>,
    /// Never empty: the tag is required.
    pub log_groups: Vec<String>,
    /// Validated, de-duplicated and sorted. Empty: the profile's region, else all.
    pub regions: Vec<Region>,
    pub only_logs_after: Option<time::Date>,
    pub iam_role_arn: Option<String>,
    /// Seconds, 900-3600; only with `iam_role_arn`.
    pub iam_role_duration: Option<u32>,
    /// 12-digit account ids.
    pub aws_account_ids: Vec<String>,
    pub aws_account_alias: Option<String>,
    pub remove_log_streams: bool,
    pub discard: Option<DiscardRule>,
    pub sts_endpoint: Option<url::Url>,
    pub service_endpoint: Option<url::Url>,
    /// Deprecated service-level `access_key` / `secret_key`.
    pub static_keys: Option<StaticKeys>,
    /// Settings of ours that the reference does not have.
    pub extensions: ServiceExtensions,
}

/// Settings of wodle-aws that Wazuh's modulesd does not know. In a file they are
/// accepted only as tags read by `wodle-aws run --config`; see
/// [`extension_warnings`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceExtensions {
    /// `<idle_stream_lag>`: how long after our last read a stream's metadata is
    /// still distrusted. `None`: the default (decided by the collector).
    pub idle_stream_lag: Option<Duration>,
    /// Lines of the extension tags found, for [`extension_warnings`].
    pub tag_lines: Vec<(String, u32)>,
}

/// Deprecated static keys. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticKeys {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

impl fmt::Debug for StaticKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .finish()
    }
}

/// A secret string: `Debug` and `Display` print `***`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A validated AWS region name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region(String);

impl Region {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `discard_regex` with its optional `field` attribute.
#[derive(Debug, Clone)]
pub struct DiscardRule {
    /// Dotted path into a JSON message; `None`: match the raw message text.
    pub field: Option<String>,
    pub regex: regex::Regex,
}

/// A single value that failed validation, without file context: what the
/// command line reports as a usage error, and what the file parser wraps with
/// a line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidValue {
    pub kind: InvalidValueKind,
    /// The offending value as given.
    pub value: String,
    /// The whole message (names the value and what is accepted).
    pub message: String,
}

/// Which rule a value broke; the binary picks exit codes from it (a bad region
/// exits 22 like the reference).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidValueKind {
    Region,
    Date,
    LogGroups,
    AccountId,
    RoleArn,
    RoleDuration,
    Endpoint,
    DiscardRegex,
    Other,
}

/// The 33 commercial regions the reference fans out over when none is
/// configured and the profile names none. The one list in the project.
pub const COMMERCIAL_REGIONS: &[&str] = &[];

/// Reads a file in ossec.conf's format.
pub fn load_file(path: &Path) -> Result<LoadedConfig, LoadError> {
    let _ = path;
    todo!()
}

/// Parses text in ossec.conf's format (one or more `<ossec_config>` roots, or a
/// bare `<wodle name="aws-s3">` block).
pub fn parse_str(text: &str) -> Result<LoadedConfig, LoadError> {
    let _ = text;
    todo!()
}

/// Warnings for extension tags in a file that also holds other ossec.conf
/// sections (modulesd would reject them there and stop the manager).
pub fn extension_warnings(config: &LoadedConfig) -> Vec<Diagnostic> {
    let _ = config;
    todo!()
}

/// `regions`: comma list, each a known region; de-duplicated and sorted.
pub fn parse_regions(value: &str) -> Result<Vec<Region>, InvalidValue> {
    let _ = value;
    todo!()
}

/// `only_logs_after`: `YYYY-MMM-DD`, month name in any case.
pub fn parse_only_logs_after(value: &str) -> Result<time::Date, InvalidValue> {
    let _ = value;
    todo!()
}

/// `aws_log_groups`: comma list, empty items dropped, forbidden characters rejected.
pub fn parse_log_groups(value: &str) -> Result<Vec<String>, InvalidValue> {
    let _ = value;
    todo!()
}

/// `aws_account_id`: comma list of 12-digit ids.
pub fn parse_account_ids(value: &str) -> Result<Vec<String>, InvalidValue> {
    let _ = value;
    todo!()
}

/// `iam_role_arn`: must look like an ARN.
pub fn parse_iam_role_arn(value: &str) -> Result<String, InvalidValue> {
    let _ = value;
    todo!()
}

/// `iam_role_duration`: digits only, 900-3600.
pub fn parse_iam_role_duration(value: &str) -> Result<u32, InvalidValue> {
    let _ = value;
    todo!()
}

/// `sts_endpoint` / `service_endpoint`: a URL; a bare host gets `https://`.
pub fn parse_endpoint(tag: &str, value: &str) -> Result<url::Url, InvalidValue> {
    let _ = (tag, value);
    todo!()
}

/// `discard_regex` with its optional `field`: compiled; Python-only syntax the
/// regex crate lacks (look-around, back-references) is rejected, naming the tag.
pub fn parse_discard_rule(field: Option<&str>, pattern: &str) -> Result<DiscardRule, InvalidValue> {
    let _ = (field, pattern);
    todo!()
}

/// `idle_stream_lag` (ours): seconds, or a number with a unit s, m, h, d.
pub fn parse_idle_stream_lag(value: &str) -> Result<Duration, InvalidValue> {
    let _ = value;
    todo!()
}
