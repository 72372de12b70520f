//! `discard_regex`: the input's first line is the pattern, its second the
//! field (empty: none), the rest the event message (JSON or not). Validation,
//! the filter and its judgement never panic and stay linear.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut parts = text.splitn(3, '\n');
    let pattern = parts.next().unwrap_or_default();
    let field = parts.next().filter(|f| !f.is_empty());
    let message = parts.next().unwrap_or_default();
    match wodle_config::parse_discard_rule(field, pattern) {
        Ok(rule) => {
            let filter = wodle_discard::DiscardFilter::new(rule.field, rule.regex)
                .expect("a validated rule builds a filter");
            let _ = filter.should_discard(message);
        }
        Err(error) => {
            assert!(error.message.contains("discard_regex"));
        }
    }
});
