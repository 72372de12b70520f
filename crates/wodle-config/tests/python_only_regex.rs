//! Python `re` syntax that a linear-time engine cannot offer, met in an
//! ossec.conf: refused when the file is read, with a message that names the
//! tag, the construct and what to do, instead of a regex error at run time.

use wodle_config::{LoadError, parse_str};

fn errors_of(pattern: &str) -> Vec<String> {
    let text = format!(
        "<ossec_config>\n<wodle name=\"aws-s3\">\n<service type=\"cloudwatchlogs\">\n\
         <aws_log_groups>app</aws_log_groups>\n\
         <discard_regex field=\"data.source\">{pattern}</discard_regex>\n\
         </service>\n</wodle>\n</ossec_config>\n"
    );
    match parse_str(&text) {
        Err(LoadError::Invalid { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
        other => panic!("{pattern}: expected a configuration error, got {other:?}"),
    }
}

#[test]
fn backreferences_and_lookaround_are_refused_naming_the_tag_and_the_construct() {
    for (pattern, construct) in [
        (r"(a)\1", "back-reference"),
        ("(?P&lt;x&gt;a)(?P=x)", "named back-reference"),
        ("foo(?=bar)", "look-ahead"),
        ("foo(?!bar)", "negative look-ahead"),
        ("(?&lt;=a)b", "look-behind"),
        ("(?&lt;!a)b", "negative look-behind"),
    ] {
        let errors = errors_of(pattern);
        assert_eq!(errors.len(), 1, "{pattern}: {errors:?}");
        let message = &errors[0];
        assert!(message.starts_with("line 5: "), "{message}");
        assert!(message.contains("'discard_regex'"), "{message}");
        assert!(message.contains(construct), "{message}");
        assert!(
            message.contains("does not support") && message.contains("linear time"),
            "{message}"
        );
    }
}

#[test]
fn patterns_that_are_pathological_elsewhere_are_accepted() {
    for pattern in ["(a+)+$", "(a|aa)+$", "(.*a){20}"] {
        let text = format!(
            "<wodle name=\"aws-s3\"><service type=\"cloudwatchlogs\">\
             <aws_log_groups>app</aws_log_groups><discard_regex>{pattern}</discard_regex>\
             </service></wodle>"
        );
        let loaded = parse_str(&text).unwrap();
        let rule = loaded.wodles[0].services[0].discard.as_ref().unwrap();
        assert_eq!(rule.regex.as_str(), pattern);
    }
}
