//! Settings of ours that the reference lacks, in one table.
//!
//! Wazuh's modulesd rejects tags it does not know and stops the manager, so an
//! extension tag belongs only in a file of its own read by
//! `wodle-aws run --config`. To add one: a field in [`ServiceExtensions`], a
//! parser, and a row in [`SERVICE_EXTENSIONS`].

use crate::validate::parse_idle_stream_lag;
use crate::{Diagnostic, InvalidValue, LoadedConfig, ServiceExtensions};

/// One extension tag of `<service type="cloudwatchlogs">`.
pub(crate) struct ExtensionTag {
    pub tag: &'static str,
    /// What it takes, for the list of valid child tags.
    pub summary: &'static str,
    /// Validates the (trimmed) value and stores it.
    pub apply: fn(&str, &mut ServiceExtensions) -> Result<(), InvalidValue>,
}

fn apply_idle_stream_lag(
    value: &str,
    extensions: &mut ServiceExtensions,
) -> Result<(), InvalidValue> {
    extensions.idle_stream_lag = Some(parse_idle_stream_lag(value)?);
    Ok(())
}

/// Every extension tag of a cloudwatchlogs `<service>`.
pub(crate) const SERVICE_EXTENSIONS: &[ExtensionTag] = &[ExtensionTag {
    tag: "idle_stream_lag",
    summary: "seconds, or a number with a unit s, m, h or d",
    apply: apply_idle_stream_lag,
}];

/// The extension tag named `tag`, if it is one.
pub(crate) fn service_extension(tag: &str) -> Option<&'static ExtensionTag> {
    SERVICE_EXTENSIONS.iter().find(|ext| ext.tag == tag)
}

/// Warnings for extension tags in a file that also holds other ossec.conf
/// sections (modulesd would reject them there and stop the manager): one per
/// extension tag, naming it and its line. Empty when the file holds nothing
/// but aws-s3 blocks.
pub fn extension_warnings(config: &LoadedConfig) -> Vec<Diagnostic> {
    if config.other_sections.is_empty() {
        return Vec::new();
    }
    config
        .wodles
        .iter()
        .flat_map(|wodle| &wodle.services)
        .flat_map(|service| &service.extensions.tag_lines)
        .map(|(tag, line)| Diagnostic {
            line: *line,
            tag: tag.clone(),
            message: format!(
                "Tag <{tag}> at line {line} is a wodle-aws extension that Wazuh's modulesd does \
                 not know: in Wazuh's own ossec.conf, modulesd would reject it (\"No such child \
                 tag '{tag}' of service at module 'aws-s3'.\") and refuse to start. Keep the \
                 aws-s3 block in a file of its own, read by 'wodle-aws run --config <file>', and \
                 leave extension tags out of ossec.conf."
            ),
        })
        .collect()
}
