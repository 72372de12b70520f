//! The store against real database files, including files shaped by the
//! reference's own SQL.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value;
use wodle_checkpoint::{
    CheckpointError, CheckpointStore, GroupRead, SCHEMA_VERSION, Segment, StoreOptions,
    StreamCheckpoint, StreamCursor, StreamKey,
};

fn cursor(segment: Segment) -> StreamCursor {
    StreamCursor {
        page_token: Some("f/7/s".into()),
        page_consumed: 3,
        token_saved_at: Some(10),
        last_timestamp: Some(15),
        last_timestamp_count: 2,
        max_ingestion_time: Some(20),
        read_at: Some(25),
        reference_token: Some("f/6/s".into()),
        ..StreamCursor::new(segment, 5, None)
    }
}

/// The table as the spec documents it.
const SPEC_CLOUDWATCH_LOGS: &str = "
CREATE TABLE cloudwatch_logs (
    aws_region     text NOT NULL,
    aws_log_group  text NOT NULL,
    aws_log_stream text NOT NULL,
    next_token     text,
    start_time     integer,
    end_time       integer,
    PRIMARY KEY (aws_region, aws_log_group, aws_log_stream));";

/// The statements the reference runs (wazuh_integration.py, cloudwatchlogs.py,
/// cloudtrail), byte for byte where it matters.
const REFERENCE_METADATA: &str = "
            CREATE TABLE metadata (
                key 'text' NOT NULL,
                value 'text' NOT NULL,
                PRIMARY KEY (key, value));";
const REFERENCE_CLOUDWATCH_LOGS: &str = "
            CREATE TABLE cloudwatch_logs (
                    aws_region 'text' NOT NULL,
                    aws_log_group 'text' NOT NULL,
                    aws_log_stream 'text' NOT NULL,
                    next_token 'text',
                    start_time 'integer',
                    end_time 'integer',
                    PRIMARY KEY (aws_region, aws_log_group, aws_log_stream));";
const REFERENCE_CLOUDTRAIL: &str = "
            CREATE TABLE cloudtrail (
                bucket_path 'text' NOT NULL,
                aws_account_id 'text' NOT NULL,
                aws_region 'text' NOT NULL,
                log_key 'text' NOT NULL,
                processed_date 'text' NOT NULL,
                created_date 'integer' NOT NULL,
                PRIMARY KEY (bucket_path, aws_account_id, aws_region, log_key));";
const REFERENCE_SELECT: &str = "
            SELECT
                next_token,
                start_time,
                end_time
            FROM
                cloudwatch_logs
            WHERE
                aws_region=:aws_region AND
                aws_log_group=:aws_log_group AND
                aws_log_stream=:aws_log_stream";

fn db_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("aws_services.db")
}

/// Case, quotes around type names and layout do not change what a DDL means.
fn normalise(sql: &str) -> String {
    let spaced = sql.to_lowercase().replace(['\'', ';'], "");
    let mut out = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    for punctuation in ["(", ")", ","] {
        out = out
            .replace(&format!(" {punctuation}"), punctuation)
            .replace(&format!("{punctuation} "), punctuation);
    }
    out
}

fn master_sql(connection: &Connection, table: &str) -> Option<String> {
    connection
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1",
            [table],
            |row| row.get(0),
        )
        .ok()
}

/// Everything `PRAGMA table_info` says, which is what any reader relies on.
fn table_info(connection: &Connection, table: &str) -> Vec<(String, String, bool, i64)> {
    let mut statement = connection
        .prepare("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1) ORDER BY cid")
        .expect("querying the test database");
    statement
        .query_map([table], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .expect("querying the test database")
        .collect::<Result<_, _>>()
        .expect("querying the test database")
}

fn table_names(connection: &Connection) -> Vec<String> {
    let mut statement = connection
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("querying the test database");
    statement
        .query_map([], |row| row.get(0))
        .expect("querying the test database")
        .collect::<Result<_, _>>()
        .expect("querying the test database")
}

fn metadata_rows(connection: &Connection) -> Vec<(String, String)> {
    let mut statement = connection
        .prepare("SELECT key, value FROM metadata ORDER BY key, value")
        .expect("querying the test database");
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .expect("querying the test database")
        .collect::<Result<_, _>>()
        .expect("querying the test database")
}

fn cloudtrail_rows(connection: &Connection) -> Vec<Vec<String>> {
    let mut statement = connection
        .prepare("SELECT * FROM cloudtrail ORDER BY log_key")
        .expect("querying the test database");
    statement
        .query_map([], |row| {
            (0..6)
                .map(|i| row.get::<_, Value>(i).map(|value| format!("{value:?}")))
                .collect()
        })
        .expect("querying the test database")
        .collect::<Result<_, _>>()
        .expect("querying the test database")
}

fn reference_select(connection: &Connection, key: &StreamKey) -> Option<(String, String, String)> {
    connection
        .query_row(
            REFERENCE_SELECT,
            rusqlite::named_params! {
                ":aws_region": key.region,
                ":aws_log_group": key.log_group,
                ":aws_log_stream": key.log_stream,
            },
            |row| {
                Ok((
                    format!("{:?}", row.get::<_, Value>(0)?),
                    format!("{:?}", row.get::<_, Value>(1)?),
                    format!("{:?}", row.get::<_, Value>(2)?),
                ))
            },
        )
        .ok()
}

/// A database as the reference leaves it after a CloudTrail run and a
/// CloudWatch Logs run.
fn create_reference_db(path: &Path) {
    let connection = Connection::open(path).expect("creating the reference database");
    connection
        .execute_batch(REFERENCE_METADATA)
        .expect("querying the test database");
    connection
        .execute(
            "INSERT INTO metadata (key, value) VALUES ('version', '4.9.2')",
            [],
        )
        .expect("querying the test database");
    connection
        .execute_batch(REFERENCE_CLOUDTRAIL)
        .expect("querying the test database");
    connection
        .execute_batch(
            "INSERT INTO cloudtrail VALUES
                ('bucket/', '123456789012', 'us-east-1', 'AWSLogs/a.json.gz', '2026-01-31', 20260131),
                ('bucket/', '123456789012', 'us-east-1', 'AWSLogs/b.json.gz', '2026-02-01', 20260201);",
        )
        .expect("querying the test database");
    connection
        .execute_batch(REFERENCE_CLOUDWATCH_LOGS)
        .expect("querying the test database");
    let insert = "INSERT INTO cloudwatch_logs (aws_region, aws_log_group, aws_log_stream, next_token,
                      start_time, end_time)
                  VALUES (:aws_region, :aws_log_group, :aws_log_stream, :next_token, :start_time, :end_time)";
    for (region, group, stream, token, start, end) in [
        (
            "us-east-1",
            "web",
            "i-0abc",
            Some("f/38163012345678901234567890/s"),
            Some(1_640_996_200_000_i64),
            Some(1_659_355_591_835_i64),
        ),
        ("us-east-1", "web", "i-0def", None, None, None),
        (
            "eu-west-1",
            "web",
            "i-0abc",
            Some("f/1/s"),
            Some(1),
            Some(2),
        ),
    ] {
        connection
            .execute(
                insert,
                rusqlite::named_params! {
                    ":aws_region": region,
                    ":aws_log_group": group,
                    ":aws_log_stream": stream,
                    ":next_token": token,
                    ":start_time": start,
                    ":end_time": end,
                },
            )
            .expect("querying the test database");
    }
}

#[test]
fn a_fresh_database_has_the_reference_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(CheckpointStore::open(&path).unwrap());

    let ours = Connection::open(&path).unwrap();
    let sql = master_sql(&ours, "cloudwatch_logs").unwrap();
    assert_eq!(normalise(&sql), normalise(SPEC_CLOUDWATCH_LOGS));
    assert_eq!(normalise(&sql), normalise(REFERENCE_CLOUDWATCH_LOGS));
    assert_eq!(
        normalise(&master_sql(&ours, "metadata").unwrap()),
        normalise(REFERENCE_METADATA)
    );

    let reference_dir = tempfile::tempdir().unwrap();
    let reference = Connection::open(db_path(&reference_dir)).unwrap();
    reference.execute_batch(REFERENCE_METADATA).unwrap();
    reference.execute_batch(REFERENCE_CLOUDWATCH_LOGS).unwrap();
    for table in ["cloudwatch_logs", "metadata"] {
        assert_eq!(
            table_info(&ours, table),
            table_info(&reference, table),
            "{table}"
        );
    }

    assert_eq!(
        metadata_rows(&ours),
        [(
            "version".to_owned(),
            StoreOptions::default().metadata_version
        )]
    );
    assert_eq!(
        table_names(&ours),
        [
            "cloudwatch_logs",
            "metadata",
            "wodle_aws_cursor",
            "wodle_aws_group_read",
            "wodle_aws_log_group",
            "wodle_aws_schema"
        ]
    );
}

#[test]
fn write_ahead_logging_is_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let _store = CheckpointStore::open(&path).unwrap();
    let other = Connection::open(&path).unwrap();
    let mode: String = other
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_reference_database_is_read_and_written_without_changing_its_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    create_reference_db(&path);
    let before = Connection::open(&path).unwrap();
    let reference_sql: Vec<_> = ["cloudwatch_logs", "metadata", "cloudtrail"]
        .iter()
        .map(|table| master_sql(&before, table))
        .collect();
    let cloudtrail_before = cloudtrail_rows(&before);
    drop(before);

    let mut store = CheckpointStore::open(&path).unwrap();
    let abc = StreamKey::new("us-east-1", "web", "i-0abc");
    assert_eq!(
        store.get(&abc).unwrap(),
        Some(StreamCheckpoint {
            next_token: Some("f/38163012345678901234567890/s".into()),
            start_time: Some(1_640_996_200_000),
            end_time: Some(1_659_355_591_835),
        })
    );
    assert_eq!(
        store
            .get(&StreamKey::new("us-east-1", "web", "i-0def"))
            .unwrap(),
        Some(StreamCheckpoint::default())
    );
    assert_eq!(
        store
            .get(&StreamKey::new("us-east-1", "web", "nope"))
            .unwrap(),
        None
    );

    let moved_on = StreamCheckpoint {
        next_token: Some("f/38163099999999999999999999/s".into()),
        start_time: Some(1_640_996_200_000),
        end_time: Some(1_767_229_200_000),
    };
    store.put(&abc, &moved_on).unwrap();
    let new_stream = StreamKey::new("us-east-1", "web", "i-0new");
    let first_read = StreamCheckpoint {
        next_token: Some("f/1/s".into()),
        start_time: Some(1_767_225_600_000),
        end_time: Some(1_767_225_600_123),
    };
    store.put(&new_stream, &first_read).unwrap();
    drop(store);

    let after = Connection::open(&path).unwrap();
    let sql_after: Vec<_> = ["cloudwatch_logs", "metadata", "cloudtrail"]
        .iter()
        .map(|table| master_sql(&after, table))
        .collect();
    assert_eq!(
        sql_after, reference_sql,
        "the reference's tables keep their exact DDL"
    );
    assert_eq!(cloudtrail_rows(&after), cloudtrail_before);
    assert_eq!(
        metadata_rows(&after),
        [("version".to_owned(), "4.9.2".to_owned())],
        "the reference's version is never overwritten"
    );

    // What the reference's own SELECT returns for our rows.
    assert_eq!(
        reference_select(&after, &abc),
        Some((
            "Text(\"f/38163099999999999999999999/s\")".into(),
            "Integer(1640996200000)".into(),
            "Integer(1767229200000)".into()
        ))
    );
    assert_eq!(
        reference_select(&after, &new_stream),
        Some((
            "Text(\"f/1/s\")".into(),
            "Integer(1767225600000)".into(),
            "Integer(1767225600123)".into()
        ))
    );
    assert_eq!(
        reference_select(&after, &StreamKey::new("eu-west-1", "web", "i-0abc")),
        Some((
            "Text(\"f/1/s\")".into(),
            "Integer(1)".into(),
            "Integer(2)".into()
        ))
    );
}

#[test]
fn python_none_text_reads_as_no_value_and_garbage_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let connection = Connection::open(&path).unwrap();
    connection.execute_batch(REFERENCE_CLOUDWATCH_LOGS).unwrap();
    connection
        .execute_batch(
            "INSERT INTO cloudwatch_logs VALUES ('us-east-1', 'g', 'none', 'None', 'None', 'None');
             INSERT INTO cloudwatch_logs VALUES ('us-east-1', 'g', 'bad', 'f/1/s', 'yesterday', 5);",
        )
        .unwrap();
    drop(connection);

    let store = CheckpointStore::open(&path).unwrap();
    assert_eq!(
        store
            .get(&StreamKey::new("us-east-1", "g", "none"))
            .unwrap(),
        Some(StreamCheckpoint::default())
    );
    match store.get(&StreamKey::new("us-east-1", "g", "bad")) {
        Err(CheckpointError::InvalidValue {
            column,
            stream,
            value,
            ..
        }) => {
            assert_eq!(column, "start_time");
            assert_eq!(*stream, StreamKey::new("us-east-1", "g", "bad"));
            assert!(value.contains("yesterday"), "{value}");
        }
        other => panic!("expected InvalidValue, got {other:?}"),
    }
}

#[test]
fn streams_of_group_lists_one_group_of_one_region_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    create_reference_db(&path);
    let mut store = CheckpointStore::open(&path).unwrap();
    store
        .put(
            &StreamKey::new("us-east-1", "other", "x"),
            &StreamCheckpoint::default(),
        )
        .unwrap();

    let streams = store.streams_of_group("us-east-1", "web").unwrap();
    let names: Vec<&str> = streams.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["i-0abc", "i-0def"]);
    assert_eq!(streams[0].1.end_time, Some(1_659_355_591_835));
    assert!(
        store
            .streams_of_group("ap-south-1", "web")
            .unwrap()
            .is_empty()
    );
}

#[test]
fn purge_forgets_streams_gone_from_aws_in_that_group_and_account_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    create_reference_db(&path);
    let mut store = CheckpointStore::open(&path).unwrap();
    let kept = StreamKey::new("us-east-1", "web", "i-0abc");
    let gone = StreamKey::new("us-east-1", "web", "i-0def");
    let state = cursor(Segment::Forward);
    store.put_cursor("111111111111", &gone, &state).unwrap();
    store
        .put_cursor("111111111111", &gone, &cursor(Segment::Backfill))
        .unwrap();
    store.put_cursor("111111111111", &kept, &state).unwrap();
    // A cursor whose reference row the reference already purged.
    let orphan = StreamKey::new("us-east-1", "web", "i-0orphan");
    store.put_cursor("111111111111", &orphan, &state).unwrap();
    // Another account's stream of the same group name, absent from this
    // account's listing: its cursor and the row stay.
    let theirs = StreamKey::new("us-east-1", "web", "i-0theirs");
    store.put(&theirs, &StreamCheckpoint::default()).unwrap();
    store.put_cursor("222222222222", &theirs, &state).unwrap();

    let existing: HashSet<String> = ["i-0abc".to_owned(), "i-0unread".to_owned()].into();
    assert_eq!(
        store
            .purge_missing("111111111111", "us-east-1", "web", &existing)
            .unwrap(),
        2
    );

    assert!(store.get(&kept).unwrap().is_some());
    assert!(store.get(&gone).unwrap().is_none());
    let forward = |account, key| store.get_cursor(account, key, Segment::Forward).unwrap();
    assert!(forward("111111111111", &gone).is_none());
    assert!(forward("111111111111", &orphan).is_none());
    assert_eq!(forward("111111111111", &kept), Some(state.clone()));
    assert!(
        store
            .get_cursor("111111111111", &gone, Segment::Backfill)
            .unwrap()
            .is_none()
    );
    assert!(store.get(&theirs).unwrap().is_some());
    assert_eq!(forward("222222222222", &theirs), Some(state));
    // Same group and stream names, other region: not this purge's business.
    assert!(
        store
            .get(&StreamKey::new("eu-west-1", "web", "i-0abc"))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .purge_missing("111111111111", "us-east-1", "web", &existing)
            .unwrap(),
        0
    );
}

#[test]
fn forget_keeps_the_row_another_account_still_uses() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    let key = StreamKey::new("us-east-1", "g", "s");
    store.put(&key, &StreamCheckpoint::default()).unwrap();
    store
        .put_cursor("111111111111", &key, &cursor(Segment::Forward))
        .unwrap();
    store
        .put_cursor("222222222222", &key, &cursor(Segment::Forward))
        .unwrap();
    assert!(store.forget("111111111111", &key).unwrap());
    assert!(store.get(&key).unwrap().is_some());
    assert!(store.forget("222222222222", &key).unwrap());
    assert!(store.get(&key).unwrap().is_none());
    assert!(!store.forget("222222222222", &key).unwrap());
}

#[test]
fn delete_forgets_checkpoint_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    let key = StreamKey::new("us-east-1", "g", "s");
    store.put(&key, &StreamCheckpoint::default()).unwrap();
    store
        .put_cursor("123456789012", &key, &cursor(Segment::Forward))
        .unwrap();
    assert!(store.delete(&key).unwrap());
    assert!(store.get(&key).unwrap().is_none());
    assert!(
        store
            .get_cursor("123456789012", &key, Segment::Forward)
            .unwrap()
            .is_none()
    );
    assert!(!store.delete(&key).unwrap());
}

#[test]
fn cursors_are_per_account_and_segment_and_know_when_they_are_stale() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    let key = StreamKey::new("us-east-1", "g", "s");
    let checkpoint = StreamCheckpoint {
        next_token: Some("f/6/s".into()),
        start_time: Some(1),
        end_time: Some(2),
    };
    let forward = cursor(Segment::Forward);
    let backfill = StreamCursor {
        window_end: Some(99),
        ..cursor(Segment::Backfill)
    };
    store.put(&key, &checkpoint).unwrap();
    store.put_cursor("111111111111", &key, &forward).unwrap();
    store.put_cursor("111111111111", &key, &backfill).unwrap();

    let get = |store: &CheckpointStore, account, segment| {
        store.get_cursor(account, &key, segment).unwrap()
    };
    assert_eq!(
        get(&store, "111111111111", Segment::Forward),
        Some(forward.clone())
    );
    assert_eq!(
        get(&store, "111111111111", Segment::Backfill),
        Some(backfill)
    );
    assert_eq!(get(&store, "222222222222", Segment::Forward), None);
    assert!(forward.describes(&checkpoint));

    // The reference ran in between and moved the token on.
    let moved = StreamCheckpoint {
        next_token: Some("f/9/s".into()),
        ..checkpoint
    };
    store.put(&key, &moved).unwrap();
    assert!(!forward.describes(&store.get(&key).unwrap().unwrap()));

    assert!(
        store
            .delete_cursor("111111111111", &key, Segment::Backfill)
            .unwrap()
    );
    assert!(
        !store
            .delete_cursor("111111111111", &key, Segment::Backfill)
            .unwrap()
    );
    assert_eq!(get(&store, "111111111111", Segment::Forward), Some(forward));
}

#[test]
fn a_row_written_for_another_account_is_recognised() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    let key = StreamKey::new("us-east-1", "g", "s");
    let written = StreamCursor {
        reference_token: Some("f/9/s".into()),
        ..cursor(Segment::Forward)
    };
    store.put_cursor("111111111111", &key, &written).unwrap();
    assert!(
        store
            .written_for_another_account("222222222222", &key, "f/9/s")
            .unwrap()
    );
    // Not another account's when it is this one's, or another token.
    assert!(
        !store
            .written_for_another_account("111111111111", &key, "f/9/s")
            .unwrap()
    );
    assert!(
        !store
            .written_for_another_account("222222222222", &key, "f/8/s")
            .unwrap()
    );
}

#[test]
fn group_reads_are_per_group_and_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    assert_eq!(store.get_group_read("1", "us-east-1", "g").unwrap(), None);
    let read = GroupRead {
        read_at: 1_000,
        lower_bound: 10,
    };
    store.put_group_read("1", "us-east-1", "g", read).unwrap();
    assert_eq!(
        store.get_group_read("1", "us-east-1", "g").unwrap(),
        Some(read)
    );
    assert_eq!(store.get_group_read("2", "us-east-1", "g").unwrap(), None);
    let later = GroupRead {
        read_at: 2_000,
        lower_bound: 10,
    };
    store.put_group_read("1", "us-east-1", "g", later).unwrap();
    assert_eq!(
        store.get_group_read("1", "us-east-1", "g").unwrap(),
        Some(later)
    );
}

#[test]
fn lower_bounds_are_per_group_and_account() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = CheckpointStore::open(db_path(&dir)).unwrap();
    assert_eq!(store.get_lower_bound("1", "us-east-1", "g").unwrap(), None);
    store.put_lower_bound("1", "us-east-1", "g", 100).unwrap();
    store.put_lower_bound("2", "us-east-1", "g", 200).unwrap();
    assert_eq!(
        store.get_lower_bound("1", "us-east-1", "g").unwrap(),
        Some(100)
    );
    assert_eq!(
        store.get_lower_bound("2", "us-east-1", "g").unwrap(),
        Some(200)
    );
    assert_eq!(store.get_lower_bound("1", "eu-west-1", "g").unwrap(), None);
    store.put_lower_bound("1", "us-east-1", "g", 50).unwrap();
    assert_eq!(
        store.get_lower_bound("1", "us-east-1", "g").unwrap(),
        Some(50)
    );
}

#[test]
fn a_committed_batch_lands_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = CheckpointStore::open(&path).unwrap();
    let batch = store.transaction().unwrap();
    for i in 0..1_000 {
        let key = StreamKey::new("us-east-1", "g", format!("s{i:04}"));
        let checkpoint = StreamCheckpoint {
            next_token: Some(format!("f/{i}/s")),
            start_time: Some(i),
            end_time: Some(i + 1),
        };
        batch.put(&key, &checkpoint).unwrap();
        batch
            .put_cursor("123456789012", &key, &cursor(Segment::Forward))
            .unwrap();
    }
    // The batch sees its own writes; nobody else does yet.
    assert_eq!(
        batch.streams_of_group("us-east-1", "g").unwrap().len(),
        1_000
    );
    let outside = Connection::open(&path).unwrap();
    let count = |connection: &Connection| -> i64 {
        connection
            .query_row("SELECT count(*) FROM cloudwatch_logs", [], |row| row.get(0))
            .unwrap()
    };
    assert_eq!(count(&outside), 0);
    batch.commit().unwrap();
    assert_eq!(count(&outside), 1_000);
}

#[test]
fn a_failed_batch_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let mut store = CheckpointStore::open(&path).unwrap();
    let untouched = StreamKey::new("us-east-1", "g", "untouched");
    let original = StreamCheckpoint {
        next_token: Some("f/0/s".into()),
        start_time: Some(0),
        end_time: Some(0),
    };
    store.put(&untouched, &original).unwrap();

    // A run that saves some streams, then hits an error before committing:
    // the `?` drops the batch, which rolls everything back.
    let mut run = || -> Result<(), CheckpointError> {
        let batch = store.transaction()?;
        batch.put(
            &StreamKey::new("us-east-1", "g", "new"),
            &StreamCheckpoint::default(),
        )?;
        batch.put(
            &untouched,
            &StreamCheckpoint {
                next_token: Some("f/9/s".into()),
                ..original.clone()
            },
        )?;
        batch.delete(&StreamKey::new("us-east-1", "g", "untouched"))?;
        Err(CheckpointError::Locked {
            database: PathBuf::from("stand-in for any failure"),
            lock_path: PathBuf::from("stand-in for any failure"),
            pid: None,
        })?;
        batch.commit()
    };
    assert!(run().is_err());

    assert_eq!(store.get(&untouched).unwrap(), Some(original.clone()));
    assert!(
        store
            .get(&StreamKey::new("us-east-1", "g", "new"))
            .unwrap()
            .is_none()
    );

    let batch = store.transaction().unwrap();
    batch
        .put(
            &StreamKey::new("us-east-1", "g", "new"),
            &StreamCheckpoint::default(),
        )
        .unwrap();
    batch.rollback().unwrap();
    assert!(
        store
            .get(&StreamKey::new("us-east-1", "g", "new"))
            .unwrap()
            .is_none()
    );

    // A statement SQLite itself rejects inside a batch: the batch as a whole
    // is still discarded once dropped.
    let raw = Connection::open(&path).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON cloudwatch_logs
         WHEN NEW.aws_log_stream = 'poison'
         BEGIN SELECT RAISE(ABORT, 'poisoned stream'); END;",
    )
    .unwrap();
    drop(raw);
    let batch = store.transaction().unwrap();
    batch
        .put(
            &StreamKey::new("us-east-1", "g", "before-poison"),
            &original,
        )
        .unwrap();
    let failure = batch
        .put(&StreamKey::new("us-east-1", "g", "poison"), &original)
        .unwrap_err();
    assert!(
        matches!(failure, CheckpointError::Sqlite { .. }),
        "{failure:?}"
    );
    drop(batch);
    assert!(
        store
            .get(&StreamKey::new("us-east-1", "g", "before-poison"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_second_open_fails_while_the_first_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let first = CheckpointStore::open(&path).unwrap();
    match CheckpointStore::open(&path) {
        Err(CheckpointError::Locked {
            database,
            lock_path,
            pid,
        }) => {
            assert_eq!(database, path);
            assert_eq!(lock_path, dir.path().join("aws_services.db.wodle-aws.lock"));
            assert_eq!(pid, Some(std::process::id()));
        }
        other => panic!("expected Locked, got {other:?}"),
    }
    let message = CheckpointStore::open(&path).unwrap_err().to_string();
    assert!(message.contains("Another wodle-aws process"), "{message}");
    assert!(
        message.contains("aws_services.db.wodle-aws.lock"),
        "{message}"
    );
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );

    drop(first);
    CheckpointStore::open(&path).unwrap();
}

#[test]
fn a_corrupt_file_is_reported_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);

    let not_sqlite: Vec<u8> = b"this is not an SQLite database\n".repeat(300);
    // A real header over a damaged body: the other way a database goes bad.
    let mut damaged = b"SQLite format 3\0".to_vec();
    damaged.extend(std::iter::repeat_n(0xA5_u8, 8_192 - damaged.len()));

    for content in [not_sqlite, damaged] {
        std::fs::write(&path, &content).unwrap();
        match CheckpointStore::open(&path) {
            Err(error @ CheckpointError::Corrupt { .. }) => {
                assert!(error.to_string().contains("aws_services.db"), "{error}");
                assert_eq!(error.reference_exit_code(), 5);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(std::fs::read(&path).unwrap(), content);
        assert!(!dir.path().join("aws_services.db-wal").exists());
    }
}

#[test]
fn a_missing_directory_is_reported_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("wodles")
        .join("aws")
        .join("aws_services.db");
    match CheckpointStore::open(&path) {
        Err(error @ CheckpointError::MissingDirectory { .. }) => {
            let message = error.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
            assert_eq!(error.reference_exit_code(), 6);
        }
        other => panic!("expected MissingDirectory, got {other:?}"),
    }
    assert!(!dir.path().join("wodles").exists());
}

#[test]
fn an_unusable_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    std::fs::create_dir(&path).unwrap();
    match CheckpointStore::open(&path) {
        Err(error @ CheckpointError::Open { .. }) => assert_eq!(error.reference_exit_code(), 6),
        other => panic!("expected Open, got {other:?}"),
    }
}

#[test]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    drop(CheckpointStore::open(&path).unwrap());
    drop(CheckpointStore::open(&path).unwrap());
    let connection = Connection::open(&path).unwrap();
    let versions: Vec<i64> = connection
        .prepare("SELECT version FROM wodle_aws_schema ORDER BY version")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<_>>());

    connection
        .execute(
            "INSERT INTO wodle_aws_schema (version) VALUES (?1)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    drop(connection);
    match CheckpointStore::open(&path) {
        Err(CheckpointError::NewerSchema { found, known, .. }) => {
            assert_eq!((found, known), (SCHEMA_VERSION + 1, SCHEMA_VERSION));
        }
        other => panic!("expected NewerSchema, got {other:?}"),
    }
}

#[test]
fn a_foreign_cloudwatch_logs_table_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let connection = Connection::open(&path).unwrap();
    connection
        .execute_batch("CREATE TABLE cloudwatch_logs (aws_region text, token text)")
        .unwrap();
    drop(connection);

    match CheckpointStore::open(&path) {
        Err(CheckpointError::IncompatibleSchema { table, problem, .. }) => {
            assert_eq!(table, "cloudwatch_logs");
            assert!(problem.contains("aws_log_group"), "{problem}");
        }
        other => panic!("expected IncompatibleSchema, got {other:?}"),
    }
    let connection = Connection::open(&path).unwrap();
    assert_eq!(table_names(&connection), ["cloudwatch_logs"]);
}

#[test]
fn metadata_without_a_version_row_gets_one_and_a_custom_version_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(&dir);
    let connection = Connection::open(&path).unwrap();
    connection.execute_batch(REFERENCE_METADATA).unwrap();
    drop(connection);

    let options = StoreOptions {
        metadata_version: "v4.14.0".to_owned(),
        ..StoreOptions::default()
    };
    drop(CheckpointStore::open_with(&path, &options).unwrap());
    let connection = Connection::open(&path).unwrap();
    assert_eq!(
        metadata_rows(&connection),
        [("version".to_owned(), "v4.14.0".to_owned())]
    );
}
