//! An account's OAuth clients, for the CLI and the admin API: create (with a first secret, or
//! with a JWKS), list (flagging secrets that expire within [`EXPIRING_DAYS`]), add and revoke
//! secrets, revoke, relabel. A secret is shown once, when it is made; only its SHA-256 is kept.
//! Every call is scoped to the account.

use chrono::{Duration, NaiveDateTime};

use super::{SECRET_PREFIX, hash_secret, storage};
use crate::accounts::{self, MAX_NAME_LEN};
use crate::db::DbConn;
use crate::db::models::{OAuthClientRow, OAuthSecretRow};
use crate::error::{FieldError, ServiceError};
use crate::text::char_len;

/// A secret's lifetime when none is asked, in days (2 years).
pub const DEFAULT_SECRET_DAYS: i64 = 730;
/// The longest a secret may live, in days (3 years).
pub const MAX_SECRET_DAYS: i64 = 1095;
/// A secret expiring within this many days is flagged (admin API, `/metrics`).
pub const EXPIRING_DAYS: i64 = 30;
/// How many characters of a secret a list shows.
const SHOWN_PREFIX_LEN: usize = SECRET_PREFIX.len() + 6;

/// How a new client authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewClientKeys {
    /// With secrets; the first one is made now, living this many days (default 2 years).
    Secret {
        /// Days the first secret lives.
        expires_in_days: Option<i64>,
    },
    /// With assertions signed by the keys of this JWKS document (read from a file).
    JwksDocument(String),
    /// With assertions signed by the keys of the JWKS document at this https URL.
    JwksUrl(String),
}

/// Where a client's assertion keys are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKeys {
    /// A stored JWKS document.
    Document(String),
    /// A JWKS URL, fetched and cached per client.
    Url {
        /// The client (its cache's key).
        client_id: String,
        /// The URL.
        url: String,
    },
}

impl ClientKeys {
    /// The keys of a client with a JWKS; `None` for a secret client.
    pub fn of(client: &OAuthClientRow) -> Option<Self> {
        match (&client.jwks_document, &client.jwks_url) {
            (Some(doc), _) => Some(ClientKeys::Document(doc.clone())),
            (None, Some(url)) => Some(ClientKeys::Url {
                client_id: client.id.clone(),
                url: url.clone(),
            }),
            (None, None) => None,
        }
    }
}

/// A client with its secrets, as listed.
#[derive(Debug, Clone)]
pub struct ClientListing {
    /// The client.
    pub client: OAuthClientRow,
    /// Its secrets, revoked and expired ones included, oldest first.
    pub secrets: Vec<SecretListing>,
}

/// A secret as listed: never the secret, only its first characters.
#[derive(Debug, Clone)]
pub struct SecretListing {
    /// The secret's row.
    pub secret: OAuthSecretRow,
    /// Live (not revoked) and expiring within [`EXPIRING_DAYS`] days, or expired already.
    pub expiring: bool,
}

fn check_label(label: &str) -> Result<(), ServiceError> {
    if label.trim().is_empty()
        || char_len(label) > MAX_NAME_LEN
        || label.chars().any(char::is_control)
    {
        return Err(ServiceError::InvalidFields(vec![FieldError::new(
            "label",
            format!("the label must be 1 to {MAX_NAME_LEN} characters, on one line"),
        )]));
    }
    Ok(())
}

fn secret_days(days: Option<i64>) -> Result<Duration, ServiceError> {
    let days = days.unwrap_or(DEFAULT_SECRET_DAYS);
    if !(1..=MAX_SECRET_DAYS).contains(&days) {
        return Err(ServiceError::InvalidFields(vec![FieldError::new(
            "expiresInDays",
            format!(
                "a secret lives 1 to {MAX_SECRET_DAYS} days (3 years); the default is {DEFAULT_SECRET_DAYS}"
            ),
        )]));
    }
    Ok(Duration::days(days))
}

fn label_taken(e: ServiceError) -> ServiceError {
    match e {
        ServiceError::Database(ref db) if crate::db::unique_violation(db).is_some() => {
            ServiceError::FieldTaken(FieldError::new(
                "label",
                "another OAuth client of this account has this label",
            ))
        }
        other => other,
    }
}

/// Creates a client; returns it with its first secret (row and the secret itself, shown only
/// now) when it authenticates with secrets.
pub fn create(
    conn: &mut DbConn,
    account_id: &str,
    label: &str,
    keys: NewClientKeys,
    now: NaiveDateTime,
) -> Result<(OAuthClientRow, Option<(OAuthSecretRow, String)>), ServiceError> {
    check_label(label)?;
    accounts::find_account(conn, account_id)?;
    let invalid_keys = |e: anyhow::Error| {
        ServiceError::InvalidFields(vec![FieldError::new("jwks", format!("{e:#}"))])
    };
    let (jwks_document, jwks_url) = match &keys {
        NewClientKeys::Secret { expires_in_days } => {
            secret_days(*expires_in_days)?;
            (None, None)
        }
        NewClientKeys::JwksDocument(doc) => {
            crate::jwks::from_jwks(doc).map_err(invalid_keys)?;
            (Some(doc.clone()), None)
        }
        NewClientKeys::JwksUrl(url) => {
            crate::jwks::check_url(url).map_err(invalid_keys)?;
            (None, Some(url.clone()))
        }
    };
    let client = OAuthClientRow {
        id: accounts::new_id(),
        account_id: account_id.to_owned(),
        label: label.to_owned(),
        jwks_url,
        jwks_document,
        created_at: now,
        updated_at: now,
        revoked_at: None,
    };
    crate::db::write_transaction(conn, |conn| {
        storage::insert_client(conn, &client).map_err(label_taken)?;
        let secret = match keys {
            NewClientKeys::Secret { expires_in_days } => {
                Some(make_secret(conn, &client, expires_in_days, now)?)
            }
            _ => None,
        };
        Ok((client.clone(), secret))
    })
}

fn make_secret(
    conn: &mut DbConn,
    client: &OAuthClientRow,
    expires_in_days: Option<i64>,
    now: NaiveDateTime,
) -> Result<(OAuthSecretRow, String), ServiceError> {
    let secret = crate::crypto::random_token(SECRET_PREFIX);
    let row = OAuthSecretRow {
        id: accounts::new_id(),
        client_id: client.id.clone(),
        account_id: client.account_id.clone(),
        secret_hash: hash_secret(&secret),
        prefix: secret[..SHOWN_PREFIX_LEN].to_owned(),
        created_at: now,
        expires_at: now + secret_days(expires_in_days)?,
        revoked_at: None,
    };
    storage::insert_secret(conn, &row)?;
    Ok((row, secret))
}

/// The live client `client_id` of the account: 404 when it is not the account's, 409 when
/// revoked.
fn live_client(
    conn: &mut DbConn,
    account_id: &str,
    client_id: &str,
) -> Result<OAuthClientRow, ServiceError> {
    let client = storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))?;
    if client.revoked_at.is_some() {
        return Err(ServiceError::Uniqueness(
            "this OAuth client is revoked; create a new one".to_owned(),
        ));
    }
    Ok(client)
}

/// Adds a secret to a live secret client (so secrets can rotate); shown only now.
pub fn add_secret(
    conn: &mut DbConn,
    account_id: &str,
    client_id: &str,
    expires_in_days: Option<i64>,
    now: NaiveDateTime,
) -> Result<(OAuthSecretRow, String), ServiceError> {
    let client = live_client(conn, account_id, client_id)?;
    if ClientKeys::of(&client).is_some() {
        return Err(ServiceError::invalid_value(
            "this client authenticates with signed assertions (its JWKS), not secrets",
        ));
    }
    make_secret(conn, &client, expires_in_days, now)
}

/// Revokes a secret of a client of the account; revoking a revoked secret changes nothing. The
/// access tokens issued against it stop working at once.
pub fn revoke_secret(
    conn: &mut DbConn,
    account_id: &str,
    client_id: &str,
    secret_id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))?;
    if !storage::revoke_secret(conn, client_id, secret_id, now)?
        && !storage::has_secret(conn, client_id, secret_id)?
    {
        return Err(ServiceError::NotFound("client secret"));
    }
    Ok(())
}

/// Revokes a client of the account, with every access token it holds (checked at lookup).
pub fn revoke(
    conn: &mut DbConn,
    account_id: &str,
    client_id: &str,
    now: NaiveDateTime,
) -> Result<OAuthClientRow, ServiceError> {
    storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))?;
    storage::revoke_client(conn, client_id, now)?;
    storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))
}

/// Renames a client of the account (labels are unique in the account).
pub fn relabel(
    conn: &mut DbConn,
    account_id: &str,
    client_id: &str,
    label: &str,
    now: NaiveDateTime,
) -> Result<OAuthClientRow, ServiceError> {
    check_label(label)?;
    storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))?;
    storage::relabel(conn, client_id, label, now).map_err(label_taken)?;
    storage::account_client(conn, account_id, client_id)?
        .ok_or(ServiceError::NotFound("OAuth client"))
}

/// The account's clients with their secrets, oldest first.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    now: NaiveDateTime,
) -> Result<Vec<ClientListing>, ServiceError> {
    accounts::find_account(conn, account_id)?;
    let clients = storage::clients_of(conn, account_id)?;
    let mut secrets = storage::secrets_of_account(conn, account_id)?;
    let soon = now + Duration::days(EXPIRING_DAYS);
    Ok(clients
        .into_iter()
        .map(|client| {
            let (mine, rest) = secrets.drain(..).partition(|s| s.client_id == client.id);
            secrets = rest;
            let secrets = mine
                .into_iter()
                .map(|secret: OAuthSecretRow| SecretListing {
                    expiring: secret.revoked_at.is_none() && secret.expires_at <= soon,
                    secret,
                })
                .collect();
            ClientListing { client, secrets }
        })
        .collect())
}
