//! Test-only hooks, armed from the environment. None is meant for production.
//!
//! `WODLE_AWS_TEST_KILL` places a SIGKILL at an exact point of delivery, so
//! that the crash tests (`tests/faults_crash.rs`) can prove what a kill costs
//! at that very point instead of wherever a timer happens to land:
//!
//! - `delivered=N`: right after the kernel accepted the N-th event's datagram,
//!   before its cursor moves past it;
//! - `commit-written=N`: inside the N-th commit, its rows written and the
//!   transaction not yet committed;
//! - `committed=N`: right after the N-th commit is durable.
//!
//! Counts start at 1 for each delivery thread (one per service run). The
//! process sends itself SIGKILL, as the OOM killer would: no handler, no
//! destructor, no flush runs. An unset or empty variable arms nothing.

use std::str::FromStr;
use std::sync::Arc;

use wodle_cloudwatch::DeliveryProbe;

/// The environment variable that arms the kill.
pub const KILL_ENV: &str = "WODLE_AWS_TEST_KILL";

const KILL_FORMS: &str = "delivered=N, commit-written=N or committed=N (N a whole number >= 1)";

/// Where the process kills itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillPoint {
    Delivered(u64),
    CommitWritten(u64),
    Committed(u64),
}

impl FromStr for KillPoint {
    type Err = ();

    fn from_str(text: &str) -> Result<KillPoint, ()> {
        let (point, count) = text.trim().split_once('=').ok_or(())?;
        let count: u64 = count.trim().parse().map_err(|_| ())?;
        if count == 0 {
            return Err(());
        }
        match point.trim() {
            "delivered" => Ok(KillPoint::Delivered(count)),
            "commit-written" => Ok(KillPoint::CommitWritten(count)),
            "committed" => Ok(KillPoint::Committed(count)),
            _ => Err(()),
        }
    }
}

impl std::fmt::Display for KillPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KillPoint::Delivered(count) => write!(f, "delivered={count}"),
            KillPoint::CommitWritten(count) => write!(f, "commit-written={count}"),
            KillPoint::Committed(count) => write!(f, "committed={count}"),
        }
    }
}

/// A [`DeliveryProbe`] that SIGKILLs the process at its point.
#[derive(Debug)]
pub struct KillProbe {
    point: KillPoint,
}

impl DeliveryProbe for KillProbe {
    fn delivered(&self, total: u64) {
        if self.point == KillPoint::Delivered(total) {
            kill_self();
        }
    }

    fn commit_written(&self, commit: u64) {
        if self.point == KillPoint::CommitWritten(commit) {
            kill_self();
        }
    }

    fn committed(&self, commit: u64) {
        if self.point == KillPoint::Committed(commit) {
            kill_self();
        }
    }
}

/// The probe `WODLE_AWS_TEST_KILL` asks for, if any; an unparsable value is
/// an error naming the variable and the accepted forms.
pub fn kill_probe_from_env() -> Result<Option<Arc<dyn DeliveryProbe>>, String> {
    let Some(value) = std::env::var_os(KILL_ENV) else {
        return Ok(None);
    };
    let Some(text) = value.to_str() else {
        return Err(format!(
            "{KILL_ENV} is not valid UTF-8; expected {KILL_FORMS}"
        ));
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    let point: KillPoint = text
        .parse()
        .map_err(|()| format!("invalid value for {KILL_ENV}: {text:?}; expected {KILL_FORMS}"))?;
    tracing::warn!(
        "{KILL_ENV}={point} is set: this process will kill itself with SIGKILL at that point (a test hook)"
    );
    Ok(Some(Arc::new(KillProbe { point })))
}

/// SIGKILL to ourselves: nothing runs after it, exactly as when the OOM
/// killer strikes (abort() would raise SIGABRT, which can be caught and dumps core).
fn kill_self() {
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
    // A signal a process sends itself arrives before kill(2) returns, so this
    // is reached only if kill(2) was refused: stopping still beats going on.
    std::process::abort();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        assert_eq!("delivered=7".parse(), Ok(KillPoint::Delivered(7)));
        assert_eq!(
            " commit-written = 2 ".parse(),
            Ok(KillPoint::CommitWritten(2))
        );
        assert_eq!("committed=1".parse(), Ok(KillPoint::Committed(1)));
    }

    #[test]
    fn other_values_are_refused() {
        for text in [
            "delivered",
            "delivered=",
            "delivered=0",
            "delivered=-1",
            "delivered=x",
            "sent=3",
            "=3",
            "committed=1=2",
        ] {
            assert_eq!(text.parse::<KillPoint>(), Err(()), "{text:?}");
        }
    }

    #[test]
    fn the_display_is_the_accepted_form() {
        for point in [
            KillPoint::Delivered(12),
            KillPoint::CommitWritten(3),
            KillPoint::Committed(4),
        ] {
            assert_eq!(point.to_string().parse(), Ok(point));
        }
    }
}
