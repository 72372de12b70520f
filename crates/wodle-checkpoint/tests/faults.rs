//! The database faults an administrator meets: a read-only file, a full disk,
//! a writer that keeps the database locked, a damaged page, and the modes of
//! the files we create. Each is a typed error naming the file, and none loses
//! or resets a committed checkpoint.

// The helpers below are test code too; clippy only exempts `#[test]` bodies.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use wodle_checkpoint::{
    CheckpointError, CheckpointStore, StoreOptions, StreamCheckpoint, StreamKey,
};

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("aws_services.db")
}

fn checkpoint(end_time: i64) -> StreamCheckpoint {
    StreamCheckpoint {
        next_token: Some(format!("f/{end_time}/s")),
        start_time: Some(1_000),
        end_time: Some(end_time),
    }
}

/// A database holding one committed checkpoint for stream "kept", closed.
fn database_with_a_checkpoint(path: &Path) -> StreamKey {
    let key = StreamKey::new("us-east-1", "g", "kept");
    let mut store = CheckpointStore::open(path).unwrap();
    store.put(&key, &checkpoint(2_000)).unwrap();
    key
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_read_only_database_is_refused_at_open_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let key = database_with_a_checkpoint(&path);
    let before = std::fs::read(&path).unwrap();

    let options = StoreOptions {
        read_only: true,
        ..StoreOptions::default()
    };
    match CheckpointStore::open_with(&path, &options) {
        Err(error @ CheckpointError::ReadOnly { .. }) => {
            let message = error.to_string();
            assert!(
                message.starts_with(&format!(
                    "The checkpoint database {} is read-only: ",
                    path.display()
                )),
                "{message}"
            );
            assert!(
                message.contains("writable by the user wodle-aws runs as"),
                "{message}"
            );
            assert_eq!(error.reference_exit_code(), 5);
        }
        other => panic!("expected ReadOnly, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let store = CheckpointStore::open(&path).unwrap();
    assert_eq!(store.get(&key).unwrap(), Some(checkpoint(2_000)));
}

#[test]
fn a_read_only_open_of_a_missing_file_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let options = StoreOptions {
        read_only: true,
        ..StoreOptions::default()
    };
    let error = CheckpointStore::open_with(&path, &options).unwrap_err();
    assert!(
        matches!(error, CheckpointError::Open { .. }),
        "expected Open, got {error:?}"
    );
    assert!(!path.exists());
}

#[test]
fn a_full_disk_fails_the_commit_and_keeps_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let kept = database_with_a_checkpoint(&path);
    let pages: u32 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_count", [], |row| row.get(0))
        .unwrap();

    let options = StoreOptions {
        max_page_count: Some(pages),
        ..StoreOptions::default()
    };
    let mut store = CheckpointStore::open_with(&path, &options).unwrap();
    // Rewriting a row in place needs no new page: it still works.
    store.put(&kept, &checkpoint(3_000)).unwrap();
    // Many long rows do need new pages.
    let batch = store.transaction().unwrap();
    let error = (0..200)
        .map(|i| {
            let key = StreamKey::new("us-east-1", "g", format!("{i:0>400}"));
            batch.put(&key, &checkpoint(i))
        })
        .find_map(Result::err)
        .unwrap_or_else(|| batch.commit().unwrap_err());
    match &error {
        CheckpointError::DiskFull { path: named, .. } => assert_eq!(named, &path),
        other => panic!("expected DiskFull, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("the disk is full"), "{message}");
    assert!(message.contains("Free space"), "{message}");
    assert_eq!(error.reference_exit_code(), 5);
    drop(store);

    let store = CheckpointStore::open(&path).unwrap();
    assert_eq!(store.get(&kept).unwrap(), Some(checkpoint(3_000)));
    let rows = store.streams_of_group("us-east-1", "g").unwrap();
    assert_eq!(rows.len(), 1, "the failed batch left nothing: {rows:?}");
}

/// Another program's write transaction, as the reference (or an sqlite3
/// shell) would hold it.
fn hold_write_lock(path: &Path) -> Connection {
    let holder = Connection::open(path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    holder
        .execute(
            "UPDATE cloudwatch_logs SET end_time = end_time WHERE aws_log_stream = 'kept'",
            [],
        )
        .unwrap();
    holder
}

#[test]
fn a_writer_holding_the_database_past_the_busy_timeout_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let kept = database_with_a_checkpoint(&path);
    let options = StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    };

    // At open (the schema transaction) ...
    let holder = hold_write_lock(&path);
    match CheckpointStore::open_with(&path, &options) {
        Err(error @ CheckpointError::Busy { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(
                message.contains("stayed locked by another program"),
                "{message}"
            );
            assert_eq!(error.reference_exit_code(), 5);
        }
        other => panic!("expected Busy, got {other:?}"),
    }
    drop(holder);

    // ... and at a later commit.
    let mut store = CheckpointStore::open_with(&path, &options).unwrap();
    let holder = hold_write_lock(&path);
    let error = store.put(&kept, &checkpoint(9_000)).unwrap_err();
    assert!(
        matches!(error, CheckpointError::Busy { .. }),
        "expected Busy, got {error:?}"
    );
    drop(holder);
    assert_eq!(store.get(&kept).unwrap(), Some(checkpoint(2_000)));
    store.put(&kept, &checkpoint(9_000)).unwrap();
}

#[test]
fn a_writer_that_finishes_within_the_busy_timeout_is_waited_for() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let kept = database_with_a_checkpoint(&path);
    let holder = hold_write_lock(&path);
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        holder.execute_batch("COMMIT").unwrap();
    });
    // The default timeout (10 s) is far longer than the holder's 0.3 s.
    let mut store = CheckpointStore::open(&path).unwrap();
    store.put(&kept, &checkpoint(4_000)).unwrap();
    release.join().unwrap();
    assert_eq!(store.get(&kept).unwrap(), Some(checkpoint(4_000)));
}

/// The root page of `table`, 1-based, from the schema.
fn root_page(path: &Path, table: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(
            "SELECT rootpage FROM sqlite_master WHERE name = ?1",
            [table],
            |row| row.get(0),
        )
        .unwrap()
}

#[test]
fn a_damaged_page_is_reported_when_read_and_the_file_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let kept = database_with_a_checkpoint(&path);
    let page_size: i64 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    let page = root_page(&path, "cloudwatch_logs");
    let mut bytes = std::fs::read(&path).unwrap();
    let start = usize::try_from((page - 1) * page_size).unwrap();
    bytes[start..start + 64].fill(0xA5);
    std::fs::write(&path, &bytes).unwrap();

    // The schema (page 1) is intact, so the damage shows when the table is read.
    let result = CheckpointStore::open(&path).and_then(|store| store.get(&kept));
    match result {
        Err(error @ CheckpointError::Corrupt { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert!(message.contains("malformed"), "{message}");
            assert!(message.contains("Move it aside to start over"), "{message}");
            assert!(message.contains("restore a backup"), "{message}");
            assert_eq!(error.reference_exit_code(), 5);
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), bytes);
}

#[test]
fn files_we_create_are_for_owner_and_group_only_and_an_existing_mode_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let store = CheckpointStore::open(&path).unwrap();
    // The test process's umask (typically 022) cannot widen 0640.
    assert_eq!(mode(&path) & !0o640, 0, "{:o}", mode(&path));
    for companion in ["-wal", "-shm", ".wodle-aws.lock"] {
        let file = PathBuf::from(format!("{}{companion}", path.display()));
        assert_eq!(
            mode(&file) & !0o640,
            0,
            "{}: {:o}",
            file.display(),
            mode(&file)
        );
    }
    drop(store);

    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"").unwrap();
    std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o604)).unwrap();
    drop(CheckpointStore::open(&existing).unwrap());
    assert_eq!(mode(&existing), 0o604);
}
