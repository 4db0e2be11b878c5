//! Limits on code requests, in this instance's memory (GCRA, `governor`'s keyed limiter, on the
//! app's clock): per contact (keyed by its digest, never the contact itself) and per client
//! address; and on sign-in attempts per client address, across codes and contacts (each code
//! also dies after 5 wrong tries, but a client could try one wrong code against many codes). With N instances each keeps its own, so a contact may get up to N times the rate.
//! Keys are forgotten once their bucket is full again, so memory stays bounded by recent use.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::accounts::rate_limit::AppClock;
use crate::clock::Clock;

/// How many code requests are let through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLimitSettings {
    /// Requests one contact may make at once.
    pub per_contact_burst: u32,
    /// Then one more every this long.
    pub per_contact_every: Duration,
    /// Requests one client address may make at once.
    pub per_address_burst: u32,
    /// Then one more every this long.
    pub per_address_every: Duration,
    /// Sign-in attempts (a code tried) one client address may make at once.
    pub attempts_per_address_burst: u32,
    /// Then one more every this long.
    pub attempts_per_address_every: Duration,
}

impl Default for SignInLimitSettings {
    fn default() -> Self {
        Self {
            per_contact_burst: 3,
            per_contact_every: Duration::from_secs(300),
            per_address_burst: 20,
            per_address_every: Duration::from_secs(30),
            // A shop's staff may share one address: room for a few of them at once.
            attempts_per_address_burst: 20,
            attempts_per_address_every: Duration::from_secs(6),
        }
    }
}

type Limiter = RateLimiter<String, DashMapStateStore<String>, AppClock, NoOpMiddleware<Nanos>>;

/// Keys held before the limiter forgets the full buckets.
const SHRINK_AT: usize = 10_000;

/// The code-request limits of this instance.
pub struct SignInLimits {
    by_contact: Limiter,
    by_address: Limiter,
    attempts_by_address: Limiter,
    clock: AppClock,
}

impl std::fmt::Debug for SignInLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInLimits").finish_non_exhaustive()
    }
}

fn quota(burst: u32, every: Duration) -> Quota {
    let burst = NonZeroU32::new(burst.max(1)).expect("at least 1");
    Quota::with_period(every.max(Duration::from_millis(1)))
        .expect("a period above zero")
        .allow_burst(burst)
}

impl SignInLimits {
    /// Limits at `settings`, timed by `clock`.
    pub fn new(settings: SignInLimitSettings, clock: Arc<dyn Clock>) -> Self {
        let clock = AppClock(clock);
        Self {
            by_contact: RateLimiter::dashmap_with_clock(
                quota(settings.per_contact_burst, settings.per_contact_every),
                clock.clone(),
            ),
            by_address: RateLimiter::dashmap_with_clock(
                quota(settings.per_address_burst, settings.per_address_every),
                clock.clone(),
            ),
            attempts_by_address: RateLimiter::dashmap_with_clock(
                quota(
                    settings.attempts_per_address_burst,
                    settings.attempts_per_address_every,
                ),
                clock.clone(),
            ),
            clock,
        }
    }

    fn check(&self, limiter: &Limiter, key: &str) -> Result<(), u64> {
        if limiter.len() > SHRINK_AT {
            limiter.retain_recent();
        }
        limiter.check_key(&key.to_owned()).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&self.clock));
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// Draws on the client address's bucket; the seconds to wait when it is empty.
    pub fn check_address(&self, address: &str) -> Result<(), u64> {
        self.check(&self.by_address, address)
    }

    /// Draws on the client address's bucket of sign-in attempts; the seconds to wait when it is
    /// empty.
    pub fn check_attempt(&self, address: &str) -> Result<(), u64> {
        self.check(&self.attempts_by_address, address)
    }

    /// Draws on the contact's bucket (`contact_mac`: its keyed digest); the seconds to wait when
    /// it is empty.
    pub fn check_contact(&self, contact_mac: &str) -> Result<(), u64> {
        self.check(&self.by_contact, contact_mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn sign_in_attempts_per_address_refill_with_time_and_each_address_has_its_own() {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let limits = SignInLimits::new(SignInLimitSettings::default(), clock.clone());
        for _ in 0..20 {
            assert_eq!(limits.check_attempt("192.0.2.1"), Ok(()));
        }
        assert_eq!(limits.check_attempt("192.0.2.1"), Err(6));
        assert_eq!(limits.check_attempt("192.0.2.2"), Ok(()), "another address");
        assert_eq!(
            limits.check_address("192.0.2.1"),
            Ok(()),
            "code requests apart"
        );
        clock.advance(chrono::Duration::seconds(6));
        assert_eq!(limits.check_attempt("192.0.2.1"), Ok(()));
        assert!(limits.check_attempt("192.0.2.1").is_err());
    }
}
