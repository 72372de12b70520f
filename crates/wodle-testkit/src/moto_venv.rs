//! Finds or installs moto's `moto_server`, the emulator every AWS-facing test runs against.
//!
//! Plain `std` on purpose: `xtask` compiles this same file (through `#[path]`), so that
//! `cargo xtask test` and the test kit agree on where the venv lives and when it is complete.

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Names a `moto_server` executable to use instead of the workspace's venv.
pub const MOTO_SERVER_ENV: &str = "WODLE_AWS_MOTO_SERVER";

/// Why `moto_server` could not be found or installed; the message says how to fix it.
#[derive(Debug)]
pub struct MotoSetupError {
    what_failed: String,
    details: String,
}

impl MotoSetupError {
    fn new(what_failed: impl Into<String>, details: impl Into<String>) -> Self {
        MotoSetupError {
            what_failed: what_failed.into(),
            details: details.into(),
        }
    }
}

impl fmt::Display for MotoSetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "moto (the AWS emulator the tests need) is unavailable:")?;
        writeln!(f, "  {}", self.what_failed)?;
        if !self.details.is_empty() {
            for line in self.details.lines() {
                writeln!(f, "    | {line}")?;
            }
        }
        write!(
            f,
            "To fix: run `cargo xtask test` (it installs moto into target/moto-venv), \
             or make `python3 -m venv` work (Debian: `apt-get install -y python3-venv`), \
             or set {MOTO_SERVER_ENV} to a `moto_server` executable (PyPI `moto[server]`)."
        )
    }
}

impl std::error::Error for MotoSetupError {}

/// Returns the `moto_server` to run: `$WODLE_AWS_MOTO_SERVER` when set, else the one in
/// `<workspace>/target/moto-venv`, creating that venv first if it is missing or stale.
///
/// Safe to call from many processes at once: creation happens under an exclusive lock on
/// `target/moto-venv.lock`, and the venv counts as complete only once its marker file holds
/// the exact requirements it was installed from (written after pip succeeded).
/// `progress` hears about the slow path (about a minute of pip) before it starts.
pub fn ensure_moto_server(
    workspace_root: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<PathBuf, MotoSetupError> {
    if let Some(explicit) = std::env::var_os(MOTO_SERVER_ENV) {
        let explicit = PathBuf::from(explicit);
        if explicit.is_file() {
            return Ok(explicit);
        }
        return Err(MotoSetupError::new(
            format!(
                "{MOTO_SERVER_ENV} is set to {}, which is not a file",
                explicit.display()
            ),
            "",
        ));
    }

    let layout = VenvLayout::new(workspace_root);
    let requirements = fs::read_to_string(&layout.requirements).map_err(|e| {
        MotoSetupError::new(
            format!("cannot read {}: {e}", layout.requirements.display()),
            "",
        )
    })?;
    if layout.is_complete(&requirements) {
        return Ok(layout.moto_server);
    }

    fs::create_dir_all(&layout.target_dir).map_err(|e| {
        MotoSetupError::new(
            format!("cannot create {}: {e}", layout.target_dir.display()),
            "",
        )
    })?;
    let lock_file = File::create(&layout.lock).map_err(|e| {
        MotoSetupError::new(format!("cannot open {}: {e}", layout.lock.display()), "")
    })?;
    lock_file.lock().map_err(|e| {
        MotoSetupError::new(format!("cannot lock {}: {e}", layout.lock.display()), "")
    })?;
    // Another process may have finished the venv while this one waited for the lock.
    if layout.is_complete(&requirements) {
        return Ok(layout.moto_server);
    }
    progress(&format!(
        "creating {} and installing {} (one time, about a minute)",
        layout.venv.display(),
        layout.requirements.display()
    ));
    layout.create(&requirements)?;
    drop(lock_file);
    Ok(layout.moto_server)
}

struct VenvLayout {
    target_dir: PathBuf,
    venv: PathBuf,
    lock: PathBuf,
    marker: PathBuf,
    moto_server: PathBuf,
    python: PathBuf,
    requirements: PathBuf,
}

impl VenvLayout {
    fn new(workspace_root: &Path) -> Self {
        let target_dir = workspace_root.join("target");
        let venv = target_dir.join("moto-venv");
        VenvLayout {
            lock: target_dir.join("moto-venv.lock"),
            marker: venv.join("wodle-installed-requirements.txt"),
            moto_server: venv.join("bin").join("moto_server"),
            python: venv.join("bin").join("python"),
            requirements: workspace_root.join("tests").join("requirements-moto.txt"),
            target_dir,
            venv,
        }
    }

    fn is_complete(&self, requirements: &str) -> bool {
        self.moto_server.is_file()
            && fs::read_to_string(&self.marker).is_ok_and(|installed| installed == requirements)
    }

    fn create(&self, requirements: &str) -> Result<(), MotoSetupError> {
        // A venv without a matching marker is a half-finished or outdated install: start over
        // rather than patch it, so the result never depends on what was there before.
        if self.venv.exists() {
            fs::remove_dir_all(&self.venv).map_err(|e| {
                MotoSetupError::new(
                    format!("cannot remove the stale {}: {e}", self.venv.display()),
                    "",
                )
            })?;
        }
        run(
            Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&self.venv),
            "`python3 -m venv` failed",
        )?;
        run(
            Command::new(&self.python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .arg("-r")
                .arg(&self.requirements),
            "`pip install -r tests/requirements-moto.txt` failed",
        )?;
        if !self.moto_server.is_file() {
            return Err(MotoSetupError::new(
                format!(
                    "pip succeeded but {} does not exist",
                    self.moto_server.display()
                ),
                "",
            ));
        }
        fs::write(&self.marker, requirements).map_err(|e| {
            MotoSetupError::new(format!("cannot write {}: {e}", self.marker.display()), "")
        })
    }
}

fn run(command: &mut Command, what_failed: &str) -> Result<Output, MotoSetupError> {
    let output = command.output().map_err(|e| {
        MotoSetupError::new(
            format!("{what_failed}: cannot run {:?}: {e}", command.get_program()),
            "",
        )
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let mut details = String::from_utf8_lossy(&output.stdout).into_owned();
    details.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(MotoSetupError::new(
        format!("{what_failed} ({})", output.status),
        last_lines(&details, 30),
    ))
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}
