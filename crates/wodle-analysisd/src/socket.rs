use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::AnalysisdError;
use crate::frame::{DatagramLimit, OS_MAXSTR, SendOutcome, frame};

/// Settings for [`AnalysisdSocket::connect_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// The largest datagram sent, header included.
    pub limit: DatagramLimit,
    /// How long a send may wait while analysisd's queue is full:
    /// `None` waits for as long as it takes (what the reference does),
    /// `Some(Duration::ZERO)` never waits, anything else waits at most that
    /// long. When the wait runs out the send fails with
    /// [`AnalysisdError::WouldBlock`] and the event can be sent again.
    pub send_timeout: Option<Duration>,
}

impl SocketOptions {
    /// The default wait: analysisd drains its queue continuously, so a queue
    /// still full after this long means analysisd is stuck or overloaded, and
    /// the caller should hear about it rather than hang.
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            limit: DatagramLimit::DEFAULT,
            send_timeout: Some(Self::DEFAULT_SEND_TIMEOUT),
        }
    }
}

/// One connected datagram socket to analysisd's queue, kept for a whole run.
///
/// The reference opens, connects and closes a socket for every event; one
/// connection spares those three system calls per event. The cost is that a
/// restarted analysisd binds a new socket at the same path, which the old
/// connection cannot reach: [`AnalysisdSocket::send_event`] reconnects once
/// when that happens.
///
/// Sends block (a Unix datagram send is quick unless analysisd's queue is
/// full) for at most [`SocketOptions::send_timeout`].
pub struct AnalysisdSocket {
    socket: UnixDatagram,
    path: PathBuf,
    options: SocketOptions,
    // Reused for every event: framing allocates only when an event is larger
    // than any before it.
    datagram: Vec<u8>,
}

impl AnalysisdSocket {
    /// Connects to the queue socket at `path` with [`SocketOptions::default`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, AnalysisdError> {
        Self::connect_with(path, SocketOptions::default())
    }

    /// Connects to the queue socket at `path`.
    ///
    /// Fails at once, with an error naming the path, if there is no socket
    /// there or nothing is bound to it, rather than on the first event.
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: SocketOptions,
    ) -> Result<Self, AnalysisdError> {
        let path = path.as_ref().to_path_buf();
        let socket = open(&path, &options)?;
        Ok(Self {
            socket,
            path,
            options,
            datagram: Vec::with_capacity(options.limit.get().min(OS_MAXSTR)),
        })
    }

    /// Sends one event as one datagram: the header, then `message`, truncated
    /// to the datagram limit if need be (the outcome says so).
    ///
    /// If analysisd went away since the last send (`ECONNREFUSED`, or
    /// `ENOTCONN` once the kernel dropped the dead peer), the socket
    /// reconnects once and sends again; a restarted analysisd thus loses
    /// nothing. If it is still gone, the error says so.
    pub fn send_event(&mut self, message: &[u8]) -> Result<SendOutcome, AnalysisdError> {
        let outcome = frame(message, self.options.limit, &mut self.datagram);
        match self.send_datagram() {
            Ok(sent) => self.check_whole(sent)?,
            Err(error) if peer_is_gone(&error) => {
                tracing::debug!(path = %self.path.display(), %error, "analysisd went away; reconnecting");
                self.socket = open(&self.path, &self.options)?;
                let sent = self.send_datagram().map_err(|e| self.send_error(e))?;
                self.check_whole(sent)?;
            }
            Err(error) => return Err(self.send_error(error)),
        }
        Ok(outcome)
    }

    fn send_datagram(&self) -> io::Result<usize> {
        loop {
            match self.socket.send(&self.datagram) {
                // A send with a timeout is never restarted after a signal
                // (signal(7)), even with SA_RESTART; nothing was sent yet.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                result => return result,
            }
        }
    }

    /// Changes how long sends may wait; see [`SocketOptions::send_timeout`].
    pub fn set_send_timeout(&mut self, timeout: Option<Duration>) -> Result<(), AnalysisdError> {
        apply_send_timeout(&self.socket, timeout).map_err(|source| AnalysisdError::Connect {
            path: self.path.clone(),
            source,
        })?;
        self.options.send_timeout = timeout;
        Ok(())
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings in force.
    pub fn options(&self) -> SocketOptions {
        self.options
    }

    /// A datagram goes whole or not at all; anything else would be a kernel
    /// surprise worth an error rather than a silently shortened event.
    fn check_whole(&self, sent: usize) -> Result<(), AnalysisdError> {
        if sent == self.datagram.len() {
            Ok(())
        } else {
            Err(AnalysisdError::Send {
                path: self.path.clone(),
                source: io::Error::other(format!(
                    "sent {sent} of {} bytes of a datagram",
                    self.datagram.len()
                )),
            })
        }
    }

    fn send_error(&self, error: io::Error) -> AnalysisdError {
        let path = self.path.clone();
        match error.raw_os_error() {
            Some(libc::ECONNREFUSED | libc::ENOTCONN) => AnalysisdError::NotRunning { path },
            Some(libc::EMSGSIZE) => AnalysisdError::MessageTooLong {
                path,
                len: self.datagram.len(),
            },
            // ENOBUFS: the kernel is short of memory for the datagram, which
            // like a full queue passes with time.
            Some(libc::EAGAIN | libc::ENOBUFS) => AnalysisdError::WouldBlock {
                path,
                timeout: self.options.send_timeout.filter(|t| !t.is_zero()),
            },
            _ => AnalysisdError::Send {
                path,
                source: error,
            },
        }
    }
}

// By hand: the derived form would print the whole datagram buffer.
impl std::fmt::Debug for AnalysisdSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisdSocket")
            .field("socket", &self.socket)
            .field("path", &self.path)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

fn peer_is_gone(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::ECONNREFUSED | libc::ENOTCONN)
    )
}

/// Checks what is at `path`, then makes a socket fit for the limit and
/// connects it.
fn open(path: &Path, options: &SocketOptions) -> Result<UnixDatagram, AnalysisdError> {
    check_is_socket(path)?;
    let connect_error = |source| AnalysisdError::Connect {
        path: path.to_path_buf(),
        source,
    };
    let socket = UnixDatagram::unbound().map_err(connect_error)?;
    ensure_send_buffer(&socket, path, options.limit)?;
    apply_send_timeout(&socket, options.send_timeout).map_err(connect_error)?;
    socket
        .connect(path)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ECONNREFUSED) => AnalysisdError::NotRunning {
                path: path.to_path_buf(),
            },
            // Removed between the check and the connect: analysisd stopping.
            Some(libc::ENOENT) => AnalysisdError::SocketMissing {
                path: path.to_path_buf(),
            },
            _ => connect_error(source),
        })?;
    Ok(socket)
}

/// connect(2) on a regular file says only "connection refused", which would
/// send the user looking for a stopped analysisd instead of a wrong path.
fn check_is_socket(path: &Path) -> Result<(), AnalysisdError> {
    let not_a_socket = |found| AnalysisdError::NotASocket {
        path: path.to_path_buf(),
        found,
    };
    let file_type = match std::fs::metadata(path) {
        Ok(metadata) => metadata.file_type(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(match std::fs::symlink_metadata(path) {
                Ok(_) => not_a_socket("a dangling symbolic link"),
                Err(_) => AnalysisdError::SocketMissing {
                    path: path.to_path_buf(),
                },
            });
        }
        Err(source) => {
            return Err(AnalysisdError::Connect {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let found = if file_type.is_socket() {
        return Ok(());
    } else if file_type.is_file() {
        "a regular file"
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_fifo() {
        "a named pipe"
    } else if file_type.is_char_device() || file_type.is_block_device() {
        "a device"
    } else {
        "not a socket"
    };
    Err(not_a_socket(found))
}

fn apply_send_timeout(socket: &UnixDatagram, timeout: Option<Duration>) -> io::Result<()> {
    match timeout {
        // std refuses a zero timeout; "never wait" is what non-blocking means.
        Some(timeout) if timeout.is_zero() => {
            socket.set_write_timeout(None)?;
            socket.set_nonblocking(true)
        }
        timeout => {
            socket.set_nonblocking(false)?;
            socket.set_write_timeout(timeout)
        }
    }
}

/// Linux refuses a Unix datagram larger than the send buffer minus this many
/// bytes (`unix_dgram_sendmsg`).
const KERNEL_RESERVE: usize = 32;

/// Makes sure a datagram of `limit` bytes fits the socket's send buffer.
///
/// The default buffer (`net.core.wmem_default`, ~212 KB) is plenty for the
/// default 64 KB limit, so nothing is changed then. A larger configured limit
/// asks for room for two datagrams, so that one can wait in analysisd's
/// queue while the next is written; the kernel caps the request at
/// `net.core.wmem_max`, which root may exceed with `SO_SNDBUFFORCE`.
fn ensure_send_buffer(
    socket: &UnixDatagram,
    path: &Path,
    limit: DatagramLimit,
) -> Result<(), AnalysisdError> {
    let needed = limit.get() + KERNEL_RESERVE;
    let option_error = |source| AnalysisdError::Connect {
        path: path.to_path_buf(),
        source,
    };
    if send_buffer(socket).map_err(option_error)? >= needed {
        return Ok(());
    }
    set_send_buffer(socket, libc::SO_SNDBUF, 2 * needed).map_err(option_error)?;
    let mut send_buffer_size = send_buffer(socket).map_err(option_error)?;
    #[cfg(target_os = "linux")]
    if send_buffer_size < needed
        && set_send_buffer(socket, libc::SO_SNDBUFFORCE, 2 * needed).is_ok()
    {
        send_buffer_size = send_buffer(socket).map_err(option_error)?;
    }
    if send_buffer_size < needed {
        return Err(AnalysisdError::SendBufferTooSmall {
            path: path.to_path_buf(),
            limit: limit.get(),
            send_buffer: send_buffer_size,
        });
    }
    tracing::debug!(path = %path.display(), send_buffer_size, "raised the analysisd socket's send buffer");
    Ok(())
}

fn send_buffer(socket: &UnixDatagram) -> io::Result<usize> {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the descriptor is open for the borrow of `socket`; `value` and
    // `len` are valid for writes and `len` holds the size of `value`, as
    // getsockopt(2) requires for SO_SNDBUF.
    #[allow(unsafe_code)]
    let result = unsafe {
        libc::getsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if result == 0 {
        usize::try_from(value).map_err(io::Error::other)
    } else {
        Err(io::Error::last_os_error())
    }
}

fn set_send_buffer(socket: &UnixDatagram, option: libc::c_int, bytes: usize) -> io::Result<()> {
    // DatagramLimit::MAX keeps this far below c_int::MAX.
    let value = libc::c_int::try_from(bytes).map_err(io::Error::other)?;
    // SAFETY: the descriptor is open for the borrow of `socket`; `value` lives
    // across the call and the length passed is its size.
    #[allow(unsafe_code)]
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            option,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
