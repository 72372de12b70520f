//! The benchmark behind `cargo xtask bench`: runs the real `wodle-aws` binary against a replay
//! server and moto, and reports throughput, CPU, memory, API calls and start-up time.
//!
//! `xtask-bench --binary PATH [--smoke] [--json PATH]`. Each scenario runs the binary as a
//! child process with a real `AF_UNIX` datagram receiver at `<WAZUH_HOME>/queue/sockets/queue`
//! counting what arrives; the child's CPU time and peak RSS come from `wait4`. The table goes
//! to stdout and, with the machine it ran on, to the JSON file. Exits non-zero only when a
//! scenario does not complete or delivers a wrong number of events: targets are reported,
//! never asserted. `--smoke` runs tiny sizes in seconds, for the test suite.

mod measure;
mod report;
mod scenarios;

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;

use crate::report::Row;

/// Why a scenario could not be measured.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("{0}")]
    Failed(String),
    #[error("cannot {what}: {source}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

impl BenchError {
    pub fn io(what: &'static str, source: std::io::Error) -> BenchError {
        BenchError::Io { what, source }
    }
}

const USAGE: &str = "usage: xtask-bench --binary PATH [--smoke] [--json PATH] [--only PREFIX]";

struct Options {
    binary: PathBuf,
    smoke: bool,
    json: PathBuf,
    /// Only the scenarios whose name starts with this (`1`, `3 fan-out`, ...).
    only: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut binary = None;
    let mut smoke = false;
    let mut only = None;
    let mut json = PathBuf::from("target/bench/bench.json");
    let mut args = std::env::args_os().skip(1);
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--smoke") => smoke = true,
            Some("--only") => {
                only = args
                    .next()
                    .map(|prefix| prefix.to_string_lossy().into_owned())
            }
            Some("--binary") => binary = args.next().map(PathBuf::from),
            Some("--json") => {
                json = args
                    .next()
                    .map(PathBuf::from)
                    .ok_or("--json needs a path")?;
            }
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Options {
        binary: binary.ok_or("--binary PATH is required")?,
        smoke,
        json,
        only,
    })
}

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("xtask-bench: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("xtask-bench: cannot build a runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sizes = if options.smoke {
        scenarios::Sizes::SMOKE
    } else {
        scenarios::Sizes::FULL
    };
    let bench = scenarios::Bench {
        binary: options.binary.clone(),
        sizes,
        runtime,
    };
    let mut rows: Vec<Row> = Vec::new();
    let mut failures: Vec<(String, String)> = Vec::new();
    for (name, scenario) in scenarios::ALL {
        if let Some(only) = &options.only
            && !name.starts_with(only.as_str())
        {
            continue;
        }
        eprintln!("xtask-bench: {name}...");
        match scenario(&bench) {
            Ok(measured) => {
                for row in &measured {
                    eprintln!("xtask-bench:   {} = {} {}", row.metric, row.value, row.unit);
                }
                rows.extend(measured);
            }
            Err(error) => {
                eprintln!("xtask-bench: {name} FAILED: {error}");
                failures.push(((*name).to_owned(), error.to_string()));
            }
        }
    }
    if options.smoke {
        // Tiny sizes on a debug build say nothing about the targets.
        for row in &mut rows {
            row.target = None;
        }
    }
    if let Ok(metadata) = std::fs::metadata(&options.binary) {
        let megabytes = metadata.len() as f64 / 1e6;
        let target = (!options.smoke).then_some(20.0);
        rows.push(Row::new(
            "binary",
            if options.smoke {
                "size (debug build)"
            } else {
                "size (release, stripped)"
            },
            megabytes,
            "MB",
            target.and_then(report::Target::at_most),
        ));
    }

    let machine = report::machine();
    println!(
        "\nwodle-aws benchmark ({}) on {}, {} cores, Linux {}\n",
        if options.smoke {
            "smoke: tiny sizes, targets not meaningful"
        } else {
            "full"
        },
        machine["cpu"].as_str().unwrap_or("?"),
        machine["cores"],
        machine["kernel"].as_str().unwrap_or("?"),
    );
    println!("{}", report::table(&rows, &failures));
    let misses = report::misses(&rows);
    if !options.smoke && !misses.is_empty() {
        println!("\nTargets missed:");
        for miss in &misses {
            println!("  - {miss}");
        }
    }
    let header = json!({
        "command": if options.smoke { "cargo xtask bench --smoke" } else { "cargo xtask bench" },
        "smoke": options.smoke,
        "binary": options.binary.display().to_string(),
        "machine": machine,
        "quotas": scenarios::QUOTAS_NOTE,
    });
    if let Err(error) = report::write_json(&options.json, header, &rows, &failures) {
        eprintln!("xtask-bench: {error}");
        return ExitCode::FAILURE;
    }
    println!("\n(JSON: {})", options.json.display());
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!("xtask-bench: {} scenario(s) failed", failures.len());
        ExitCode::FAILURE
    }
}
