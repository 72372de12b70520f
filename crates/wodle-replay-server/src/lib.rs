//! A fast CloudWatch Logs endpoint replaying prebuilt GetLogEvents pages, for benchmarks: what AWS would answer, without moto's cost.
//!
//! [`ReplayServer::start`] serves a [`Dataset`] (groups → streams → a number of events of one
//! size) on a free `127.0.0.1` port, from its own thread and tokio runtime, like
//! `wodle_fault_proxy::FaultProxy`. It answers what the collector calls:
//!
//! - STS `GetCallerIdentity` (query protocol), with the XML moto gives;
//! - CloudWatch Logs (AWS JSON 1.1, `X-Amz-Target: Logs_20140328.<Operation>`):
//!   `DescribeLogStreams` (50 a page, by name), `GetLogEvents` (`startFromHead`,
//!   `startTime`/`endTime`, `limit`, forward and backward tokens; pages of at most 10,000
//!   events or 1 MB, the token of the last page returned again once the stream is
//!   finished, as AWS does) and `DescribeLogGroups` (one page).
//!
//! Event `i` of a stream is stamped `first_timestamp + i` ms and its message is
//! [`message`]`(stream, i, message_bytes)`, so a receiver can check what arrived. Nothing is
//! stored per event: a page's body is a pure function of (stream, first event, end), built
//! from the generator; the pages a reader from the head asks for are built once at start
//! and kept as [`Bytes`] while they fit [`Dataset::page_cache_bytes`], so serving them costs
//! next to nothing; other pages are built when asked (and cached while the budget lasts).
//!
//! Every answer carries `Date` (the collector reads AWS's clock from it),
//! `x-amzn-RequestId` and the protocol's `Content-Type`. The server counts requests per
//! operation ([`ReplayServer::requests`]) and remembers when the first one arrived
//! ([`ReplayServer::first_request_at`]).
//!
//! Benchmark and test support: it panics, with a message, when it cannot start.
//!
//! ```no_run
//! use wodle_replay_server::{Dataset, ReplayServer};
//!
//! let dataset = Dataset::uniform(1_700_000_000_000, "bench", 10, 100_000, 200);
//! let server = ReplayServer::start(dataset);
//! // ... run the collector with AWS_ENDPOINT_URL=server.endpoint_url() ...
//! println!("{} GetLogEvents calls", server.requests("GetLogEvents"));
//! ```

mod dataset;
mod pages;
mod server;

pub use dataset::{Dataset, LogGroup, LogStream, message};
pub use hyper::body::Bytes;
pub use server::ReplayServer;

/// The most events one GetLogEvents page holds (AWS's limit, and its default).
pub const MAX_PAGE_EVENTS: u64 = 10_000;
/// The most bytes of events one GetLogEvents page holds (AWS: 1 MB).
pub const MAX_PAGE_BYTES: u64 = 1_048_576;
/// What an event costs towards [`MAX_PAGE_BYTES`] beyond its message: AWS counts 26 bytes
/// per event for PutLogEvents' batch size, and we assume GetLogEvents counts alike.
pub const EVENT_OVERHEAD_BYTES: u64 = 26;
/// Streams per DescribeLogStreams page (AWS's maximum, which the collector asks for).
pub const STREAMS_PER_PAGE: usize = 50;
/// The account the STS answer names (moto's default account).
pub const ACCOUNT_ID: &str = "123456789012";
