//! Issuing access tokens: the database steps of the token endpoint. A client secret is checked and
//! a token issued in one step ([`with_secret`]); a signed assertion takes its client first
//! ([`assertion_client`]), is checked against that client's keys by [`super::assertion`], and is
//! then redeemed ([`redeem_assertion`]): its `jti` recorded and a token issued in one transaction.
//! A refusal writes nothing.

use chrono::NaiveDateTime;
use subtle::ConstantTimeEq;

use super::clients::ClientKeys;
use super::{ACCESS_TOKEN_PREFIX, TokenScope, hash_secret, storage};
use crate::db::DbConn;
use crate::db::models::{OAuthAccessTokenRow, OAuthClientRow};
use crate::error::ServiceError;

/// An access token just issued (shown only now).
#[derive(Debug, Clone)]
pub struct Issued {
    /// The token.
    pub access_token: String,
    /// What it may do.
    pub scope: TokenScope,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The client it was issued to.
    pub client_id: String,
    /// The client's account.
    pub account_id: String,
}

/// Why client authentication failed: for the log and the failure limits, never for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    /// The client the request named, when it exists (its failures are counted too).
    pub client_id: Option<String>,
    /// What was wrong.
    pub reason: String,
}

impl Failed {
    /// A failure for `client_id` (an existing client, or none).
    pub fn new(client_id: Option<&str>, reason: impl Into<String>) -> Self {
        Self {
            client_id: client_id.map(str::to_owned),
            reason: reason.into(),
        }
    }
}

fn issue(
    conn: &mut DbConn,
    client: &OAuthClientRow,
    secret_id: Option<String>,
    scope: TokenScope,
    ttl: chrono::Duration,
    now: NaiveDateTime,
) -> Result<Issued, ServiceError> {
    let token = crate::crypto::random_token(ACCESS_TOKEN_PREFIX);
    let row = OAuthAccessTokenRow {
        id: crate::context::new_id(),
        account_id: client.account_id.clone(),
        client_id: client.id.clone(),
        secret_id,
        token_hash: hash_secret(&token),
        scope: scope.as_str().to_owned(),
        created_at: now,
        expires_at: now + ttl,
    };
    storage::insert_access_token(conn, &row, now)?;
    Ok(Issued {
        access_token: token,
        scope,
        expires_in: ttl.num_seconds(),
        client_id: client.id.clone(),
        account_id: client.account_id.clone(),
    })
}

/// Authenticates a client by one of its secrets and issues a token: the secret must be the
/// named client's, live (not revoked, not expired), and the client live.
pub fn with_secret(
    conn: &mut DbConn,
    client_id: &str,
    secret: &str,
    scope: TokenScope,
    ttl: chrono::Duration,
    now: NaiveDateTime,
) -> Result<Result<Issued, Failed>, ServiceError> {
    let hash = hash_secret(secret);
    let Some((row, client)) = storage::secret_by_hash(conn, &hash)? else {
        let known = storage::client(conn, client_id)?.map(|c| c.id);
        return Ok(Err(Failed::new(known.as_deref(), "unknown secret")));
    };
    let named = bool::from(client.id.as_bytes().ct_eq(client_id.as_bytes()))
        && bool::from(row.secret_hash.as_bytes().ct_eq(hash.as_bytes()));
    if !named {
        let known = storage::client(conn, client_id)?.map(|c| c.id);
        return Ok(Err(Failed::new(
            known.as_deref(),
            "a secret of another client",
        )));
    }
    let failed = |why: &str| Ok(Err(Failed::new(Some(&client.id), why)));
    if client.revoked_at.is_some() {
        return failed("the client is revoked");
    }
    if row.revoked_at.is_some() {
        return failed("the secret is revoked");
    }
    if row.expires_at <= now {
        return failed("the secret has expired");
    }
    crate::db::write_transaction(conn, |conn| {
        issue(conn, &client, Some(row.id.clone()), scope, ttl, now).map(Ok)
    })
}

/// The live client an assertion claims to be from, with its keys.
pub fn assertion_client(
    conn: &mut DbConn,
    client_id: &str,
) -> Result<Result<(OAuthClientRow, ClientKeys), Failed>, ServiceError> {
    let Some(client) = storage::client(conn, client_id)? else {
        return Ok(Err(Failed::new(None, "no client has the assertion's iss")));
    };
    if client.revoked_at.is_some() {
        return Ok(Err(Failed::new(Some(&client.id), "the client is revoked")));
    }
    let Some(keys) = ClientKeys::of(&client) else {
        return Ok(Err(Failed::new(
            Some(&client.id),
            "the client has no JWKS: it authenticates with secrets",
        )));
    };
    Ok(Ok((client, keys)))
}

/// Redeems a checked assertion: records its `jti` (single use, remembered until `until`) and
/// issues a token, in one transaction; a replayed `jti` issues nothing.
pub fn redeem_assertion(
    conn: &mut DbConn,
    client: &OAuthClientRow,
    jti: &str,
    until: NaiveDateTime,
    scope: TokenScope,
    ttl: chrono::Duration,
    now: NaiveDateTime,
) -> Result<Result<Issued, Failed>, ServiceError> {
    crate::db::write_transaction(conn, |conn| {
        // The client may have been revoked since it was read.
        if storage::client(conn, &client.id)?.is_none_or(|c| c.revoked_at.is_some()) {
            return Ok(Err(Failed::new(Some(&client.id), "the client is revoked")));
        }
        if !storage::record_jti(conn, &client.id, jti, until, now)? {
            return Ok(Err(Failed::new(
                Some(&client.id),
                "the assertion's jti was used before",
            )));
        }
        issue(conn, client, None, scope, ttl, now).map(Ok)
    })
}
