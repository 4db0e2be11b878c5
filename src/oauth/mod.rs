//! OAuth 2.0 for provisioning clients (DESIGN §4a): per-account clients ([`clients`]), the token
//! endpoint's requests and checks ([`request`], [`assertion`], [`grant`]), the access tokens it
//! issues and their lookup on every SCIM request ([`authenticate`]), and the limit on failed client
//! authentication ([`throttle`]).
//!
//! Access tokens are opaque: 32 random bytes after [`ACCESS_TOKEN_PREFIX`], stored as SHA-256 only.
//! The prefix differs from an account token's, so a SCIM request is authenticated by exactly one
//! indexed lookup in one table. A token ends when it expires, or when its client or the secret it
//! was issued against is revoked: the lookup joins both and checks `revoked_at` (no token row is
//! rewritten on a revocation).

pub mod assertion;
pub mod clients;
pub mod grant;
pub mod request;
pub mod storage;
pub mod throttle;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDateTime;
use subtle::ConstantTimeEq;

use crate::accounts::Caller;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::jwks::{JwksSource, KeyError, VerifyingKey};

/// What every access token starts with (an account token starts with `mts_`).
pub const ACCESS_TOKEN_PREFIX: &str = "mtsa_";
/// What every client secret starts with.
pub const SECRET_PREFIX: &str = "mtcs_";

/// What an access token may do on `/scim/v2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// Read and write (what a request without `scope` gets).
    Scim,
    /// Read only: every write is refused (403).
    ScimRead,
}

impl TokenScope {
    /// Every scope, as advertised in the metadata.
    pub const ALL: [TokenScope; 2] = [TokenScope::Scim, TokenScope::ScimRead];

    /// The wire and stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Scim => "scim",
            TokenScope::ScimRead => "scim.read",
        }
    }

    /// The scope of a stored name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

/// The OAuth settings and the in-memory parts of this instance: the JWKS caches of clients with
/// a JWKS URL, and the failed-authentication limits.
#[derive(Debug)]
pub struct OAuth {
    /// How long an access token lasts.
    pub access_token_ttl: chrono::Duration,
    /// Clock skew tolerated on assertions, in seconds.
    pub leeway_secs: i64,
    /// The longest an assertion may be valid (`exp - iat`, and `exp` ahead of now), in seconds.
    pub max_assertion_secs: i64,
    /// Failed client authentication, limited per address and per client.
    pub throttle: throttle::Throttle,
    /// How soon a client's JWKS URL may be fetched again for an unknown `kid` (30 s).
    pub jwks_min_refetch: Duration,
    /// The JWKS source of each client with a JWKS URL, made on first use (one cache per client
    /// and URL, so a rotation is picked up as [`JwksSource`] does for CrewPlanner).
    sources: Mutex<HashMap<(String, String), Arc<JwksSource>>>,
}

impl OAuth {
    /// The settings with access tokens of `ttl_secs` (validated by the configuration), timed by
    /// `clock` for the failure limits.
    pub fn new(ttl_secs: i64, clock: Arc<dyn crate::clock::Clock>) -> Self {
        Self {
            access_token_ttl: chrono::Duration::seconds(ttl_secs),
            leeway_secs: 60,
            max_assertion_secs: 300,
            throttle: throttle::Throttle::new(clock),
            jwks_min_refetch: Duration::from_secs(30),
            sources: Mutex::new(HashMap::new()),
        }
    }

    /// The keys a client's assertion naming `kid` may be verified with: its stored document, or
    /// its JWKS URL's document (cached, re-fetched on an unknown `kid`).
    pub async fn keys(
        &self,
        client: &clients::ClientKeys,
        kid: Option<&str>,
    ) -> Result<Vec<VerifyingKey>, KeyError> {
        match client {
            clients::ClientKeys::Document(doc) => {
                crate::jwks::from_jwks(doc).map_err(|_| KeyError::Unavailable)
            }
            clients::ClientKeys::Url { client_id, url } => {
                let source = self.source(client_id, url)?;
                Ok(source.keys(kid).await?.as_ref().clone())
            }
        }
    }

    fn source(&self, client_id: &str, url: &str) -> Result<Arc<JwksSource>, KeyError> {
        let mut sources = self.sources.lock().unwrap_or_else(|e| e.into_inner());
        let key = (client_id.to_owned(), url.to_owned());
        if let Some(source) = sources.get(&key) {
            return Ok(source.clone());
        }
        let source = Arc::new(
            JwksSource::new(url, self.jwks_min_refetch).map_err(|_| KeyError::Unavailable)?,
        );
        // Clients are made by admins, so the map stays small; a relabelled or re-keyed client
        // leaves its old entry, which costs one idle cache.
        sources.insert(key, source.clone());
        Ok(source)
    }
}

/// Hex SHA-256 of an access token or a client secret, the form in which it is stored.
pub fn hash_secret(secret: &str) -> String {
    crate::crypto::sha256_hex(secret)
}

/// Authenticates an OAuth access token (one that starts with [`ACCESS_TOKEN_PREFIX`]): one
/// lookup joining its client, account and secret. `None`: unknown, expired, or its client or
/// secret revoked. The caller is the client, labelled `"<label> (oauth client)"` in the
/// provisioning log.
pub fn authenticate(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<(Caller, TokenScope)>, ServiceError> {
    let hash = hash_secret(token);
    let Some(found) = storage::access_token_by_hash(conn, &hash)? else {
        return Ok(None);
    };
    let live = bool::from(found.token.token_hash.as_bytes().ct_eq(hash.as_bytes()))
        && found.token.expires_at > now
        && found.client.revoked_at.is_none()
        && found.secret_revoked_at.is_none();
    let Some(scope) = TokenScope::from_name(&found.token.scope).filter(|_| live) else {
        return Ok(None);
    };
    Ok(Some((
        Caller {
            account: found.account,
            token_id: found.client.id,
            label: format!("{} (oauth client)", found.client.label),
        },
        scope,
    )))
}
