//! What the end-to-end tests share: a moto server, a Wazuh home with a real
//! analysisd socket, `~/.aws` files, and a way to run the binary against them.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

pub mod ledger;
pub mod seed;

use wodle_testkit::{AnalysisdReceiver, AwsFiles, MotoServer, WazuhHome, now_millis};

pub const DAY_MS: i64 = 86_400_000;

/// A credentials file with the test keys in `default` and `dev`, and a config
/// file giving `dev` a region.
pub const CREDENTIALS: &str = "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n[dev]\naws_access_key_id = testing\naws_secret_access_key = testing\n";
pub const CONFIG: &str = "[default]\nregion = us-east-1\n\n[profile dev]\nregion = eu-west-1\n";

/// One test's world: emulator, Wazuh home, receiver, AWS files, fixed clock.
pub struct World {
    pub moto: MotoServer,
    pub home: WazuhHome,
    pub analysisd: AnalysisdReceiver,
    pub aws: AwsFiles,
    /// The instant the binary takes as "now" (`WODLE_AWS_NOW`).
    pub now: i64,
}

impl World {
    pub fn new() -> World {
        let moto = MotoServer::start();
        let home = WazuhHome::new();
        let analysisd = home.bind_analysisd();
        World {
            moto,
            home,
            analysisd,
            aws: AwsFiles::new(CONFIG, CREDENTIALS),
            now: now_millis(),
        }
    }

    /// Today 00:00 UTC according to the world's clock.
    pub fn today(&self) -> i64 {
        self.now - self.now.rem_euclid(DAY_MS)
    }

    /// The binary with the world's environment; `args` follow.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wodle-aws"));
        self.aws
            .child_env(&self.moto.endpoint_url())
            .set("WAZUH_HOME", self.home.path())
            .set("WODLE_AWS_NOW", self.now.to_string())
            .unset("WODLE_AWS_IDLE_STREAM_LAG")
            .unset("RUST_LOG")
            .apply(&mut command);
        command.args(args);
        command
    }

    /// Runs the reference's one-shot command with `args` after `--service cloudwatchlogs`.
    pub fn one_shot(&self, args: &[&str]) -> Run {
        let mut all = vec!["--service", "cloudwatchlogs"];
        all.extend_from_slice(args);
        Run::of(self.command(&all))
    }

    /// Everything analysisd received so far, as text without the header.
    pub fn received(&self) -> Vec<String> {
        self.analysisd
            .texts()
            .into_iter()
            .map(|text| {
                text.strip_prefix("1:Wazuh-AWS:")
                    .unwrap_or_else(|| panic!("datagram without the header: {text:?}"))
                    .to_owned()
            })
            .collect()
    }

    /// Waits until `count` datagrams arrived (they are sent before the binary exits,
    /// but the receiver thread may lag).
    pub fn wait_received(&self, count: usize) -> Vec<String> {
        self.analysisd
            .wait_for_blocking(count, Duration::from_secs(20));
        self.received()
    }

    pub fn database(&self) -> PathBuf {
        self.home.database_path()
    }

    /// The rows of the reference's table, by key.
    pub fn reference_rows(&self) -> Vec<ReferenceRow> {
        let connection = rusqlite::Connection::open(self.database()).expect("the database opens");
        let mut statement = connection
            .prepare(
                "SELECT aws_region, aws_log_group, aws_log_stream, next_token, start_time, end_time
                 FROM cloudwatch_logs ORDER BY 1, 2, 3",
            )
            .expect("the reference's table exists");
        statement
            .query_map([], |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                    row.get(5)?,
                ))
            })
            .and_then(Iterator::collect)
            .expect("rows read")
    }
}

/// One row of the reference's `cloudwatch_logs` table: region, group, stream,
/// next_token, start_time, end_time.
pub type ReferenceRow = (
    String,
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// The outcome of one run of the binary.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn of(mut command: Command) -> Run {
        let Output {
            status,
            stdout,
            stderr,
        } = command.output().expect("the wodle-aws binary runs");
        Run {
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Panics with the output unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }
}

// ---------------------------------------------------------------------------
// `run --config FILE`: a running daemon, its stderr as it comes, signals.

/// How long any wait on a daemon may take before the test fails: generous,
/// only so that a broken binary cannot hang the suite.
pub const DAEMON_WAIT: Duration = Duration::from_secs(30);

impl World {
    /// Writes an ossec.conf-format file into `<WAZUH_HOME>/etc` and returns its path.
    pub fn write_config(&self, name: &str, text: &str) -> PathBuf {
        let path = self.home.etc_dir().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// Starts the binary with `args` in the background, its stderr read line by line.
    pub fn spawn(&self, args: &[&str]) -> Daemon {
        Daemon::spawn(self.command(args))
    }
}

/// A running `wodle-aws` whose stderr lines are collected as they come. Killed
/// (SIGKILL) on drop if still running, so a failing test leaves no process.
pub struct Daemon {
    child: std::process::Child,
    lines: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
    code: Option<Option<i32>>,
}

impl Daemon {
    pub fn spawn(mut command: Command) -> Daemon {
        use std::io::BufRead as _;
        use std::process::Stdio;

        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the wodle-aws binary starts");
        let stderr = child.stderr.take().expect("stderr is piped");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let reader = std::thread::spawn({
            let lines = std::sync::Arc::clone(&lines);
            move || {
                for line in std::io::BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    lines
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .push(line);
                }
            }
        });
        Daemon {
            child,
            lines,
            reader: Some(reader),
            code: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The stderr lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// How many stderr lines so far are exactly `line`.
    pub fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }

    /// Waits until `count` stderr lines are exactly `line`; panics with the
    /// whole stderr after [`DAEMON_WAIT`] or if the process exits first.
    pub fn wait_for_line(&mut self, line: &str, count: usize) {
        let deadline = std::time::Instant::now() + DAEMON_WAIT;
        loop {
            if self.count(line) >= count {
                return;
            }
            let exited = self.code.is_some()
                || self
                    .child
                    .try_wait()
                    .expect("the child's status is readable")
                    .is_some();
            // The reader may still hold the last lines of an exited process.
            if exited && self.reader.as_ref().is_none_or(|r| r.is_finished()) {
                if self.count(line) >= count {
                    return;
                }
                panic!(
                    "wodle-aws exited before printing {line:?} {count} times:\n{}",
                    self.lines().join("\n")
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no {count} lines {line:?} within {DAEMON_WAIT:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends a signal by name (`TERM`, `INT`, `HUP`, `KILL`) with kill(1).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.pid().to_string()])
            .status()
            .expect("kill(1) runs");
        assert!(status.success(), "kill -s {name} {} failed", self.pid());
    }

    /// Waits for the process to exit and returns its exit code (`None` when a
    /// signal ended it); panics with its stderr after [`DAEMON_WAIT`].
    pub fn wait_exit(&mut self) -> Option<i32> {
        if let Some(code) = self.code {
            return code;
        }
        let deadline = std::time::Instant::now() + DAEMON_WAIT;
        let status = loop {
            if let Some(status) = self
                .child
                .try_wait()
                .expect("the child's status is readable")
            {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "wodle-aws did not exit within {DAEMON_WAIT:?}:\n{}",
                self.lines().join("\n")
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.code = Some(status.code());
        status.code()
    }

    /// SIGKILL, as a crash or the OOM killer would, and waits for the end.
    pub fn kill_hard(&mut self) {
        let _ = self.child.kill();
        self.wait_exit();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.code.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

/// An analysisd that reads up to a limit and then stops reading while keeping
/// its socket open: the sender's queue fills and it blocks, so a test can kill
/// it at a known point mid-run. Datagrams the kernel accepted are never lost.
pub struct StallingReceiver {
    path: PathBuf,
    received: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    limit: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl StallingReceiver {
    /// Binds at `path`; reads at most `limit` datagrams until [`StallingReceiver::read_all`].
    pub fn bind(path: PathBuf, limit: usize) -> StallingReceiver {
        use std::sync::atomic::Ordering;

        let socket = std::os::unix::net::UnixDatagram::bind(&path)
            .unwrap_or_else(|e| panic!("bind {}: {e}", path.display()));
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("set the read timeout");
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let limit = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(limit));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = std::thread::spawn({
            let received = std::sync::Arc::clone(&received);
            let limit = std::sync::Arc::clone(&limit);
            let stop = std::sync::Arc::clone(&stop);
            move || {
                let mut buffer = vec![0u8; 1 << 20];
                while !stop.load(Ordering::Relaxed) {
                    let count = received
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .len();
                    if count >= limit.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                    match socket.recv(&mut buffer) {
                        Ok(length) => received
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .push(String::from_utf8_lossy(&buffer[..length]).into_owned()),
                        Err(e)
                            if matches!(
                                e.kind(),
                                std::io::ErrorKind::WouldBlock
                                    | std::io::ErrorKind::TimedOut
                                    | std::io::ErrorKind::Interrupted
                            ) => {}
                        Err(e) => panic!("receiving on the stalling socket failed: {e}"),
                    }
                }
            }
        });
        StallingReceiver {
            path,
            received,
            limit,
            stop,
            reader: Some(reader),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Lifts the limit: what is queued arrives, and everything after it.
    pub fn read_all(&self) {
        self.limit
            .store(usize::MAX, std::sync::atomic::Ordering::Relaxed);
    }

    /// The datagrams so far, as text with the header.
    pub fn texts(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Waits until `count` datagrams arrived; panics after [`DAEMON_WAIT`].
    pub fn wait_for(&self, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + DAEMON_WAIT;
        loop {
            let texts = self.texts();
            if texts.len() >= count {
                return texts;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {count} datagrams within {DAEMON_WAIT:?}, got {}",
                texts.len()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Every datagram queued so far, once read: sends a marker of its own (the
    /// queue is first in, first out) and waits for it. Lifts the limit.
    pub fn flush(&self) -> Vec<String> {
        const MARKER: &str = "--- flush marker ---";
        self.read_all();
        std::os::unix::net::UnixDatagram::unbound()
            .expect("an unbound datagram socket")
            .send_to(MARKER.as_bytes(), &self.path)
            .expect("send the flush marker");
        let deadline = std::time::Instant::now() + DAEMON_WAIT;
        loop {
            let mut texts = self.texts();
            if let Some(position) = texts.iter().position(|text| text == MARKER) {
                texts.remove(position);
                self.received
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .remove(position);
                return texts;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the flush marker did not arrive within {DAEMON_WAIT:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for StallingReceiver {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `YYYY/MM/DD HH:MM:SS ` at the start of `line`: Wazuh's ossec.log timestamp.
pub fn starts_with_wazuh_timestamp(line: &str) -> bool {
    const SHAPE: &[u8] = b"dddd/dd/dd dd:dd:dd ";
    let bytes = line.as_bytes();
    bytes.len() >= SHAPE.len()
        && SHAPE.iter().zip(bytes).all(|(shape, byte)| match shape {
            b'd' => byte.is_ascii_digit(),
            other => other == byte,
        })
}

/// The warning a run prints once per plain-http endpoint it calls (in `run` mode, and in
/// the one-shot mode with `--debug`): moto's URL in these tests.
pub fn plain_http_warning(url: &str) -> String {
    format!(
        "WARNING: The endpoint {url} is plain HTTP: requests and answers, including temporary \
         credentials, travel unencrypted. Use https:// outside a test setup."
    )
}
