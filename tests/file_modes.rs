//! What wodle-aws leaves on the file system, and what it accepts as the
//! analysisd queue.
//!
//! Files we create (the database, SQLite's `-wal` and `-shm` files, the lock
//! file, ossec.log) are for their owner and group only, whatever the umask:
//! Wazuh runs as `wazuh:wazuh`, and the database holds which logs are read.
//! The queue socket path must be a socket: a regular file, a directory or a
//! dangling link there is a clear error naming the path and what it is, and
//! nothing is committed.

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::seed::{one_shot_args, wodle_config};
use support::{Run, World};

const GROUP: &str = "modes";
const REGION: &str = "us-east-1";
const FINISHED: &str = "INFO: Fetching logs finished.";

/// `command`, run through `sh` with `umask` set first: the binary inherits it.
fn with_umask(command: &Command, umask: &str) -> Command {
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(command.get_program())
        .args(command.get_args());
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(name, value),
            None => wrapped.env_remove(name),
        };
    }
    wrapped
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn beside(database: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", database.display()))
}

/// A group with one stream of `count` events, stamped within the last minutes.
async fn seed(world: &World, count: usize) -> Vec<String> {
    let seeder = world.moto.seeder(REGION);
    seeder.create_log_group(GROUP).await;
    seeder.create_log_stream(GROUP, "s").await;
    let base = (world.now - 60_000).max(world.today());
    let events: Vec<(i64, String)> = (0..count)
        .map(|i| (base + i as i64, format!("file modes event {i}")))
        .collect();
    seeder.put_events(GROUP, "s", &events).await;
    events.into_iter().map(|(_, message)| message).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn files_we_create_are_for_owner_and_group_only_even_under_umask_000() {
    let world = World::new();
    let sent = seed(&world, 3).await;
    let config = world.write_config("ossec.conf", &wodle_config(GROUP, REGION, "1h"));
    std::fs::create_dir_all(world.home.logs_dir()).expect("create logs/");
    let command = world.command(&[
        "run",
        "--config",
        config.to_str().expect("a UTF-8 path"),
        "--ossec-log",
    ]);
    let mut daemon = support::Daemon::spawn(with_umask(&command, "000"));
    daemon.wait_for_line(FINISHED, 1);
    assert_eq!(world.wait_received(sent.len()), sent);

    // The daemon keeps the database open between runs: the -wal and -shm
    // files exist now.
    let database = world.database();
    let ours = [
        database.clone(),
        beside(&database, "-wal"),
        beside(&database, "-shm"),
        beside(&database, ".wodle-aws.lock"),
    ];
    for path in &ours {
        assert_eq!(mode(path), 0o640, "{}", path.display());
    }
    // Wazuh's own mode for ossec.log: its daemons (group wazuh) append to it.
    let ossec_log = world.home.logs_dir().join("ossec.log");
    assert_eq!(mode(&ossec_log), 0o660, "{}", ossec_log.display());

    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0), "{}", daemon.lines().join("\n"));
    assert_eq!(mode(&database), 0o640);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_database_keeps_its_mode() {
    let world = World::new();
    let sent = seed(&world, 2).await;
    let database = world.database();
    std::fs::write(&database, b"").expect("an empty database");
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
    let command = world.command(&one_shot_args(GROUP, REGION, &[]));
    Run::of(with_umask(&command, "000")).expect_code(0);
    assert_eq!(world.wait_received(sent.len()), sent);
    assert_eq!(mode(&database), 0o600);
}

// ---------------------------------------------------------------------------
// The queue socket path.

/// A one-shot run sending to `queue` instead of the world's socket, waiting at
/// most a second for analysisd.
fn run_with_queue(world: &World, queue: &Path) -> Run {
    world.one_shot(&[
        "--aws_log_groups",
        GROUP,
        "--regions",
        REGION,
        "--queue-socket",
        queue.to_str().expect("a UTF-8 path"),
        "--analysisd-timeout",
        "1",
    ])
}

/// The run failed on what is at `queue`, said so, and committed nothing.
fn assert_not_a_socket(world: &World, run: &Run, queue: &Path, what: &str) {
    run.expect_code(13);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|line| line.starts_with("ERROR: "))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "ERROR: Error sending message to wazuh: the analysisd queue {} is {what}, not a socket",
            queue.display()
        )],
        "{}",
        run.stderr
    );
    assert_eq!(world.reference_rows(), [], "nothing is committed");
    assert!(world.received().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_regular_file_at_the_queue_path_is_named_and_nothing_is_committed() {
    let world = World::new();
    seed(&world, 2).await;
    let queue = world.home.path().join("queue/sockets/regular");
    std::fs::write(&queue, b"").expect("a regular file");
    let run = run_with_queue(&world, &queue);
    assert_not_a_socket(&world, &run, &queue, "a regular file");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_directory_at_the_queue_path_is_named_and_nothing_is_committed() {
    let world = World::new();
    seed(&world, 2).await;
    let queue = world.home.path().join("queue/sockets/directory");
    std::fs::create_dir(&queue).expect("a directory");
    let run = run_with_queue(&world, &queue);
    assert_not_a_socket(&world, &run, &queue, "a directory");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dangling_link_at_the_queue_path_is_named_and_nothing_is_committed() {
    let world = World::new();
    seed(&world, 2).await;
    let queue = world.home.path().join("queue/sockets/dangling");
    std::os::unix::fs::symlink(world.home.path().join("queue/sockets/nothing"), &queue)
        .expect("a dangling link");
    let run = run_with_queue(&world, &queue);
    assert_not_a_socket(&world, &run, &queue, "a dangling symbolic link");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_link_to_the_real_socket_works() {
    let world = World::new();
    let sent = seed(&world, 3).await;
    let queue = world.home.path().join("queue/sockets/link");
    std::os::unix::fs::symlink(world.home.queue_socket_path(), &queue).expect("a link");
    run_with_queue(&world, &queue).expect_code(0);
    assert_eq!(world.wait_received(sent.len()), sent);
    assert_eq!(world.reference_rows().len(), 1);
}
