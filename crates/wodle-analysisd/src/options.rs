use std::time::Duration;

use crate::frame::DatagramLimit;

/// Settings for [`AnalysisdSocket::connect_with`](crate::AnalysisdSocket::connect_with).
///
/// Two bounds decide when waiting for analysisd turns into an error: both
/// count time without progress, so a slow but moving analysisd never trips
/// them, and a huge value (`Duration::MAX`) waits for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketOptions {
    /// The largest datagram sent, header included. The send buffer is raised
    /// to fit it; where the kernel caps the buffer below it, the socket uses
    /// the largest limit that fits and says so
    /// ([`AnalysisdSocket::limit_lowered`](crate::AnalysisdSocket::limit_lowered)).
    pub limit: DatagramLimit,
    /// How long [`connect_with`](crate::AnalysisdSocket::connect_with) waits
    /// for analysisd to come up (its socket file to appear and be bound)
    /// before failing with [`AnalysisdError::SocketMissing`] or
    /// [`AnalysisdError::NotRunning`]. `Duration::ZERO` tries once.
    ///
    /// [`AnalysisdError::SocketMissing`]: crate::AnalysisdError::SocketMissing
    /// [`AnalysisdError::NotRunning`]: crate::AnalysisdError::NotRunning
    pub connect_timeout: Duration,
    /// How long one [`send_event`](crate::AnalysisdSocket::send_event) may go
    /// without getting its datagram accepted: while analysisd's queue is full
    /// (then [`AnalysisdError::Stalled`]) or while analysisd is away and being
    /// reconnected to (then [`AnalysisdError::NotRunning`] or
    /// [`AnalysisdError::SocketMissing`]). `Duration::ZERO` never waits: a full
    /// queue fails at once, a vanished analysisd gets one immediate reconnect.
    ///
    /// [`AnalysisdError::Stalled`]: crate::AnalysisdError::Stalled
    /// [`AnalysisdError::NotRunning`]: crate::AnalysisdError::NotRunning
    /// [`AnalysisdError::SocketMissing`]: crate::AnalysisdError::SocketMissing
    pub stall_timeout: Duration,
    /// The pauses between attempts to reach an absent analysisd.
    pub reconnect_backoff: ReconnectBackoff,
}

impl SocketOptions {
    /// analysisd drains its queue continuously and restarts in seconds; a
    /// minute without progress means it is down or stuck, and the run should
    /// end (exit 11) rather than hang until modulesd's next interval.
    pub const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
    /// The same minute at start: Wazuh may start its modules before
    /// analysisd has bound its socket.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
}

impl Default for SocketOptions {
    fn default() -> Self {
        Self {
            limit: DatagramLimit::DEFAULT,
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            stall_timeout: Self::DEFAULT_STALL_TIMEOUT,
            reconnect_backoff: ReconnectBackoff::default(),
        }
    }
}

/// Exponential pauses between reconnection attempts: `initial`, doubling each
/// time up to `max`.
///
/// A restarted analysisd is usually back at once, so the first reconnection
/// is tried without a pause; these are the pauses after that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReconnectBackoff {
    /// The first pause. A zero pause is taken as one millisecond, so that a
    /// wait never spins.
    pub initial: Duration,
    /// The longest pause. Below `initial`, it is taken as `initial`.
    pub max: Duration,
}

impl ReconnectBackoff {
    const SHORTEST_PAUSE: Duration = Duration::from_millis(1);

    /// The pauses, endless: the caller's deadline is what ends them.
    pub(crate) fn pauses(self) -> impl Iterator<Item = Duration> {
        use backon::BackoffBuilder as _;
        let initial = self.initial.max(Self::SHORTEST_PAUSE);
        backon::ExponentialBuilder::new()
            .with_min_delay(initial)
            .with_max_delay(self.max.max(initial))
            .with_factor(2.0)
            .without_max_times()
            .build()
    }
}

impl Default for ReconnectBackoff {
    /// 50 ms up to 2 s: quick to notice a restarted analysisd, and no more
    /// than one attempt every two seconds while it stays down.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(50),
            max: Duration::from_secs(2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_double_up_to_the_max() {
        let backoff = ReconnectBackoff {
            initial: Duration::from_millis(10),
            max: Duration::from_millis(50),
        };
        // backon multiplies in f32: 40 ms comes out a nanosecond short.
        let pauses: Vec<_> = backoff
            .pauses()
            .take(6)
            .map(|pause| pause.as_micros().div_ceil(1_000))
            .collect();
        assert_eq!(pauses, [10, 20, 40, 50, 50, 50]);
    }

    #[test]
    fn a_zero_or_inverted_backoff_still_pauses() {
        let backoff = ReconnectBackoff {
            initial: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert!(backoff.pauses().take(3).all(|pause| !pause.is_zero()));
    }
}
