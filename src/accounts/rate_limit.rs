//! Per-account rate limits: a token bucket per account for reads and another for writes (GCRA,
//! `governor`'s keyed limiter), in this process's memory. A bucket refills at its rate (requests per
//! second) and holds ten seconds' worth, so a client may burst; a request that finds its bucket
//! empty is refused with the whole seconds until it would conform. Nothing touches the database:
//! the account is already known from its token. With N instances behind a load balancer each keeps
//! its own buckets, so an account may get up to N times the rate.
//!
//! Time comes from the app's [`Clock`] (a settable one in tests), not from the CPU's counter.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::middleware::StateInformationMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::clock::Clock;

/// How many seconds of its rate a bucket holds.
pub const BURST_SECONDS: u32 = 10;

/// Which bucket a request draws on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Reads: GET, HEAD, and searches by POST.
    Read,
    /// Everything that may change something.
    Write,
}

impl Bucket {
    /// The metrics label and the name in `RateLimit-Policy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Read => "read",
            Bucket::Write => "write",
        }
    }
}

/// The limits of one instance, in requests per second per account; 0 turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Reads per second (`RATE_LIMIT_READS`).
    pub reads: u32,
    /// Writes per second (`RATE_LIMIT_WRITES`).
    pub writes: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            reads: 200,
            writes: 100,
        }
    }
}

impl RateLimitSettings {
    /// No limits (the benchmark, load and property tests).
    pub const OFF: Self = Self {
        reads: 0,
        writes: 0,
    };
}

/// A request let through, with what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowed {
    /// What the bucket holds (ten seconds of its rate).
    pub limit: u32,
    /// Requests left in the bucket now.
    pub remaining: u32,
    /// Whole seconds until the bucket is full again.
    pub reset_secs: u64,
}

/// A request refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    /// What the bucket holds (ten seconds of its rate).
    pub limit: u32,
    /// Whole seconds to wait (at least 1).
    pub retry_after_secs: u64,
}

/// The outcome of a check.
pub type Decision = Result<Allowed, Refused>;

/// The app's clock as governor's: nanoseconds since the Unix epoch (also timing the sign-in code
/// limits and the OAuth failed-authentication limits).
#[derive(Debug, Clone)]
pub struct AppClock(pub Arc<dyn Clock>);

impl AppClock {
    /// `clock` as governor's.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self(clock)
    }
}

impl governor::clock::Clock for AppClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let nanos = self
            .0
            .now()
            .timestamp_nanos_opt()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        Nanos::from(nanos)
    }
}

type Limiter = RateLimiter<String, DashMapStateStore<String>, AppClock, StateInformationMiddleware>;

struct Limit {
    rate: u32,
    limiter: Limiter,
    clock: AppClock,
}

impl Limit {
    fn new(rate: u32, clock: &AppClock) -> Option<Self> {
        let per_second = NonZeroU32::new(rate)?;
        let burst = per_second.saturating_mul(NonZeroU32::new(BURST_SECONDS).expect("non-zero"));
        let quota = Quota::per_second(per_second).allow_burst(burst);
        Some(Self {
            rate,
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()).with_middleware(),
            clock: clock.clone(),
        })
    }

    fn burst(&self) -> u32 {
        self.rate.saturating_mul(BURST_SECONDS)
    }

    fn check(&self, account: &str, cost: u32) -> Result<Allowed, Refused> {
        let key = account.to_owned();
        let cost = NonZeroU32::new(cost.max(1)).expect("at least 1");
        match self.limiter.check_key_n(&key, cost) {
            Ok(Ok(snapshot)) => {
                let burst = self.burst();
                let remaining = snapshot.remaining_burst_capacity().min(burst);
                // The bucket refills one request per 1/rate seconds.
                let missing = u64::from(burst - remaining);
                Ok(Allowed {
                    limit: burst,
                    remaining,
                    reset_secs: missing.div_ceil(u64::from(self.rate)),
                })
            }
            Ok(Err(not_until)) => Err(Refused {
                limit: self.burst(),
                retry_after_secs: whole_seconds(
                    not_until.wait_time_from(governor::clock::Clock::now(&self.clock)),
                ),
            }),
            // More than the whole bucket at once (a Bulk request larger than ten seconds' worth):
            // it can never pass; the client must split it.
            Err(_insufficient) => Err(Refused {
                limit: self.burst(),
                retry_after_secs: u64::from(BURST_SECONDS),
            }),
        }
    }
}

/// A wait in whole seconds, rounded up, at least 1.
fn whole_seconds(wait: std::time::Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

/// The per-account buckets of this instance.
pub struct RateLimits {
    settings: RateLimitSettings,
    reads: Option<Limit>,
    writes: Option<Limit>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    /// Buckets at `settings`' rates, timed by `clock`.
    pub fn new(settings: RateLimitSettings, clock: Arc<dyn Clock>) -> Self {
        let clock = AppClock(clock);
        Self {
            settings,
            reads: Limit::new(settings.reads, &clock),
            writes: Limit::new(settings.writes, &clock),
        }
    }

    /// The rates.
    pub fn settings(&self) -> RateLimitSettings {
        self.settings
    }

    /// Charges `cost` requests (a Bulk request: its operations) to `account`'s `bucket`; `None`
    /// when that bucket has no limit.
    pub fn check(
        &self,
        account: &str,
        bucket: Bucket,
        cost: u32,
    ) -> Option<Result<Allowed, Refused>> {
        let limit = match bucket {
            Bucket::Read => self.reads.as_ref()?,
            Bucket::Write => self.writes.as_ref()?,
        };
        Some(limit.check(account, cost))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limits(reads: u32, writes: u32) -> (RateLimits, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let settings = RateLimitSettings { reads, writes };
        (RateLimits::new(settings, clock.clone()), clock)
    }

    #[test]
    fn a_bucket_holds_ten_seconds_and_refills_at_its_rate() {
        let (limits, clock) = limits(2, 1);
        for i in 0..20 {
            let allowed = limits.check("a", Bucket::Read, 1).unwrap().unwrap();
            assert_eq!(allowed.remaining, 19 - i);
            assert_eq!(allowed.limit, 20);
        }
        let refused = limits.check("a", Bucket::Read, 1).unwrap().unwrap_err();
        assert_eq!(refused.retry_after_secs, 1);
        // Other accounts and the other bucket are untouched.
        assert!(limits.check("b", Bucket::Read, 1).unwrap().is_ok());
        assert!(limits.check("a", Bucket::Write, 1).unwrap().is_ok());
        clock.advance(chrono::Duration::seconds(1));
        assert!(limits.check("a", Bucket::Read, 1).unwrap().is_ok());
        assert!(limits.check("a", Bucket::Read, 1).unwrap().is_ok());
        assert!(limits.check("a", Bucket::Read, 1).unwrap().is_err());
    }

    #[test]
    fn a_cost_is_charged_up_front_and_zero_turns_a_limit_off() {
        let (limits, _) = limits(0, 1);
        assert!(limits.check("a", Bucket::Read, 1).is_none());
        assert!(limits.check("a", Bucket::Write, 8).unwrap().is_ok());
        let refused = limits.check("a", Bucket::Write, 3).unwrap().unwrap_err();
        assert!(refused.retry_after_secs >= 1);
        // More than the bucket holds can never pass.
        let (limits, _) = super::tests::limits(1, 1);
        let refused = limits.check("a", Bucket::Write, 11).unwrap().unwrap_err();
        assert_eq!(refused.retry_after_secs, u64::from(BURST_SECONDS));
    }
}
