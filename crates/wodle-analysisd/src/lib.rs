//! Delivers events to Wazuh's analysisd through its Unix datagram queue socket.
//!
//! Each event travels as one datagram on `<WAZUH_HOME>/queue/sockets/queue`:
//! the header `1:Wazuh-AWS:` followed by the event's raw bytes, cut to the
//! datagram limit (65,535 bytes by default) at a character boundary. One
//! [`AnalysisdSocket`] serves a whole run. It waits for analysisd rather
//! than fail at its first hiccup: for the socket to appear at start, for a
//! full queue to drain, for a restarted analysisd to be back, each for a
//! bounded time without progress ([`SocketOptions`]). An event is reported
//! delivered only once the kernel has accepted its datagram, so a caller that
//! stores its position after `Ok` never skips an event.
//!
//! ```no_run
//! use wodle_analysisd::{AnalysisdSocket, SendOutcome};
//!
//! # fn main() -> Result<(), wodle_analysisd::AnalysisdError> {
//! let mut analysisd = AnalysisdSocket::connect("/var/ossec/queue/sockets/queue")?;
//! match analysisd.send_event(b"127.0.0.1 - - [31/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12")? {
//!     SendOutcome::Delivered => {}
//!     SendOutcome::Truncated { original_len, kept_len, .. } => {
//!         eprintln!("event truncated from {original_len} to {kept_len} bytes");
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! A stop request need not sit out those bounds: a socket connected with
//! [`AnalysisdSocket::connect_interruptible`] gives up any wait shortly
//! after its [`Interrupt`] is raised.
//!
//! [`AnalysisdSocket::send_batch`] sends many events with one system call
//! where Linux allows it, and says which were delivered if it stops part
//! way. [`frame`] is the framing on its own, for whoever needs the exact
//! bytes.

mod error;
mod frame;
mod interrupt;
mod options;
mod outbox;
mod retry;
mod send_buffer;
mod socket;

pub use error::{AnalysisdError, BatchError, FileKind};
pub use frame::{DatagramLimit, HEADER, OS_MAXSTR, SendOutcome, frame, truncate_at_char_boundary};
pub use interrupt::Interrupt;
pub use options::{ReconnectBackoff, SocketOptions};
pub use send_buffer::LimitLowered;
pub use socket::AnalysisdSocket;
