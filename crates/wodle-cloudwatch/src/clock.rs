//! Our clock, injectable so that tests do not depend on the hour they run.

use std::fmt::Debug;
use std::time::{SystemTime, UNIX_EPOCH};

/// The time, epoch milliseconds.
///
/// Our clock decides only what "today" is (the default lower bound) and how
/// old a stored token is; it is never compared with AWS's times.
pub trait Clock: Debug + Send + Sync {
    fn now_millis(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_millis(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .ok()
            .and_then(|since| i64::try_from(since.as_millis()).ok())
            .unwrap_or(0)
    }
}

/// A clock stopped at one instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_millis(&self) -> i64 {
        self.0
    }
}
