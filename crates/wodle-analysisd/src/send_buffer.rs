use std::fmt;
use std::io;
use std::os::unix::net::UnixDatagram;

use crate::frame::DatagramLimit;

/// Linux refuses a Unix datagram larger than the send buffer minus this many
/// bytes (`unix_dgram_sendmsg`).
pub(crate) const KERNEL_RESERVE: usize = 32;

/// The configured datagram limit did not fit the largest send buffer the
/// kernel allows (`net.core.wmem_max`), so a smaller one is in force: events
/// longer than `effective` are truncated to it.
///
/// A warning for the caller to show, not an error: delivery works, only
/// oversized events are cut shorter than configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitLowered {
    /// The limit asked for.
    pub requested: DatagramLimit,
    /// The limit in force: the largest that the send buffer can take.
    pub effective: DatagramLimit,
    /// The send buffer the kernel granted, in bytes.
    pub send_buffer: usize,
}

impl fmt::Display for LimitLowered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the analysisd datagram limit is lowered from {} to {} bytes: the kernel grants the \
             queue socket a send buffer of only {} bytes (raise net.core.wmem_max to at least {} \
             for the configured limit)",
            self.requested.get(),
            self.effective.get(),
            self.send_buffer,
            self.requested.get() + KERNEL_RESERVE,
        )
    }
}

/// The limit a socket works with, given what was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    Whole(DatagramLimit),
    Lowered(LimitLowered),
    /// Not even [`DatagramLimit::MIN`] fits.
    Nothing {
        send_buffer: usize,
    },
}

impl Fit {
    /// Fits `requested` into a send buffer of `send_buffer` bytes.
    pub(crate) fn of(requested: DatagramLimit, send_buffer: usize) -> Self {
        let room = send_buffer.saturating_sub(KERNEL_RESERVE);
        if requested.get() <= room {
            return Self::Whole(requested);
        }
        match DatagramLimit::new(room) {
            Ok(effective) => Self::Lowered(LimitLowered {
                requested,
                effective,
                send_buffer,
            }),
            Err(_) => Self::Nothing { send_buffer },
        }
    }
}

/// Raises the socket's send buffer if a datagram of `requested` bytes does
/// not fit it, and says which limit the socket can take.
///
/// The default buffer (`net.core.wmem_default`, ~212 KB) is plenty for the
/// default 64 KB limit, so nothing is changed then. The kernel doubles what
/// it is asked for (socket(7)), which leaves room for a second datagram
/// while the first waits in analysisd's queue, and caps the request at
/// `net.core.wmem_max`. `SO_SNDBUFFORCE` could exceed that cap as root; it is
/// not used so that the limit in force does not depend on who runs the
/// program, and an administrator who wants more raises the sysctl.
pub(crate) fn fit(socket: &UnixDatagram, requested: DatagramLimit) -> io::Result<Fit> {
    let socket = socket2::SockRef::from(socket);
    let needed = requested.get() + KERNEL_RESERVE;
    let mut send_buffer = socket.send_buffer_size()?;
    if send_buffer < needed {
        socket.set_send_buffer_size(needed)?;
        send_buffer = socket.send_buffer_size()?;
        tracing::debug!(send_buffer, "raised the analysisd socket's send buffer");
    }
    Ok(Fit::of(requested, send_buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(bytes: usize) -> DatagramLimit {
        DatagramLimit::new(bytes).unwrap()
    }

    #[test]
    fn a_limit_that_fits_is_kept() {
        assert_eq!(Fit::of(limit(65_535), 212_992), Fit::Whole(limit(65_535)));
        // Exactly the reserve left over.
        assert_eq!(Fit::of(limit(1_000), 1_032), Fit::Whole(limit(1_000)));
    }

    #[test]
    fn a_limit_over_the_buffer_falls_back_to_the_largest_that_fits() {
        assert_eq!(
            Fit::of(limit(1_000_000), 425_984),
            Fit::Lowered(LimitLowered {
                requested: limit(1_000_000),
                effective: limit(425_952),
                send_buffer: 425_984,
            })
        );
        assert_eq!(
            Fit::of(limit(1_000), 1_031),
            Fit::Lowered(LimitLowered {
                requested: limit(1_000),
                effective: limit(999),
                send_buffer: 1_031,
            })
        );
    }

    #[test]
    fn a_buffer_too_small_for_any_datagram_is_nothing() {
        assert_eq!(
            Fit::of(limit(1_000), KERNEL_RESERVE + DatagramLimit::MIN - 1),
            Fit::Nothing {
                send_buffer: KERNEL_RESERVE + DatagramLimit::MIN - 1
            }
        );
        assert_eq!(Fit::of(limit(1_000), 0), Fit::Nothing { send_buffer: 0 });
    }

    #[test]
    fn the_warning_names_both_limits_and_the_sysctl() {
        let warning = LimitLowered {
            requested: limit(1_000_000),
            effective: limit(425_952),
            send_buffer: 425_984,
        };
        let text = warning.to_string();
        for expected in [
            "1000000",
            "425952",
            "425984",
            "net.core.wmem_max",
            "1000032",
        ] {
            assert!(text.contains(expected), "{text}");
        }
    }
}
