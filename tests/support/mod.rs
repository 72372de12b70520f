//! What the end-to-end tests share: a moto server, a Wazuh home with a real
//! analysisd socket, `~/.aws` files, and a way to run the binary against them.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

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
