//! SIGTERM and SIGINT: stop reading, deliver what is in hand, commit, exit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

use crate::exit::ExitStatus;

const NONE: u8 = 0;
const TERMINATED: u8 = 1;
const INTERRUPTED: u8 = 2;

/// Cancels a token on the first SIGTERM or SIGINT and remembers which came.
#[derive(Debug, Clone)]
pub struct StopSignals {
    token: CancellationToken,
    received: Arc<AtomicU8>,
    /// Ends the owner's waits for a stuck analysisd.
    interrupt: wodle_analysisd::Interrupt,
}

impl StopSignals {
    /// Starts listening (needs a running tokio runtime). A second signal of
    /// either kind exits at once, for an administrator who will not wait.
    pub fn install() -> StopSignals {
        let stop = StopSignals {
            token: CancellationToken::new(),
            received: Arc::new(AtomicU8::new(NONE)),
            interrupt: wodle_analysisd::Interrupt::new(),
        };
        for (kind, code) in [
            (SignalKind::terminate(), TERMINATED),
            (SignalKind::interrupt(), INTERRUPTED),
        ] {
            let Ok(mut stream) = signal(kind) else {
                tracing::warn!(
                    "cannot listen for signal {kind:?}; it will end the process at once"
                );
                continue;
            };
            let stop = stop.clone();
            tokio::spawn(async move {
                while stream.recv().await.is_some() {
                    if stop.token.is_cancelled() {
                        tracing::warn!("Second stop signal: exiting without waiting.");
                        std::process::exit(i32::from(stop.exit_status(ExitStatus::Success).code()));
                    }
                    stop.received.store(code, Ordering::SeqCst);
                    tracing::info!(
                        "Stop requested: delivering the events in hand and saving checkpoints."
                    );
                    stop.token.cancel();
                    stop.interrupt.raise();
                }
            });
        }
        stop
    }

    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub fn interrupt(&self) -> wodle_analysisd::Interrupt {
        self.interrupt.clone()
    }

    pub fn is_stopping(&self) -> bool {
        self.token.is_cancelled()
    }

    /// The exit status after a run that ended with `status`: a failure wins;
    /// else 2 after SIGINT (as the reference), 0 after SIGTERM.
    pub fn exit_status(&self, status: ExitStatus) -> ExitStatus {
        if status != ExitStatus::Success {
            return status;
        }
        match self.received.load(Ordering::SeqCst) {
            INTERRUPTED => ExitStatus::Interrupted,
            _ => ExitStatus::Success,
        }
    }
}
