//! `regions`: any text is a sorted list of known regions or an error naming
//! the offending item.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    match wodle_config::parse_regions(text) {
        Ok(regions) => {
            assert!(regions.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(regions.iter().all(|r| wodle_config::is_known_region(r.as_str())));
        }
        Err(error) => {
            assert!(text.contains(error.value.as_str()));
            assert!(error.message.contains(&format!("'{}'", error.value)));
        }
    }
});
