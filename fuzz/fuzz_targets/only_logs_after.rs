//! `only_logs_after`: any text is a date or an error naming the text; a date
//! written back in the tag's format reads as the same date.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match wodle_config::parse_only_logs_after(text) {
        Ok(date) => {
            let month = &date.month().to_string()[..3];
            let written = format!("{:04}-{month}-{:02}", date.year(), date.day());
            assert_eq!(wodle_config::parse_only_logs_after(&written).ok(), Some(date));
        }
        Err(error) => assert!(error.message.contains(&format!("'{}'", error.value))),
    }
});
