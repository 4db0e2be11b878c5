//! Time as a service: the system clock in production, a settable one in tests.

use std::sync::Mutex;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// A source of the current UTC time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now, in UTC, to the microsecond (what both databases store).
    fn now(&self) -> DateTime<Utc>;

    /// Now as the naive UTC timestamp the database stores.
    fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now().trunc_subsecs(6)
    }
}

/// A clock that stands still until moved, for tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    /// A clock showing `at`.
    pub fn new(at: DateTime<Utc>) -> Self {
        Self(Mutex::new(at.trunc_subsecs(6)))
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Formats a stored timestamp as SCIM's RFC 3339 date-time (`2026-11-22T10:00:00.123456Z`).
pub fn rfc3339(at: NaiveDateTime) -> String {
    at.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
