//! Client-side request rate limits for the CloudWatch Logs API, one per (account, region, API).
//!
//! AWS's request quotas are per account and Region, and shared with every
//! other client of the account; over them AWS answers `ThrottlingException`
//! ("Rate exceeded"). [`RateLimiters`] keeps wodle-aws's own concurrency from
//! provoking that: every request first [`acquire`](RateLimiters::acquire)s a
//! permit from the limiter of its (account, region, [`Api`]), which lets
//! through at most the [`Quotas`] for that API (GCRA, via `governor`).
//!
//! Throttling that happens anyway, because other clients use the same quota,
//! is left to the AWS SDK's standard retry mode (exponential backoff with
//! jitter); nothing here retries.
//!
//! ```
//! use wodle_quota::{Api, Quotas, RateLimiters};
//!
//! # async fn example() -> Result<(), wodle_quota::QuotaParseError> {
//! // From a command-line flag or an environment variable.
//! let quotas: Quotas = "GetLogEvents=5".parse()?;
//! let limits = RateLimiters::new(quotas);
//! limits.acquire("123456789012", "us-east-1", Api::GetLogEvents).await;
//! // ... send the GetLogEvents request ...
//! assert_eq!(limits.calls(), [("us-east-1".to_owned(), Api::GetLogEvents, 1)]);
//! # Ok(())
//! # }
//! # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(example()).unwrap();
//! ```

mod api;
mod error;
mod limiters;
mod quotas;

pub use api::Api;
pub use error::QuotaParseError;
pub use limiters::RateLimiters;
pub use quotas::Quotas;
