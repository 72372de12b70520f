//! The emulator starts, answers, resets, and leaves nothing behind.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wodle_testkit::{MOTO_DEFAULT_ACCOUNT_ID, MotoServer, now_millis};

/// Set in the child process of `moto_dies_with_a_killed_test_process`: where to write moto's pid.
const CHILD_PID_FILE_ENV: &str = "WODLE_TESTKIT_TEST_MOTO_PID_FILE";

fn port_is_open(port: u16) -> bool {
    TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(500),
    )
    .is_ok()
}

/// Gone, or a zombie nobody reaped yet (a container's init may never reap it).
fn process_is_gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn moto_answers_sdk_calls_and_reset_clears_them() {
    let moto = MotoServer::start();
    assert_eq!(
        moto.endpoint_url(),
        format!("http://127.0.0.1:{}", moto.port())
    );
    let seeder = moto.seeder("eu-west-1");
    seeder.create_log_group("group").await;
    seeder.create_log_stream("group", "stream").await;
    let now = now_millis();
    seeder
        .put_events("group", "stream", &[(now, "second"), (now - 1000, "first")])
        .await;

    let events = moto
        .logs_client("eu-west-1")
        .get_log_events()
        .log_group_name("group")
        .log_stream_name("stream")
        .start_from_head(true)
        .send()
        .await
        .expect("GetLogEvents");
    let messages: Vec<&str> = events.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(
        messages,
        ["first", "second"],
        "events come back sorted by time"
    );

    let groups = moto
        .logs_client("eu-west-1")
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups");
    let arn = groups.log_groups()[0].arn().expect("a group ARN");
    assert!(arn.contains(MOTO_DEFAULT_ACCOUNT_ID), "{arn}");

    moto.reset();
    let groups = moto
        .logs_client("eu-west-1")
        .describe_log_groups()
        .send()
        .await
        .expect("DescribeLogGroups after reset");
    assert!(groups.log_groups().is_empty(), "reset clears every group");
}

#[test]
fn dropping_moto_kills_and_reaps_it() {
    let moto = MotoServer::start();
    let (pid, port) = (moto.pid(), moto.port());
    assert!(port_is_open(port));
    assert!(!process_is_gone(pid));
    let log_path = moto.log_path().to_path_buf();
    assert!(moto.log().contains("GET /moto-api/"), "{}", moto.log());

    drop(moto);
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "moto's process {pid} was reaped, not left a zombie"
    );
    assert!(!port_is_open(port), "nothing listens on {port} any more");
    assert!(
        !log_path.exists(),
        "the log's temporary directory is removed"
    );
}

#[test]
fn two_servers_run_side_by_side() {
    let first = MotoServer::start();
    let second = MotoServer::start();
    assert_ne!(first.port(), second.port());
    assert!(port_is_open(first.port()) && port_is_open(second.port()));
}

#[test]
fn moto_dies_with_a_killed_test_process() {
    if let Some(pid_file) = std::env::var_os(CHILD_PID_FILE_ENV) {
        // The child's part: start moto, report it, and wait to be killed.
        let moto = MotoServer::start();
        // Written then renamed, so the parent never reads half a pid.
        let partial = std::path::PathBuf::from(&pid_file).with_extension("partial");
        std::fs::write(&partial, moto.pid().to_string()).expect("write moto's pid");
        std::fs::rename(&partial, &pid_file).expect("publish moto's pid");
        std::thread::sleep(Duration::from_secs(120));
        return;
    }

    let scratch = tempfile::tempdir().expect("tempdir");
    let pid_file = scratch.path().join("moto.pid");
    let mut child = Command::new(std::env::current_exe().expect("this test binary"))
        .args([
            "--exact",
            "moto_dies_with_a_killed_test_process",
            "--nocapture",
        ])
        .env(CHILD_PID_FILE_ENV, &pid_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run this test binary as the child");
    wait_until("the child starts moto", Duration::from_secs(60), || {
        pid_file.exists()
    });
    let moto_pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("read moto's pid")
        .parse()
        .expect("a pid");
    assert!(!process_is_gone(moto_pid));

    child.kill().expect("SIGKILL the child: no Drop runs");
    child.wait().expect("reap the child");
    wait_until(
        "moto dies with the process that started it",
        Duration::from_secs(10),
        || process_is_gone(moto_pid),
    );
}
