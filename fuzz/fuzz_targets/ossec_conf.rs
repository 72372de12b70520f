//! Any bytes as an ossec.conf: parsed or refused with an explanation, never a
//! panic, a hang or a stack overflow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wodle_config::LoadError;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match wodle_config::parse_str(&text) {
        Ok(loaded) => {
            for diagnostic in &loaded.warnings {
                assert!(!diagnostic.message.trim().is_empty());
            }
            // What check-config and the daemon do with a loaded file.
            let _ = wodle_config::extension_warnings(&loaded);
        }
        Err(error) => {
            assert!(!error.to_string().trim().is_empty());
            if let LoadError::Invalid { errors, .. } = &error {
                assert!(!errors.is_empty());
                assert!(errors.iter().all(|e| !e.message.trim().is_empty()));
            }
        }
    }
});
