use std::time::{Duration, Instant};

use crate::interrupt::Interrupt;
use crate::options::ReconnectBackoff;

/// The time one delivery (or the first connection) may take without
/// progress, and the pauses between its attempts.
pub(crate) struct RetryWindow<P> {
    started: Instant,
    /// `None`: the bound is too far away to be represented, so it never comes.
    deadline: Option<Instant>,
    pauses: P,
    /// Ends the window early once raised.
    interrupt: Option<Interrupt>,
}

pub(crate) fn window(
    bound: Duration,
    backoff: ReconnectBackoff,
    interrupt: Option<&Interrupt>,
) -> RetryWindow<impl Iterator<Item = Duration> + use<>> {
    let started = Instant::now();
    RetryWindow {
        started,
        deadline: started.checked_add(bound),
        pauses: backoff.pauses(),
        interrupt: interrupt.cloned(),
    }
}

impl<P: Iterator<Item = Duration>> RetryWindow<P> {
    pub(crate) fn waited(&self) -> Duration {
        self.started.elapsed()
    }

    /// What is left of the bound; `None` when it never runs out.
    pub(crate) fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|deadline| deadline.saturating_duration_since(Instant::now()))
    }

    pub(crate) fn has_run_out(&self) -> bool {
        self.remaining().is_some_and(|left| left.is_zero())
    }

    /// Whether the interrupt was raised: the caller gives up at once.
    pub(crate) fn is_interrupted(&self) -> bool {
        self.interrupt.as_ref().is_some_and(Interrupt::is_raised)
    }

    /// Sleeps before the next attempt, never past the deadline, so that the
    /// last attempt happens right at it. `false` (without sleeping) once the
    /// deadline has passed, and (within [`Interrupt::POLL`]) once the
    /// interrupt is raised: the caller gives up.
    pub(crate) fn pause(&mut self) -> bool {
        let pause = self.pauses.next().unwrap_or(Duration::ZERO);
        let pause = match self.remaining() {
            Some(left) if left.is_zero() => return false,
            Some(left) => pause.min(left),
            None => pause,
        };
        let Some(interrupt) = &self.interrupt else {
            std::thread::sleep(pause);
            return true;
        };
        let until = Instant::now() + pause;
        loop {
            if interrupt.is_raised() {
                return false;
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Interrupt::POLL));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backoff() -> ReconnectBackoff {
        ReconnectBackoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(5),
        }
    }

    #[test]
    fn a_zero_bound_allows_no_pause() {
        let mut window = window(Duration::ZERO, backoff(), None);
        assert!(window.has_run_out());
        assert!(!window.pause());
    }

    #[test]
    fn pauses_stop_once_the_bound_has_passed() {
        let mut window = window(Duration::from_millis(20), backoff(), None);
        let mut pauses = 0;
        while window.pause() {
            pauses += 1;
            assert!(pauses < 10_000, "the window never closed");
        }
        assert!(window.has_run_out());
        assert!(window.waited() >= Duration::from_millis(20));
    }

    #[test]
    fn an_unrepresentable_bound_never_runs_out() {
        let mut window = window(Duration::MAX, backoff(), None);
        assert_eq!(window.remaining(), None);
        assert!(!window.has_run_out());
        assert!(window.pause());
    }

    #[test]
    fn a_raised_interrupt_ends_the_pauses_of_an_endless_window() {
        let interrupt = Interrupt::new();
        let mut window = window(Duration::MAX, backoff(), Some(&interrupt));
        assert!(window.pause());
        assert!(!window.is_interrupted());
        interrupt.raise();
        assert!(!window.pause());
        assert!(window.is_interrupted());
    }
}
