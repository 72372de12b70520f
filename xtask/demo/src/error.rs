//! Why the demo failed; each message says what to look at.

use std::path::PathBuf;
use std::time::Duration;

use crate::delivery::DeliveryCheck;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("usage: xtask-demo [--wodle-aws PATH] (got {0:?}); run it through `cargo xtask demo`")]
    Usage(String),
    #[error("cannot find this program's own path to look for wodle-aws beside it: {0}")]
    OwnPath(#[source] std::io::Error),
    #[error("{} does not exist: build it with `cargo build --bin wodle-aws`, or run `cargo xtask demo`", .0.display())]
    BinaryMissing(PathBuf),
    #[error("{0}")]
    Moto(#[from] wodle_testkit::MotoSetupError),
    #[error("cannot start the async runtime for seeding: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("cannot run {}: {source}", .binary.display())]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("wodle-aws did not exit within {0:?}; killed it")]
    Hung(Duration),
    #[error("the {run} run of wodle-aws exited with {code}, expected 0 (its stderr is above)")]
    WodleFailed { run: &'static str, code: String },
    #[error("cannot send the fence datagram to the analysisd socket: {0}")]
    Fence(#[source] std::io::Error),
    #[error("the fence datagram did not come back from the analysisd socket within {0:?}")]
    FenceTimeout(Duration),
    #[error("analysisd did not receive exactly the events put:\n{0}")]
    Delivery(DeliveryCheck),
    #[error("the rerun sent {0} datagram(s); the checkpoint should have made it send none")]
    Resent(usize),
    #[error("cannot read the checkpoint table in {}: {source}", .path.display())]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the checkpoint is not what the run delivered: {0}")]
    Checkpoint(String),
}
