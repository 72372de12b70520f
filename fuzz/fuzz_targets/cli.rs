//! Any command line (the input split on NUL into argv): parsed by the binary's
//! own clap definition and validated as the one-shot mode does before it
//! touches the network, or refused with a message; never a panic.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;

// The binary's own modules: it has no library to link against.
#[allow(dead_code)]
#[path = "../../crates/wodle-aws/src/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../../crates/wodle-aws/src/one_shot.rs"]
mod one_shot;

fuzz_target!(|data: &[u8]| {
    let args: Vec<OsString> = std::iter::once(OsString::from("wodle-aws"))
        .chain(data.split(|&b| b == 0).map(|arg| OsString::from_vec(arg.to_vec())))
        .collect();
    let cli = match cli::Cli::try_parse_args(cli::rewrite_reference_short_flags(args)) {
        Ok(cli) => cli,
        Err(error) => {
            assert!(!error.to_string().trim().is_empty());
            return;
        }
    };
    if cli.command.is_none() {
        match one_shot::service_from_args(&cli.one_shot) {
            Ok((service, _warnings)) => {
                if let Some(rule) = service.discard {
                    let filter = wodle_discard::DiscardFilter::new(rule.field, rule.regex)
                        .expect("a validated rule builds a filter");
                    let _ = filter.should_discard("probe");
                }
            }
            Err(error) => assert!(!error.to_string().trim().is_empty()),
        }
    }
    // The checks of `Tuning::from_options` (service.rs, which needs the AWS SDK).
    let tuning = &cli.global.tuning;
    let _ = wodle_analysisd::DatagramLimit::new(tuning.max_datagram);
    if let Some(quotas) = &tuning.api_quotas {
        if let Err(error) = quotas.parse::<wodle_quota::Quotas>() {
            assert!(!error.to_string().trim().is_empty());
        }
    }
});
