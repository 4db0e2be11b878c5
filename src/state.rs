//! What every request handler shares: the pool, the schema registry, the clock, and settings.

use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Pool;
use crate::scim::schema::Registry;

/// Settings of the HTTP API.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The externally visible base URL (`https://scim.example.com`), for `Location` and `meta`;
    /// without it the request's own scheme and host are used.
    pub public_url: Option<String>,
    /// The largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The most resources one list or search response returns.
    pub max_results: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            public_url: None,
            max_body_bytes: 2 * 1024 * 1024,
            max_results: 1000,
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
}
