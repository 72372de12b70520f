//! Parses the aws-s3 wodle block of ossec.conf into typed, validated settings.
//!
//! [`load_file`] and [`parse_str`] read a whole Wazuh `ossec.conf` (several
//! `<ossec_config>` roots, other sections, comments, CDATA, entities) or a file
//! holding just a `<wodle name="aws-s3">` block. Every aws-s3 block comes back as
//! an [`AwsS3Wodle`]; its `<service type="cloudwatchlogs">` blocks are typed
//! [`CloudWatchLogsService`]s. Every error is reported, not only the first
//! ([`LoadError::Invalid`]), each as a [`Diagnostic`] with tag, line and the
//! reference's wording, so searches for modulesd's messages still find them.
//!
//! The `parse_*` functions validate single values; the command line uses them
//! too. [`extension_warnings`] flags settings of ours that Wazuh's modulesd
//! would reject when they sit in Wazuh's own ossec.conf. [`first_run`],
//! [`next_run`] and [`WallClock`] say when a [`Schedule`] runs the module, by
//! modulesd's rules.
//!
//! ```
//! let text = r#"<ossec_config>
//!   <wodle name="aws-s3">
//!     <interval>10m</interval>
//!     <service type="cloudwatchlogs">
//!       <aws_log_groups>app,audit</aws_log_groups>
//!       <regions>us-east-1</regions>
//!     </service>
//!   </wodle>
//! </ossec_config>"#;
//! let config = wodle_config::parse_str(text).unwrap();
//! let service = &config.wodles[0].services[0];
//! assert_eq!(service.log_groups, ["app", "audit"]);
//! assert_eq!(service.regions[0].as_str(), "us-east-1");
//! ```

use std::fmt;
use std::path::Path;
use std::time::Duration;

mod extensions;
mod regions;
mod schedule;
mod validate;
mod wodle;
mod xml;

#[cfg(test)]
mod tests;

pub use extensions::extension_warnings;
pub use regions::{COMMERCIAL_REGIONS, OTHER_KNOWN_REGIONS, is_known_region};
pub use schedule::{
    DEFAULT_INTERVAL, NextRun, WallClock, first_run, next_run, parse_day, parse_interval,
    parse_time, parse_wday,
};
pub use validate::{
    ROLE_DURATION_RANGE, parse_account_ids, parse_discard_rule, parse_endpoint, parse_iam_role_arn,
    parse_iam_role_duration, parse_idle_stream_lag, parse_log_groups, parse_only_logs_after,
    parse_regions,
};

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

impl LoadedConfig {
    /// The warnings of the `index`-th wodle block (every warning comes from
    /// inside an aws-s3 block: those between its first line and the next
    /// block's).
    pub fn warnings_for(&self, index: usize) -> impl Iterator<Item = &Diagnostic> {
        let start = self.wodles.get(index).map_or(u32::MAX, |w| w.line);
        let end = self.wodles.get(index + 1).map_or(u32::MAX, |w| w.line);
        self.warnings
            .iter()
            .filter(move |d| (start..end).contains(&d.line))
    }
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

impl CloudWatchLogsService {
    /// A service reading `log_groups` with every other setting at its default
    /// (as the command line builds one).
    pub fn new(log_groups: Vec<String>) -> CloudWatchLogsService {
        CloudWatchLogsService {
            line: 0,
            aws_profile: None,
            log_groups,
            regions: Vec::new(),
            only_logs_after: None,
            iam_role_arn: None,
            iam_role_duration: None,
            aws_account_ids: Vec::new(),
            aws_account_alias: None,
            remove_log_streams: false,
            discard: None,
            sts_endpoint: None,
            service_endpoint: None,
            static_keys: None,
            extensions: ServiceExtensions::default(),
        }
    }
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

/// Reads a file in ossec.conf's format (UTF-8; a byte-order mark is skipped).
pub fn load_file(path: &Path) -> Result<LoadedConfig, LoadError> {
    let bytes = std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => parse_str(&text),
        Err(e) => {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
            Err(LoadError::Xml {
                line: u32::try_from(line).unwrap_or(u32::MAX),
                message: "the file is not valid UTF-8".to_owned(),
            })
        }
    }
}

/// Parses text in ossec.conf's format (one or more `<ossec_config>` roots, or a
/// bare `<wodle name="aws-s3">` block). A file without any aws-s3 block gives
/// an empty [`LoadedConfig::wodles`]; the caller decides whether that is fatal.
pub fn parse_str(text: &str) -> Result<LoadedConfig, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let roots = xml::parse(text)?;
    wodle::read(&roots)
}
