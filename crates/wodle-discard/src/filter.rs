use regex::Regex;
use regex_automata::meta;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind};

use crate::DiscardError;
use crate::json;

/// One `discard_regex` option, with its optional `field`, ready to judge
/// events. Cheap to clone; `Send` and `Sync`, so one filter can serve every
/// task of a run.
#[derive(Debug, Clone)]
pub struct DiscardFilter {
    /// The dotted path as given, and its segments; `None` for no field.
    field: Option<(String, Box<[String]>)>,
    regex: Regex,
    /// The same pattern, searched anchored at the start of the text.
    anchored: meta::Regex,
}

impl DiscardFilter {
    /// A filter for `regex`, applied to the dotted `field` of JSON messages
    /// when one is given. An empty `field` counts as none, as in the
    /// configuration.
    ///
    /// The pattern is taken from `regex.as_str()` and compiled once more for
    /// anchored search with the settings of `Regex::new`; options set through
    /// a `RegexBuilder` are not carried over (write them as inline flags such
    /// as `(?i)`).
    pub fn new(field: Option<String>, regex: Regex) -> Result<Self, DiscardError> {
        let field = field.filter(|f| !f.is_empty()).map(|f| {
            let segments = f.split('.').map(str::to_owned).collect();
            (f, segments)
        });
        let anchored =
            anchored_regex(regex.as_str()).map_err(|source| DiscardError::Anchoring {
                pattern: regex.as_str().to_owned(),
                source,
            })?;
        Ok(Self {
            field,
            regex,
            anchored,
        })
    }

    /// The dotted field path, when the option has one.
    pub fn field(&self) -> Option<&str> {
        self.field.as_ref().map(|(field, _)| field.as_str())
    }

    /// The pattern as written.
    pub fn pattern(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the event whose message is `message` is to be skipped.
    ///
    /// The regex is anchored at the start of the text it is matched against,
    /// as Python's `re.match`: the match must begin at the first character but
    /// need not reach the last. With a field, the message is parsed as JSON
    /// and the regex is matched against the values at the field's path (see
    /// the crate documentation for arrays, objects and non-string values); a
    /// message that is not JSON is matched as a whole. Without a field, the
    /// message is matched as a whole and never parsed.
    pub fn should_discard(&self, message: &str) -> bool {
        let Some((_, path)) = &self.field else {
            return self.matches_at_start(message);
        };
        json::field_matches(message, path, &|text| self.matches_at_start(text))
            .unwrap_or_else(|_not_json| self.matches_at_start(message))
    }

    fn matches_at_start(&self, text: &str) -> bool {
        self.anchored
            .is_match(Input::new(text).anchored(Anchored::Yes))
    }
}

/// The meta regex `Regex::new` builds, so that both agree on syntax, Unicode
/// and size limits; only the search is anchored, the pattern is not rewritten
/// (wrapping it in `^(?:...)` would break a `(?x)` pattern ending in a
/// comment).
fn anchored_regex(pattern: &str) -> Result<meta::Regex, Box<meta::BuildError>> {
    // The limits regex 1.x sets on top of the meta defaults.
    const NFA_SIZE_LIMIT: usize = 10 * (1 << 20);
    const HYBRID_CACHE_CAPACITY: usize = 2 * (1 << 20);
    meta::Builder::new()
        .configure(
            meta::Config::new()
                .match_kind(MatchKind::LeftmostFirst)
                .utf8_empty(true)
                .nfa_size_limit(Some(NFA_SIZE_LIMIT))
                .hybrid_cache_capacity(HYBRID_CACHE_CAPACITY),
        )
        .syntax(syntax::Config::new().utf8(true))
        .build(pattern)
        .map_err(Box::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(field: Option<&str>, pattern: &str) -> DiscardFilter {
        DiscardFilter::new(field.map(str::to_owned), Regex::new(pattern).unwrap()).unwrap()
    }

    #[test]
    fn plain_text_is_matched_at_the_start_only() {
        let f = filter(None, "internal");
        assert!(f.should_discard("internal"));
        assert!(f.should_discard("internal health check from 10.0.0.1"));
        assert!(!f.should_discard("an internal health check"));
        assert!(!f.should_discard(" internal"));
        assert!(!f.should_discard(""));
    }

    #[test]
    fn the_match_need_not_reach_the_end() {
        let f = filter(None, r"GET /health");
        assert!(f.should_discard("GET /health HTTP/1.1 200"));
        let f = filter(None, r"\d+ ");
        assert!(f.should_discard("200 OK"));
    }

    #[test]
    fn every_alternative_is_anchored() {
        let f = filter(None, "a|b");
        assert!(f.should_discard("a..."));
        assert!(f.should_discard("b..."));
        assert!(!f.should_discard("xb"));
        assert!(!f.should_discard("xa"));
        let f = filter(Some("level"), "debug|trace");
        assert!(f.should_discard(r#"{"level": "trace"}"#));
        assert!(!f.should_discard(r#"{"level": "no trace"}"#));
    }

    #[test]
    fn the_pattern_is_not_rewritten() {
        // Wrapped in `^(?:...)`, the comment would swallow the closing
        // parenthesis.
        let f = filter(None, "(?x) internal \\s+ probe  # load balancer checks");
        assert!(f.should_discard("internal   probe 1"));
        assert!(!f.should_discard("external probe"));
        let f = filter(None, "(?i)DEBUG");
        assert!(f.should_discard("debug: cache warmed"));
        // Already anchored patterns keep working.
        let f = filter(None, "^ok$");
        assert!(f.should_discard("ok"));
        assert!(!f.should_discard("ok then"));
    }

    #[test]
    fn an_empty_match_at_the_start_discards() {
        // As re.match: `x*` matches the empty string before anything.
        let f = filter(None, "x*");
        assert!(f.should_discard("anything"));
    }

    #[test]
    fn without_field_json_is_matched_as_text() {
        let f = filter(None, r#"\{"level":\s*"debug""#);
        assert!(f.should_discard(r#"{"level": "debug", "msg": "cache warmed"}"#));
        assert!(!f.should_discard(r#"{"level": "error", "msg": "debug"}"#));
        // The reference's stand-in pattern when no option is set.
        let f = filter(None, "None");
        assert!(f.should_discard("None of the targets answered"));
    }

    #[test]
    fn with_field_a_message_that_is_not_json_is_matched_whole() {
        let f = filter(Some("data.source"), "internal");
        assert!(f.should_discard("internal probe, plain text"));
        assert!(!f.should_discard("plain text from internal"));
        // Broken or trailing text makes it plain text too.
        assert!(f.should_discard(r#"internal {"data": {"source": "x"}}"#));
        assert!(!f.should_discard(r#"{"data": {"source": "internal"}} trailing"#));
        assert!(!f.should_discard(r#"{"data": {"source": "internal"}"#));
        let f = filter(Some("data.source"), r"\{");
        assert!(f.should_discard(r#"{"data": {"source": "internal"}} trailing"#));
        assert!(f.should_discard(r#"{"data": {"source": "x""#));
    }

    #[test]
    fn with_field_whitespace_around_json_still_is_json() {
        let f = filter(Some("source"), "internal");
        assert!(f.should_discard("  {\"source\": \"internal\"}\n"));
        let f = filter(Some("source"), r"\s");
        assert!(!f.should_discard("  {\"source\": \"internal\"}\n"));
    }

    #[test]
    fn nested_field() {
        let f = filter(Some("data.source"), "internal");
        assert!(f.should_discard(
            r#"{"data": {"source": "internal-probe", "n": 1}, "x": [1, {"a": null}]}"#
        ));
        assert!(!f.should_discard(r#"{"data": {"source": "public"}}"#));
        assert!(!f.should_discard(r#"{"source": "internal"}"#));
        let f = filter(Some("a.b.c.d"), "deep");
        assert!(f.should_discard(r#"{"a": {"b": {"c": {"d": "deep"}}}}"#));
    }

    #[test]
    fn a_missing_field_keeps_the_event() {
        let f = filter(Some("data.source"), ".*");
        assert!(!f.should_discard(r#"{"data": {"origin": "internal"}}"#));
        assert!(!f.should_discard(r#"{"other": 1}"#));
        assert!(!f.should_discard("{}"));
        assert!(!f.should_discard("[]"));
    }

    #[test]
    fn a_scalar_where_the_path_goes_on_keeps_the_event() {
        let f = filter(Some("data.source"), ".*");
        for message in [
            r#"{"data": "internal"}"#,
            r#"{"data": 42}"#,
            r#"{"data": true}"#,
            r#"{"data": null}"#,
        ] {
            assert!(!f.should_discard(message), "{message}");
        }
    }

    #[test]
    fn a_json_message_that_is_a_scalar_keeps_the_event() {
        let f = filter(Some("source"), ".*");
        for message in [r#""internal""#, "42", "true", "null"] {
            assert!(!f.should_discard(message), "{message}");
        }
    }

    #[test]
    fn an_object_at_the_end_of_the_path_never_matches() {
        let f = filter(Some("data"), ".*");
        assert!(!f.should_discard(r#"{"data": {"source": "internal"}}"#));
        assert!(!f.should_discard(r#"{"data": {}}"#));
        let f = filter(Some("data"), r"\{");
        assert!(!f.should_discard(r#"{"data": {"source": "internal"}}"#));
    }

    #[test]
    fn a_list_at_the_end_is_searched_element_by_element() {
        let f = filter(Some("tags"), "internal");
        assert!(f.should_discard(r#"{"tags": ["public", "internal-only"]}"#));
        assert!(!f.should_discard(r#"{"tags": ["public", "not internal"]}"#));
        assert!(!f.should_discard(r#"{"tags": []}"#));
        // Objects in the list never match; the strings beside them do.
        assert!(!f.should_discard(r#"{"tags": [{"name": "internal"}]}"#));
        assert!(f.should_discard(r#"{"tags": [{"name": "x"}, "internal"]}"#));
    }

    #[test]
    fn nested_lists_at_the_end_are_searched_at_any_depth() {
        let f = filter(Some("tags"), "internal");
        assert!(f.should_discard(r#"{"tags": [["a"], ["b", ["internal"]]]}"#));
        assert!(!f.should_discard(r#"{"tags": [["a"], ["b", ["public"]]]}"#));
    }

    #[test]
    fn lists_of_objects_take_the_rest_of_the_path() {
        let f = filter(Some("records.source"), "internal");
        assert!(f.should_discard(r#"{"records": [{"source": "public"}, {"source": "internal"}]}"#));
        assert!(!f.should_discard(r#"{"records": [{"source": "public"}, {"other": "internal"}]}"#));
        // More than one segment after the list: the reference dropped these.
        let f = filter(Some("records.src.ip"), r"10\.");
        assert!(f.should_discard(
            r#"{"records": [{"src": {"ip": "192.0.2.1"}}, {"src": {"ip": "10.0.0.1"}}]}"#
        ));
        assert!(!f.should_discard(r#"{"records": [{"src": {"ip": "192.0.2.1"}}]}"#));
    }

    #[test]
    fn lists_of_lists_before_the_end_are_looked_through() {
        let f = filter(Some("records.src.ip"), r"10\.");
        assert!(f.should_discard(r#"{"records": [[{"src": {"ip": "10.0.0.1"}}], []]}"#));
        assert!(f.should_discard(r#"{"records": [{"src": [{"ip": "x"}, {"ip": "10.1.1.1"}]}]}"#));
    }

    #[test]
    fn a_top_level_array_is_searched_element_by_element() {
        let f = filter(Some("source"), "internal");
        assert!(f.should_discard(r#"[{"source": "public"}, {"source": "internal"}]"#));
        assert!(!f.should_discard(r#"[{"source": "public"}, "internal"]"#));
    }

    #[test]
    fn booleans_null_and_numbers_match_as_their_json_text() {
        let cases = [
            ("true", r#"{"v": true}"#),
            ("false", r#"{"v": false}"#),
            ("null", r#"{"v": null}"#),
            ("42$", r#"{"v": 42}"#),
            (r"-7$", r#"{"v": -7}"#),
            (r"1\.5$", r#"{"v": 1.5}"#),
            // As written, not as a float would print it.
            (r"1\.50$", r#"{"v": 1.50}"#),
            (r"1e3$", r#"{"v": 1e3}"#),
            (
                r"123456789012345678901234567890$",
                r#"{"v": 123456789012345678901234567890}"#,
            ),
        ];
        for (pattern, message) in cases {
            assert!(
                filter(Some("v"), pattern).should_discard(message),
                "{pattern} on {message}"
            );
        }
        let f = filter(Some("v"), "4");
        assert!(f.should_discard(r#"{"v": 42}"#));
        assert!(!f.should_discard(r#"{"v": 142}"#));
        // Not Python's spelling.
        assert!(!filter(Some("v"), "True").should_discard(r#"{"v": true}"#));
        assert!(!filter(Some("v"), "None").should_discard(r#"{"v": null}"#));
        assert!(!filter(Some("v"), r"1000\.0").should_discard(r#"{"v": 1e3}"#));
        // Scalars inside a list at the end too.
        assert!(filter(Some("v"), "404").should_discard(r#"{"v": [200, 404]}"#));
    }

    #[test]
    fn strings_are_matched_decoded() {
        let f = filter(Some("m"), r#"say "hi""#);
        assert!(f.should_discard(r#"{"m": "say \"hi\" twice"}"#));
        let f = filter(Some("m"), "internal");
        assert!(f.should_discard(r#"{"m": "\u0069nternal"}"#));
        // The quote is not part of the text.
        assert!(!filter(Some("m"), "\"").should_discard(r#"{"m": "x"}"#));
        let f = filter(Some("m"), "line\nnext");
        assert!(f.should_discard(r#"{"m": "line\nnext"}"#));
    }

    #[test]
    fn keys_are_matched_decoded_and_exactly() {
        let f = filter(Some("data.source"), "internal");
        assert!(f.should_discard(r#"{"d\u0061ta": {"source": "internal"}}"#));
        assert!(!f.should_discard(r#"{"Data": {"source": "internal"}}"#));
        let f = filter(Some("données.source"), "internal");
        assert!(f.should_discard(r#"{"données": {"source": "internal"}}"#));
    }

    #[test]
    fn with_a_repeated_key_the_last_counts() {
        let f = filter(Some("source"), "internal");
        assert!(f.should_discard(r#"{"source": "public", "source": "internal"}"#));
        assert!(!f.should_discard(r#"{"source": "internal", "source": "public"}"#));
    }

    #[test]
    fn an_empty_field_means_no_field() {
        let f = filter(Some(""), r"\{");
        assert_eq!(f.field(), None);
        assert!(f.should_discard(r#"{"source": "internal"}"#));
    }

    #[test]
    fn json_python_accepts_and_serde_json_does_not_is_plain_text() {
        let f = filter(Some("v"), "NaN");
        assert!(f.should_discard("NaN"));
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        assert!(filter(Some("v"), r"\[").should_discard(&deep));
    }

    #[test]
    fn accessors_give_the_option_as_written() {
        let f = filter(Some("data.source"), "^internal");
        assert_eq!(f.field(), Some("data.source"));
        assert_eq!(f.pattern(), "^internal");
        assert_eq!(filter(None, "x").field(), None);
    }

    #[test]
    fn a_filter_is_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<DiscardFilter>();
    }
}
