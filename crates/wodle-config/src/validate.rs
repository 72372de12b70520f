//! Validators of single values, shared by the file reader and the command line.
//!
//! Each returns an [`InvalidValue`] whose message starts with the reference's
//! wording where it has one, then names the tag and what is accepted.

use std::time::Duration;

use crate::regions::{has_region_shape, is_known_region, known_regions_list};
use crate::{DiscardRule, InvalidValue, InvalidValueKind, Region};

fn invalid(kind: InvalidValueKind, value: &str, message: String) -> InvalidValue {
    InvalidValue {
        kind,
        value: value.to_owned(),
        message,
    }
}

/// Splits a comma list: items trimmed, empty items dropped.
fn comma_items(value: &str) -> impl Iterator<Item = &str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Keeps the first of each repeated item, in order.
fn dedup_in_order(items: Vec<String>) -> Vec<String> {
    let mut kept: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !kept.contains(&item) {
            kept.push(item);
        }
    }
    kept
}

/// `digits[unit]` where unit is one character: the number and the unit.
pub(crate) fn split_number_unit(value: &str) -> Option<(u64, Option<char>)> {
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, rest) = value.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let number = digits.parse::<u64>().ok()?;
    let mut chars = rest.chars();
    match (chars.next(), chars.next()) {
        (None, _) => Some((number, None)),
        (Some(unit), None) => Some((number, Some(unit))),
        (Some(_), Some(_)) => None,
    }
}

impl Region {
    /// Validates one region name: the reference's shape
    /// (`^[a-z]{2}(-gov)?-[a-z]+-\d$`) and a known region.
    pub fn parse(name: &str) -> Result<Region, InvalidValue> {
        let name = name.trim();
        if !has_region_shape(name) {
            return Err(invalid(
                InvalidValueKind::Region,
                name,
                format!(
                    "Invalid region '{name}': not a region name (a region looks like us-east-1: \
                     two lowercase letters, an optional -gov, a name, one digit). Tag 'regions' \
                     takes known regions separated by commas: {}.",
                    known_regions_list()
                ),
            ));
        }
        if !is_known_region(name) {
            return Err(invalid(
                InvalidValueKind::Region,
                name,
                format!(
                    "Invalid region '{name}': not a known AWS region. Tag 'regions' takes known \
                     regions separated by commas: {}.",
                    known_regions_list()
                ),
            ));
        }
        Ok(Region(name.to_owned()))
    }
}

impl std::str::FromStr for Region {
    type Err = InvalidValue;

    fn from_str(name: &str) -> Result<Region, InvalidValue> {
        Region::parse(name)
    }
}

/// `regions`: comma list, each a known region; de-duplicated and sorted.
/// Empty items are dropped; an empty value gives an empty list.
pub fn parse_regions(value: &str) -> Result<Vec<Region>, InvalidValue> {
    let mut regions = comma_items(value)
        .map(Region::parse)
        .collect::<Result<Vec<_>, _>>()?;
    regions.sort();
    regions.dedup();
    Ok(regions)
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

/// `only_logs_after`: `YYYY-MMM-DD`, month name in any case.
pub fn parse_only_logs_after(value: &str) -> Result<time::Date, InvalidValue> {
    let trimmed = value.trim();
    let bad = || {
        invalid(
            InvalidValueKind::Date,
            trimmed,
            format!(
                "Argument not a valid date in format YYYY-MMM-DD: '{trimmed}'. Tag \
                 'only_logs_after' takes a date such as 2026-JAN-31 (English month \
                 abbreviation, any case)."
            ),
        )
    };
    let mut parts = trimmed.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let year: i32 = year.parse().map_err(|_| bad())?;
    let day: u8 = day.parse().map_err(|_| bad())?;
    let month_index = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month))
        .ok_or_else(bad)?;
    let month = u8::try_from(month_index + 1)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    if year == 0 {
        return Err(bad());
    }
    time::Date::from_calendar_date(year, month, day).map_err(|_| bad())
}

/// Characters the reference rejects in log group names (and S3 keys).
const CHARACTERS_TO_AVOID: &str = "\\{}^%`[]'\"<>~#|";
/// XML references the reference rejects as written.
const XML_CONSTRAINTS: [&str; 7] = [
    "&apos;", "&quot;", "&amp;", "&lt;", "&gt;", "&#13;", "&#10;",
];

fn forbidden_in_log_group(item: &str) -> InvalidValue {
    invalid(
        InvalidValueKind::LogGroups,
        item,
        format!(
            "'{item}' has an invalid character. Avoid to use '{CHARACTERS_TO_AVOID}' or '{}'. Tag \
             'aws_log_groups' takes log group names separated by commas.",
            XML_CONSTRAINTS.concat()
        ),
    )
}

/// The reference's XML reader hands `&amp;`, `&#10;`... to the validator as
/// written, which rejects them: the file reader checks the text as written with
/// this, then the resolved text with [`parse_log_groups`].
pub(crate) fn check_log_group_references(raw: &str) -> Result<(), InvalidValue> {
    match comma_items(raw).find(|item| XML_CONSTRAINTS.iter().any(|entity| item.contains(entity))) {
        Some(item) => Err(forbidden_in_log_group(item)),
        None => Ok(()),
    }
}

/// `aws_log_groups`: comma list, items trimmed, empty items dropped, repeats
/// dropped, forbidden characters rejected. An empty list is an error.
pub fn parse_log_groups(value: &str) -> Result<Vec<String>, InvalidValue> {
    let mut groups = Vec::new();
    for item in comma_items(value) {
        let forbidden = item.chars().any(|c| CHARACTERS_TO_AVOID.contains(c))
            || XML_CONSTRAINTS.iter().any(|entity| item.contains(entity));
        if forbidden {
            return Err(forbidden_in_log_group(item));
        }
        groups.push(item.to_owned());
    }
    if groups.is_empty() {
        return Err(invalid(
            InvalidValueKind::LogGroups,
            value,
            "Empty content for tag 'aws_log_groups' at module 'aws-s3'. It takes one or more \
             log group names separated by commas."
                .to_owned(),
        ));
    }
    Ok(dedup_in_order(groups))
}

/// `aws_account_id`: comma list of 12-digit ids (repeats dropped). An empty
/// list is an error.
pub fn parse_account_ids(value: &str) -> Result<Vec<String>, InvalidValue> {
    let trimmed = value.trim();
    let accepted =
        "Tag 'aws_account_id' takes one or more 12-digit account ids separated by commas";
    let mut ids = Vec::new();
    for item in comma_items(trimmed) {
        if item.len() != 12 || !item.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                InvalidValueKind::AccountId,
                trimmed,
                format!(
                    "Not valid AWS account ID (numeric digits only): '{trimmed}'. {accepted}; \
                     '{item}' is not one."
                ),
            ));
        }
        ids.push(item.to_owned());
    }
    if ids.is_empty() {
        return Err(invalid(
            InvalidValueKind::AccountId,
            trimmed,
            format!("Not valid AWS account ID (numeric digits only): '{trimmed}'. {accepted}."),
        ));
    }
    Ok(dedup_in_order(ids))
}

/// `iam_role_arn`: must look like an ARN (the reference's pattern
/// `^arn:[^:\n]*:[^:\n]*:[^:\n]*:[^:\n]*:([^:/\n]*[:/])?.*$`).
pub fn parse_iam_role_arn(value: &str) -> Result<String, InvalidValue> {
    let trimmed = value.trim();
    let looks_like_arn = trimmed.strip_prefix("arn:").is_some_and(|rest| {
        let fields: Vec<&str> = rest.splitn(5, ':').collect();
        fields.len() == 5 && !rest.contains('\n')
    });
    if !looks_like_arn {
        return Err(invalid(
            InvalidValueKind::RoleArn,
            trimmed,
            format!(
                "Invalid ARN Role specified. Value must be a valid ARN Role. Tag 'iam_role_arn' \
                 got '{trimmed}'; expected arn:PARTITION:iam::ACCOUNT_ID:role/NAME, such as \
                 arn:aws:iam::123456789012:role/wazuh."
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Shortest and longest `iam_role_duration`, in seconds.
pub const ROLE_DURATION_RANGE: std::ops::RangeInclusive<u32> = 900..=3600;

/// `iam_role_duration`: digits only, 900-3600.
pub fn parse_iam_role_duration(value: &str) -> Result<u32, InvalidValue> {
    let trimmed = value.trim();
    let (min, max) = (ROLE_DURATION_RANGE.start(), ROLE_DURATION_RANGE.end());
    if trimmed.is_empty() || !trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            InvalidValueKind::RoleDuration,
            trimmed,
            format!(
                "Invalid session duration specified. Value must be a valid number. Tag \
                 'iam_role_duration' got '{trimmed}'; expected seconds from {min} to {max}."
            ),
        ));
    }
    match trimmed.parse::<u32>() {
        Ok(seconds) if ROLE_DURATION_RANGE.contains(&seconds) => Ok(seconds),
        _ => Err(invalid(
            InvalidValueKind::RoleDuration,
            trimmed,
            format!(
                "Invalid session duration specified. Value must be between {min} and {max}. Tag \
                 'iam_role_duration' got '{trimmed}' (seconds)."
            ),
        )),
    }
}

/// `sts_endpoint` / `service_endpoint`: a URL; a bare host gets `https://`.
/// Only `http` and `https` with a host are accepted, without query or fragment.
pub fn parse_endpoint(tag: &str, value: &str) -> Result<url::Url, InvalidValue> {
    let trimmed = value.trim();
    let example = if tag.contains("sts") {
        "sts.us-east-1.amazonaws.com"
    } else {
        "logs.us-east-1.amazonaws.com"
    };
    let bad = |reason: &str| {
        invalid(
            InvalidValueKind::Endpoint,
            trimmed,
            format!(
                "Invalid endpoint URL for tag '{tag}': '{trimmed}' ({reason}). Expected a host \
                 name such as {example} (https:// is added) or an http:// or https:// URL such \
                 as http://127.0.0.1:5000."
            ),
        )
    };
    if trimmed.is_empty() {
        return Err(bad("empty"));
    }
    let candidate = if trimmed.contains("://") {
        trimmed.to_owned()
    } else {
        format!("https://{trimmed}")
    };
    let url = url::Url::parse(&candidate).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(&format!(
            "scheme '{}' is not http or https",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a query or fragment has no place in an endpoint"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("credentials have no place in an endpoint"));
    }
    Ok(url)
}

/// Python `re` syntax that the regex crate lacks: what it is and what to do.
fn python_only_construct(pattern: &str) -> Option<(&'static str, &'static str)> {
    const GROUPS: [(&str, &str, &str); 5] = [
        (
            "(?=",
            "look-ahead '(?=...)'",
            "rewrite the pattern without look-around",
        ),
        (
            "(?!",
            "negative look-ahead '(?!...)'",
            "rewrite the pattern without look-around",
        ),
        (
            "(?<=",
            "look-behind '(?<=...)'",
            "rewrite the pattern without look-around",
        ),
        (
            "(?<!",
            "negative look-behind '(?<!...)'",
            "rewrite the pattern without look-around",
        ),
        (
            "(?P=",
            "a named back-reference '(?P=name)'",
            "rewrite the pattern without back-references",
        ),
    ];
    let bytes = pattern.as_bytes();
    let mut in_class = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if !in_class {
                    match bytes.get(i + 1) {
                        Some(b'1'..=b'9') => {
                            return Some((
                                "a back-reference like '\\1'",
                                "rewrite the pattern without back-references",
                            ));
                        }
                        Some(b'Z') => {
                            return Some((
                                "Python's end-of-text anchor '\\Z'",
                                "write '\\z' instead",
                            ));
                        }
                        _ => {}
                    }
                }
                i += 2;
                continue;
            }
            b'[' if !in_class => {
                in_class = true;
                i += 1;
                // `[^]...]` and `[]...]`: a leading `]` is literal in Python.
                if bytes.get(i) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i) == Some(&b']') {
                    i += 1;
                }
                continue;
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let rest = &pattern[i..];
                if let Some((_, what, advice)) = GROUPS
                    .iter()
                    .find(|(prefix, _, _)| rest.starts_with(prefix))
                {
                    return Some((what, advice));
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The last `error: ...` line of a regex error, without the diagram.
fn regex_error_summary(error: &regex::Error) -> String {
    let text = error.to_string();
    text.lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(
            || text.lines().last().unwrap_or_default().to_owned(),
            str::to_owned,
        )
}

/// `discard_regex` with its optional `field`: compiled as written (anchoring,
/// as Python's `re.match` does with a field, is the collector's business).
/// Python-only syntax the regex crate lacks (look-around, back-references) is
/// rejected, naming the tag. An empty `field` means none; an empty pattern is
/// an error (it would discard every event).
pub fn parse_discard_rule(field: Option<&str>, pattern: &str) -> Result<DiscardRule, InvalidValue> {
    let field = field
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_owned);
    if pattern.is_empty() {
        return Err(invalid(
            InvalidValueKind::DiscardRegex,
            pattern,
            "No value was provided for 'discard_regex': an empty pattern would match, and \
             discard, every event. Give a pattern, or leave the tag out to keep every event."
                .to_owned(),
        ));
    }
    if let Some((what, advice)) = python_only_construct(pattern) {
        return Err(invalid(
            InvalidValueKind::DiscardRegex,
            pattern,
            format!(
                "Invalid pattern for tag 'discard_regex': '{pattern}' uses {what}, Python regex \
                 syntax that wodle-aws does not support (its regex engine guarantees linear time, \
                 so it has no look-around and no back-references); {advice}."
            ),
        ));
    }
    let regex = regex::Regex::new(pattern).map_err(|e| {
        invalid(
            InvalidValueKind::DiscardRegex,
            pattern,
            format!(
                "Invalid pattern for tag 'discard_regex': '{pattern}': {}. The pattern takes \
                 the syntax of Python's re without look-around and back-references.",
                regex_error_summary(&e)
            ),
        )
    })?;
    Ok(DiscardRule { field, regex })
}

/// `idle_stream_lag` (ours): seconds, or a number with a unit s, m, h, d.
/// `0` is allowed: trust stream metadata fully.
pub fn parse_idle_stream_lag(value: &str) -> Result<Duration, InvalidValue> {
    let trimmed = value.trim();
    let seconds = split_number_unit(trimmed).and_then(|(number, unit)| {
        let scale = match unit {
            None | Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            Some('d') => 86_400,
            Some(_) => return None,
        };
        number.checked_mul(scale)
    });
    seconds.map(Duration::from_secs).ok_or_else(|| {
        invalid(
            InvalidValueKind::Other,
            trimmed,
            format!(
                "Invalid value for tag 'idle_stream_lag': '{trimmed}'. Expected seconds, or a \
                 number with a unit s, m, h or d (such as 90m); 0 trusts the stream metadata \
                 fully."
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region_names(value: &str) -> Vec<String> {
        parse_regions(value)
            .unwrap()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    #[test]
    fn regions_are_trimmed_deduplicated_and_sorted() {
        assert_eq!(
            region_names(" us-west-2,eu-west-1 , us-west-2,,ap-south-2"),
            ["ap-south-2", "eu-west-1", "us-west-2"]
        );
        assert_eq!(
            region_names("us-gov-west-1,cn-north-1"),
            ["cn-north-1", "us-gov-west-1"]
        );
        assert!(region_names("").is_empty());
        assert!(region_names(" , ").is_empty());
    }

    #[test]
    fn unknown_and_malformed_regions_are_rejected_with_what_is_accepted() {
        let err = parse_regions("us-east-1,us-east-9").unwrap_err();
        assert_eq!(err.kind, InvalidValueKind::Region);
        assert_eq!(err.value, "us-east-9");
        assert!(
            err.message
                .starts_with("Invalid region 'us-east-9': not a known AWS region."),
            "{}",
            err.message
        );
        assert!(err.message.contains("'regions'") && err.message.contains("eu-west-1"));

        let err = parse_regions("US-EAST-1").unwrap_err();
        assert_eq!(err.kind, InvalidValueKind::Region);
        assert!(
            err.message
                .starts_with("Invalid region 'US-EAST-1': not a region name")
        );

        let err = "east".parse::<Region>().unwrap_err();
        assert_eq!(err.value, "east");
        assert_eq!(
            Region::parse(" eu-west-3 ").unwrap().to_string(),
            "eu-west-3"
        );
    }

    #[test]
    fn dates_take_any_month_case_and_check_the_calendar() {
        use time::macros::date;
        assert_eq!(
            parse_only_logs_after("2026-JAN-31").unwrap(),
            date!(2026 - 01 - 31)
        );
        assert_eq!(
            parse_only_logs_after("2024-feb-29").unwrap(),
            date!(2024 - 02 - 29)
        );
        assert_eq!(
            parse_only_logs_after(" 2025-Dec-1 ").unwrap(),
            date!(2025 - 12 - 01)
        );
        for bad in [
            "2023-FEB-29",
            "2026-01-31",
            "2026-JANUARY-31",
            "26-JAN-31",
            "2026-JAN-001",
            "2026-JAN-32",
            "2026-JAN-0",
            "0000-JAN-01",
            "2026-JAN",
            "2026-JAN-31-1",
            "",
            "2026-JAN-+1",
        ] {
            let err = parse_only_logs_after(bad).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::Date, "{bad}");
            assert_eq!(
                err.message,
                format!(
                    "Argument not a valid date in format YYYY-MMM-DD: '{}'. Tag 'only_logs_after' \
                     takes a date such as 2026-JAN-31 (English month abbreviation, any case).",
                    bad.trim()
                )
            );
        }
    }

    #[test]
    fn log_groups_split_trim_drop_empty_and_repeats() {
        assert_eq!(
            parse_log_groups(" /aws/lambda/a , b,,b , c/d_e.f-1 ").unwrap(),
            ["/aws/lambda/a", "b", "c/d_e.f-1"]
        );
    }

    #[test]
    fn log_groups_reject_the_reference_characters_and_entities() {
        for bad in [
            "a\\b", "a{b", "a}b", "a^b", "a%b", "a`b", "a[b", "a]b", "a'b", "a\"b", "a<b", "a>b",
            "a~b", "a#b", "a|b", "a&amp;b", "a&#10;b", "x&lt;",
        ] {
            let err = parse_log_groups(&format!("good,{bad}")).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::LogGroups, "{bad}");
            assert_eq!(err.value, bad);
            assert_eq!(
                err.message,
                format!(
                    "'{bad}' has an invalid character. Avoid to use '\\{{}}^%`[]'\"<>~#|' or \
                     '&apos;&quot;&amp;&lt;&gt;&#13;&#10;'. Tag 'aws_log_groups' takes log group \
                     names separated by commas."
                )
            );
        }
        // A lone `&` is not one of the reference's characters.
        assert_eq!(parse_log_groups("a&b").unwrap(), ["a&b"]);
    }

    #[test]
    fn empty_log_groups_are_an_error_with_the_reference_wording() {
        for empty in ["", " ", ",,", " , "] {
            let err = parse_log_groups(empty).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::LogGroups);
            assert!(
                err.message
                    .starts_with("Empty content for tag 'aws_log_groups' at module 'aws-s3'."),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn account_ids_are_12_digits() {
        assert_eq!(
            parse_account_ids("123456789012, 210987654321,123456789012").unwrap(),
            ["123456789012", "210987654321"]
        );
        let err = parse_account_ids("123456789012,12345").unwrap_err();
        assert_eq!(err.kind, InvalidValueKind::AccountId);
        assert_eq!(
            err.message,
            "Not valid AWS account ID (numeric digits only): '123456789012,12345'. Tag \
             'aws_account_id' takes one or more 12-digit account ids separated by commas; \
             '12345' is not one."
        );
        for bad in ["12345678901a", "1234567890123", "", " , ", "-12345678901"] {
            assert_eq!(
                parse_account_ids(bad).unwrap_err().kind,
                InvalidValueKind::AccountId,
                "{bad}"
            );
        }
    }

    #[test]
    fn role_arn_follows_the_reference_pattern() {
        for good in [
            "arn:aws:iam::123456789012:role/wazuh",
            "arn:aws-us-gov:iam::123456789012:role/path/to/role",
            "arn:aws-cn:iam::123456789012:role/x",
            "arn:::::",
        ] {
            assert_eq!(parse_iam_role_arn(good).unwrap(), good);
        }
        for bad in [
            "",
            "role/wazuh",
            "arn:aws:iam::123456789012",
            "ARN:aws:iam::1:role/x",
            "arn:a:b\n:c:d:e",
        ] {
            let err = parse_iam_role_arn(bad).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::RoleArn, "{bad:?}");
            assert!(err.message.starts_with(
                "Invalid ARN Role specified. Value must be a valid ARN Role. Tag 'iam_role_arn' got"
            ));
        }
    }

    #[test]
    fn role_duration_is_digits_in_range() {
        assert_eq!(parse_iam_role_duration("900").unwrap(), 900);
        assert_eq!(parse_iam_role_duration(" 3600 ").unwrap(), 3600);
        let err = parse_iam_role_duration("3601").unwrap_err();
        assert_eq!(err.kind, InvalidValueKind::RoleDuration);
        assert_eq!(
            err.message,
            "Invalid session duration specified. Value must be between 900 and 3600. Tag \
             'iam_role_duration' got '3601' (seconds)."
        );
        assert!(parse_iam_role_duration("899").is_err());
        assert!(parse_iam_role_duration("99999999999999999999").is_err());
        let err = parse_iam_role_duration("1h").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid session duration specified. Value must be a valid number. Tag \
             'iam_role_duration' got '1h'; expected seconds from 900 to 3600."
        );
        assert!(parse_iam_role_duration("-900").is_err());
        assert!(parse_iam_role_duration("").is_err());
    }

    #[test]
    fn endpoints_get_https_when_bare_and_keep_explicit_schemes() {
        assert_eq!(
            parse_endpoint("service_endpoint", "logs.us-east-1.amazonaws.com")
                .unwrap()
                .as_str(),
            "https://logs.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            parse_endpoint("sts_endpoint", "http://127.0.0.1:5000")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:5000/"
        );
        let url = parse_endpoint(
            "sts_endpoint",
            "https://vpce-1.sts.us-east-1.vpce.amazonaws.com",
        )
        .unwrap();
        assert_eq!(
            url.host_str(),
            Some("vpce-1.sts.us-east-1.vpce.amazonaws.com")
        );
        assert_eq!(
            parse_endpoint("service_endpoint", "localhost:4566")
                .unwrap()
                .as_str(),
            "https://localhost:4566/"
        );
    }

    #[test]
    fn bad_endpoints_name_the_tag_and_the_value() {
        for bad in [
            "",
            "ftp://host",
            "https://",
            "http://a b",
            "https://host/?q=1",
            "https://user:pw@host",
            "host:99999",
        ] {
            let err = parse_endpoint("sts_endpoint", bad).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::Endpoint, "{bad}");
            assert!(
                err.message.starts_with(&format!(
                    "Invalid endpoint URL for tag 'sts_endpoint': '{bad}' ("
                )),
                "{}",
                err.message
            );
            assert!(err.message.contains("sts.us-east-1.amazonaws.com"));
        }
    }

    #[test]
    fn discard_rule_compiles_with_and_without_field() {
        let rule = parse_discard_rule(Some("data.source"), "^internal").unwrap();
        assert_eq!(rule.field.as_deref(), Some("data.source"));
        assert!(rule.regex.is_match("internal-x"));
        assert!(!rule.regex.is_match("x-internal"));
        let rule = parse_discard_rule(None, r"(?i)health ?check|(?P<n>\d+)").unwrap();
        assert_eq!(rule.field, None);
        assert!(rule.regex.is_match("GET /HealthCheck"));
        assert_eq!(parse_discard_rule(Some("  "), "x").unwrap().field, None);
        // Escaped backslash then a digit, look-alikes in a class: not Python-only.
        assert!(parse_discard_rule(None, r"\\1").is_ok());
        assert!(parse_discard_rule(None, r"[(?=]").is_ok());
        assert!(parse_discard_rule(None, r"[]\\1]").is_ok());
    }

    #[test]
    fn python_only_regex_syntax_is_rejected_naming_the_tag() {
        for (pattern, what) in [
            ("foo(?=bar)", "look-ahead '(?=...)'"),
            ("foo(?!bar)", "negative look-ahead '(?!...)'"),
            ("(?<=a)b", "look-behind '(?<=...)'"),
            ("(?<!a)b", "negative look-behind '(?<!...)'"),
            (r"(a)\1", "a back-reference like '\\1'"),
            ("(?P<x>a)(?P=x)", "a named back-reference '(?P=name)'"),
            (r"end\Z", "Python's end-of-text anchor '\\Z'"),
        ] {
            let err = parse_discard_rule(None, pattern).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::DiscardRegex, "{pattern}");
            assert_eq!(err.value, pattern);
            assert!(
                err.message.starts_with(&format!(
                    "Invalid pattern for tag 'discard_regex': '{pattern}' uses {what}, Python \
                     regex syntax that wodle-aws does not support"
                )),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn other_bad_patterns_give_the_engine_reason_on_one_line() {
        let err = parse_discard_rule(None, "a[b").unwrap_err();
        assert_eq!(
            err.message,
            "Invalid pattern for tag 'discard_regex': 'a[b': unclosed character class. The \
             pattern takes the syntax of Python's re without look-around and back-references."
        );
        let err = parse_discard_rule(Some("f"), "").unwrap_err();
        assert_eq!(err.kind, InvalidValueKind::DiscardRegex);
        assert!(
            err.message
                .starts_with("No value was provided for 'discard_regex'")
        );
    }

    #[test]
    fn idle_stream_lag_takes_seconds_or_units_and_zero() {
        assert_eq!(parse_idle_stream_lag("0").unwrap(), Duration::ZERO);
        assert_eq!(
            parse_idle_stream_lag("45").unwrap(),
            Duration::from_secs(45)
        );
        assert_eq!(
            parse_idle_stream_lag("45s").unwrap(),
            Duration::from_secs(45)
        );
        assert_eq!(
            parse_idle_stream_lag("90m").unwrap(),
            Duration::from_secs(5400)
        );
        assert_eq!(
            parse_idle_stream_lag(" 2h ").unwrap(),
            Duration::from_secs(7200)
        );
        assert_eq!(
            parse_idle_stream_lag("1d").unwrap(),
            Duration::from_secs(86_400)
        );
        for bad in [
            "",
            "h",
            "1w",
            "1M",
            "-1",
            "1.5h",
            "1 h",
            "1hh",
            "99999999999999999999d",
        ] {
            let err = parse_idle_stream_lag(bad).unwrap_err();
            assert_eq!(err.kind, InvalidValueKind::Other);
            assert!(
                err.message.starts_with(&format!(
                    "Invalid value for tag 'idle_stream_lag': '{}'.",
                    bad.trim()
                )),
                "{}",
                err.message
            );
        }
    }

    #[test]
    fn number_unit_split() {
        assert_eq!(split_number_unit("5m"), Some((5, Some('m'))));
        assert_eq!(split_number_unit("30"), Some((30, None)));
        assert_eq!(split_number_unit("m"), None);
        assert_eq!(split_number_unit("5mm"), None);
        assert_eq!(split_number_unit(""), None);
        assert_eq!(split_number_unit("99999999999999999999"), None);
    }
}
