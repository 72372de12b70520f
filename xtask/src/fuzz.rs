//! `cargo xtask fuzz [TARGET] [--seconds N]`: long fuzzing runs on demand with
//! cargo-fuzz (libFuzzer, nightly). The suite's proptest properties cover the
//! same functions briefly on every run; this is for hours, not seconds.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The targets in `fuzz/fuzz_targets`, in the order `fuzz` runs them.
pub const TARGETS: &[&str] = &[
    "ossec_conf",
    "only_logs_after",
    "interval",
    "regions",
    "cli",
    "discard_regex",
];

/// Seconds per target when `--seconds` is not given.
const DEFAULT_SECONDS: u64 = 60;
/// libFuzzer's limit for one input, in seconds: longer is reported as a hang
/// (a `timeout-*` artifact). Its own default is 20 minutes.
const INPUT_TIMEOUT_SECONDS: u64 = 10;

pub fn run(root: &Path, args: &[OsString]) -> ExitCode {
    let (targets, seconds) = match parse_args(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("xtask fuzz: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = ensure_cargo_fuzz() {
        eprintln!("xtask fuzz: {message}");
        return ExitCode::FAILURE;
    }
    let mut crashed = Vec::new();
    for target in &targets {
        seed_corpus(root, target);
        eprintln!("xtask fuzz: {target} for {seconds} s");
        let status = nightly_cargo()
            .current_dir(root)
            .args(["fuzz", "run", target, "--"])
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-timeout={INPUT_TIMEOUT_SECONDS}"))
            .status();
        match status {
            Ok(status) if status.success() => eprintln!("xtask fuzz: {target}: no crash"),
            Ok(status) => {
                let artifact = newest_artifact(root, target);
                match &artifact {
                    Some(path) => eprintln!(
                        "xtask fuzz: {target} CRASHED ({status}); the input is {}\n\
                         xtask fuzz: reproduce with `cargo +nightly fuzz run {target} {}`",
                        path.display(),
                        path.display()
                    ),
                    None => eprintln!(
                        "xtask fuzz: {target} failed ({status}) without an artifact: a build error?"
                    ),
                }
                crashed.push((target.clone(), artifact));
            }
            Err(error) => {
                eprintln!("xtask fuzz: cannot run cargo +nightly fuzz: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    if crashed.is_empty() {
        eprintln!(
            "xtask fuzz: {} target(s), {seconds} s each: no crash",
            targets.len()
        );
        ExitCode::SUCCESS
    } else {
        for (target, artifact) in &crashed {
            let shown = artifact
                .as_deref()
                .map_or_else(|| "no artifact".to_owned(), |p| p.display().to_string());
            eprintln!("xtask fuzz: crash in {target}: {shown}");
        }
        ExitCode::FAILURE
    }
}

fn parse_args(args: &[OsString]) -> Result<(Vec<String>, u64), String> {
    let mut targets = Vec::new();
    let mut seconds = DEFAULT_SECONDS;
    let mut args = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(arg) = args.next() {
        if let Some(value) = arg.strip_prefix("--seconds=") {
            seconds = parse_seconds(value)?;
        } else if arg == "--seconds" {
            let value = args.next().ok_or("--seconds takes a number of seconds")?;
            seconds = parse_seconds(&value)?;
        } else if TARGETS.contains(&arg.as_str()) {
            targets.push(arg);
        } else {
            return Err(format!(
                "unknown target or flag '{arg}'; targets: {}",
                TARGETS.join(", ")
            ));
        }
    }
    if targets.is_empty() {
        targets = TARGETS.iter().map(|t| (*t).to_owned()).collect();
    }
    Ok((targets, seconds))
}

fn parse_seconds(value: &str) -> Result<u64, String> {
    value
        .parse::<u64>()
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("--seconds takes a positive number, not '{value}'"))
}

/// `cargo +nightly`: rustup's proxy, not the toolchain's cargo that runs
/// xtask (which does not understand `+nightly`).
fn nightly_cargo() -> Command {
    let mut command = Command::new("cargo");
    command.arg("+nightly").env_remove("RUSTUP_TOOLCHAIN");
    command
}

fn ensure_cargo_fuzz() -> Result<(), String> {
    let installed = nightly_cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|output| output.status.success());
    if installed {
        return Ok(());
    }
    eprintln!("xtask fuzz: installing cargo-fuzz (cargo install cargo-fuzz --locked)");
    let status = Command::new("cargo")
        .args(["install", "cargo-fuzz", "--locked"])
        .status()
        .map_err(|error| format!("cannot run cargo install: {error}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo install cargo-fuzz failed ({status})"))
    }
}

/// Starts `ossec_conf`'s corpus from the configuration files of the tests, so
/// the fuzzer begins from real files rather than from nothing.
fn seed_corpus(root: &Path, target: &str) {
    if target != "ossec_conf" {
        return;
    }
    let corpus = root.join("fuzz/corpus").join(target);
    if corpus
        .read_dir()
        .is_ok_and(|mut entries| entries.next().is_some())
    {
        return;
    }
    if std::fs::create_dir_all(&corpus).is_err() {
        return;
    }
    let mut stack = vec![root.join("tests/fixtures")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = dir.read_dir() else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(name) = path.file_name() {
                let _ = std::fs::copy(&path, corpus.join(name));
            }
        }
    }
}

/// The most recent file libFuzzer left in `fuzz/artifacts/TARGET`.
fn newest_artifact(root: &Path, target: &str) -> Option<PathBuf> {
    root.join("fuzz/artifacts")
        .join(target)
        .read_dir()
        .ok()?
        .flatten()
        .filter_map(|entry| {
            let modified = entry.metadata().ok()?.modified().ok()?;
            Some((modified, entry.path()))
        })
        .max()
        .map(|(_, path)| path)
}
