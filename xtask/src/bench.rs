//! `cargo xtask bench [--smoke] [--json PATH] [--only PREFIX]`: builds wodle-aws and the benchmark
//! (`xtask/bench`, package `xtask-bench`) and runs it.
//!
//! The full benchmark measures the release binary, and the harness is built optimised too
//! (its SDK loop times moto, and its replay server must cost nothing), in a profile of its
//! own: the release profile's fat LTO would take minutes for a tool. `--smoke` uses the
//! debug builds the test suite already made and tiny sizes: it only shows that every scenario
//! completes, which `cargo xtask test` checks after the suite.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::{
    WODLE_AWS_BINARY, build_with_wodle_aws, cargo, moto_server, moto_venv, run, workspace_root,
};

/// The benchmark's own binary (package `xtask-bench`).
const BENCH_BINARY: &str = "xtask-bench";
/// The harness's profile: release without LTO, with parallel codegen and unwinding panics.
const HARNESS_PROFILE: &str = "bench-harness";
const HARNESS_PROFILE_SETTINGS: &[&str] = &[
    "profile.bench-harness.inherits=\"release\"",
    "profile.bench-harness.lto=false",
    "profile.bench-harness.codegen-units=16",
    "profile.bench-harness.panic=\"unwind\"",
    "profile.bench-harness.strip=false",
];

pub fn bench(args: &[OsString]) -> ExitCode {
    let mut smoke = false;
    let mut json = None;
    let mut only = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--smoke") => smoke = true,
            Some("--only") => match args.next() {
                Some(prefix) => only = Some(prefix.clone()),
                None => {
                    eprintln!("xtask: bench --only needs a scenario number or name prefix");
                    return ExitCode::from(2);
                }
            },
            Some("--json") => match args.next() {
                Some(path) => json = Some(PathBuf::from(path)),
                None => {
                    eprintln!("xtask: bench --json needs a path");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!(
                    "xtask: bench takes [--smoke] [--json PATH] [--only PREFIX], not {arg:?}"
                );
                return ExitCode::from(2);
            }
        }
    }
    let root = workspace_root();
    // Cargo's target directory: xtask itself runs from <target>/debug.
    let target_dir = match std::env::current_exe() {
        Ok(xtask) => match xtask.parent().and_then(|debug| debug.parent()) {
            Some(target) => target.to_path_buf(),
            None => root.join("target"),
        },
        Err(_) => root.join("target"),
    };
    // The smoke run keeps its own file, so `cargo xtask test` never overwrites real results.
    let json = json.unwrap_or_else(|| {
        target_dir.join("bench").join(if smoke {
            "bench-smoke.json"
        } else {
            "bench.json"
        })
    });
    let Some(moto_server) = moto_server(&root) else {
        return ExitCode::FAILURE;
    };
    let suffix = std::env::consts::EXE_SUFFIX;

    let (collector, harness) = if smoke {
        let status = build_with_wodle_aws(BENCH_BINARY);
        if status != ExitCode::SUCCESS {
            return status;
        }
        let debug = target_dir.join("debug");
        (
            debug.join(format!("{WODLE_AWS_BINARY}{suffix}")),
            debug.join(format!("{BENCH_BINARY}{suffix}")),
        )
    } else {
        let mut release = cargo();
        release.args(["build", "--release", "-p", WODLE_AWS_BINARY]);
        let status = run(&mut release);
        if status != ExitCode::SUCCESS {
            return status;
        }
        let mut harness = cargo();
        harness.args(["build", "-p", BENCH_BINARY, "--profile", HARNESS_PROFILE]);
        for setting in HARNESS_PROFILE_SETTINGS {
            harness.args(["--config", setting]);
        }
        let status = run(&mut harness);
        if status != ExitCode::SUCCESS {
            return status;
        }
        (
            target_dir
                .join("release")
                .join(format!("{WODLE_AWS_BINARY}{suffix}")),
            target_dir
                .join(HARNESS_PROFILE)
                .join(format!("{BENCH_BINARY}{suffix}")),
        )
    };

    let mut command = Command::new(harness);
    command
        .current_dir(&root)
        .env(moto_venv::MOTO_SERVER_ENV, &moto_server)
        .arg("--binary")
        .arg(&collector)
        .arg("--json")
        .arg(&json);
    if smoke {
        command.arg("--smoke");
    }
    if let Some(only) = only {
        command.arg("--only").arg(only);
    }
    run(&mut command)
}
