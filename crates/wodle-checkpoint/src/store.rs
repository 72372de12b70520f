use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::CheckpointError;
use crate::error::classify;
use crate::lock::DatabaseLock;
use crate::schema;

/// Identifies one log stream the way the reference's `cloudwatch_logs` table
/// does: region, log group, stream. The account is not part of it because it
/// is not part of the reference's key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamKey {
    pub region: String,
    pub log_group: String,
    pub log_stream: String,
}

impl StreamKey {
    pub fn new(
        region: impl Into<String>,
        log_group: impl Into<String>,
        log_stream: impl Into<String>,
    ) -> Self {
        Self {
            region: region.into(),
            log_group: log_group.into(),
            log_stream: log_stream.into(),
        }
    }
}

/// Where reading a stream resumes: one row of the reference's
/// `cloudwatch_logs` table. Times are epoch milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamCheckpoint {
    /// GetLogEvents' `nextForwardToken` after the last page read.
    pub next_token: Option<String>,
    /// The oldest event timestamp read (or the lower bound used).
    pub start_time: Option<i64>,
    /// The newest event timestamp read; reading resumes at `end_time + 1`.
    pub end_time: Option<i64>,
}

/// Which read of a stream a [`StreamCursor`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Segment {
    /// The open-ended read that follows the stream as it grows.
    Forward,
    /// A bounded read of `[window_start, window_end)`: the part a lowered
    /// `only_logs_after` uncovered before what was already read.
    Backfill,
}

impl Segment {
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Forward => "forward",
            Segment::Backfill => "backfill",
        }
    }

    fn parse(text: &str) -> Option<Segment> {
        match text {
            "forward" => Some(Segment::Forward),
            "backfill" => Some(Segment::Backfill),
            _ => None,
        }
    }
}

/// Where one read of a stream is, per AWS account, precisely enough to resume
/// it after a kill without losing or repeating events. Times are epoch ms.
///
/// The reference's row ([`StreamCheckpoint`]) says only "read up to here";
/// this says which request fetched the page being delivered and how much of
/// it was delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamCursor {
    pub segment: Segment,
    /// The `startTime` every request of this read sends.
    pub window_start: i64,
    /// The exclusive upper edge of a backfill; `None` for the forward read.
    pub window_end: Option<i64>,
    /// The token that fetched the page being consumed; `None` for the first
    /// page of the read.
    pub page_token: Option<String>,
    /// How many events of that page were delivered or discarded.
    pub page_consumed: u64,
    /// Our clock when `page_token` was obtained: AWS tokens expire after 24 h.
    pub token_saved_at: Option<i64>,
    /// The timestamp of the last event handled.
    pub last_timestamp: Option<i64>,
    /// How many handled events share `last_timestamp`: resuming by time at
    /// `last_timestamp` skips exactly that many.
    pub last_timestamp_count: u64,
    /// The highest ingestion time among the events read.
    pub max_ingestion_time: Option<i64>,
    /// AWS's clock at the end of our last complete read of the stream.
    pub read_at: Option<i64>,
    /// `cloudwatch_logs.next_token` as we last wrote it. When the row holds
    /// something else, the reference ran in between and this cursor is stale.
    pub reference_token: Option<String>,
}

impl StreamCursor {
    /// A read starting at `window_start` (and, for a backfill, ending before
    /// `window_end`), nothing consumed yet.
    pub fn new(segment: Segment, window_start: i64, window_end: Option<i64>) -> StreamCursor {
        StreamCursor {
            segment,
            window_start,
            window_end,
            page_token: None,
            page_consumed: 0,
            token_saved_at: None,
            last_timestamp: None,
            last_timestamp_count: 0,
            max_ingestion_time: None,
            read_at: None,
            reference_token: None,
        }
    }

    /// Whether this cursor was written together with `checkpoint`, i.e. the
    /// reference has not moved the stream on since.
    pub fn describes(&self, checkpoint: &StreamCheckpoint) -> bool {
        self.reference_token == checkpoint.next_token
    }
}

/// The first complete read of a log group for one account (or the first from
/// a lower bound moved earlier).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupRead {
    /// AWS's clock (epoch ms) at the end of the earliest stream read of that
    /// run: every stream then without a cursor was read to its end after it.
    pub read_at: i64,
    /// The lower bound that run read from.
    pub lower_bound: i64,
}

/// Settings for [`CheckpointStore::open_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Written as `metadata.version` only when the database has none yet; the
    /// reference replaces it with its own Wazuh version on its next run.
    pub metadata_version: String,
    /// How long a statement waits for another writer (typically the reference
    /// itself, run by hand) before failing.
    pub busy_timeout: Duration,
    /// Open with `SQLITE_OPEN_READONLY`, as SQLite does by itself with a file
    /// this user cannot write: opening then fails with
    /// [`CheckpointError::ReadOnly`]. Meant for tests, which run as root.
    pub read_only: bool,
    /// `PRAGMA max_page_count`: writes that would grow the file past this
    /// many pages fail as on a full disk ([`CheckpointError::DiskFull`]).
    /// Meant for tests; `None` leaves SQLite's limit.
    pub max_page_count: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            metadata_version: concat!("wodle-aws ", env!("CARGO_PKG_VERSION")).to_owned(),
            busy_timeout: Duration::from_secs(10),
            read_only: false,
            max_page_count: None,
        }
    }
}

/// The mode of the files we create (the database, and through it SQLite's
/// `-wal` and `-shm` files, and the lock file): owner and group, as Wazuh
/// runs as `wazuh:wazuh`. The umask may only narrow it.
pub(crate) const FILE_MODE: u32 = 0o640;

/// Creates the database file, empty (which SQLite takes for an empty
/// database), with [`FILE_MODE`], unless something is already at `path`.
/// SQLite would create it with 0644.
fn create_private(path: &Path) -> Result<(), CheckpointError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(path)
    {
        Ok(_) => Ok(()),
        // Whatever is there (a database, a directory) is SQLite's to judge.
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(CheckpointError::Create {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The checkpoint database, opened and locked for this process.
///
/// Every method that writes commits at once; group many writes into one
/// commit with [`CheckpointStore::transaction`].
#[derive(Debug)]
pub struct CheckpointStore {
    connection: Connection,
    path: PathBuf,
    // Dropped after the connection (fields drop in order), so the database is
    // closed before another process can take it over.
    _lock: DatabaseLock,
}

impl CheckpointStore {
    /// Opens (or creates) the database at `path` with [`StoreOptions::default`].
    ///
    /// See [`CheckpointStore::open_with`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CheckpointError> {
        Self::open_with(path, &StoreOptions::default())
    }

    /// Locks, opens (or creates) and prepares the database at `path`.
    ///
    /// The directory must exist. A database we create is made mode 0640 (less
    /// if the umask says so) before SQLite opens it, which gives SQLite's
    /// `-wal` and `-shm` files the same mode; an existing one keeps its mode.
    /// A database that cannot be written is refused here
    /// ([`CheckpointError::ReadOnly`]), before anything is sent. The lock is taken before the database is
    /// touched, so a second wodle-aws fails without reading anything. A file
    /// that is not a database is reported as [`CheckpointError::Corrupt`] and
    /// left unmodified.
    pub fn open_with(
        path: impl AsRef<Path>,
        options: &StoreOptions,
    ) -> Result<Self, CheckpointError> {
        let path = path.as_ref().to_path_buf();
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !directory.is_dir() {
            return Err(CheckpointError::MissingDirectory { path, directory });
        }
        let lock = DatabaseLock::acquire(&path)?;

        let flags = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY
        } else {
            create_private(&path)?;
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
        };
        // No URI flag: a path is a path, even one starting with "file:".
        let mut connection =
            Connection::open_with_flags(&path, flags | OpenFlags::SQLITE_OPEN_NO_MUTEX).map_err(
                |source| CheckpointError::Open {
                    path: path.clone(),
                    source,
                },
            )?;
        connection
            .busy_timeout(options.busy_timeout)
            .map_err(|source| classify(&path, "setting the busy timeout", source))?;

        // SQLite opens lazily: this first read is what finds out whether the
        // file is a database at all, and it happens before anything could
        // write to a file that is not one.
        connection
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|source| classify(&path, "reading the schema", source))?;

        // A file this user cannot write is opened read-only by SQLite without
        // a word, and the first write would fail only after events were
        // sent. Refusing now sends nothing twice.
        if connection.is_readonly(rusqlite::MAIN_DB).unwrap_or(false) {
            return Err(CheckpointError::ReadOnly {
                path,
                source: rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_READONLY),
                    Some("SQLite opened it read-only".to_owned()),
                ),
            });
        }
        if let Some(pages) = options.max_page_count {
            connection
                .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
                .map_err(|source| classify(&path, "setting max_page_count", source))?;
        }

        // WAL lets us commit often (every ~1,000 events) cheaply, and lets a
        // reader run beside our writer. The mode is stored in the file, and
        // the reference's SQLite reads WAL databases like any other.
        let journal_mode: String = connection
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(|source| classify(&path, "enabling write-ahead logging", source))?;
        if !journal_mode.eq_ignore_ascii_case("wal") {
            // Some file systems (network mounts) cannot share the WAL index;
            // SQLite then keeps the old mode, which is slower but just as safe.
            tracing::warn!(path = %path.display(), journal_mode, "SQLite refused write-ahead logging");
        }
        // In WAL mode NORMAL cannot corrupt the database; a power loss may
        // only lose the last commits, which re-sends a few events at worst.
        connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(|source| classify(&path, "setting synchronous=NORMAL", source))?;

        let tx = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| classify(&path, "starting the schema transaction", source))?;
        schema::prepare(&tx, &path, &options.metadata_version)?;
        tx.commit()
            .map_err(|source| classify(&path, "committing the schema", source))?;

        Ok(Self {
            connection,
            path,
            _lock: lock,
        })
    }

    /// The database file this store works on.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a batch of reads and writes that commits as one (or not at all).
    ///
    /// The write lock is taken at once (`BEGIN IMMEDIATE`): a deferred
    /// transaction that first reads and then writes can fail with "database
    /// is locked" despite the busy timeout if another process wrote in
    /// between. Dropping the transaction without [`commit`] rolls it back.
    ///
    /// [`commit`]: CheckpointTransaction::commit
    pub fn transaction(&mut self) -> Result<CheckpointTransaction<'_>, CheckpointError> {
        let tx = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|source| classify(&self.path, "starting a transaction", source))?;
        Ok(CheckpointTransaction {
            tx,
            path: &self.path,
        })
    }

    /// The stream's checkpoint, if it has one.
    pub fn get(&self, key: &StreamKey) -> Result<Option<StreamCheckpoint>, CheckpointError> {
        self.ops().get(key)
    }

    /// Every stream of `log_group` in `region` that has a checkpoint, by name.
    pub fn streams_of_group(
        &self,
        region: &str,
        log_group: &str,
    ) -> Result<Vec<(String, StreamCheckpoint)>, CheckpointError> {
        self.ops().streams_of_group(region, log_group)
    }

    /// Inserts or replaces the stream's checkpoint.
    pub fn put(
        &mut self,
        key: &StreamKey,
        checkpoint: &StreamCheckpoint,
    ) -> Result<(), CheckpointError> {
        self.ops().put(key, checkpoint)
    }

    /// Forgets the stream: its checkpoint and our state for every account.
    /// Returns whether it had a checkpoint.
    pub fn delete(&mut self, key: &StreamKey) -> Result<bool, CheckpointError> {
        let tx = self.transaction()?;
        let deleted = tx.delete(key)?;
        tx.commit()?;
        Ok(deleted)
    }

    /// Forgets the stream for `account_id`: its cursors, and the reference's
    /// row unless another account still has a cursor for a stream of that
    /// name (the row is then that account's). Returns whether anything went.
    pub fn forget(&mut self, account_id: &str, key: &StreamKey) -> Result<bool, CheckpointError> {
        let tx = self.transaction()?;
        let forgotten = tx.forget(account_id, key)?;
        tx.commit()?;
        Ok(forgotten)
    }

    /// Forgets, for `account_id`, every stream of the group that is not in
    /// `existing_streams` (streams deleted in AWS), as the reference does after
    /// each group; see [`CheckpointStore::forget`]. Returns how many streams
    /// were forgotten.
    pub fn purge_missing(
        &mut self,
        account_id: &str,
        region: &str,
        log_group: &str,
        existing_streams: &HashSet<String>,
    ) -> Result<usize, CheckpointError> {
        let tx = self.transaction()?;
        let purged = tx.purge_missing(account_id, region, log_group, existing_streams)?;
        tx.commit()?;
        Ok(purged)
    }

    /// The `segment` cursor of the stream for `account_id`, if recorded.
    pub fn get_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        segment: Segment,
    ) -> Result<Option<StreamCursor>, CheckpointError> {
        self.ops().get_cursor(account_id, key, segment)
    }

    /// Inserts or replaces a cursor of the stream for `account_id`.
    pub fn put_cursor(
        &mut self,
        account_id: &str,
        key: &StreamKey,
        cursor: &StreamCursor,
    ) -> Result<(), CheckpointError> {
        self.ops().put_cursor(account_id, key, cursor)
    }

    /// Forgets one cursor (a finished backfill). Returns whether it existed.
    pub fn delete_cursor(
        &mut self,
        account_id: &str,
        key: &StreamKey,
        segment: Segment,
    ) -> Result<bool, CheckpointError> {
        self.ops().delete_cursor(account_id, key, segment)
    }

    /// Whether the reference row of `key`, holding `next_token`, was written by
    /// us for an account other than `account_id` (the reference's key has no
    /// account, so services on two accounts reading same-named streams take
    /// turns writing that row).
    pub fn written_for_another_account(
        &self,
        account_id: &str,
        key: &StreamKey,
        next_token: &str,
    ) -> Result<bool, CheckpointError> {
        self.ops()
            .written_for_another_account(account_id, key, next_token)
    }

    /// The first complete read of the group for this account, if recorded.
    pub fn get_group_read(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
    ) -> Result<Option<GroupRead>, CheckpointError> {
        self.ops().get_group_read(account_id, region, log_group)
    }

    /// Records a complete read of the group for this account (replacing any).
    pub fn put_group_read(
        &mut self,
        account_id: &str,
        region: &str,
        log_group: &str,
        read: GroupRead,
    ) -> Result<(), CheckpointError> {
        self.ops()
            .put_group_read(account_id, region, log_group, read)
    }

    /// The lower bound recorded when the group was first read for this account.
    pub fn get_lower_bound(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
    ) -> Result<Option<i64>, CheckpointError> {
        self.ops().get_lower_bound(account_id, region, log_group)
    }

    /// Records the group's lower bound for this account (replacing any).
    pub fn put_lower_bound(
        &mut self,
        account_id: &str,
        region: &str,
        log_group: &str,
        lower_bound: i64,
    ) -> Result<(), CheckpointError> {
        self.ops()
            .put_lower_bound(account_id, region, log_group, lower_bound)
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            connection: &self.connection,
            path: &self.path,
        }
    }
}

/// A batch of checkpoint reads and writes that commits as one.
///
/// Dropped without [`CheckpointTransaction::commit`], it rolls back and
/// nothing of it reaches the file.
#[derive(Debug)]
pub struct CheckpointTransaction<'store> {
    tx: rusqlite::Transaction<'store>,
    path: &'store Path,
}

impl CheckpointTransaction<'_> {
    /// Makes every write of the batch durable at once.
    pub fn commit(self) -> Result<(), CheckpointError> {
        self.tx
            .commit()
            .map_err(|source| classify(self.path, "committing checkpoints", source))
    }

    /// Discards every write of the batch (what dropping it also does, minus
    /// the error report).
    pub fn rollback(self) -> Result<(), CheckpointError> {
        self.tx
            .rollback()
            .map_err(|source| classify(self.path, "rolling back checkpoints", source))
    }

    /// See [`CheckpointStore::get`]; sees the batch's own writes.
    pub fn get(&self, key: &StreamKey) -> Result<Option<StreamCheckpoint>, CheckpointError> {
        self.ops().get(key)
    }

    /// See [`CheckpointStore::streams_of_group`].
    pub fn streams_of_group(
        &self,
        region: &str,
        log_group: &str,
    ) -> Result<Vec<(String, StreamCheckpoint)>, CheckpointError> {
        self.ops().streams_of_group(region, log_group)
    }

    /// See [`CheckpointStore::put`].
    pub fn put(
        &self,
        key: &StreamKey,
        checkpoint: &StreamCheckpoint,
    ) -> Result<(), CheckpointError> {
        self.ops().put(key, checkpoint)
    }

    /// See [`CheckpointStore::delete`].
    pub fn delete(&self, key: &StreamKey) -> Result<bool, CheckpointError> {
        self.ops().delete(key)
    }

    /// See [`CheckpointStore::forget`].
    pub fn forget(&self, account_id: &str, key: &StreamKey) -> Result<bool, CheckpointError> {
        self.ops().forget(account_id, key)
    }

    /// See [`CheckpointStore::purge_missing`].
    pub fn purge_missing(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
        existing_streams: &HashSet<String>,
    ) -> Result<usize, CheckpointError> {
        self.ops()
            .purge_missing(account_id, region, log_group, existing_streams)
    }

    /// See [`CheckpointStore::put_cursor`].
    pub fn put_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        cursor: &StreamCursor,
    ) -> Result<(), CheckpointError> {
        self.ops().put_cursor(account_id, key, cursor)
    }

    /// See [`CheckpointStore::delete_cursor`].
    pub fn delete_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        segment: Segment,
    ) -> Result<bool, CheckpointError> {
        self.ops().delete_cursor(account_id, key, segment)
    }

    /// See [`CheckpointStore::put_group_read`].
    pub fn put_group_read(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
        read: GroupRead,
    ) -> Result<(), CheckpointError> {
        self.ops()
            .put_group_read(account_id, region, log_group, read)
    }

    fn ops(&self) -> Ops<'_> {
        Ops {
            connection: &self.tx,
            path: self.path,
        }
    }
}

/// The statements themselves, shared by the store (each call its own commit)
/// and the transaction (one commit for all).
struct Ops<'a> {
    connection: &'a Connection,
    path: &'a Path,
}

impl Ops<'_> {
    fn get(&self, key: &StreamKey) -> Result<Option<StreamCheckpoint>, CheckpointError> {
        let operation = "reading a checkpoint";
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT next_token, start_time, end_time FROM cloudwatch_logs
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3",
            )
            .map_err(self.sql(operation))?;
        let mut rows = statement
            .query((&key.region, &key.log_group, &key.log_stream))
            .map_err(self.sql(operation))?;
        match rows.next().map_err(self.sql(operation))? {
            Some(row) => self
                .checkpoint_from(row, &key.region, &key.log_group, &key.log_stream, 0)
                .map(Some),
            None => Ok(None),
        }
    }

    fn streams_of_group(
        &self,
        region: &str,
        log_group: &str,
    ) -> Result<Vec<(String, StreamCheckpoint)>, CheckpointError> {
        let operation = "reading the checkpoints of a log group";
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT aws_log_stream, next_token, start_time, end_time FROM cloudwatch_logs
                 WHERE aws_region = ?1 AND aws_log_group = ?2
                 ORDER BY aws_log_stream",
            )
            .map_err(self.sql(operation))?;
        let mut rows = statement
            .query((region, log_group))
            .map_err(self.sql(operation))?;
        let mut streams = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql(operation))? {
            let stream: String = row.get(0).map_err(self.sql(operation))?;
            let checkpoint = self.checkpoint_from(row, region, log_group, &stream, 1)?;
            streams.push((stream, checkpoint));
        }
        Ok(streams)
    }

    fn put(&self, key: &StreamKey, checkpoint: &StreamCheckpoint) -> Result<(), CheckpointError> {
        self.connection
            .prepare_cached(
                "INSERT INTO cloudwatch_logs
                     (aws_region, aws_log_group, aws_log_stream, next_token, start_time, end_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (aws_region, aws_log_group, aws_log_stream) DO UPDATE SET
                     next_token = excluded.next_token,
                     start_time = excluded.start_time,
                     end_time = excluded.end_time",
            )
            .and_then(|mut statement| {
                statement.execute((
                    &key.region,
                    &key.log_group,
                    &key.log_stream,
                    &checkpoint.next_token,
                    checkpoint.start_time,
                    checkpoint.end_time,
                ))
            })
            .map_err(self.sql("saving a checkpoint"))?;
        Ok(())
    }

    fn delete(&self, key: &StreamKey) -> Result<bool, CheckpointError> {
        let operation = "deleting a checkpoint";
        let params = (&key.region, &key.log_group, &key.log_stream);
        let deleted = self
            .connection
            .prepare_cached(
                "DELETE FROM cloudwatch_logs
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3",
            )
            .and_then(|mut statement| statement.execute(params))
            .map_err(self.sql(operation))?;
        self.connection
            .prepare_cached(
                "DELETE FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3",
            )
            .and_then(|mut statement| statement.execute(params))
            .map_err(self.sql(operation))?;
        Ok(deleted > 0)
    }

    fn forget(&self, account_id: &str, key: &StreamKey) -> Result<bool, CheckpointError> {
        let operation = "forgetting a stream";
        let stream = (&key.region, &key.log_group, &key.log_stream);
        let cursors = self
            .connection
            .prepare_cached(
                "DELETE FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3
                   AND aws_account_id = ?4",
            )
            .and_then(|mut statement| statement.execute((stream.0, stream.1, stream.2, account_id)))
            .map_err(self.sql(operation))?;
        let row = self
            .connection
            .prepare_cached(
                "DELETE FROM cloudwatch_logs
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3
                   AND NOT EXISTS (SELECT 1 FROM wodle_aws_cursor
                       WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3)",
            )
            .and_then(|mut statement| statement.execute(stream))
            .map_err(self.sql(operation))?;
        Ok(cursors + row > 0)
    }

    fn purge_missing(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
        existing_streams: &HashSet<String>,
    ) -> Result<usize, CheckpointError> {
        let operation = "purging checkpoints of deleted streams";
        // Our cursors can outlive a row the reference purged, so both tables
        // are searched for streams to forget.
        let known: Vec<String> = self
            .connection
            .prepare_cached(
                "SELECT aws_log_stream FROM cloudwatch_logs
                 WHERE aws_region = ?1 AND aws_log_group = ?2
                 UNION
                 SELECT aws_log_stream FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_account_id = ?3",
            )
            .and_then(|mut statement| {
                statement
                    .query_map((region, log_group, account_id), |row| row.get(0))?
                    .collect()
            })
            .map_err(self.sql(operation))?;
        let mut purged = 0;
        for stream in known.into_iter().filter(|s| !existing_streams.contains(s)) {
            if self.forget(account_id, &StreamKey::new(region, log_group, stream))? {
                purged += 1;
            }
        }
        Ok(purged)
    }

    fn get_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        segment: Segment,
    ) -> Result<Option<StreamCursor>, CheckpointError> {
        let operation = "reading the cursor of a stream";
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT segment, window_start, window_end, page_token, page_consumed,
                        token_saved_at, last_timestamp, last_timestamp_count,
                        max_ingestion_time, read_at, reference_token
                 FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3
                   AND aws_account_id = ?4 AND segment = ?5",
            )
            .map_err(self.sql(operation))?;
        let row = statement
            .query_row(
                (
                    &key.region,
                    &key.log_group,
                    &key.log_stream,
                    account_id,
                    segment.as_str(),
                ),
                |row| {
                    let segment: String = row.get(0)?;
                    let count = |index| -> rusqlite::Result<u64> {
                        let value: i64 = row.get(index)?;
                        Ok(u64::try_from(value).unwrap_or(0))
                    };
                    Ok((
                        segment,
                        StreamCursor {
                            segment: Segment::Forward,
                            window_start: row.get(1)?,
                            window_end: row.get(2)?,
                            page_token: row.get(3)?,
                            page_consumed: count(4)?,
                            token_saved_at: row.get(5)?,
                            last_timestamp: row.get(6)?,
                            last_timestamp_count: count(7)?,
                            max_ingestion_time: row.get(8)?,
                            read_at: row.get(9)?,
                            reference_token: row.get(10)?,
                        },
                    ))
                },
            )
            .optional()
            .map_err(self.sql(operation))?;
        let Some((segment_text, mut cursor)) = row else {
            return Ok(None);
        };
        cursor.segment =
            Segment::parse(&segment_text).ok_or_else(|| CheckpointError::InvalidValue {
                path: self.path.to_path_buf(),
                stream: Box::new(key.clone()),
                column: "segment",
                value: format!("the text {segment_text:?}"),
            })?;
        Ok(Some(cursor))
    }

    fn put_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        cursor: &StreamCursor,
    ) -> Result<(), CheckpointError> {
        let saturate = |count: u64| i64::try_from(count).unwrap_or(i64::MAX);
        self.connection
            .prepare_cached(
                "INSERT INTO wodle_aws_cursor
                     (aws_region, aws_log_group, aws_log_stream, aws_account_id, segment,
                      window_start, window_end, page_token, page_consumed, token_saved_at,
                      last_timestamp, last_timestamp_count, max_ingestion_time, read_at,
                      reference_token)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
                 ON CONFLICT (aws_region, aws_log_group, aws_log_stream, aws_account_id, segment)
                 DO UPDATE SET
                     window_start = excluded.window_start,
                     window_end = excluded.window_end,
                     page_token = excluded.page_token,
                     page_consumed = excluded.page_consumed,
                     token_saved_at = excluded.token_saved_at,
                     last_timestamp = excluded.last_timestamp,
                     last_timestamp_count = excluded.last_timestamp_count,
                     max_ingestion_time = excluded.max_ingestion_time,
                     read_at = excluded.read_at,
                     reference_token = excluded.reference_token",
            )
            .and_then(|mut statement| {
                statement.execute(rusqlite::params![
                    &key.region,
                    &key.log_group,
                    &key.log_stream,
                    account_id,
                    cursor.segment.as_str(),
                    cursor.window_start,
                    cursor.window_end,
                    &cursor.page_token,
                    saturate(cursor.page_consumed),
                    cursor.token_saved_at,
                    cursor.last_timestamp,
                    saturate(cursor.last_timestamp_count),
                    cursor.max_ingestion_time,
                    cursor.read_at,
                    &cursor.reference_token,
                ])
            })
            .map_err(self.sql("saving the cursor of a stream"))?;
        Ok(())
    }

    fn delete_cursor(
        &self,
        account_id: &str,
        key: &StreamKey,
        segment: Segment,
    ) -> Result<bool, CheckpointError> {
        let deleted = self
            .connection
            .prepare_cached(
                "DELETE FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3
                   AND aws_account_id = ?4 AND segment = ?5",
            )
            .and_then(|mut statement| {
                statement.execute((
                    &key.region,
                    &key.log_group,
                    &key.log_stream,
                    account_id,
                    segment.as_str(),
                ))
            })
            .map_err(self.sql("deleting the cursor of a stream"))?;
        Ok(deleted > 0)
    }

    fn written_for_another_account(
        &self,
        account_id: &str,
        key: &StreamKey,
        next_token: &str,
    ) -> Result<bool, CheckpointError> {
        self.connection
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM wodle_aws_cursor
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_log_stream = ?3
                   AND aws_account_id <> ?4 AND segment = 'forward' AND reference_token = ?5)",
            )
            .and_then(|mut statement| {
                statement.query_row(
                    (
                        &key.region,
                        &key.log_group,
                        &key.log_stream,
                        account_id,
                        next_token,
                    ),
                    |row| row.get(0),
                )
            })
            .map_err(self.sql("reading the cursors of a stream"))
    }

    fn get_group_read(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
    ) -> Result<Option<GroupRead>, CheckpointError> {
        self.connection
            .prepare_cached(
                "SELECT read_at, lower_bound FROM wodle_aws_group_read
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_account_id = ?3",
            )
            .and_then(|mut statement| {
                statement
                    .query_row((region, log_group, account_id), |row| {
                        Ok(GroupRead {
                            read_at: row.get(0)?,
                            lower_bound: row.get(1)?,
                        })
                    })
                    .optional()
            })
            .map_err(self.sql("reading the last complete read of a log group"))
    }

    fn put_group_read(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
        read: GroupRead,
    ) -> Result<(), CheckpointError> {
        self.connection
            .prepare_cached(
                "INSERT INTO wodle_aws_group_read
                     (aws_region, aws_log_group, aws_account_id, read_at, lower_bound)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (aws_region, aws_log_group, aws_account_id)
                 DO UPDATE SET read_at = excluded.read_at, lower_bound = excluded.lower_bound",
            )
            .and_then(|mut statement| {
                statement.execute((
                    region,
                    log_group,
                    account_id,
                    read.read_at,
                    read.lower_bound,
                ))
            })
            .map_err(self.sql("saving the last complete read of a log group"))?;
        Ok(())
    }

    fn get_lower_bound(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
    ) -> Result<Option<i64>, CheckpointError> {
        self.connection
            .prepare_cached(
                "SELECT lower_bound FROM wodle_aws_log_group
                 WHERE aws_region = ?1 AND aws_log_group = ?2 AND aws_account_id = ?3",
            )
            .and_then(|mut statement| {
                statement
                    .query_row((region, log_group, account_id), |row| row.get(0))
                    .optional()
            })
            .map_err(self.sql("reading the lower bound of a log group"))
    }

    fn put_lower_bound(
        &self,
        account_id: &str,
        region: &str,
        log_group: &str,
        lower_bound: i64,
    ) -> Result<(), CheckpointError> {
        self.connection
            .prepare_cached(
                "INSERT INTO wodle_aws_log_group (aws_region, aws_log_group, aws_account_id, lower_bound)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (aws_region, aws_log_group, aws_account_id)
                 DO UPDATE SET lower_bound = excluded.lower_bound",
            )
            .and_then(|mut statement| {
                statement.execute((region, log_group, account_id, lower_bound))
            })
            .map_err(self.sql("saving the lower bound of a log group"))?;
        Ok(())
    }

    /// Reads `next_token, start_time, end_time` starting at column `first`.
    fn checkpoint_from(
        &self,
        row: &rusqlite::Row<'_>,
        region: &str,
        log_group: &str,
        stream: &str,
        first: usize,
    ) -> Result<StreamCheckpoint, CheckpointError> {
        let value = |index: usize| {
            row.get_ref(first + index)
                .map_err(self.sql("reading a checkpoint"))
        };
        let invalid = |column: &'static str, value: String| CheckpointError::InvalidValue {
            path: self.path.to_path_buf(),
            stream: Box::new(StreamKey::new(region, log_group, stream)),
            column,
            value,
        };
        Ok(StreamCheckpoint {
            next_token: token_from(value(0)?).map_err(|v| invalid("next_token", v))?,
            start_time: time_from(value(1)?).map_err(|v| invalid("start_time", v))?,
            end_time: time_from(value(2)?).map_err(|v| invalid("end_time", v))?,
        })
    }

    fn sql(&self, operation: &'static str) -> impl Fn(rusqlite::Error) -> CheckpointError + '_ {
        move |source| classify(self.path, operation, source)
    }
}

/// The reference's reader takes the text `None` in these columns (Python's
/// `str(None)`) for "no value", so a row holding it must mean the same here.
const PYTHON_NONE: &[u8] = b"None";

fn token_from(value: ValueRef<'_>) -> Result<Option<String>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(PYTHON_NONE) => Ok(None),
        ValueRef::Text(text) => std::str::from_utf8(text)
            .map(|token| Some(token.to_owned()))
            .map_err(|_| format!("non-UTF-8 text {:?}", String::from_utf8_lossy(text))),
        other => Err(describe(other)),
    }
}

fn time_from(value: ValueRef<'_>) -> Result<Option<i64>, String> {
    match value {
        ValueRef::Null => Ok(None),
        ValueRef::Text(PYTHON_NONE) => Ok(None),
        ValueRef::Integer(millis) => Ok(Some(millis)),
        other => Err(describe(other)),
    }
}

fn describe(value: ValueRef<'_>) -> String {
    match value {
        ValueRef::Null => "NULL".to_owned(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(r) => format!("the real number {r}"),
        ValueRef::Text(t) => format!("the text {:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("a {}-byte blob", b.len()),
    }
}
