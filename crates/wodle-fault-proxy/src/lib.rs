//! A fault-injecting CloudWatch Logs endpoint: a proxy in front of moto that throttles, fails, stalls, resets and rewrites answers on cue, for the fault tests and `cargo xtask faults`.
//!
//! [`FaultProxy::start`] listens on a free `127.0.0.1` port and forwards every request, bytes
//! and headers as they are, to an upstream endpoint (moto). Tests point the collector at
//! [`FaultProxy::endpoint_url`] and arm [`FaultRule`]s: when a CloudWatch Logs request (AWS JSON
//! 1.1, `X-Amz-Target: Logs_20140328.<Operation>`) matches a rule with budget left, the rule's
//! [`Fault`] replaces or alters the answer. STS and anything else is always forwarded untouched.
//!
//! Like `wodle_testkit::MotoServer` it is blocking-friendly: it runs on its own thread with its
//! own tokio runtime, so sync tests and `#[tokio::test]`s use it alike. Dropping it (or
//! [`FaultProxy::vanish`]) stops listening and closes every open connection.
//!
//! Everything here is test support and panics, with a message, when it cannot start.
//!
//! ```no_run
//! use wodle_fault_proxy::{Fault, FaultProxy, FaultRule};
//!
//! let proxy = FaultProxy::start("http://127.0.0.1:5000");
//! // Let two GetLogEvents calls through, then throttle the next three.
//! proxy.add(FaultRule::on("GetLogEvents", Fault::Throttle).skip(2).times(3));
//! // ... run the collector against proxy.endpoint_url() ...
//! assert_eq!(proxy.injected(), 3);
//! ```

mod proxy;
mod rules;

pub use proxy::FaultProxy;
pub use rules::{Fault, FaultRule};

/// AWS's message for a GetLogEvents `nextToken` it does not accept (unknown or expired), as
/// [`Fault::RejectToken`] answers it.
pub const INVALID_TOKEN_MESSAGE: &str = "The specified nextToken is invalid.";
