//! The tables we share with the reference, and the migrations of our own.
//!
//! The reference creates `cloudwatch_logs` and `metadata` when they are
//! missing and never alters them, so we do the same with its exact DDL: a
//! database we create is one the reference would have created. Everything we
//! need beyond that lives in tables whose names start with `wodle_aws_`, which
//! the reference never looks at.
//!
//! Our schema version is kept in our own table, not in `PRAGMA user_version`:
//! that pragma is one integer for the whole file, and the file is shared with
//! the reference's other services (CloudTrail, Inspector...) and with whatever
//! a future Wazuh release decides to do with it. A table of ours cannot clash.
//!
//! Our DDL sticks to what any SQLite of the last decade reads (no `STRICT`, no
//! generated columns): the reference's Python opens this same file with
//! whatever SQLite it was built with, and a table it cannot parse would make
//! the whole file unreadable to it.

use std::path::Path;

use rusqlite::Transaction;

use crate::CheckpointError;
use crate::error::classify;

/// The reference's DDL for its CloudWatch Logs table, verbatim (the quoted
/// type names included: SQLite keeps the text, and we want `sqlite_master` to
/// read exactly as if the reference had created the table).
pub(crate) const CLOUDWATCH_LOGS_DDL: &str = "
    CREATE TABLE IF NOT EXISTS cloudwatch_logs (
            aws_region 'text' NOT NULL,
            aws_log_group 'text' NOT NULL,
            aws_log_stream 'text' NOT NULL,
            next_token 'text',
            start_time 'integer',
            end_time 'integer',
            PRIMARY KEY (aws_region, aws_log_group, aws_log_stream));";

/// The reference's DDL for the table holding the Wazuh version.
pub(crate) const METADATA_DDL: &str = "
    CREATE TABLE IF NOT EXISTS metadata (
        key 'text' NOT NULL,
        value 'text' NOT NULL,
        PRIMARY KEY (key, value));";

/// The reference reads `metadata.version` with `fetchone()[0]` and crashes
/// when the row is missing, so whenever the table exists the row must too. An
/// existing value is the reference's and is never overwritten.
const METADATA_VERSION_INSERT: &str = "
    INSERT INTO metadata (key, value)
    SELECT 'version', ?1
    WHERE NOT EXISTS (SELECT 1 FROM metadata WHERE key = 'version')";

/// One row per migration applied; `max(version)` is the schema version.
const SCHEMA_TABLE_DDL: &str = "
    CREATE TABLE IF NOT EXISTS wodle_aws_schema (
        version integer PRIMARY KEY NOT NULL)";

/// Our migrations, in order; migration `n` is `MIGRATIONS[n - 1]`. Append
/// only: a released migration never changes, or databases that already ran
/// it would differ from fresh ones.
const MIGRATIONS: &[&str] = &[
    // 1: what the reference's row cannot say about a stream.
    //
    // - aws_account_id is part of the key: the reference's table is keyed by
    //   region, group and stream only, so two accounts reading same-named
    //   groups share one row there; ours keeps them apart.
    // - next_token is the token the other columns were recorded with. The
    //   reference can run between two of our runs and move cloudwatch_logs
    //   on without touching this table; a differing token says this row is
    //   stale.
    // - token_saved_at (epoch ms): tokens expire after 24 h, and the
    //   reference's row does not say when its token was obtained.
    // - last_ingestion_time (epoch ms): the highest ingestion time read, so
    //   a stream whose DescribeLogStreams lastIngestionTime has not moved
    //   past it can be recognised as idle.
    //
    // The key starts with region and group so that the per-group purge is an
    // index range scan.
    "CREATE TABLE wodle_aws_stream_state (
        aws_region          text NOT NULL,
        aws_log_group       text NOT NULL,
        aws_log_stream      text NOT NULL,
        aws_account_id      text NOT NULL,
        next_token          text,
        token_saved_at      integer,
        last_ingestion_time integer,
        PRIMARY KEY (aws_region, aws_log_group, aws_log_stream, aws_account_id))",
    // 2: the read cursor replaces migration 1's summary, and each log group's
    // lower bound is remembered.
    //
    // wodle_aws_cursor: where a read of a stream is, precisely enough that a
    // killed process re-sends at most the events delivered since the last
    // commit. One row per (stream, account, segment): 'forward' is the open
    // ended read that follows the stream; 'backfill' reads the bounded window
    // [window_start, window_end) that a lowered only_logs_after uncovered.
    // - window_start / window_end: the startTime / endTime every request of
    //   this read sends (a token is only valid with the filter it came from);
    // - page_token: the token that fetched the page being consumed (NULL:
    //   the read's first page), page_consumed: how many of its events were
    //   delivered or discarded, so a restart fetches it again and skips them;
    // - token_saved_at (our clock, ms): AWS tokens expire after 24 h;
    // - last_timestamp / last_timestamp_count: the last event handled and how
    //   many handled events share its millisecond, to resume by time without
    //   losing or repeating events of that millisecond;
    // - max_ingestion_time: the highest ingestion time read, and read_at:
    //   AWS's clock at our last complete read; the idle check compares the
    //   stream's lastIngestionTime with those, never with our clock;
    // - reference_token: cloudwatch_logs.next_token as we last wrote it; when
    //   it differs, the reference ran in between and this cursor is stale.
    //
    // wodle_aws_log_group: the lower bound fixed when a group is first read
    // (only_logs_after, else that day's 00:00 UTC), so a stream that appears
    // later is read from there, not from the day it was first seen.
    "DROP TABLE wodle_aws_stream_state;
     CREATE TABLE wodle_aws_cursor (
        aws_region           text NOT NULL,
        aws_log_group        text NOT NULL,
        aws_log_stream       text NOT NULL,
        aws_account_id       text NOT NULL,
        segment              text NOT NULL,
        window_start         integer NOT NULL,
        window_end           integer,
        page_token           text,
        page_consumed        integer NOT NULL,
        token_saved_at       integer,
        last_timestamp       integer,
        last_timestamp_count integer NOT NULL,
        max_ingestion_time   integer,
        read_at              integer,
        reference_token      text,
        PRIMARY KEY (aws_region, aws_log_group, aws_log_stream, aws_account_id, segment));
     CREATE TABLE wodle_aws_log_group (
        aws_region     text NOT NULL,
        aws_log_group  text NOT NULL,
        aws_account_id text NOT NULL,
        lower_bound    integer NOT NULL,
        PRIMARY KEY (aws_region, aws_log_group, aws_account_id))",
    // 3: the first complete read of a log group, so that its streams with
    // nothing of ours (every event older than the lower bound) are not read
    // again on every run.
    //
    // - read_at: AWS's clock (ms) at the end of the earliest stream read of
    //   the group's first complete run: every stream then without a cursor
    //   was read to its end after it, so one whose lastIngestionTime is older
    //   (the idle lag allowed for) holds nothing to deliver;
    // - lower_bound: the bound that run read from; a lower bound moved
    //   earlier makes those streams worth reading again, and the next
    //   complete run replaces the row.
    //
    // Written in the same transaction as the cursors of that run.
    "CREATE TABLE wodle_aws_group_read (
        aws_region     text NOT NULL,
        aws_log_group  text NOT NULL,
        aws_account_id text NOT NULL,
        read_at        integer NOT NULL,
        lower_bound    integer NOT NULL,
        PRIMARY KEY (aws_region, aws_log_group, aws_account_id))",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Creates what is missing and checks what exists, in one transaction so a
/// crash never leaves half a migration behind.
pub(crate) fn prepare(
    tx: &Transaction<'_>,
    path: &Path,
    metadata_version: &str,
) -> Result<(), CheckpointError> {
    let sql = |operation| move |source| classify(path, operation, source);

    tx.execute_batch(METADATA_DDL)
        .map_err(sql("creating the metadata table"))?;
    tx.execute(METADATA_VERSION_INSERT, [metadata_version])
        .map_err(sql("recording the version in the metadata table"))?;
    tx.execute_batch(CLOUDWATCH_LOGS_DDL)
        .map_err(sql("creating the cloudwatch_logs table"))?;
    check_cloudwatch_logs(tx, path)?;

    tx.execute_batch(SCHEMA_TABLE_DDL)
        .map_err(sql("creating the wodle_aws_schema table"))?;
    let current: i64 = tx
        .query_row(
            "SELECT coalesce(max(version), 0) FROM wodle_aws_schema",
            [],
            |row| row.get(0),
        )
        .map_err(sql("reading the schema version"))?;
    if current > SCHEMA_VERSION {
        return Err(CheckpointError::NewerSchema {
            path: path.to_path_buf(),
            found: current,
            known: SCHEMA_VERSION,
        });
    }
    for (version, migration) in (1..).zip(MIGRATIONS).skip(current as usize) {
        tx.execute_batch(migration)
            .map_err(sql("migrating the wodle-aws tables"))?;
        tx.execute(
            "INSERT INTO wodle_aws_schema (version) VALUES (?1)",
            [version],
        )
        .map_err(sql("recording the schema version"))?;
        tracing::debug!(path = %path.display(), version, "applied checkpoint schema migration");
    }
    Ok(())
}

/// The columns we read and write, and the key our upsert relies on. A table
/// created by some other tool under the same name must not be half-written.
fn check_cloudwatch_logs(tx: &Transaction<'_>, path: &Path) -> Result<(), CheckpointError> {
    const COLUMNS: [&str; 6] = [
        "aws_region",
        "aws_log_group",
        "aws_log_stream",
        "next_token",
        "start_time",
        "end_time",
    ];
    const KEY: [&str; 3] = ["aws_region", "aws_log_group", "aws_log_stream"];

    let mut statement = tx
        .prepare("SELECT name, pk FROM pragma_table_info('cloudwatch_logs')")
        .map_err(|source| classify(path, "reading the cloudwatch_logs schema", source))?;
    let mut columns: Vec<(String, i64)> = statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .and_then(Iterator::collect)
        .map_err(|source| classify(path, "reading the cloudwatch_logs schema", source))?;

    let incompatible = |problem: String| CheckpointError::IncompatibleSchema {
        path: path.to_path_buf(),
        table: "cloudwatch_logs",
        problem,
    };
    if let Some(missing) = COLUMNS
        .iter()
        .find(|wanted| !columns.iter().any(|(name, _)| name == *wanted))
    {
        return Err(incompatible(format!("it has no column {missing}")));
    }
    // pragma_table_info numbers key columns 1, 2, 3 in key order.
    columns.retain(|(_, pk)| *pk > 0);
    columns.sort_by_key(|(_, pk)| *pk);
    let key: Vec<&str> = columns.iter().map(|(name, _)| name.as_str()).collect();
    if key != KEY {
        return Err(incompatible(format!(
            "its primary key is ({}), not ({})",
            key.join(", "),
            KEY.join(", ")
        )));
    }
    Ok(())
}
