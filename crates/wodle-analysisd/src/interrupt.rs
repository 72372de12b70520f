use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Ends a socket's waits for analysisd early: a stop request (SIGTERM,
/// SIGINT) must not sit out a stuck analysisd's whole timeout.
///
/// Raised from any thread (a signal handler's task, say); every socket given
/// a clone ([`AnalysisdSocket::connect_interruptible`]) then gives up within
/// [`Interrupt::POLL`] wherever it waits: for the socket to appear or be
/// bound, for a full queue to drain, between reconnections. A send that the
/// kernel takes at once is never refused: an analysisd that reads keeps
/// getting events. The event a wait was for is not delivered, so its
/// position must not be stored, exactly as with the other errors.
///
/// [`AnalysisdSocket::connect_interruptible`]: crate::AnalysisdSocket::connect_interruptible
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

impl Interrupt {
    /// How long a raised interrupt may go unnoticed by a waiting socket: its
    /// waits are cut into slices this long.
    pub const POLL: Duration = Duration::from_millis(100);

    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every socket holding a clone to stop waiting. It stays raised.
    pub fn raise(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_raised(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// `wait` cut to [`Interrupt::POLL`] when there is an interrupt to watch
/// (`None` waits without limit, so it becomes one slice).
pub(crate) fn slice(wait: Option<Duration>, interrupt: Option<&Interrupt>) -> Option<Duration> {
    match interrupt {
        None => wait,
        Some(_) => Some(wait.map_or(Interrupt::POLL, |wait| wait.min(Interrupt::POLL))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_interrupt_is_seen_by_every_clone() {
        let interrupt = Interrupt::new();
        let clone = interrupt.clone();
        assert!(!clone.is_raised());
        interrupt.raise();
        assert!(clone.is_raised());
    }

    #[test]
    fn waits_are_sliced_only_when_watching_an_interrupt() {
        let long = Some(Duration::from_secs(60));
        let interrupt = Interrupt::new();
        assert_eq!(slice(long, None), long);
        assert_eq!(slice(None, None), None);
        assert_eq!(slice(long, Some(&interrupt)), Some(Interrupt::POLL));
        assert_eq!(slice(None, Some(&interrupt)), Some(Interrupt::POLL));
        assert_eq!(
            slice(Some(Duration::ZERO), Some(&interrupt)),
            Some(Duration::ZERO)
        );
    }
}
