//! Stores per-stream read positions in SQLite, compatible with the reference's aws_services.db.
//!
//! The reference (Wazuh's Python `aws-s3` wodle) keeps one row per CloudWatch
//! Logs stream in the `cloudwatch_logs` table of
//! `<WAZUH_HOME>/wodles/aws/aws_services.db`. [`CheckpointStore`] reads and
//! writes that table exactly as the reference does, so either program can pick
//! up where the other stopped, and never touches the file's other tables.
//! What we know beyond the reference's columns (a [`StreamCursor`] per read
//! and account, each log group's lower bound) lives in tables of our own.
//!
//! ```no_run
//! use std::collections::HashSet;
//! use wodle_checkpoint::{CheckpointStore, StreamCheckpoint, StreamKey};
//!
//! # fn main() -> Result<(), wodle_checkpoint::CheckpointError> {
//! let mut store = CheckpointStore::open("/var/ossec/wodles/aws/aws_services.db")?;
//! let key = StreamKey::new("us-east-1", "web", "i-0abc");
//! let resume_after = store.get(&key)?.and_then(|checkpoint| checkpoint.end_time);
//!
//! // Commit many streams' progress at once; dropping `batch` would roll back.
//! let batch = store.transaction()?;
//! batch.put(&key, &StreamCheckpoint {
//!     next_token: Some("f/3816...".into()),
//!     start_time: Some(1_767_225_600_000),
//!     end_time: Some(1_767_229_200_000),
//! })?;
//! batch.commit()?;
//!
//! let still_in_aws: HashSet<String> = ["i-0abc".to_owned()].into();
//! store.purge_missing("123456789012", "us-east-1", "web", &still_in_aws)?;
//! # let _ = resume_after;
//! # Ok(())
//! # }
//! ```
//!
//! Opening also takes an exclusive lock on `aws_services.db.wodle-aws.lock`
//! beside the database, so two wodle-aws processes never write the same
//! checkpoints.
//!
//! A database that cannot be used is never reset: a read-only, corrupt, full
//! or locked file is a [`CheckpointError`] naming the file and the remedy,
//! and the file is left as it was (a failed transaction rolls back; what was
//! committed stays). Files we create get mode 0640, which SQLite passes on to
//! its `-wal` and `-shm` files.

mod error;
mod lock;
mod schema;
mod store;

pub use error::CheckpointError;
pub use lock::{LOCK_SUFFIX, lock_path};
pub use schema::SCHEMA_VERSION;
pub use store::{
    CheckpointStore, CheckpointTransaction, GroupRead, Segment, StoreOptions, StreamCheckpoint,
    StreamCursor, StreamKey,
};
