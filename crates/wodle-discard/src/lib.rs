//! Decides which events the `discard_regex` option skips.
//!
//! A [`DiscardFilter`] is one `<discard_regex field="...">pattern</discard_regex>`
//! (or `--discard-field` / `--discard-regex`), already validated by the
//! configuration. It judges one event message at a time, with no I/O; JSON is
//! parsed only when a field is set, and then only along the field's path.
//!
//! ```
//! use wodle_discard::DiscardFilter;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let filter = DiscardFilter::new(Some("data.source".to_owned()), regex::Regex::new("internal")?)?;
//! assert!(filter.should_discard(r#"{"data": {"source": "internal-probe"}}"#));
//! // Anchored at the start, as Python's re.match.
//! assert!(!filter.should_discard(r#"{"data": {"source": "vpc internal"}}"#));
//! // Not JSON: the whole message is matched.
//! assert!(filter.should_discard("internal health check"));
//!
//! // No discard option, no filter: nothing is discarded.
//! let no_option: Option<DiscardFilter> = None;
//! assert!(!no_option.is_some_and(|f| f.should_discard("None of these events")));
//! # Ok(())
//! # }
//! ```
//!
//! # What is matched
//!
//! The regex is always anchored at the start of the text, as Python's
//! `re.match`: the match must begin at the first character and need not reach
//! the last (`internal` discards `internal error`, not `an internal error`).
//! The pattern is not rewritten, so `a|b` anchors both branches and `(?x)`
//! comments keep working.
//!
//! | message | with `field` | without `field` |
//! |---|---|---|
//! | not JSON | the whole message | the whole message |
//! | JSON | the values at the field's path | the whole message as text |
//!
//! "JSON" means one whole JSON value with nothing but whitespace around it;
//! anything else is plain text. The field is a dotted path of object keys
//! (`data.source`; a key that holds a dot cannot be named). Along the path:
//!
//! - a missing key, or a string, number, `true`, `false` or `null` where the
//!   path goes on, has no such field: the event is kept. So is a JSON message
//!   that is a scalar itself (`"text"`, `42`);
//! - an array is searched element by element with the rest of the path, at any
//!   depth (arrays of arrays too); one matching element discards the event;
//! - a repeated key: the last one counts, as in the dict Python builds.
//!
//! At the end of the path, a string is matched as its text (escapes decoded);
//! an array element by element (nested arrays too); an object never; a number,
//! `true`, `false` or `null` as its JSON text, exactly as written in the
//! message (`42`, `-1.5e3`, `true`, `null`).
//!
//! # Where this differs from the reference
//!
//! The reference is Wazuh's `wodles/aws`: `WazuhIntegration.event_should_be_skipped`
//! (its nested `_check_recursive`) and the event loop of
//! `AWSCloudWatchLogs.get_alerts_within_range`. It behaves as above except:
//!
//! - **No discard option**: the reference compiles `re.compile(fr'{None}')`,
//!   the pattern `None`, and drops every plain-text message that starts with
//!   `None`. Here there is no filter and nothing is dropped.
//! - **JSON without a field**: the reference never discards a JSON message when
//!   no field is given (`self.discard_field and ...`), silently ignoring the
//!   option for JSON log groups. Here the message text is matched. This only
//!   changes the outcome for patterns written to match JSON text (such as
//!   `\{"level":"debug"`), which is what whoever wrote them meant.
//! - **Arrays before the end of the path**: on meeting an array the reference
//!   goes on with the next segment only and drops the rest of the path, so
//!   `records.src.ip` never matches `{"records": [{"src": {"ip": "10.0.0.1"}}]}`.
//!   Here the whole rest of the path is applied to each element.
//! - **Numbers, booleans and null at the end of the path**: the reference's
//!   `re.match` raises `TypeError` on them, which it swallows, so they never
//!   match. Here they match as their JSON text.
//! - **JSON edge cases**: Python's `json.loads` also accepts `NaN` and
//!   `Infinity` and nests about 1,000 levels deep (then crashes the run);
//!   serde_json accepts neither and stops at 128 levels, so such messages are
//!   matched as plain text here.

mod error;
mod filter;
mod json;

pub use error::DiscardError;
pub use filter::DiscardFilter;
