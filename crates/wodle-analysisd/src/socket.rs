use std::io;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::AnalysisdError;
use crate::error::{BatchError, FileKind};
use crate::frame::{DatagramLimit, OS_MAXSTR, SendOutcome};
use crate::interrupt::{self, Interrupt};
use crate::options::SocketOptions;
use crate::outbox::{Batch, OneEvent, Outbox};
use crate::retry::{self, RetryWindow};
use crate::send_buffer::{self, Fit, LimitLowered};

/// One connected datagram socket to analysisd's queue, kept for a whole run.
///
/// The reference opens, connects and closes a socket for every event; one
/// connection spares those three system calls per event. The cost is that a
/// restarted analysisd binds a new socket at the same path, which the old
/// connection cannot reach: [`AnalysisdSocket::send_event`] reconnects when
/// that happens.
///
/// Everything here blocks the calling thread, for at most the bounds of
/// [`SocketOptions`]; an async caller runs it on a blocking thread.
pub struct AnalysisdSocket {
    path: PathBuf,
    options: SocketOptions,
    /// `None` after analysisd went away and could not be reached again
    /// within a send's bound: the next send starts by reconnecting.
    connection: Option<Connection>,
    /// The limit in force, which the send buffer may have lowered.
    limit: DatagramLimit,
    limit_lowered: Option<LimitLowered>,
    /// Ends the waits early when raised; `None`: they run their full bounds.
    interrupt: Option<Interrupt>,
    // Reused for every event: framing allocates only when an event is larger
    // than any before it.
    datagram: Vec<u8>,
}

struct Connection {
    socket: UnixDatagram,
    /// The send wait set on the socket, kept to skip the system calls when
    /// it does not change: `None` blocks without limit, `Some(ZERO)` is
    /// non-blocking.
    send_wait: Option<Duration>,
}

impl Connection {
    fn new(socket: UnixDatagram) -> Self {
        // What a fresh socket does: block, without limit.
        Self {
            socket,
            send_wait: None,
        }
    }

    fn wait_at_most(&mut self, wait: Option<Duration>) -> io::Result<()> {
        if self.send_wait == wait {
            return Ok(());
        }
        match wait {
            // std refuses a zero timeout; "never wait" is what non-blocking means.
            Some(wait) if wait.is_zero() => self.socket.set_nonblocking(true)?,
            wait => {
                self.socket.set_nonblocking(false)?;
                self.socket.set_write_timeout(wait)?;
            }
        }
        self.send_wait = wait;
        Ok(())
    }
}

impl AnalysisdSocket {
    /// Connects to the queue socket at `path` with [`SocketOptions::default`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Self, AnalysisdError> {
        Self::connect_with(path, SocketOptions::default())
    }

    /// Connects to the queue socket at `path`, waiting up to
    /// [`SocketOptions::connect_timeout`] for analysisd to come up.
    ///
    /// Fails with an error naming the path if there is still no socket there
    /// or nothing bound to it by then, and at once if something other than a
    /// socket is there, rather than on the first event.
    pub fn connect_with(
        path: impl AsRef<Path>,
        options: SocketOptions,
    ) -> Result<Self, AnalysisdError> {
        Self::connect_watching(path.as_ref(), options, None)
    }

    /// [`AnalysisdSocket::connect_with`], and every wait of this socket (this
    /// connection's, and each send's) ends within [`Interrupt::POLL`] of
    /// `interrupt` being raised, with [`AnalysisdError::Interrupted`].
    pub fn connect_interruptible(
        path: impl AsRef<Path>,
        options: SocketOptions,
        interrupt: Interrupt,
    ) -> Result<Self, AnalysisdError> {
        Self::connect_watching(path.as_ref(), options, Some(interrupt))
    }

    fn connect_watching(
        path: &Path,
        options: SocketOptions,
        interrupt: Option<Interrupt>,
    ) -> Result<Self, AnalysisdError> {
        let path = path.to_path_buf();
        let mut window = retry::window(
            options.connect_timeout,
            options.reconnect_backoff,
            interrupt.as_ref(),
        );
        let opened = open_within(&path, options.limit, &mut window)?;
        if let Some(lowered) = opened.limit_lowered {
            tracing::debug!(path = %path.display(), %lowered, "datagram limit lowered");
        }
        Ok(Self {
            path,
            options,
            connection: Some(Connection::new(opened.socket)),
            limit: opened.limit,
            limit_lowered: opened.limit_lowered,
            interrupt,
            datagram: Vec::with_capacity(opened.limit.get().min(OS_MAXSTR)),
        })
    }

    /// Sends one event as one datagram: the header, then `message`, truncated
    /// to the datagram limit in force if need be (the outcome says so).
    ///
    /// `Ok` means the kernel accepted the datagram into analysisd's queue;
    /// on any error it did not, and the event can be sent again.
    ///
    /// While analysisd's queue is full the send waits; if analysisd went away
    /// (`ECONNREFUSED`, `ENOTCONN`: it stopped or restarted) the socket
    /// reconnects, at once and then with growing pauses. Either wait ends,
    /// in an error, after [`SocketOptions::stall_timeout`] without the
    /// datagram going through.
    pub fn send_event(&mut self, message: &[u8]) -> Result<SendOutcome, AnalysisdError> {
        // Lent to the outbox, so that one allocation serves every event.
        let mut datagram = std::mem::take(&mut self.datagram);
        let mut event = OneEvent::new(message, self.limit, &mut datagram);
        let delivered = self.deliver(&mut event);
        let outcome = event.outcome();
        self.datagram = datagram;
        delivered.map(|()| outcome)
    }

    /// Sends many events, one datagram each and in order, with as few system
    /// calls as the kernel allows (sendmmsg(2), up to 1,024 datagrams a call).
    ///
    /// Framing, waiting and reconnecting are those of
    /// [`AnalysisdSocket::send_event`]; the stall timeout counts from the last
    /// datagram that went through. `Ok` holds one outcome per message. On an
    /// error, [`BatchError::delivered`] holds the outcomes of the events that
    /// the kernel did take, always the first ones of the batch: the rest can
    /// be sent again. An empty batch touches nothing.
    pub fn send_batch(&mut self, messages: &[&[u8]]) -> Result<Vec<SendOutcome>, BatchError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let mut batch = Batch::new(messages, self.limit);
        match self.deliver(&mut batch) {
            Ok(()) => Ok(batch.into_delivered()),
            Err(error) => Err(BatchError {
                delivered: batch.into_delivered(),
                error,
            }),
        }
    }

    /// Pushes the outbox through, reconnecting and waiting as
    /// [`AnalysisdSocket::send_event`] says; done when everything went
    /// through or nothing did for the stall timeout.
    fn deliver(&mut self, outbox: &mut impl Outbox) -> Result<(), AnalysisdError> {
        let mut window = self.window();
        // The whole bound, not what is left of it: the same value every time
        // spares a system call per event on the usual path. Watching an
        // interrupt, waits are slices of it.
        let nominal_wait = self.sliced(window.remaining().map(|_| self.options.stall_timeout));
        let mut send_wait = nominal_wait;
        let mut reconnected = false;
        loop {
            let connection = match self.connection.as_mut() {
                Some(connection) => connection,
                None => {
                    // A reconnection that gets straight through but whose
                    // send is refused again must not spin.
                    if reconnected && !window.pause() {
                        return Err(self.interrupted(&window).unwrap_or_else(|| {
                            AnalysisdError::NotRunning {
                                path: self.path.clone(),
                                waited: window.waited(),
                            }
                        }));
                    }
                    self.reconnect(&mut window)?;
                    reconnected = true;
                    outbox.refit(self.limit);
                    send_wait = self.sliced(window.remaining());
                    continue;
                }
            };
            connection
                .wait_at_most(send_wait)
                .map_err(|source| AnalysisdError::Send {
                    path: self.path.clone(),
                    source,
                })?;
            let error = match outbox.push(&connection.socket) {
                Ok(true) => return Ok(()),
                // Progress: the bound starts over for what is left.
                Ok(false) => {
                    window = self.window();
                    send_wait = nominal_wait;
                    reconnected = false;
                    continue;
                }
                Err(error) => error,
            };
            match error.raw_os_error() {
                Some(libc::ECONNREFUSED | libc::ENOTCONN) => {
                    tracing::debug!(path = %self.path.display(), %error, "analysisd went away; reconnecting");
                    self.connection = None;
                }
                // The queue stayed full for the whole wait given to the send.
                Some(libc::EAGAIN) if window.has_run_out() => {
                    return Err(AnalysisdError::Stalled {
                        path: self.path.clone(),
                        waited: window.waited(),
                    });
                }
                // Woken before the bound (a signal, a timer that rounded
                // down, the end of a slice): wait again for what is left,
                // unless a stop was asked for meanwhile.
                Some(libc::EAGAIN | libc::EINTR) => {
                    if let Some(interrupted) = self.interrupted(&window) {
                        return Err(interrupted);
                    }
                    send_wait = self.sliced(window.remaining());
                }
                // The kernel is short of memory for the datagram: like a full
                // queue it passes with time, but nothing wakes a waiting send
                // when it does, so poll.
                Some(libc::ENOBUFS) => {
                    if !window.pause() {
                        return Err(self.interrupted(&window).unwrap_or_else(|| {
                            AnalysisdError::Stalled {
                                path: self.path.clone(),
                                waited: window.waited(),
                            }
                        }));
                    }
                    send_wait = self.sliced(window.remaining());
                }
                Some(libc::EMSGSIZE) => {
                    return Err(AnalysisdError::MessageTooLong {
                        path: self.path.clone(),
                        len: outbox.next_len(),
                    });
                }
                _ => {
                    return Err(AnalysisdError::Send {
                        path: self.path.clone(),
                        source: error,
                    });
                }
            }
        }
    }

    /// A fresh bound for one delivery.
    fn window(&self) -> RetryWindow<impl Iterator<Item = Duration> + use<>> {
        retry::window(
            self.options.stall_timeout,
            self.options.reconnect_backoff,
            self.interrupt.as_ref(),
        )
    }

    fn sliced(&self, wait: Option<Duration>) -> Option<Duration> {
        interrupt::slice(wait, self.interrupt.as_ref())
    }

    /// The error to give up with if the interrupt was raised.
    fn interrupted<P>(&self, window: &RetryWindow<P>) -> Option<AnalysisdError>
    where
        P: Iterator<Item = Duration>,
    {
        window
            .is_interrupted()
            .then(|| AnalysisdError::Interrupted {
                path: self.path.clone(),
                waited: window.waited(),
            })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The settings asked for.
    pub fn options(&self) -> SocketOptions {
        self.options
    }

    /// The datagram limit in force: [`SocketOptions::limit`], unless the send
    /// buffer could not take it (see [`AnalysisdSocket::limit_lowered`]).
    pub fn limit(&self) -> DatagramLimit {
        self.limit
    }

    /// Set when the kernel's cap on the send buffer forced a smaller datagram
    /// limit than the one asked for: a warning for the caller to show.
    ///
    /// Known from [`AnalysisdSocket::connect_with`] on; a reconnection looks
    /// at the send buffer anew, so it can change only if `net.core.wmem_max`
    /// changes during the run.
    pub fn limit_lowered(&self) -> Option<LimitLowered> {
        self.limit_lowered
    }

    fn reconnect<P: Iterator<Item = Duration>>(
        &mut self,
        window: &mut RetryWindow<P>,
    ) -> Result<(), AnalysisdError> {
        let opened = open_within(&self.path, self.options.limit, window)?;
        if opened.limit_lowered != self.limit_lowered {
            tracing::debug!(path = %self.path.display(), limit = opened.limit.get(), "datagram limit changed on reconnection");
        }
        self.limit = opened.limit;
        self.limit_lowered = opened.limit_lowered;
        self.connection = Some(Connection::new(opened.socket));
        tracing::debug!(path = %self.path.display(), "reconnected to analysisd");
        Ok(())
    }
}

// By hand: the derived form would print the whole datagram buffer.
impl std::fmt::Debug for AnalysisdSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnalysisdSocket")
            .field("path", &self.path)
            .field("options", &self.options)
            .field("connected", &self.connection.is_some())
            .field("limit", &self.limit)
            .field("limit_lowered", &self.limit_lowered)
            .field("interruptible", &self.interrupt.is_some())
            .finish_non_exhaustive()
    }
}

struct Opened {
    socket: UnixDatagram,
    limit: DatagramLimit,
    limit_lowered: Option<LimitLowered>,
}

/// [`open`], again and again while analysisd is absent, until it works or
/// the window closes.
fn open_within<P: Iterator<Item = Duration>>(
    path: &Path,
    requested: DatagramLimit,
    window: &mut RetryWindow<P>,
) -> Result<Opened, AnalysisdError> {
    loop {
        match open(path, requested) {
            Ok(opened) => return Ok(opened),
            Err(error) if error.may_pass_with_time() => {
                if !window.pause() {
                    if window.is_interrupted() {
                        return Err(AnalysisdError::Interrupted {
                            path: path.to_path_buf(),
                            waited: window.waited(),
                        });
                    }
                    return Err(error.after_waiting(window.waited()));
                }
            }
            Err(error) => return Err(error),
        }
    }
}

/// Checks what is at `path`, then makes a socket fit for the limit and
/// connects it.
fn open(path: &Path, requested: DatagramLimit) -> Result<Opened, AnalysisdError> {
    check_is_socket(path)?;
    let connect_error = |source| AnalysisdError::Connect {
        path: path.to_path_buf(),
        source,
    };
    let socket = UnixDatagram::unbound().map_err(connect_error)?;
    let (limit, limit_lowered) =
        match send_buffer::fit(&socket, requested).map_err(connect_error)? {
            Fit::Whole(limit) => (limit, None),
            Fit::Lowered(lowered) => (lowered.effective, Some(lowered)),
            Fit::Nothing { send_buffer } => {
                return Err(AnalysisdError::SendBufferTooSmall {
                    path: path.to_path_buf(),
                    send_buffer,
                });
            }
        };
    socket
        .connect(path)
        .map_err(|source| match source.raw_os_error() {
            Some(libc::ECONNREFUSED) => AnalysisdError::NotRunning {
                path: path.to_path_buf(),
                waited: Duration::ZERO,
            },
            // Removed between the check and the connect: analysisd stopping.
            Some(libc::ENOENT) => AnalysisdError::SocketMissing {
                path: path.to_path_buf(),
                waited: Duration::ZERO,
            },
            _ => connect_error(source),
        })?;
    Ok(Opened {
        socket,
        limit,
        limit_lowered,
    })
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
                Ok(_) => not_a_socket(FileKind::DanglingSymlink),
                Err(_) => AnalysisdError::SocketMissing {
                    path: path.to_path_buf(),
                    waited: Duration::ZERO,
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
        FileKind::RegularFile
    } else if file_type.is_dir() {
        FileKind::Directory
    } else if file_type.is_fifo() {
        FileKind::NamedPipe
    } else if file_type.is_char_device() || file_type.is_block_device() {
        FileKind::Device
    } else {
        FileKind::Other
    };
    Err(not_a_socket(found))
}
