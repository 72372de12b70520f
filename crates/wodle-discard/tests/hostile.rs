//! Hostile patterns and messages: the discard filter's engine is linear in the
//! message, so patterns that take a backtracking engine (Python's `re`) hours
//! on a long message finish here, and no pattern or message makes it panic.
//!
//! No test here times anything: a backtracking engine would simply never
//! finish, and the suite's own timeout would report it.

use proptest::prelude::*;
use proptest::test_runner::Config;
use regex::Regex;
use wodle_discard::DiscardFilter;

fn filter(field: Option<&str>, pattern: &str) -> DiscardFilter {
    let regex = Regex::new(pattern).expect("the pattern compiles");
    DiscardFilter::new(field.map(str::to_owned), regex).expect("a compiled pattern builds a filter")
}

/// 100 KB of `a` and a suffix that makes every pattern below fail at the very
/// end: the worst case for backtracking.
fn long_run_of_a(suffix: &str) -> String {
    let mut text = "a".repeat(100 * 1024);
    text.push_str(suffix);
    text
}

/// Patterns with nested or overlapping quantifiers: exponential in a
/// backtracking engine on a run of `a`s that fails at its end.
const CATASTROPHIC: &[(&str, bool)] = &[
    // (pattern, whether it matches the run of `a`s followed by "!")
    ("(a+)+$", false),
    ("(a|aa)+$", false),
    ("(a|a?)+$", false),
    ("(a*)*b", false),
    ("(.*a){20}", true),
    ("(.*a){20}!$", true),
    ("(.*a){20}b", false),
    ("^(a+)+b", false),
    ("(?:a+){10}c", false),
];

#[test]
fn catastrophic_patterns_finish_on_100_kb_of_plain_text() {
    let message = long_run_of_a("!");
    for &(pattern, matches) in CATASTROPHIC {
        assert_eq!(
            filter(None, pattern).should_discard(&message),
            matches,
            "{pattern}"
        );
    }
}

#[test]
fn catastrophic_patterns_finish_on_a_100_kb_json_field() {
    let value = long_run_of_a("!");
    let message = format!(r#"{{"data": {{"source": "{value}"}}, "more": [1, 2, 3]}}"#);
    for &(pattern, matches) in CATASTROPHIC {
        assert_eq!(
            filter(Some("data.source"), pattern).should_discard(&message),
            matches,
            "{pattern}"
        );
    }
    // An array of long values: each element is searched.
    let message = format!(r#"{{"data": [{{"source": "{value}"}}, {{"source": "b"}}]}}"#);
    assert!(filter(Some("data.source"), "(a|aa)+$|b").should_discard(&message));
}

#[test]
fn a_long_line_without_newlines_and_one_with_many_finish() {
    let many_lines = "a\n".repeat(50 * 1024);
    assert!(!filter(None, "(?m)(a+)+x$").should_discard(&many_lines));
    assert!(filter(None, "(?s)(.*a){20}").should_discard(&many_lines));
}

/// A quarter of the 2 MiB stack of the tokio workers that run the filter.
const STACK: usize = 512 * 1024;

#[test]
fn deeply_nested_json_is_matched_as_text_without_overflow() {
    // serde_json stops at 128 levels: the message is then plain text.
    let depth = 100_000;
    let message = format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let outcome = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || filter(Some("a.b"), r"\[+1").should_discard(&message))
        .unwrap()
        .join();
    assert!(outcome.unwrap());
    let message = format!("{}{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let outcome = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || filter(Some("a.a.a"), r"\{").should_discard(&message))
        .unwrap()
        .join();
    assert!(outcome.unwrap());
    // Nested arrays at the end of the path, as deep as serde_json reads them:
    // each level is searched.
    let message = format!(r#"{{"a": {}"x"{}}}"#, "[".repeat(120), "]".repeat(120));
    let outcome = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || filter(Some("a"), "x$").should_discard(&message))
        .unwrap()
        .join();
    assert!(outcome.unwrap());
}

proptest! {
    #![proptest_config(Config { cases: 256, timeout: 20_000, ..Config::default() })]

    /// Any pattern the regex crate accepts builds a filter, and judging any
    /// message (JSON or not) with or without a field never panics.
    #[test]
    fn any_pattern_and_message_never_panic(
        pattern in prop_oneof![
            any::<String>(),
            "[a-z().*+?|{}0-9,\\\\^$\\[\\]-]{0,16}",
        ],
        field in proptest::option::of("[a-z]{1,3}(\\.[a-z]{1,3}){0,2}"),
        message in prop_oneof![
            any::<String>(),
            "\\{\"[a-z]{1,3}\": ?(\\[|\\{\"[a-z]{1,3}\": ?)?(\"[a-z]{0,5}\"|[0-9]{1,3}|null|true)(\\]|\\})?\\}",
        ],
    ) {
        if let Ok(regex) = Regex::new(&pattern) {
            let filter = DiscardFilter::new(field, regex).unwrap();
            let _ = filter.should_discard(&message);
        }
    }
}
