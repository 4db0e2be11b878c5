//! The limit on failed client authentication at the token endpoint, per client address and per
//! client (GCRA, `governor`'s keyed limiter on the app's clock, as the per-account limits of
//! [`crate::accounts::rate_limit`]). Only failures draw on a bucket; a key whose bucket a failure
//! found empty is blocked until the bucket would take one again, and a blocked key is refused
//! before its credentials are even looked at. In this process's memory: with N instances an
//! attacker gets N times the attempts, which against 256-bit secrets changes nothing.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};

use crate::accounts::rate_limit::AppClock;
use crate::clock::Clock;

/// Failures an address may have in a burst, refilled one a [`REFILL_SECS`].
pub const ADDRESS_BURST: u32 = 20;
/// Failures a client may have in a burst (from any address), refilled one a [`REFILL_SECS`].
pub const CLIENT_BURST: u32 = 10;
/// Seconds for a bucket to take one more failure.
pub const REFILL_SECS: u64 = 6;
/// Blocked keys remembered at most; beyond it, the expired ones are dropped.
const MAX_BLOCKED: usize = 10_000;

type Limiter = RateLimiter<String, DashMapStateStore<String>, AppClock, NoOpMiddleware<Nanos>>;

/// The failure buckets of this instance.
pub struct Throttle {
    addresses: Limiter,
    clients: Limiter,
    clock: Arc<dyn Clock>,
    blocked: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl std::fmt::Debug for Throttle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Throttle").finish_non_exhaustive()
    }
}

fn quota(burst: u32) -> Quota {
    Quota::with_period(std::time::Duration::from_secs(REFILL_SECS))
        .expect("a non-zero period")
        .allow_burst(NonZeroU32::new(burst).expect("a non-zero burst"))
}

impl Throttle {
    /// Empty buckets, timed by `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let governor_clock = AppClock::new(clock.clone());
        Self {
            addresses: RateLimiter::dashmap_with_clock(
                quota(ADDRESS_BURST),
                governor_clock.clone(),
            ),
            clients: RateLimiter::dashmap_with_clock(quota(CLIENT_BURST), governor_clock),
            clock,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// Whole seconds until an attempt from `address` (for `client`, when the request names one)
    /// may be made again: `None` when it may be made now.
    pub fn blocked(&self, address: &str, client: Option<&str>) -> Option<u64> {
        let now = self.clock.now();
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        [Some(address_key(address)), client.map(client_key)]
            .into_iter()
            .flatten()
            .filter_map(|key| blocked.get(&key))
            .filter(|until| **until > now)
            .map(|until| {
                let ms = (*until - now).num_milliseconds().max(0);
                u64::try_from(ms).unwrap_or(0).div_ceil(1000).max(1)
            })
            .max()
    }

    /// Counts a failed authentication from `address`, and against `client` when it is a client
    /// that exists (so made-up ids cannot fill memory).
    pub fn failed(&self, address: &str, client: Option<&str>) {
        let now = self.clock.now();
        let mut newly_blocked = Vec::new();
        let address = address_key(address);
        if let Err(not_until) = self.addresses.check_key(&address) {
            newly_blocked.push((address, not_until));
        }
        if let Some(client) = client.map(client_key)
            && let Err(not_until) = self.clients.check_key(&client)
        {
            newly_blocked.push((client, not_until));
        }
        if newly_blocked.is_empty() {
            return;
        }
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if blocked.len() >= MAX_BLOCKED {
            blocked.retain(|_, until| *until > now);
            self.addresses.retain_recent();
            self.clients.retain_recent();
        }
        for (key, not_until) in newly_blocked {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(&AppClock::new(
                self.clock.clone(),
            )));
            let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(60));
            blocked.insert(key, now + wait);
        }
    }
}

fn address_key(address: &str) -> String {
    format!("a:{address}")
}

fn client_key(client: &str) -> String {
    format!("c:{client}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn failures_block_an_address_until_its_bucket_refills() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let throttle = Throttle::new(clock.clone());
        for _ in 0..ADDRESS_BURST {
            assert_eq!(throttle.blocked("10.0.0.1", None), None);
            throttle.failed("10.0.0.1", None);
        }
        assert_eq!(
            throttle.blocked("10.0.0.1", None),
            None,
            "the burst is used up"
        );
        throttle.failed("10.0.0.1", None);
        let wait = throttle.blocked("10.0.0.1", None).expect("blocked");
        assert!((1..=REFILL_SECS).contains(&wait), "{wait}");
        assert_eq!(throttle.blocked("10.0.0.2", None), None, "another address");
        clock.advance(chrono::Duration::seconds(
            i64::try_from(REFILL_SECS).unwrap(),
        ));
        assert_eq!(throttle.blocked("10.0.0.1", None), None);
    }

    #[test]
    fn failures_for_one_client_block_it_from_every_address() {
        let clock = Arc::new(ManualClock::new(Utc::now()));
        let throttle = Throttle::new(clock);
        for i in 0..=CLIENT_BURST {
            throttle.failed(&format!("10.0.1.{i}"), Some("client-1"));
        }
        assert!(throttle.blocked("192.0.2.9", Some("client-1")).is_some());
        assert_eq!(throttle.blocked("192.0.2.9", Some("client-2")), None);
        assert_eq!(throttle.blocked("192.0.2.9", None), None);
    }
}
