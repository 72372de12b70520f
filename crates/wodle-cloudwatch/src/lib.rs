//! The pull engine: reads log streams page by page and ties each page to delivery and its checkpoint.
//!
//! How an event travels, and where its checkpoint is written:
//!
//! 1. [`collect_service`] fans out over the service's regions and log groups
//!    (concurrently), lists each group's streams (DescribeLogStreams) and asks
//!    the owner for a plan per stream ([`plan::plan_stream`]): skip it as idle,
//!    or read it from its stored cursor, from the reference's row, or from the
//!    group's lower bound, with a backfill first when `only_logs_after` moved
//!    earlier.
//! 2. A reader task per stream (at most `max_concurrent_streams` at once)
//!    follows GetLogEvents' forward tokens with a [`StreamReader`] and hands
//!    each page to the owner. The stream is finished when the token that comes
//!    back equals the one sent, never at the first empty page.
//! 3. The owner ([`spawn_owner`]), one thread, sends each event to analysisd,
//!    advances the stream's cursor only once the kernel accepted the
//!    datagram, and commits every stream's cursor and reference row in one
//!    transaction every `commit_every` delivered events, before sending more.
//!
//! A cursor records the request that fetched the page being delivered and how
//! many of its events were handled, so a killed process re-fetches that page
//! and skips them; a token older than [`plan::TOKEN_MAX_AGE`] or rejected by
//! AWS is replaced by a read by time from the last event handled, skipping
//! the events of that millisecond already handled.

mod clock;
mod collect;
mod owner;
pub mod plan;
mod reader;

pub use clock::{Clock, FixedClock, SystemClock};
pub use collect::{
    DEFAULT_IDLE_STREAM_LAG, DEFAULT_MAX_CONCURRENT_STREAMS, GroupFailure, RegionClient,
    RemoveFailure, ServiceReport, ServiceRun, StreamFailure, collect_service,
};
pub use owner::{
    DEFAULT_COMMIT_EVERY, DeliveryCounts, DeliveryProbe, DiscardRule, EventSink, OwnerError,
    OwnerGone, OwnerHandle, OwnerOutcome, OwnerSettings, StreamId, spawn_owner,
};
pub use reader::{
    LogEvent, Page, PullError, ReaderQuota, StreamPosition, StreamReader, is_end_of_stream,
};
pub use wodle_quota::{Quotas, RateLimiters};
