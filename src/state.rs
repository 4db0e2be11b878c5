//! What every request handler shares: the pool, the schema registry, the clock, and settings.

use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::ServerKey;
use crate::db::Pool;
use crate::scim::schema::Registry;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The externally visible base URL (`https://scim.example.com`), for `Location` and `meta`.
    /// Never taken from a request: `serve` sets it from `PUBLIC_URL`, or from the loopback address
    /// it listens on.
    pub public_url: String,
    /// The largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, from the end of its headers.
    pub body_read_timeout: std::time::Duration,
    /// The most resources one list or search response returns.
    pub max_results: u64,
    /// The most operations of one Bulk request.
    pub bulk_max_operations: usize,
    /// The largest Bulk request body, in bytes (never above `max_body_bytes`, which intake
    /// enforces first).
    pub bulk_max_payload_bytes: usize,
    /// How long a paging cursor stays valid.
    pub cursor_timeout: std::time::Duration,
    /// How long a Bulk request waits for one of the [`bulk_slots`] before it is refused with a
    /// 429 (30 seconds; tests shorten it).
    pub bulk_slot_wait: std::time::Duration,
    /// The origins (`https://app.example.com`) whose browsers may call the app API and the
    /// invitation accept route (CORS, `http::cors`); no other route answers cross-origin.
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            public_url: "http://localhost:8080".to_owned(),
            max_body_bytes: 2 * 1024 * 1024,
            body_read_timeout: std::time::Duration::from_secs(5),
            max_results: 1000,
            bulk_max_operations: 1000,
            bulk_max_payload_bytes: 1024 * 1024,
            cursor_timeout: std::time::Duration::from_secs(600),
            bulk_slot_wait: std::time::Duration::from_secs(30),
            cors_origins: vec!["https://app.mobietrain.com".to_owned()],
        }
    }
}

/// Settings of the app sign-in (sessions).
#[derive(Debug, Clone)]
pub struct AppSettings {
    /// Where a signed-in user is sent, with `?code=…` appended (the app's sign-in page).
    pub app_url: String,
    /// How long an app session lasts.
    pub session_lifetime: chrono::Duration,
}

impl Default for AppSettings {
    fn default() -> Self {
        Self {
            app_url: "https://app.mobietrain.com/sign-in".to_owned(),
            session_lifetime: chrono::Duration::days(14),
        }
    }
}

/// Application state, cloned into every worker.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// The SCIM schemas and resource types served.
    pub registry: Arc<Registry>,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// HTTP settings.
    pub settings: Arc<HttpSettings>,
    /// How often each client dialect was rewritten.
    pub dialects: Arc<crate::scim::dialect::DialectCounters>,
    /// The server key: seals stored secrets, keys link digests. Never logged.
    pub server_key: Arc<ServerKey>,
    /// App sign-in settings.
    pub app: Arc<AppSettings>,
    /// Invitation reminders, expiry, resend cool-down and links.
    pub invitations: Arc<crate::invitations::InvitationSettings>,
    /// The CrewPlanner link: keys, expectations, refusal counts.
    pub crewplanner: Arc<crate::crewplanner::CrewPlanner>,
    /// This process's metrics (recording nothing without a metrics listener).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This instance's per-account rate limits.
    pub rate_limits: Arc<crate::accounts::rate_limit::RateLimits>,
    /// This instance's limits on sign-in code requests (per contact, per client address).
    pub sign_in_limits: Arc<crate::signin::limits::SignInLimits>,
    /// OAuth for provisioning clients: token lifetime, client JWKS caches, failure limits.
    pub oauth: Arc<crate::oauth::OAuth>,
    /// Failed console sign-ins per client address.
    pub console_sign_in: Arc<crate::console_sessions::SignInThrottle>,
    /// The Bulk requests that may run at once ([`bulk_slots`]); others wait their turn.
    pub bulk_slots: Arc<tokio::sync::Semaphore>,
}

/// How many Bulk requests run at once with a pool of `pool_size` connections: a quarter of it, at
/// least one. A Bulk request holds its connection for all its operations (seconds for a thousand),
/// so without a bound a burst of them takes every connection and the single requests queued
/// behind them time out (measured: 16 concurrent Bulk requests of 1,000 creates on SQLite's pool
/// of 8 had half of them answered 503). Waiting for a slot holds no connection.
pub fn bulk_slots(pool_size: u32) -> usize {
    usize::try_from(pool_size / 4).unwrap_or(1).max(1)
}
