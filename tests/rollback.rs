//! Rolling back to the reference, and forward again: after our runs, Python's
//! own sqlite3 (the one the reference uses) reads and writes `aws_services.db`
//! with the reference's queries (spec §5), and our next run follows what that
//! "reference run" recorded.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::World;

/// The Python of the test venv (moto's): a real CPython with its sqlite3.
fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let moto_server = wodle_testkit::ensure_moto_server(root, &mut |_| {})
        .unwrap_or_else(|error| panic!("the test venv is needed for Python: {error}"));
    let bin = moto_server
        .parent()
        .expect("moto_server lives in the venv's bin directory");
    ["python3", "python"]
        .iter()
        .map(|name| bin.join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| panic!("no python in {}", bin.display()))
}

/// What the reference does with the database for one stream, in its own
/// statements' terms: read the Wazuh version, read the stream's row, and
/// (given `new_end` and `new_token`) save it after "its" run. Prints
/// `version|next_token|start_time|end_time|integrity`.
const REFERENCE_LIKE_SCRIPT: &str = r#"
import sqlite3, sys
db, region, group, stream, new_end, new_token = sys.argv[1:7]
conn = sqlite3.connect(db)
cur = conn.cursor()
cur.execute("SELECT value FROM metadata WHERE key = 'version'")
version = cur.fetchone()[0]
cur.execute(
    "SELECT next_token, start_time, end_time FROM cloudwatch_logs "
    "WHERE aws_region=:aws_region AND aws_log_group=:aws_log_group AND aws_log_stream=:aws_log_stream",
    {"aws_region": region, "aws_log_group": group, "aws_log_stream": stream})
token, start, end = cur.fetchone()
if new_end != "-":
    cur.execute(
        "UPDATE cloudwatch_logs SET next_token=:next_token, start_time=:start_time, end_time=:end_time "
        "WHERE aws_region=:aws_region AND aws_log_group=:aws_log_group AND aws_log_stream=:aws_log_stream",
        {"next_token": new_token, "start_time": start, "end_time": int(new_end),
         "aws_region": region, "aws_log_group": group, "aws_log_stream": stream})
    conn.commit()
integrity = cur.execute("PRAGMA integrity_check").fetchone()[0]
conn.close()
print(f"{version}|{token}|{start}|{end}|{integrity}")
"#;

fn reference_like_run(world: &World, new_end: Option<i64>, new_token: &str) -> Vec<String> {
    let output = Command::new(python())
        .arg("-c")
        .arg(REFERENCE_LIKE_SCRIPT)
        .arg(world.database())
        .args(["us-east-1", "apache", "web-1"])
        .arg(new_end.map_or("-".to_owned(), |end| end.to_string()))
        .arg(new_token)
        .output()
        .expect("python runs");
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .split('|')
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_reads_our_database_and_we_follow_what_it_wrote() {
    let world = World::new();
    let seeder = world.moto.seeder("us-east-1");
    seeder.create_log_group("apache").await;
    seeder.create_log_stream("apache", "web-1").await;
    let t = world.today().max(world.now - 60_000);
    let lines: Vec<(i64, String)> = (0..9).map(|i| (t + i, format!("line {i}"))).collect();
    let put = |range: std::ops::Range<usize>| {
        lines[range]
            .iter()
            .map(|(ts, m)| (*ts, m.as_str()))
            .collect::<Vec<_>>()
    };
    seeder.put_events("apache", "web-1", &put(0..5)).await;
    let args = ["--aws_log_groups", "apache", "--regions", "us-east-1"];
    world.one_shot(&args).expect_code(0);
    assert_eq!(world.wait_received(5).len(), 5);

    // Rolled back: the reference's Python reads our file (WAL mode included)
    // and finds a row it can continue from.
    let rows = world.reference_rows();
    let our_token = rows[0].3.clone().expect("a token");
    let seen = reference_like_run(&world, None, "");
    assert_eq!(seen[1], our_token);
    assert_eq!(seen[2], world.today().to_string());
    assert_eq!(seen[3], (t + 4).to_string(), "the newest event delivered");
    assert_eq!(seen[4], "ok");
    assert!(seen[0].starts_with("wodle-aws "), "{seen:?}");

    // "The reference" runs for a while: it delivers lines 5 and 6 itself and
    // records them, with a token of its own.
    seeder.put_events("apache", "web-1", &put(5..9)).await;
    let after = reference_like_run(&world, Some(t + 6), "token-of-the-reference");
    assert_eq!(after[4], "ok");

    // Rolled forward: our cursor no longer agrees with the row, so the row
    // wins and we continue after its newest event.
    world.one_shot(&args).expect_code(0);
    let received = world.wait_received(7);
    assert_eq!(received[5..], ["line 7", "line 8"]);
    let rows = world.reference_rows();
    assert_eq!(rows[0].5, Some(t + 8));
    assert_ne!(rows[0].3.as_deref(), Some("token-of-the-reference"));
}
