//! Why a CrewPlanner link is refused, and how often each reason occurred.
//!
//! A refusal names its class (never the token, never a claim's value). Counts are kept per reason in
//! memory and logged in aggregate at most once a minute, so a flood of bad links is one log line a
//! minute, not one per request, and never a row in the database.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The class of a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a JWT of the expected shape, or too large.
    Malformed,
    /// The signature does not verify.
    BadSignature,
    /// An algorithm the key does not allow (`none`, HS256 with a public key, …).
    WrongAlgorithm,
    /// No configured key has the token's `kid`.
    UnknownKey,
    /// `exp` is past (beyond the leeway).
    Expired,
    /// `nbf` or `iat` is in the future (beyond the leeway).
    NotYetValid,
    /// `exp - iat` is longer than allowed.
    LifetimeTooLong,
    /// `iat`, `nbf` or `exp` is no real time (before 1970, after 9999), or they contradict each
    /// other (`exp` before `iat`, `nbf` after `exp`).
    InvalidTime,
    /// The `jti` was used before.
    Replayed,
    /// `aud` is not this account.
    WrongAudience,
    /// `iss` is not this account's CrewPlanner environment.
    WrongIssuer,
    /// A required claim is absent or of the wrong type.
    MissingClaim,
    /// A claim's value breaks MobieTrain's user rules.
    InvalidClaim,
    /// The account has no enabled CrewPlanner integration (or does not exist).
    IntegrationDisabled,
    /// The user is deactivated in MobieTrain.
    UserDeactivated,
    /// The key source cannot be reached (JWKS fetch failed and nothing is cached).
    KeysUnavailable,
}

impl Reason {
    /// Every reason, in a fixed order (for counters and logs).
    pub const ALL: [Reason; 16] = [
        Reason::Malformed,
        Reason::BadSignature,
        Reason::WrongAlgorithm,
        Reason::UnknownKey,
        Reason::Expired,
        Reason::NotYetValid,
        Reason::LifetimeTooLong,
        Reason::InvalidTime,
        Reason::Replayed,
        Reason::WrongAudience,
        Reason::WrongIssuer,
        Reason::MissingClaim,
        Reason::InvalidClaim,
        Reason::IntegrationDisabled,
        Reason::UserDeactivated,
        Reason::KeysUnavailable,
    ];

    /// The machine-readable code (`reason` in problem bodies, the key in logs).
    pub fn code(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::BadSignature => "bad_signature",
            Reason::WrongAlgorithm => "wrong_algorithm",
            Reason::UnknownKey => "unknown_key",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::LifetimeTooLong => "lifetime_too_long",
            Reason::InvalidTime => "invalid_time",
            Reason::Replayed => "replayed",
            Reason::WrongAudience => "wrong_audience",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::MissingClaim => "missing_claim",
            Reason::InvalidClaim => "invalid_claim",
            Reason::IntegrationDisabled => "integration_disabled",
            Reason::UserDeactivated => "user_deactivated",
            Reason::KeysUnavailable => "keys_unavailable",
        }
    }

    /// The HTTP status: 403 when who the user is was proven but they may not enter, 503 when our
    /// side cannot check, else 401.
    pub fn status(self) -> u16 {
        match self {
            Reason::IntegrationDisabled | Reason::UserDeactivated => 403,
            Reason::KeysUnavailable => 503,
            _ => 401,
        }
    }

    /// A sentence for people (the employee's browser, a support engineer), in English.
    pub fn title(self) -> &'static str {
        self.title_in(crate::i18n::Language::En)
    }

    /// [`Reason::title`] in `language` (the texts live with the other i18n texts, [`crate::i18n`]).
    pub fn title_in(self, language: crate::i18n::Language) -> &'static str {
        crate::i18n::text(language, &format!("crewplanner.{}", self.code()))
    }
}

/// A refusal: its class and a detail for people (names a claim or a limit, never a value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The class.
    pub reason: Reason,
    /// What exactly, e.g. "the claim sub is missing".
    pub detail: String,
}

impl Refusal {
    /// A refusal of `reason` with `detail`.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}

/// How often each reason occurred since start; logged in aggregate.
#[derive(Debug)]
pub struct RefusalCounters {
    counts: [AtomicU64; Reason::ALL.len()],
    last_logged: Mutex<Option<Instant>>,
    log_every: Duration,
}

impl Default for RefusalCounters {
    fn default() -> Self {
        Self {
            counts: Default::default(),
            last_logged: Mutex::new(None),
            log_every: Duration::from_secs(60),
        }
    }
}

impl RefusalCounters {
    /// Counts one refusal; at most once a minute, logs the totals so far.
    pub fn count(&self, reason: Reason) {
        let i = Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        let mut last = self.last_logged.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_none_or(|at| at.elapsed() >= self.log_every) {
            *last = Some(Instant::now());
            drop(last);
            let totals: Vec<String> = self
                .snapshot()
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(r, n)| format!("{}={n}", r.code()))
                .collect();
            tracing::warn!(
                totals = %totals.join(" "),
                "CrewPlanner links refused since start (logged at most once a minute)"
            );
        }
    }

    /// How often `reason` occurred.
    pub fn get(&self, reason: Reason) -> u64 {
        let i = Reason::ALL.iter().position(|r| *r == reason).unwrap_or(0);
        self.counts[i].load(Ordering::Relaxed)
    }

    /// Every reason with its count.
    pub fn snapshot(&self) -> Vec<(Reason, u64)> {
        Reason::ALL
            .iter()
            .zip(&self.counts)
            .map(|(r, c)| (*r, c.load(Ordering::Relaxed)))
            .collect()
    }
}
