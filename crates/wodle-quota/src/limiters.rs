use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};

use crate::{Api, Quotas};

/// One client-side rate limiter per (account, region, API), made on first use
/// with the [`Quotas`] given, plus a count of the permits granted.
///
/// Cheap to clone: clones share the limiters and the counts. `Send` and
/// `Sync`. [`acquire`](Self::acquire) needs a tokio runtime with its time
/// driver, and its clock is tokio's, so tests with paused time drive it.
#[derive(Clone)]
pub struct RateLimiters {
    shared: Arc<Shared>,
}

struct Shared {
    quotas: Quotas,
    clock: TokioClock,
    limiters: Mutex<HashMap<Key, Arc<Limiter>>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    account: String,
    region: String,
    api: Api,
}

struct Limiter {
    gate: RateLimiter<NotKeyed, InMemoryState, TokioClock, NoOpMiddleware<Duration>>,
    granted: AtomicU64,
}

impl RateLimiters {
    /// Limiters that allow `quotas` per account and region. Each allows a
    /// burst of one second's quota (N requests at once after a quiet second),
    /// then one request every 1/N second: AWS counts requests per second, so
    /// a full second's worth at once stays within it.
    pub fn new(quotas: Quotas) -> Self {
        Self {
            shared: Arc::new(Shared {
                quotas,
                clock: TokioClock::starting_now(),
                limiters: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The quotas these limiters allow.
    pub fn quotas(&self) -> Quotas {
        self.shared.quotas
    }

    /// Waits until a request to `api` in `region` of `account` is within the
    /// quota, and counts it. Call it right before each request.
    ///
    /// `account` is any stable name of the AWS account: its ID, or the
    /// profile or role when the ID is not known; requests under one name share
    /// one limiter per region and API.
    ///
    /// Cancel-safe: a call dropped while waiting has taken no permit.
    pub async fn acquire(&self, account: &str, region: &str, api: Api) {
        let limiter = self.limiter(account, region, api);
        while let Err(not_until) = limiter.gate.check() {
            let wait = not_until.wait_time_from(self.shared.clock.now());
            tokio::time::sleep(wait).await;
        }
        limiter.granted.fetch_add(1, Ordering::Relaxed);
    }

    /// The permits granted so far per region and API, over all accounts,
    /// sorted by region and API: the API calls a run made.
    pub fn calls(&self) -> Vec<(String, Api, u64)> {
        let mut calls: BTreeMap<(String, Api), u64> = BTreeMap::new();
        for (key, limiter) in self.lock().iter() {
            *calls.entry((key.region.clone(), key.api)).or_default() +=
                limiter.granted.load(Ordering::Relaxed);
        }
        calls
            .into_iter()
            .map(|((region, api), count)| (region, api, count))
            .collect()
    }

    fn limiter(&self, account: &str, region: &str, api: Api) -> Arc<Limiter> {
        let key = Key {
            account: account.to_owned(),
            region: region.to_owned(),
            api,
        };
        let quota = Quota::per_second(self.shared.quotas.get(api));
        let clock = self.shared.clock;
        Arc::clone(self.lock().entry(key).or_insert_with(|| {
            Arc::new(Limiter {
                gate: RateLimiter::direct_with_clock(quota, clock),
                granted: AtomicU64::new(0),
            })
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<Limiter>>> {
        // The map only ever gains complete entries, so one left by a thread
        // that panicked is still sound.
        self.shared
            .limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for RateLimiters {
    /// Limiters at AWS's default quotas.
    fn default() -> Self {
        Self::new(Quotas::default())
    }
}

impl fmt::Debug for RateLimiters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiters")
            .field("quotas", &self.shared.quotas)
            .field("limiters", &self.lock().len())
            .finish()
    }
}

/// Time since the limiters were made, read from tokio's clock, so that the
/// limiters and the sleeps in `acquire` agree, paused time included.
#[derive(Debug, Clone, Copy)]
struct TokioClock {
    origin: tokio::time::Instant,
}

impl TokioClock {
    fn starting_now() -> Self {
        Self {
            origin: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use tokio::time::Instant;

    use super::*;

    const ACCOUNT: &str = "123456789012";

    fn limits(api: Api, per_second: u32) -> RateLimiters {
        RateLimiters::new(Quotas::default().with(api, NonZeroU32::new(per_second).unwrap()))
    }

    // Paused time: tokio's clock moves only when every task waits on a timer,
    // and then straight to the next one, so these tests measure the limiter,
    // not the machine.
    #[tokio::test(start_paused = true)]
    async fn a_seconds_quota_passes_at_once_and_the_next_request_waits() {
        let limits = limits(Api::GetLogEvents, 4);
        let start = Instant::now();
        for _ in 0..4 {
            limits
                .acquire(ACCOUNT, "us-east-1", Api::GetLogEvents)
                .await;
        }
        assert_eq!(
            start.elapsed(),
            Duration::ZERO,
            "the burst of 4 must not wait"
        );

        limits
            .acquire(ACCOUNT, "us-east-1", Api::GetLogEvents)
            .await;
        let waited = start.elapsed();
        // One permit comes back every 1/4 s.
        assert!(waited >= Duration::from_millis(250), "waited {waited:?}");
        assert!(waited < Duration::from_secs(1), "waited {waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_stream_gets_the_quota_per_second() {
        let limits = limits(Api::DescribeLogStreams, 5);
        let start = Instant::now();
        // The burst of 5, then 10 more at 5 a second.
        for _ in 0..15 {
            limits
                .acquire(ACCOUNT, "eu-west-1", Api::DescribeLogStreams)
                .await;
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_secs(2) && took < Duration::from_millis(2100),
            "took {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn keys_do_not_share_a_limiter() {
        let limits = limits(Api::GetLogEvents, 2);
        let start = Instant::now();
        for _ in 0..2 {
            limits
                .acquire(ACCOUNT, "us-east-1", Api::GetLogEvents)
                .await;
        }
        // us-east-1's GetLogEvents quota is used up; nothing else is.
        limits
            .acquire(ACCOUNT, "eu-west-1", Api::GetLogEvents)
            .await;
        limits
            .acquire(ACCOUNT, "eu-west-1", Api::GetLogEvents)
            .await;
        limits
            .acquire("210987654321", "us-east-1", Api::GetLogEvents)
            .await;
        limits
            .acquire(ACCOUNT, "us-east-1", Api::DescribeLogStreams)
            .await;
        limits
            .acquire(ACCOUNT, "us-east-1", Api::DeleteLogStream)
            .await;
        assert_eq!(start.elapsed(), Duration::ZERO);

        limits
            .acquire(ACCOUNT, "us-east-1", Api::GetLogEvents)
            .await;
        assert!(start.elapsed() >= Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn calls_are_counted_per_region_and_api_over_accounts() {
        let limits = RateLimiters::default();
        let clone = limits.clone();
        assert!(limits.calls().is_empty());
        limits
            .acquire(ACCOUNT, "us-east-1", Api::GetLogEvents)
            .await;
        limits
            .acquire("210987654321", "us-east-1", Api::GetLogEvents)
            .await;
        clone
            .acquire(ACCOUNT, "us-east-1", Api::DescribeLogStreams)
            .await;
        clone
            .acquire(ACCOUNT, "ap-south-1", Api::GetLogEvents)
            .await;
        let expected = vec![
            ("ap-south-1".to_owned(), Api::GetLogEvents, 1),
            ("us-east-1".to_owned(), Api::GetLogEvents, 2),
            ("us-east-1".to_owned(), Api::DescribeLogStreams, 1),
        ];
        assert_eq!(limits.calls(), expected);
        assert_eq!(clone.calls(), expected);
    }

    #[tokio::test(start_paused = true)]
    async fn an_abandoned_wait_takes_no_permit() {
        let limits = limits(Api::DeleteLogStream, 1);
        limits
            .acquire(ACCOUNT, "us-east-1", Api::DeleteLogStream)
            .await;
        let abandoned = tokio::time::timeout(
            Duration::from_millis(100),
            limits.acquire(ACCOUNT, "us-east-1", Api::DeleteLogStream),
        )
        .await;
        assert!(
            abandoned.is_err(),
            "the second request within a second must wait"
        );
        assert_eq!(
            limits.calls(),
            [("us-east-1".to_owned(), Api::DeleteLogStream, 1)]
        );

        // The permit the abandoned call did not take is there one second in.
        let start = Instant::now();
        limits
            .acquire(ACCOUNT, "us-east-1", Api::DeleteLogStream)
            .await;
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(900) && waited < Duration::from_secs(1),
            "waited {waited:?}"
        );
    }

    #[test]
    fn limiters_are_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<RateLimiters>();
    }

    #[test]
    fn debug_shows_the_quotas() {
        let limits = RateLimiters::default();
        let shown = format!("{limits:?}");
        assert!(shown.contains("quotas"), "{shown}");
        assert_eq!(limits.quotas(), Quotas::default());
    }
}
