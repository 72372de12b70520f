//! The scheduling tags, `interval`, `time`, `day` and `wday`: any text is a
//! value or an error naming the text; what is printed reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match wodle_config::parse_interval(text) {
        Ok(interval) => {
            assert_eq!(wodle_config::parse_interval(&interval.to_string()).ok(), Some(interval));
        }
        Err(error) => assert!(error.message.contains(&format!("'{}'", error.value))),
    }
    match wodle_config::parse_time(text) {
        Ok(time) => assert_eq!(wodle_config::parse_time(&time.to_string()).ok(), Some(time)),
        Err(error) => assert!(error.message.contains(&format!("'{}'", error.value))),
    }
    if let Err(error) = wodle_config::parse_day(text) {
        assert!(error.message.contains(&format!("'{}'", error.value)));
    }
    match wodle_config::parse_wday(text) {
        Ok(day) => assert_eq!(wodle_config::parse_wday(day.as_str()).ok(), Some(day)),
        Err(error) => assert!(error.message.contains(&format!("'{}'", error.value))),
    }
    let _ = wodle_config::parse_idle_stream_lag(text);
});
