use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong delivering events to analysisd.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AnalysisdError {
    /// No file at the socket's path: Wazuh is not running, or `WAZUH_HOME` is
    /// wrong.
    #[error("Wazuh must be running: the analysisd queue socket {path} does not exist")]
    SocketMissing { path: PathBuf },

    /// The socket file exists but nothing is bound to it: analysisd stopped
    /// (or crashed) and left it behind.
    #[error("Wazuh must be running: nothing is listening on the analysisd queue socket {path}")]
    NotRunning { path: PathBuf },

    /// Something other than a socket is at the path.
    #[error("the analysisd queue {path} is {found}, not a socket")]
    NotASocket { path: PathBuf, found: &'static str },

    /// analysisd did not take the event in time: its queue stayed full. The
    /// event was not sent and can be sent again.
    #[error(
        "analysisd did not accept the event {}: its queue {path} is full",
        match timeout { Some(t) => format!("within {t:?}"), None => "at once".to_owned() }
    )]
    WouldBlock {
        path: PathBuf,
        /// The wait that ran out; `None` when the socket does not wait.
        timeout: Option<Duration>,
    },

    /// The kernel refused the datagram as too large. Truncation to the
    /// datagram limit and the send-buffer check at connect time should make
    /// this impossible; it is typed so that it cannot pass unnoticed.
    #[error("the {len}-byte datagram is too long for the analysisd queue socket {path}")]
    MessageTooLong { path: PathBuf, len: usize },

    /// The socket's send buffer cannot hold a datagram of the configured
    /// limit, even after asking the kernel for more.
    #[error(
        "the send buffer of the analysisd queue socket {path} is {send_buffer} bytes, too small for \
         {limit}-byte datagrams: lower the limit or raise net.core.wmem_max"
    )]
    SendBufferTooSmall {
        path: PathBuf,
        limit: usize,
        send_buffer: usize,
    },

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

impl AnalysisdError {
    /// The exit code the reference uses for this failure: 11 when nothing
    /// listens on the socket ("Wazuh must be running."), 13 for any other
    /// failure to reach or send to analysisd.
    ///
    /// A datagram the kernel finds too long is dropped by the reference with
    /// exit 0; here it never gets that far (see
    /// [`AnalysisdError::MessageTooLong`]), so it is an error like the rest.
    pub fn reference_exit_code(&self) -> i32 {
        match self {
            Self::NotRunning { .. } => 11,
            _ => 13,
        }
    }

    /// Whether the fix is to start Wazuh (the reference's "Wazuh must be
    /// running.").
    pub fn means_wazuh_is_down(&self) -> bool {
        matches!(self, Self::SocketMissing { .. } | Self::NotRunning { .. })
    }
}
