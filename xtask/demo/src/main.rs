//! The newcomer demo behind `cargo xtask demo`: wodle-aws collecting sample Apache logs from an emulated AWS.
//!
//! Without an AWS account: starts moto (the AWS emulator the tests use) on a free loopback
//! port, seeds the log group `apache-access` with two streams of Apache access logs, plays
//! analysisd on a real datagram socket in a temporary Wazuh home, runs the wodle-aws binary
//! as modulesd would, and prints what analysisd received. A second run shows the checkpoint
//! at work (nothing is sent again) and the checkpoint rows are read back from SQLite.
//!
//! Every step is checked: the exit status is non-zero unless each event arrived exactly
//! once, in its stream's order, and the rerun sent nothing. Everything it starts or
//! creates is gone when it ends, on success or failure (moto also dies with this process
//! if it is killed).
//!
//! `xtask` builds the binaries and runs this; `--wodle-aws PATH` names the binary to run
//! (default: `wodle-aws` beside this program, where cargo puts both).

mod apache;
mod checkpoint;
mod delivery;
mod error;
mod wodle;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use wodle_testkit::{AwsFiles, MotoServer, WazuhHome, ensure_moto_server, now_millis};

use crate::apache::{LOG_GROUP, REGION, STREAMS, SampleEvent};
use crate::checkpoint::ReferenceRow;
use crate::delivery::{Analysisd, DeliveryCheck, printable};
use crate::error::DemoError;
use crate::wodle::{Wodle, WodleRun};

/// The test keys moto accepts; the config gives the default profile a region, as a real
/// `~/.aws/config` usually does.
const CREDENTIALS: &str =
    "[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n";
const CONFIG: &str = "[default]\nregion = us-east-1\n";
const SECTIONS: usize = 6;

fn main() -> ExitCode {
    let started = Instant::now();
    let outcome = binary_path(std::env::args_os().skip(1).collect()).and_then(demo);
    match outcome {
        Ok(summary) => {
            println!("\n== Done in {:.1?} ==\nOK: {summary}", started.elapsed());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("\n== Demo FAILED ==\n{error}");
            ExitCode::FAILURE
        }
    }
}

/// `--wodle-aws PATH`, else `wodle-aws` beside this program.
fn binary_path(args: Vec<OsString>) -> Result<PathBuf, DemoError> {
    let path = match args.as_slice() {
        [] => std::env::current_exe()
            .map_err(DemoError::OwnPath)?
            .with_file_name(format!("wodle-aws{}", std::env::consts::EXE_SUFFIX)),
        [flag, path] if flag == "--wodle-aws" => PathBuf::from(path),
        other => {
            let shown: Vec<_> = other.iter().map(|arg| arg.to_string_lossy()).collect();
            return Err(DemoError::Usage(shown.join(" ")));
        }
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(DemoError::BinaryMissing(path))
    }
}

fn section(number: usize, title: &str) {
    println!("\n== {number}/{SECTIONS}  {title} ==");
}

/// Runs every step; returns the one-line summary of what was shown.
fn demo(binary: PathBuf) -> Result<String, DemoError> {
    section(1, "Start moto, the AWS emulator (no AWS account needed)");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    ensure_moto_server(&workspace, &mut |note| println!("   {note}"))?;
    let moto = MotoServer::start();
    println!("   moto listens on {}", moto.endpoint_url());

    section(
        2,
        &format!("Seed CloudWatch Logs: log group \"{LOG_GROUP}\" in {REGION}"),
    );
    let events = apache::sample_events(now_millis());
    seed(&moto, &events)?;
    for stream in STREAMS {
        let of_stream = apache::events_of(&events, stream);
        if let (Some(first), Some(last)) = (of_stream.first(), of_stream.last()) {
            println!(
                "   stream {stream}: {} Apache access log lines, {} .. {}",
                of_stream.len(),
                apache_time_of(first),
                apache_time_of(last)
            );
        }
    }
    println!(
        "   {} events in all: ordinary traffic plus a 404, 500s, an sqlmap SQL injection scan,\n   \
         a path traversal, a Nikto XSS probe and password guessing on /wp-login.php",
        events.len()
    );

    section(
        3,
        "Play analysisd: a datagram socket in a temporary Wazuh home",
    );
    let home = WazuhHome::new();
    let mut analysisd = Analysisd::bind(&home.queue_socket_path());
    println!(
        "   WAZUH_HOME={}\n   listening on {} (what analysisd binds)",
        home.path().display(),
        analysisd.path().display()
    );

    section(4, "Run wodle-aws as modulesd would");
    let aws_files = AwsFiles::new(CONFIG, CREDENTIALS);
    let wodle = Wodle::new(
        binary,
        aws_files.child_env(&moto.endpoint_url()),
        home.path(),
    );
    println!(
        "   binary: {}\n   environment: WAZUH_HOME (above), AWS_ENDPOINT_URL={} (every AWS call goes to moto),\n   \
         AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE in {} (test keys), nothing else AWS_*",
        wodle.binary().display(),
        moto.endpoint_url(),
        aws_files.dir().display()
    );
    let args = wodle_args(&events);
    let first = run_and_show(&wodle, &args, "first")?;
    let received = analysisd.take_new()?;
    println!(
        "   analysisd received {} datagram(s), exactly as it would read them:",
        received.len()
    );
    for datagram in &received {
        println!("   {}", printable(datagram));
    }
    if !first.succeeded() {
        return Err(DemoError::WodleFailed {
            run: "first",
            code: first.describe_exit(),
        });
    }
    let check = DeliveryCheck::of(&events, &received);
    if !check.is_exact() {
        return Err(DemoError::Delivery(check));
    }
    println!(
        "   check: all {} events arrived once each, each stream in time order",
        events.len()
    );

    section(5, "Run it again: the checkpoint says everything was sent");
    let second = run_and_show(&wodle, &args, "second")?;
    let resent = analysisd.take_new()?;
    println!("   analysisd received {} datagram(s)", resent.len());
    for datagram in &resent {
        println!("   {}", printable(datagram));
    }
    if !second.succeeded() {
        return Err(DemoError::WodleFailed {
            run: "second",
            code: second.describe_exit(),
        });
    }
    if !resent.is_empty() {
        return Err(DemoError::Resent(resent.len()));
    }

    section(6, "The checkpoint, read back from SQLite");
    let database = home.database_path();
    let rows = checkpoint::reference_rows(&database)?;
    println!(
        "   {}\n   table cloudwatch_logs: the Python wodle's own table, so either program resumes the other\n",
        database.display()
    );
    for row in &rows {
        for line in checkpoint::describe(row).lines() {
            println!("   {line}");
        }
    }
    check_checkpoint(&rows, &events)?;
    println!("   check: one row per stream; end_time is the stream's last event");

    Ok(format!(
        "{} events put into {} streams; {} datagrams, each event once and in stream order; \
         0 on the rerun; {} checkpoint rows.",
        events.len(),
        STREAMS.len(),
        received.len(),
        rows.len()
    ))
}

fn seed(moto: &MotoServer, events: &[SampleEvent]) -> Result<(), DemoError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DemoError::Runtime)?;
    let seeder = moto.seeder(REGION);
    runtime.block_on(async {
        seeder.create_log_group(LOG_GROUP).await;
        for stream in STREAMS {
            seeder.create_log_stream(LOG_GROUP, stream).await;
            let of_stream: Vec<(i64, &str)> = apache::events_of(events, stream)
                .into_iter()
                .map(|event| (event.timestamp, event.message.as_str()))
                .collect();
            seeder.put_events(LOG_GROUP, stream, &of_stream).await;
        }
    });
    Ok(())
}

/// The reference's one-shot command line. `--only_logs_after` names the day of the first
/// event: the default, today 00:00 UTC, would skip the events before midnight when the demo
/// runs just after it.
fn wodle_args(events: &[SampleEvent]) -> Vec<String> {
    let first = events
        .iter()
        .map(|event| event.timestamp)
        .min()
        .unwrap_or(0);
    [
        "--service",
        "cloudwatchlogs",
        "--aws_log_groups",
        LOG_GROUP,
        "--regions",
        REGION,
        "--only_logs_after",
        &apache::only_logs_after(first),
        "--debug",
        "1",
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run_and_show(wodle: &Wodle, args: &[String], which: &str) -> Result<WodleRun, DemoError> {
    println!("\n   $ wodle-aws {}", args.join(" "));
    let run = wodle.run(args)?;
    if run.stderr.is_empty() {
        println!("   (nothing on stderr)");
    } else {
        println!("   its stderr:");
        for line in run.stderr.lines() {
            println!("   | {line}");
        }
    }
    if !run.stdout.is_empty() {
        println!("   its stdout:");
        for line in run.stdout.lines() {
            println!("   | {line}");
        }
    }
    println!("   the {which} run ended with {}", run.describe_exit());
    Ok(run)
}

/// The time in brackets of an Apache line: the event's own time, as the reader sees it.
fn apache_time_of(event: &SampleEvent) -> &str {
    event
        .message
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map_or("?", |(time, _)| time)
}

/// One row per stream, each ending at its stream's last event.
fn check_checkpoint(rows: &[ReferenceRow], events: &[SampleEvent]) -> Result<(), DemoError> {
    if rows.len() != STREAMS.len() {
        return Err(DemoError::Checkpoint(format!(
            "{} rows, expected one per stream ({})",
            rows.len(),
            STREAMS.len()
        )));
    }
    for stream in STREAMS {
        let last = apache::events_of(events, stream)
            .last()
            .map(|event| event.timestamp);
        let row = rows
            .iter()
            .find(|row| row.region == REGION && row.group == LOG_GROUP && row.stream == stream);
        match row {
            None => {
                return Err(DemoError::Checkpoint(format!(
                    "no row for {REGION} / {LOG_GROUP} / {stream}"
                )));
            }
            Some(row) if row.end_time != last => {
                return Err(DemoError::Checkpoint(format!(
                    "{stream}: end_time {:?}, expected the last event's {last:?}",
                    row.end_time
                )));
            }
            Some(_) => {}
        }
    }
    Ok(())
}
