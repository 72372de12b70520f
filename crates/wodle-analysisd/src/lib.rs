//! Delivers events to Wazuh's analysisd through its Unix datagram queue socket.
//!
//! Each event travels as one datagram on `<WAZUH_HOME>/queue/sockets/queue`:
//! the header `1:Wazuh-AWS:` followed by the event's raw bytes, cut to the
//! datagram limit (65,535 bytes by default) at a character boundary. One
//! [`AnalysisdSocket`] serves a whole run, and it reconnects by itself when
//! analysisd restarts.
//!
//! ```no_run
//! use wodle_analysisd::{AnalysisdSocket, SendOutcome};
//!
//! # fn main() -> Result<(), wodle_analysisd::AnalysisdError> {
//! let mut analysisd = AnalysisdSocket::connect("/var/ossec/queue/sockets/queue")?;
//! match analysisd.send_event(b"127.0.0.1 - - [31/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 12")? {
//!     SendOutcome::Delivered => {}
//!     SendOutcome::Truncated { original_len, kept_len } => {
//!         eprintln!("event truncated from {original_len} to {kept_len} bytes");
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! [`frame`] is the framing on its own, for whoever needs the exact bytes.

mod error;
mod frame;
mod socket;

pub use error::AnalysisdError;
pub use frame::{DatagramLimit, HEADER, OS_MAXSTR, SendOutcome, frame, truncate_at_char_boundary};
pub use socket::{AnalysisdSocket, SocketOptions};
