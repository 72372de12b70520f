use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::CheckpointError;

/// What is appended to the database's file name to name its lock file, e.g.
/// `aws_services.db.wodle-aws.lock`. The suffix names us because the
/// reference never takes this lock: it only keeps two wodle-aws apart.
pub const LOCK_SUFFIX: &str = ".wodle-aws.lock";

/// The lock file that guards the database at `db_path`.
pub fn lock_path(db_path: &Path) -> PathBuf {
    let mut name = OsString::from(db_path.as_os_str());
    name.push(LOCK_SUFFIX);
    PathBuf::from(name)
}

/// An exclusive advisory lock, held until this value is dropped.
///
/// The lock file is never deleted: unlinking it while another process has it
/// open would let a third process lock a fresh inode while the second holds
/// the old one, and two writers would run at once.
#[derive(Debug)]
pub(crate) struct DatabaseLock {
    // Closing the descriptor releases the lock; the field keeps it open.
    _file: File,
}

impl DatabaseLock {
    pub(crate) fn acquire(db_path: &Path) -> Result<Self, CheckpointError> {
        let lock_path = lock_path(db_path);
        let io_error = |source| CheckpointError::LockFile {
            lock_path: lock_path.clone(),
            source,
        };
        // No truncation on open: until we hold the lock, the content is the
        // holder's pid, which is exactly what we want to report.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            // Wazuh runs as wazuh:wazuh; nobody else has business reading
            // which process works on the database. An existing file keeps
            // its mode.
            .mode(crate::store::FILE_MODE)
            .open(&lock_path)
            .map_err(io_error)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut content = String::new();
                // The pid is only a courtesy for the message; an unreadable
                // file must not hide the real problem.
                let pid = file
                    .read_to_string(&mut content)
                    .ok()
                    .and_then(|_| content.trim().parse().ok());
                return Err(CheckpointError::Locked {
                    database: db_path.to_path_buf(),
                    lock_path,
                    pid,
                });
            }
            Err(TryLockError::Error(source)) => return Err(io_error(source)),
        }
        file.set_len(0).map_err(io_error)?;
        file.seek(SeekFrom::Start(0)).map_err(io_error)?;
        writeln!(file, "{}", std::process::id()).map_err(io_error)?;
        Ok(Self { _file: file })
    }
}
