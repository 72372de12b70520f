use std::path::PathBuf;

use crate::StreamKey;

/// Everything that can go wrong with the checkpoint database.
///
/// Every variant names the file involved, because the user's first question is
/// "which file?". The reference exits 6 when it cannot create the database and
/// 5 on any later SQLite error; [`CheckpointError::reference_exit_code`] keeps
/// that mapping in one place for the binary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The directory that should hold the database does not exist. In a Wazuh
    /// install `<WAZUH_HOME>/wodles/aws` always exists, so its absence means a
    /// wrong `WAZUH_HOME` rather than something to paper over with `mkdir -p`.
    #[error(
        "cannot create the checkpoint database {path}: its directory {} does not exist or is not a directory (is WAZUH_HOME right?)",
        directory.display()
    )]
    MissingDirectory { path: PathBuf, directory: PathBuf },

    /// SQLite could not open or create the file (permissions, a directory in
    /// the way, a full disk...).
    #[error("cannot open or create the checkpoint database {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The file exists but is not a readable SQLite database, or a page of it
    /// is damaged. It is left exactly as found: resetting it would silently
    /// re-send every event and destroy the reference's other tables.
    #[error(
        "The checkpoint database {path} is corrupt or is not an SQLite database: {source}. It was \
         left untouched. Move it aside to start over (all checkpoints are lost: events are read \
         again from only_logs_after, else from today) or restore a backup."
    )]
    Corrupt {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// The database cannot be written: its file (or its directory, where the
    /// `-wal` and `-shm` files live) is not writable by this user.
    #[error(
        "The checkpoint database {path} is read-only: {source}. Make it, and its directory, \
         writable by the user wodle-aws runs as (wazuh)."
    )]
    ReadOnly {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    /// A write found no room: the file system is full (or the database hit
    /// its page limit). The transaction was rolled back; what was committed
    /// before stays.
    #[error(
        "The checkpoint database {path} could not be written while {operation}: the disk is \
         full ({source}). Free space on its file system; the checkpoints committed so far are \
         kept and the next run goes on from them."
    )]
    DiskFull {
        path: PathBuf,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// Another program kept a write lock on the database for longer than the
    /// busy timeout: the reference run by hand, or any tool holding a write
    /// transaction.
    #[error(
        "The checkpoint database {path} stayed locked by another program while {operation} \
         ({source}): the reference's aws-s3 wodle or another tool is writing to it. Let it \
         finish (or stop it) and run again; no checkpoint was lost."
    )]
    Busy {
        path: PathBuf,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The database file could not be created before SQLite opened it.
    #[error("cannot create the checkpoint database {path}: {source}")]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Any other SQLite failure while reading or writing checkpoints.
    #[error("SQLite error on the checkpoint database {path} while {operation}: {source}")]
    Sqlite {
        path: PathBuf,
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// A table we share with the reference exists with a shape we cannot read
    /// or write compatibly, so we refuse rather than guess.
    #[error(
        "the table {table} in the checkpoint database {path} has an unexpected schema: {problem}"
    )]
    IncompatibleSchema {
        path: PathBuf,
        table: &'static str,
        problem: String,
    },

    /// Our own bookkeeping was migrated by a newer wodle-aws; an older build
    /// must not write into a schema it does not know.
    #[error(
        "the checkpoint database {path} was upgraded by a newer wodle-aws (schema version {found}, \
         this build knows up to {known}); run the newer wodle-aws"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },

    /// A stored value that cannot be a checkpoint (e.g. text in a time column).
    #[error(
        "the checkpoint database {path} holds an unreadable {column} for stream {:?} \
         of log group {:?} in {}: {value}",
        stream.log_stream, stream.log_group, stream.region
    )]
    InvalidValue {
        path: PathBuf,
        // Boxed: the key's three strings would make every Result of this
        // crate larger than clippy's (and the hot path's) taste.
        stream: Box<StreamKey>,
        column: &'static str,
        value: String,
    },

    /// Another wodle-aws process already works on this database. Two writers
    /// would interleave checkpoints and deliver events twice.
    #[error(
        "Another wodle-aws process{} is using the checkpoint database {}: it holds the lock file \
         {lock_path}. Only one wodle-aws may run per database: let it finish or stop it, and \
         make sure no other wodle-aws (a second `run` daemon, a one-shot run by hand) uses {}.",
        match pid { Some(pid) => format!(" (pid {pid})"), None => String::new() },
        database.display(),
        database.display()
    )]
    Locked {
        database: PathBuf,
        lock_path: PathBuf,
        pid: Option<u32>,
    },

    /// The lock file beside the database could not be created or locked.
    #[error("cannot use the lock file {lock_path} of the checkpoint database: {source}")]
    LockFile {
        lock_path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CheckpointError {
    /// The exit code the reference uses for this failure: 6 when the database
    /// (or its lock file) cannot be created or opened, 5 for every other
    /// database error.
    ///
    /// A lock held by another wodle-aws has no reference equivalent (the
    /// reference never checks); it maps to the reference's "generic error", 12.
    pub fn reference_exit_code(&self) -> i32 {
        match self {
            Self::MissingDirectory { .. }
            | Self::Open { .. }
            | Self::Create { .. }
            | Self::LockFile { .. } => 6,
            Self::Corrupt { .. }
            | Self::ReadOnly { .. }
            | Self::DiskFull { .. }
            | Self::Busy { .. }
            | Self::Sqlite { .. }
            | Self::IncompatibleSchema { .. }
            | Self::NewerSchema { .. }
            | Self::InvalidValue { .. } => 5,
            Self::Locked { .. } => 12,
        }
    }
}

/// Wraps a rusqlite error, recognising the codes that mean the file itself is
/// bad or unusable (corrupt, read-only, full, locked) so that each gets its
/// own message and remedy instead of hiding among ordinary SQL errors.
pub(crate) fn classify(
    path: &std::path::Path,
    operation: &'static str,
    source: rusqlite::Error,
) -> CheckpointError {
    use rusqlite::ErrorCode;
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => CheckpointError::Corrupt {
            path: path.to_path_buf(),
            source,
        },
        Some(ErrorCode::ReadOnly) => CheckpointError::ReadOnly {
            path: path.to_path_buf(),
            source,
        },
        Some(ErrorCode::DiskFull) => CheckpointError::DiskFull {
            path: path.to_path_buf(),
            operation,
            source,
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => CheckpointError::Busy {
            path: path.to_path_buf(),
            operation,
            source,
        },
        _ => CheckpointError::Sqlite {
            path: path.to_path_buf(),
            operation,
            source,
        },
    }
}
