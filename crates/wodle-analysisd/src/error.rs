use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::frame::SendOutcome;

/// Everything that can go wrong delivering events to analysisd.
///
/// Whatever the error, the event it was about was not accepted by the kernel,
/// so it can be sent again and the position after it must not be stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisdError {
    /// No file at the socket's path, for as long as the socket was willing to
    /// wait: Wazuh is not running, or `WAZUH_HOME` is wrong.
    #[error(
        "Wazuh must be running: the analysisd queue socket {path} does not exist{}",
        after(*waited)
    )]
    SocketMissing { path: PathBuf, waited: Duration },

    /// The socket file exists but nothing was bound to it, for as long as the
    /// socket was willing to wait: analysisd stopped (or crashed) and left it
    /// behind.
    #[error(
        "Wazuh must be running: nothing is listening on the analysisd queue socket {path}{}",
        after(*waited)
    )]
    NotRunning { path: PathBuf, waited: Duration },

    /// Something other than a socket is at the path.
    #[error("the analysisd queue {path} is {found}, not a socket")]
    NotASocket { path: PathBuf, found: FileKind },

    /// analysisd took nothing for the whole stall timeout: its queue stayed
    /// full (or the kernel stayed short of buffer memory).
    #[error("analysisd did not accept an event for {waited:?}: its queue {path} stayed full")]
    Stalled { path: PathBuf, waited: Duration },

    /// The [`Interrupt`](crate::Interrupt) was raised while the socket waited
    /// for analysisd (to appear, to be bound, to drain its queue): the caller
    /// is stopping and the event was not delivered.
    #[error(
        "stopped waiting for analysisd at {path} after {waited:?}: a stop was requested; the \
         event was not delivered"
    )]
    Interrupted { path: PathBuf, waited: Duration },

    /// The kernel refused the datagram as too large. Fitting the datagram
    /// limit to the send buffer at connect time makes this impossible unless
    /// `net.core.wmem_max` is lowered during the run; it is typed so that it
    /// cannot pass unnoticed.
    #[error("the {len}-byte datagram is too long for the analysisd queue socket {path}")]
    MessageTooLong { path: PathBuf, len: usize },

    /// The socket's send buffer cannot hold even the smallest datagram.
    #[error(
        "the send buffer of the analysisd queue socket {path} is {send_buffer} bytes, too small \
         for any datagram: raise net.core.wmem_max"
    )]
    SendBufferTooSmall { path: PathBuf, send_buffer: usize },

    /// A datagram limit outside what can work.
    #[error("a datagram limit of {limit} bytes is outside {min}..={max}")]
    InvalidLimit {
        limit: usize,
        min: usize,
        max: usize,
    },

    /// Setting up the socket failed for another reason (permissions, a path
    /// too long, a refused socket option...).
    #[error("cannot connect to the analysisd queue socket {path}: {source}")]
    Connect {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Sending failed for another reason.
    #[error("cannot send to the analysisd queue socket {path}: {source}")]
    Send {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// [`AnalysisdSocket::send_batch`](crate::AnalysisdSocket::send_batch) failed
/// part way: the first events of the batch were delivered, the rest not.
#[derive(Debug, thiserror::Error)]
#[error("{error} (the first {} events of the batch were delivered)", delivered.len())]
pub struct BatchError {
    /// The outcomes of the events delivered, in order: the batch's first
    /// `delivered.len()` events. Their positions may be stored; the others
    /// must be sent again.
    pub delivered: Vec<SendOutcome>,
    /// Why the next event did not go through.
    #[source]
    pub error: AnalysisdError,
}

fn after(waited: Duration) -> String {
    if waited.is_zero() {
        String::new()
    } else {
        format!(" (waited {waited:?})")
    }
}

impl AnalysisdError {
    /// The exit code for this failure: 11 ("Wazuh must be running.") when
    /// analysisd is absent or stuck, 13 for any other failure to reach or
    /// send to analysisd.
    ///
    /// The reference exits 11 only when nothing is bound to the socket and 13
    /// when the file is missing; both mean the same to the administrator, so
    /// both are 11 here. A queue that stays full ([`AnalysisdError::Stalled`])
    /// is the same situation seen from the sender, so it is 11 as well.
    ///
    /// An [`AnalysisdError::Interrupted`] wait is 11 as well: analysisd was
    /// not taking events when the stop came; a caller that raised the
    /// interrupt knows better and uses its own status.
    ///
    /// A datagram the kernel finds too long is dropped by the reference with
    /// exit 0; here it never gets that far (see
    /// [`AnalysisdError::MessageTooLong`]), so it is an error like the rest.
    pub fn reference_exit_code(&self) -> i32 {
        match self {
            Self::SocketMissing { .. }
            | Self::NotRunning { .. }
            | Self::Stalled { .. }
            | Self::Interrupted { .. } => 11,
            _ => 13,
        }
    }

    /// Whether the fix is to start Wazuh (the reference's "Wazuh must be
    /// running."): no socket, or nobody bound to it.
    pub fn means_wazuh_is_down(&self) -> bool {
        matches!(self, Self::SocketMissing { .. } | Self::NotRunning { .. })
    }

    /// Whether waiting can cure this: analysisd (re)starting removes, binds
    /// and (through a link) points the path anew.
    pub(crate) fn may_pass_with_time(&self) -> bool {
        matches!(
            self,
            Self::SocketMissing { .. }
                | Self::NotRunning { .. }
                | Self::NotASocket {
                    found: FileKind::DanglingSymlink,
                    ..
                }
        )
    }

    /// Records how long the socket waited before giving up.
    pub(crate) fn after_waiting(mut self, how_long: Duration) -> Self {
        if let Self::SocketMissing { waited, .. } | Self::NotRunning { waited, .. } = &mut self {
            *waited = how_long;
        }
        self
    }
}

/// What was found at the socket's path instead of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    RegularFile,
    Directory,
    NamedPipe,
    Device,
    /// A symbolic link whose target does not exist.
    DanglingSymlink,
    /// Anything else that is not a socket either.
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RegularFile => "a regular file",
            Self::Directory => "a directory",
            Self::NamedPipe => "a named pipe",
            Self::Device => "a device",
            Self::DanglingSymlink => "a dangling symbolic link",
            Self::Other => "something else",
        })
    }
}
