//! Hostile input for the ossec.conf reader and the single-value parsers: no
//! input makes them panic or hang, every rejection explains itself, and every
//! value of each grammar is accepted.
//!
//! Each property runs in a child process with a per-case timeout (proptest's
//! `timeout`, which implies `fork`), so a hang fails the test instead of
//! stalling the suite, and a stack overflow is reported as a failing case.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::Config;
use wodle_config::{
    COMMERCIAL_REGIONS, Interval, InvalidValue, LoadError, OTHER_KNOWN_REGIONS, TimeOfDay,
    parse_day, parse_interval, parse_only_logs_after, parse_regions, parse_str, parse_time,
    parse_wday,
};

/// Few enough cases that the file stays within a few seconds; the timeout is
/// generous (a noisy machine must not fail it), it only catches hangs.
fn config(cases: u32) -> Config {
    Config {
        cases,
        timeout: 20_000,
        ..Config::default()
    }
}

/// A load error always tells the user something.
fn assert_explained(error: &LoadError) {
    assert!(!error.to_string().trim().is_empty(), "{error:?}");
    if let LoadError::Invalid { errors, warnings } = error {
        assert!(!errors.is_empty(), "Invalid without any error: {error:?}");
        for diagnostic in errors.iter().chain(warnings) {
            assert!(!diagnostic.message.trim().is_empty(), "{diagnostic:?}");
            assert!(!diagnostic.tag.is_empty(), "{diagnostic:?}");
        }
    }
}

fn check_parse(text: &str) {
    match parse_str(text) {
        Ok(loaded) => {
            for diagnostic in &loaded.warnings {
                assert!(!diagnostic.message.trim().is_empty(), "{diagnostic:?}");
            }
        }
        Err(error) => assert_explained(&error),
    }
}

/// An invalid single value names itself in its message.
fn assert_names_value(error: &InvalidValue, input: &str) {
    assert!(!error.message.trim().is_empty());
    assert!(
        error.message.contains(&format!("'{}'", error.value)),
        "message does not quote the value {:?}: {}",
        error.value,
        error.message
    );
    assert!(
        input.contains(error.value.as_str()),
        "the named value {:?} is not from the input {input:?}",
        error.value
    );
}

/// Pieces of ossec.conf: the real tags, values good and bad, and XML's
/// corners (entities, CDATA, comments, stray brackets).
const FRAGMENTS: &[&str] = &[
    "<ossec_config>",
    "</ossec_config>",
    "<wodle name=\"aws-s3\">",
    "<wodle name='aws-s3'>",
    "<wodle name=\"syscollector\">",
    "<wodle>",
    "</wodle>",
    "<service type=\"cloudwatchlogs\">",
    "<service type=\"inspector\">",
    "<service type=\"\">",
    "<service>",
    "<service type=\"cloudwatchlogs\" x=\"1\">",
    "</service>",
    "<bucket type=\"cloudtrail\">",
    "</bucket>",
    "<aws_log_groups>",
    "</aws_log_groups>",
    "<regions>",
    "</regions>",
    "<only_logs_after>",
    "</only_logs_after>",
    "<interval>",
    "</interval>",
    "<day>",
    "</day>",
    "<wday>",
    "</wday>",
    "<time>",
    "</time>",
    "<remove_log_streams>",
    "</remove_log_streams>",
    "<discard_regex field=\"data.source\">",
    "<discard_regex field=\"\">",
    "<discard_regex>",
    "</discard_regex>",
    "<access_key>",
    "</access_key>",
    "<secret_key>",
    "</secret_key>",
    "<iam_role_arn>",
    "</iam_role_arn>",
    "<iam_role_duration>",
    "</iam_role_duration>",
    "<aws_account_id>",
    "</aws_account_id>",
    "<sts_endpoint>",
    "</sts_endpoint>",
    "<service_endpoint>",
    "</service_endpoint>",
    "<idle_stream_lag>",
    "</idle_stream_lag>",
    "<disabled>",
    "</disabled>",
    "<run_on_start>",
    "</run_on_start>",
    "<interval/>",
    "<regions/>",
    "app,audit",
    "us-east-1",
    "us-east-1,eu-west-1",
    "us-east-9",
    "2026-JAN-31",
    "2023-FEB-29",
    "10m",
    "1h",
    "0",
    "99999999999999999999999w",
    "3M",
    "15",
    "monday",
    "03:30",
    "24:00",
    "yes",
    "no",
    "(a+)+$",
    "(?=x)",
    "\\1",
    "[",
    "arn:aws:iam::123456789012:role/x",
    "123456789012",
    "http://127.0.0.1:5000",
    "&amp;",
    "&lt;",
    "&#10;",
    "&#0;",
    "&#x10FFFF;",
    "&#xD800;",
    "&unknown;",
    "&",
    "<![CDATA[us-east-1]]>",
    "<![CDATA[</regions>]]>",
    "<![CDATA[",
    "]]>",
    "<!-- comment -->",
    "<!--",
    "-->",
    "<?xml version=\"1.0\"?>",
    "<!DOCTYPE x>",
    "<",
    ">",
    "</>",
    "<>",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\u{feff}",
    "\u{0}",
    "é",
    "日本",
    "😀",
];

/// A document built from [`FRAGMENTS`] and arbitrary text: mostly malformed,
/// sometimes well formed with odd values.
fn xmlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        8 => proptest::sample::select(FRAGMENTS).prop_map(str::to_owned),
        1 => any::<String>(),
        1 => "[a-z0-9 ,.:/_-]{0,12}",
    ];
    proptest::collection::vec(piece, 0..60).prop_map(|pieces| pieces.concat())
}

/// A well-formed aws-s3 block whose values are arbitrary strings (escaped).
fn well_formed_block() -> impl Strategy<Value = String> {
    const TAGS: &[&str] = &[
        "aws_log_groups",
        "regions",
        "only_logs_after",
        "remove_log_streams",
        "discard_regex",
        "aws_profile",
        "iam_role_arn",
        "iam_role_duration",
        "aws_account_id",
        "aws_account_alias",
        "sts_endpoint",
        "service_endpoint",
        "idle_stream_lag",
        "access_key",
        "secret_key",
    ];
    const MODULE_TAGS: &[&str] = &[
        "interval",
        "day",
        "wday",
        "time",
        "disabled",
        "run_on_start",
        "skip_on_error",
    ];
    let value = prop_oneof![
        any::<String>(),
        proptest::sample::select(FRAGMENTS).prop_map(str::to_owned),
        "[ -~]{0,20}",
    ];
    let service_tags =
        proptest::collection::vec((proptest::sample::select(TAGS), value.clone()), 0..10);
    let module_tags =
        proptest::collection::vec((proptest::sample::select(MODULE_TAGS), value), 0..5);
    (module_tags, service_tags).prop_map(|(module, service)| {
        let element = |(tag, value): &(&str, String)| format!("<{tag}>{}</{tag}>", escape(value));
        format!(
            "<ossec_config><wodle name=\"aws-s3\">{}<service type=\"cloudwatchlogs\">{}</service></wodle></ossec_config>",
            module.iter().map(element).collect::<String>(),
            service.iter().map(element).collect::<String>(),
        )
    })
}

/// Escapes text for XML; characters XML 1.0 cannot hold go as they are (the
/// reader must refuse them cleanly).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        check_parse(&text);
    }

    #[test]
    fn arbitrary_bytes_from_a_file_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ossec.conf");
        std::fs::write(&path, &bytes).unwrap();
        match wodle_config::load_file(&path) {
            Ok(_) => {}
            Err(error) => assert_explained(&error),
        }
    }

    #[test]
    fn xml_made_of_real_tags_never_panics(text in xmlish()) {
        check_parse(&text);
    }

    #[test]
    fn well_formed_blocks_with_any_values_are_ok_or_explained(text in well_formed_block()) {
        check_parse(&text);
    }

    #[test]
    fn only_logs_after_never_panics_and_names_what_it_rejects(value in any::<String>()) {
        if let Err(error) = parse_only_logs_after(&value) {
            assert_names_value(&error, &value);
        }
    }

    #[test]
    fn only_logs_after_accepts_every_date_in_any_case(
        days in 0_i32..3_652_059,
        case in proptest::collection::vec(any::<bool>(), 3),
        pad in any::<bool>(),
    ) {
        // Every date of years 1-9999 (the four-digit years the format can write).
        let first = time::Date::from_calendar_date(1, time::Month::January, 1).unwrap();
        let date = first + time::Duration::days(i64::from(days));
        let month: String = date.month().to_string()[..3]
            .chars()
            .zip(&case)
            .map(|(c, &upper)| if upper { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        let day = if pad { format!("{:02}", date.day()) } else { date.day().to_string() };
        let text = format!("{:04}-{month}-{day}", date.year());
        prop_assert_eq!(parse_only_logs_after(&text).unwrap(), date);
    }

    #[test]
    fn dates_outside_the_grammar_are_rejected(
        year in "[0-9]{0,6}",
        month in "[A-Za-z0-9]{0,5}",
        day in "[0-9+-]{0,4}",
        separator in "[-/ ]",
    ) {
        let text = format!("{year}{separator}{month}{separator}{day}");
        if let Ok(date) = parse_only_logs_after(&text) {
            // Accepted: it must be in the grammar, and mean what it says.
            prop_assert_eq!(separator.as_str(), "-");
            prop_assert_eq!(year.len(), 4);
            prop_assert!(day.len() <= 2 && day.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(date.year(), year.parse::<i32>().unwrap());
            prop_assert_eq!(u32::from(date.day()), day.parse::<u32>().unwrap());
            prop_assert!(date.month().to_string()[..3].eq_ignore_ascii_case(&month));
        }
    }

    #[test]
    fn interval_never_panics_and_names_what_it_rejects(value in any::<String>()) {
        if let Err(error) = parse_interval(&value) {
            assert_names_value(&error, &value);
        }
    }

    #[test]
    fn interval_accepts_every_number_and_unit_and_round_trips(
        number in 1_u64..u64::from(u32::MAX),
        unit in proptest::sample::select(&["", "s", "m", "h", "d", "w", "M"][..]),
    ) {
        let text = format!("{number}{unit}");
        let interval = parse_interval(&text).unwrap();
        let expected = match unit {
            "M" => Interval::Months(u32::try_from(number).unwrap()),
            _ => {
                let scale = match unit { "" | "s" => 1, "m" => 60, "h" => 3600, "d" => 86_400, _ => 604_800 };
                Interval::Every(Duration::from_secs(number * scale))
            }
        };
        prop_assert_eq!(interval, expected);
        // The shortest form it prints reads back as the same interval.
        prop_assert_eq!(parse_interval(&interval.to_string()).unwrap(), interval);
    }

    #[test]
    fn time_day_and_wday_never_panic_and_name_what_they_reject(value in any::<String>()) {
        for result in [
            parse_time(&value).map(|_| ()),
            parse_day(&value).map(|_| ()),
            parse_wday(&value).map(|_| ()),
        ] {
            if let Err(error) = result {
                assert_names_value(&error, &value);
            }
        }
    }

    #[test]
    fn every_time_of_day_is_accepted_and_round_trips(hour in 0_u8..24, minute in 0_u8..60, pad in any::<bool>()) {
        let text = if pad { format!("{hour:02}:{minute:02}") } else { format!("{hour}:{minute}") };
        let time = parse_time(&text).unwrap();
        prop_assert_eq!(time, TimeOfDay { hour, minute });
        prop_assert_eq!(parse_time(&time.to_string()).unwrap(), time);
    }

    #[test]
    fn every_day_and_weekday_is_accepted(day in 1_u8..=31, wday in 0_usize..7, case in proptest::collection::vec(any::<bool>(), 9), short in any::<bool>()) {
        prop_assert_eq!(parse_day(&day.to_string()).unwrap(), day);
        let names = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
        let name = if short { &names[wday][..3] } else { names[wday] };
        let cased: String = name
            .chars()
            .zip(&case)
            .map(|(c, &upper)| if upper { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(parse_wday(&cased).unwrap().as_str(), names[wday]);
    }

    #[test]
    fn regions_never_panic_and_name_what_they_reject(value in any::<String>()) {
        if let Err(error) = parse_regions(&value) {
            assert_names_value(&error, &value);
        }
    }

    #[test]
    fn regions_shaped_like_regions_are_accepted_exactly_when_known(
        value in "[a-z]{2}(-gov)?-[a-z]{2,10}-[0-9]",
    ) {
        let known = COMMERCIAL_REGIONS.contains(&value.as_str()) || OTHER_KNOWN_REGIONS.contains(&value.as_str());
        match parse_regions(&value) {
            Ok(regions) => {
                prop_assert!(known, "{value} accepted but not known");
                prop_assert_eq!(regions.len(), 1);
                prop_assert_eq!(regions[0].as_str(), value.as_str());
            }
            Err(error) => {
                prop_assert!(!known, "{value} is known but rejected: {}", error.message);
                assert_names_value(&error, &value);
            }
        }
    }

    #[test]
    fn any_list_of_known_regions_is_accepted_sorted_and_deduplicated(
        picks in proptest::collection::vec(
            (proptest::sample::select([COMMERCIAL_REGIONS, OTHER_KNOWN_REGIONS].concat()), "[ \t]{0,2}", "[ \t]{0,2}"),
            0..40,
        ),
        empties in 0_usize..3,
    ) {
        let mut text: Vec<String> = picks.iter().map(|(r, before, after)| format!("{before}{r}{after}")).collect();
        text.extend(std::iter::repeat_n(String::new(), empties));
        let parsed = parse_regions(&text.join(",")).unwrap();
        let mut expected: Vec<&str> = picks.iter().map(|(r, _, _)| *r).collect();
        expected.sort_unstable();
        expected.dedup();
        let got: Vec<&str> = parsed.iter().map(|r| r.as_str()).collect();
        prop_assert_eq!(got, expected);
    }
}

proptest! {
    // Each case builds a large document: fewer cases.
    #![proptest_config(config(8))]

    #[test]
    fn huge_values_are_read_whole(size in 100_000_usize..1_000_000, tag in proptest::sample::select(&["aws_log_groups", "regions", "only_logs_after", "discard_regex", "interval"][..])) {
        let value = "a".repeat(size);
        let text = if tag == "interval" {
            format!("<wodle name=\"aws-s3\"><interval>{value}</interval><service type=\"cloudwatchlogs\"><aws_log_groups>g</aws_log_groups></service></wodle>")
        } else {
            format!("<wodle name=\"aws-s3\"><service type=\"cloudwatchlogs\"><aws_log_groups>g</aws_log_groups><{tag}>{value}</{tag}></service></wodle>")
        };
        match parse_str(&text) {
            Ok(loaded) => {
                prop_assert!(matches!(tag, "aws_log_groups" | "discard_regex"), "{tag} accepted {size} a's");
                let service = &loaded.wodles[0].services[0];
                if tag == "aws_log_groups" {
                    prop_assert_eq!(&service.log_groups, &[value]);
                }
            }
            Err(error) => {
                assert_explained(&error);
                // The error names the tag it is about.
                prop_assert!(error.to_string().contains(tag), "{}", error.to_string().chars().take(300).collect::<String>());
            }
        }
    }
}

/// Nesting far deeper than any real file must not overflow the stack, when
/// reading or when dropping the tree.
#[test]
fn deep_nesting_is_refused_or_read_without_overflow() {
    for depth in [1_000, 100_000] {
        let text = format!(
            "<ossec_config>{}{}</ossec_config>",
            "<a>".repeat(depth),
            "</a>".repeat(depth)
        );
        // A plain thread's small stack makes an unbounded recursion show up.
        let outcome = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || match parse_str(&text) {
                Ok(loaded) => loaded.wodles.len(),
                Err(error) => {
                    assert_explained(&error);
                    0
                }
            })
            .unwrap()
            .join();
        assert!(outcome.is_ok(), "depth {depth} panicked or overflowed");
    }
    // Unclosed deep nesting: the error path drops a deep stack too.
    let text = "<a>".repeat(100_000);
    let outcome = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || {
            let error = parse_str(&text).unwrap_err();
            assert_explained(&error);
        })
        .unwrap()
        .join();
    assert!(outcome.is_ok());
}
