//! Project automation: `cargo xtask test` sets up and runs every test, `cargo xtask demo`
//! runs the main job, `cargo xtask bench` measures it.
//!
//! Plain `std`, so that it builds in seconds before anything else. The demo itself needs the
//! AWS SDK and SQLite, so it is a package of its own (`xtask/demo`) that this builds and runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

// The test kit's own file, so both agree on where moto lives and when its venv is complete.
#[path = "../../crates/wodle-testkit/src/moto_venv.rs"]
mod moto_venv;

mod fuzz;

mod faults;

mod bench;

const USAGE: &str = "\
Usage: cargo xtask <COMMAND> [ARGS...]

Commands:
  test [ARGS...]  Set up what the tests need, then run them all.
                  Installs moto (the AWS emulator, pinned in tests/requirements-moto.txt)
                  into target/moto-venv if missing, exports WODLE_AWS_MOTO_SERVER, runs
                  `cargo nextest run --workspace --all-targets --no-fail-fast` (or
                  `cargo test` when cargo-nextest is not installed), then the doc
                  tests, then `bench --smoke` (the benchmark at tiny sizes). ARGS go
                  to the first run; `-p NAME` narrows both runs to those packages and
                  skips the benchmark.
  demo            Run the main job without AWS: builds wodle-aws, starts moto (installing
                  it like `test` if missing), seeds the log group `apache-access` with
                  sample Apache access logs, runs `wodle-aws --service cloudwatchlogs`
                  against it, prints every datagram analysisd would receive, runs it
                  again to show the checkpoint (nothing resent) and prints the
                  checkpoint rows. Exits non-zero if any of that goes wrong.
  faults [--ci] [ARGS...]
                  Run every fault test (tests/faults_*.rs: AWS faults through a
                  fault-injecting proxy, kills at chosen points, analysisd and database
                  faults) at full size and print the table: fault, trials, events put,
                  delivered, lost, duplicated, out of order, outcome. `--ci` runs them at
                  the test suite's size instead. The table is also written to
                  target/faults/faults.md and target/faults/faults.jsonl. Exits non-zero
                  if a test fails or a row lost an event. ARGS go to the test runner.
  fuzz [TARGET] [--seconds N]
                  Fuzz with cargo-fuzz on the nightly toolchain (installed with
                  `cargo install cargo-fuzz --locked` if missing): N seconds (default
                  60) per target, every target unless one is named: ossec_conf,
                  only_logs_after, interval, regions, cli, discard_regex. Exits
                  non-zero on a crash or hang and prints the input's path.
  bench [--smoke] [--json PATH] [--only PREFIX]
                  Benchmark the release build (built first) on this machine: events/s,
                  CPU per million events and peak RSS from a fast replay server and from
                  moto, 1,000 streams and their idle rerun (API calls), every commercial
                  region with 100 ms of latency per call, start-up to the first API call,
                  a 5,000,000-event backlog, and the binary's size. Prints a table against
                  the targets of issue 5 and writes it as JSON (default
                  target/bench/bench.json). `--smoke` runs the debug build at tiny sizes
                  without targets (target/bench/bench-smoke.json); `test` runs it after
                  the whole suite. `--only 1` (or another prefix of a scenario's name)
                  runs only those scenarios. Exits non-zero only if a scenario fails or
                  delivers a wrong number of events; missed targets are reported.
  help            Show this.
";

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let command = args.next();
    let rest: Vec<OsString> = args.collect();
    match command.as_ref().and_then(|c| c.to_str()) {
        Some("test") => test(&rest),
        Some("demo") => demo(&rest),
        Some("fuzz") => fuzz::run(&workspace_root(), &rest),
        Some("faults") => faults::faults(&rest),
        Some("bench") => bench::bench(&rest),
        Some("help" | "--help" | "-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits inside the workspace")
        .to_path_buf()
}

/// The cargo that started us, so that a toolchain override applies to the runs we start.
fn cargo() -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

/// The path of `moto_server`, installed into target/moto-venv first if missing; `None`
/// once the reason it is not there is printed.
fn moto_server(root: &Path) -> Option<PathBuf> {
    match moto_venv::ensure_moto_server(root, &mut |note| eprintln!("xtask: {note}")) {
        Ok(path) => Some(path),
        Err(error) => {
            eprintln!("xtask: {error}");
            None
        }
    }
}

/// Whether `cargo nextest` is installed: the suites fall back to `cargo test` without it.
fn nextest_installed() -> bool {
    cargo()
        .args(["nextest", "--version"])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn test(extra: &[OsString]) -> ExitCode {
    let root = workspace_root();
    let started = Instant::now();
    let Some(moto_server) = moto_server(&root) else {
        return ExitCode::FAILURE;
    };
    eprintln!(
        "xtask: moto_server is {} (ready in {:.1?})",
        moto_server.display(),
        started.elapsed()
    );

    // `--workspace` unless the caller picked packages, which then apply to the doc tests too.
    let mut selection = package_selection(extra);
    let picked_packages = !selection.is_empty();
    if !picked_packages {
        selection.push("--workspace".into());
    }
    let with_nextest = nextest_installed();

    let mut suite = cargo();
    if with_nextest {
        suite.args(["nextest", "run"]);
    } else {
        eprintln!("xtask: cargo-nextest is not installed; running the suite with `cargo test`");
        suite.arg("test");
    }
    if !picked_packages {
        suite.arg("--workspace");
    }
    // The whole picture beats stopping at the first failure, in CI above all.
    suite.args(["--all-targets", "--no-fail-fast"]).args(extra);
    let status = run(suite.env(moto_venv::MOTO_SERVER_ENV, &moto_server));
    if status != ExitCode::SUCCESS {
        return status;
    }

    // The binary packages have no library, and `cargo test --doc` refuses a
    // selection without one.
    let selection = BINARY_PACKAGES
        .iter()
        .fold(selection, |kept, package| without_package(&kept, package));
    if picked_packages && selection.is_empty() {
        eprintln!("xtask: no library among the picked packages: no doc tests to run");
        return ExitCode::SUCCESS;
    }
    let mut doc = cargo();
    doc.arg("test").args(&selection).arg("--doc");
    let status = run(doc.env(moto_venv::MOTO_SERVER_ENV, &moto_server));
    if status != ExitCode::SUCCESS || picked_packages {
        return status;
    }
    // The benchmark at tiny sizes: every scenario must still complete (no thresholds).
    bench::bench(&["--smoke".into()])
}

/// The packages with no library target: the deployable binary (the root
/// package) and the developer tools.
const BINARY_PACKAGES: &[&str] = &["wodle-aws", "xtask", "xtask-demo"];

/// `selection` (pairs of `-p NAME`, or `--package=NAME`, or `--workspace`) less `package`.
fn without_package(selection: &[OsString], package: &str) -> Vec<OsString> {
    let mut kept = Vec::new();
    let mut args = selection.iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-p" | "--package") => {
                if let Some(name) = args.next()
                    && name != package
                {
                    kept.push(arg.clone());
                    kept.push(name.clone());
                }
            }
            Some(inline) if inline == format!("--package={package}") => {}
            _ => kept.push(arg.clone()),
        }
    }
    kept
}

/// The `-p NAME` / `--package NAME` / `--package=NAME` arguments among `args`.
fn package_selection(args: &[OsString]) -> Vec<OsString> {
    let mut selection = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-p" | "--package") => {
                selection.push(arg.clone());
                if let Some(name) = args.next() {
                    selection.push(name.clone());
                }
            }
            Some(joined) if joined.starts_with("--package=") => selection.push(arg.clone()),
            Some("--") => break,
            _ => {}
        }
    }
    selection
}

/// The deployable binary.
const WODLE_AWS_BINARY: &str = "wodle-aws";

/// The demo's own binary (package `xtask-demo`).
const DEMO_BINARY: &str = "xtask-demo";

fn demo(extra: &[OsString]) -> ExitCode {
    if !extra.is_empty() {
        eprintln!("xtask: demo takes no arguments");
        eprint!("{USAGE}");
        return ExitCode::from(2);
    }
    let status = build_with_wodle_aws(DEMO_BINARY);
    if status != ExitCode::SUCCESS {
        return status;
    }
    // Cargo puts every binary of a build in one directory: ours, the demo's and wodle-aws.
    let suffix = std::env::consts::EXE_SUFFIX;
    let demo = match std::env::current_exe() {
        Ok(xtask) => xtask.with_file_name(format!("{DEMO_BINARY}{suffix}")),
        Err(error) => {
            eprintln!(
                "xtask: cannot find this program's path, to run {DEMO_BINARY} beside it: {error}"
            );
            return ExitCode::FAILURE;
        }
    };
    run(&mut Command::new(demo))
}

/// Builds wodle-aws and the developer tool `binary` (debug profile). One build for both,
/// so they share one feature resolution: `--workspace` is the one the test suite uses too,
/// so a machine that ran the tests compiles nothing new.
fn build_with_wodle_aws(binary: &str) -> ExitCode {
    let mut build = cargo();
    build.args([
        "build",
        "--workspace",
        "--bin",
        WODLE_AWS_BINARY,
        "--bin",
        binary,
    ]);
    run(&mut build)
}

/// Runs `command` with our stdio and returns its exit code.
fn run(command: &mut Command) -> ExitCode {
    eprintln!("xtask: running {}", describe(command));
    match command.status() {
        Ok(status) if status.success() => ExitCode::SUCCESS,
        Ok(status) => {
            let code = status.code().and_then(|code| u8::try_from(code).ok());
            ExitCode::from(code.filter(|code| *code != 0).unwrap_or(1))
        }
        Err(error) => {
            eprintln!("xtask: cannot run {}: {error}", describe(command));
            ExitCode::FAILURE
        }
    }
}

fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|part| part.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_binary_package_is_left_out_of_doc_tests() {
        let selection: Vec<OsString> = [
            "-p",
            "wodle-aws",
            "-p",
            "wodle-config",
            "--package=wodle-aws",
        ]
        .map(OsString::from)
        .to_vec();
        assert_eq!(
            without_package(&selection, "wodle-aws"),
            ["-p", "wodle-config"].map(OsString::from).to_vec()
        );
        let workspace = vec![OsString::from("--workspace")];
        assert_eq!(without_package(&workspace, "wodle-aws"), workspace);
    }

    #[test]
    fn package_selection_keeps_only_package_arguments() {
        let args = os(&[
            "-p",
            "wodle-testkit",
            "--no-fail-fast",
            "--package",
            "wodle-credentials",
            "--package=xtask",
            "filter",
            "--",
            "-p",
            "after-the-separator",
        ]);
        assert_eq!(
            package_selection(&args),
            os(&[
                "-p",
                "wodle-testkit",
                "--package",
                "wodle-credentials",
                "--package=xtask"
            ])
        );
        assert!(package_selection(&os(&["--no-fail-fast"])).is_empty());
    }
}
