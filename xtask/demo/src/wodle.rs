//! Runs the wodle-aws binary in a hermetic environment: only the demo's `~/.aws` files, the
//! emulator and the temporary Wazuh home, whatever the caller's shell holds.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wodle_testkit::ChildEnv;

use crate::error::DemoError;

/// Only a bound against hanging: a run takes about a second. Above wodle-aws's own 60 s wait
/// for analysisd, so a run that waits for it still ends on its own.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
const EXIT_POLL: Duration = Duration::from_millis(10);

/// Variables of ours that would change what the binary does (a fixed clock, an idle lag,
/// a log filter), so the caller's shell must not pass them on.
fn inherited_overrides() -> Vec<OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| {
            let name = name.to_string_lossy();
            name.starts_with("WODLE_AWS_") || name == "RUST_LOG"
        })
        .collect()
}

#[derive(Debug)]
pub struct Wodle {
    binary: PathBuf,
    env: ChildEnv,
}

/// How one run ended.
#[derive(Debug)]
pub struct WodleRun {
    /// `None` when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl WodleRun {
    pub fn succeeded(&self) -> bool {
        self.code == Some(0)
    }

    pub fn describe_exit(&self) -> String {
        self.code.map_or_else(
            || "no exit code (killed by a signal)".to_owned(),
            |code| format!("exit code {code}"),
        )
    }
}

impl Wodle {
    /// `env` must already point at the emulator and the AWS files; `WAZUH_HOME` is added.
    pub fn new(binary: PathBuf, env: ChildEnv, wazuh_home: &Path) -> Wodle {
        let env = inherited_overrides()
            .into_iter()
            .fold(env, ChildEnv::unset)
            .set("WAZUH_HOME", wazuh_home)
            // Its output is captured and shown indented, so terminal colour codes would
            // show up as garbage.
            .set("NO_COLOR", "1");
        Wodle { binary, env }
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Runs the binary with `args`, capturing its output; kills it after [`RUN_TIMEOUT`].
    pub fn run(&self, args: &[String]) -> Result<WodleRun, DemoError> {
        let mut command = Command::new(&self.binary);
        self.env.apply(&mut command);
        let mut child = command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| DemoError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        // Read both pipes while waiting, so a chatty run cannot block on a full pipe.
        let stdout = child.stdout.take().map(read_to_end);
        let stderr = child.stderr.take().map(read_to_end);
        let deadline = Instant::now() + RUN_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(EXIT_POLL),
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(DemoError::Hung(RUN_TIMEOUT));
                }
            }
        };
        Ok(WodleRun {
            code: status.code(),
            stdout: joined(stdout),
            stderr: joined(stderr),
        })
    }
}

fn read_to_end(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        // A read error leaves what was read so far, which is all there is to show.
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn joined(reader: Option<JoinHandle<String>>) -> String {
    reader
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_captures_output_and_exit_code_in_the_given_environment() {
        let env = ChildEnv::hermetic().set("DEMO_PROBE", "seen");
        let home = Path::new("/nonexistent/wazuh");
        let wodle = Wodle::new(PathBuf::from("/bin/sh"), env, home);
        let run = wodle
            .run(&[
                "-c".to_owned(),
                "echo \"$DEMO_PROBE $WAZUH_HOME\"; echo oops >&2; exit 3".to_owned(),
            ])
            .unwrap();
        assert_eq!(run.code, Some(3));
        assert!(!run.succeeded());
        assert_eq!(run.stdout, "seen /nonexistent/wazuh\n");
        assert_eq!(run.stderr, "oops\n");
        assert_eq!(run.describe_exit(), "exit code 3");
    }

    #[test]
    fn a_missing_binary_is_an_error_naming_it() {
        let wodle = Wodle::new(
            PathBuf::from("/nonexistent/wodle-aws"),
            ChildEnv::hermetic(),
            Path::new("/tmp"),
        );
        let error = wodle.run(&[]).unwrap_err();
        assert!(
            error.to_string().contains("/nonexistent/wodle-aws"),
            "{error}"
        );
    }
}
