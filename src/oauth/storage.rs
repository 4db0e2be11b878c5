//! The OAuth tables' queries: clients, their secrets, access tokens and used assertion ids, each
//! scoped to its account or client.

use std::ops::Not;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::models::{
    Account, OAuthAccessTokenRow, OAuthClientRow, OAuthSecretRow, OAuthUsedJtiRow,
};
use crate::db::schema::{
    accounts, oauth_access_tokens, oauth_client_secrets, oauth_clients, oauth_used_jtis,
};
use crate::db::{self, DbConn, FetchOptional};
use crate::error::ServiceError;

/// An access token with what its lookup joins.
#[derive(Debug)]
pub struct FoundToken {
    /// The token.
    pub token: OAuthAccessTokenRow,
    /// Its client.
    pub client: OAuthClientRow,
    /// The client's account.
    pub account: Account,
    /// When the secret it was issued against was revoked, if it was.
    pub secret_revoked_at: Option<NaiveDateTime>,
}

/// The access token with this hash, its client, account and secret's revocation: one query.
pub fn access_token_by_hash(
    conn: &mut DbConn,
    hash: &str,
) -> Result<Option<FoundToken>, ServiceError> {
    // On every SCIM request with an access token: the statement is cached on the inner connection.
    let found = crate::db::fetch_optional_inner!(
        conn,
        oauth_access_tokens::table
            .inner_join(oauth_clients::table.inner_join(accounts::table))
            .left_join(oauth_client_secrets::table)
            .filter(oauth_access_tokens::token_hash.eq(hash))
            .select((
                OAuthAccessTokenRow::as_select(),
                OAuthClientRow::as_select(),
                Account::as_select(),
                oauth_client_secrets::revoked_at.nullable(),
            ))
    )?;
    Ok(found.map(
        |(token, client, account, secret_revoked_at): (_, _, _, Option<NaiveDateTime>)| {
            FoundToken {
                token,
                client,
                account,
                secret_revoked_at,
            }
        },
    ))
}

/// Stores an access token, first removing the client's expired ones.
pub fn insert_access_token(
    conn: &mut DbConn,
    row: &OAuthAccessTokenRow,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    diesel::delete(
        oauth_access_tokens::table
            .filter(oauth_access_tokens::client_id.eq(&row.client_id))
            .filter(oauth_access_tokens::expires_at.le(now)),
    )
    .execute(conn)?;
    diesel::insert_into(oauth_access_tokens::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Records an assertion id as used until `until`, first removing the client's expired ones.
/// `Ok(false)`: it was used before.
pub fn record_jti(
    conn: &mut DbConn,
    client_id: &str,
    jti: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<bool, ServiceError> {
    diesel::delete(
        oauth_used_jtis::table
            .filter(oauth_used_jtis::client_id.eq(client_id))
            .filter(oauth_used_jtis::expires_at.lt(now)),
    )
    .execute(conn)?;
    // In a savepoint of its own, so a replay's unique violation leaves the caller's transaction
    // usable (PostgreSQL aborts a transaction on any failed statement).
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(oauth_used_jtis::table)
            .values(OAuthUsedJtiRow {
                client_id: client_id.to_owned(),
                jti: jti.to_owned(),
                expires_at: until,
            })
            .execute(conn)
    });
    match inserted {
        Ok(_) => Ok(true),
        Err(e) if db::unique_violation(&e).is_some() => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// A client by id, in any account (the token endpoint learns the account from the client).
pub fn client(conn: &mut DbConn, id: &str) -> Result<Option<OAuthClientRow>, ServiceError> {
    Ok(oauth_clients::table
        .find(id)
        .select(OAuthClientRow::as_select())
        .fetch_optional(conn)?)
}

/// A client of `account_id` by id.
pub fn account_client(
    conn: &mut DbConn,
    account_id: &str,
    id: &str,
) -> Result<Option<OAuthClientRow>, ServiceError> {
    Ok(oauth_clients::table
        .find(id)
        .filter(oauth_clients::account_id.eq(account_id))
        .select(OAuthClientRow::as_select())
        .fetch_optional(conn)?)
}

/// A secret with its client, by the secret's hash.
pub fn secret_by_hash(
    conn: &mut DbConn,
    hash: &str,
) -> Result<Option<(OAuthSecretRow, OAuthClientRow)>, ServiceError> {
    Ok(oauth_client_secrets::table
        .inner_join(oauth_clients::table)
        .filter(oauth_client_secrets::secret_hash.eq(hash))
        .select((OAuthSecretRow::as_select(), OAuthClientRow::as_select()))
        .fetch_optional(conn)?)
}

/// An account's clients, oldest first.
pub fn clients_of(
    conn: &mut DbConn,
    account_id: &str,
) -> Result<Vec<OAuthClientRow>, ServiceError> {
    Ok(oauth_clients::table
        .filter(oauth_clients::account_id.eq(account_id))
        .select(OAuthClientRow::as_select())
        .order(oauth_clients::id.asc())
        .load(conn)?)
}

/// An account's client secrets, oldest first.
pub fn secrets_of_account(
    conn: &mut DbConn,
    account_id: &str,
) -> Result<Vec<OAuthSecretRow>, ServiceError> {
    Ok(oauth_client_secrets::table
        .filter(oauth_client_secrets::account_id.eq(account_id))
        .select(OAuthSecretRow::as_select())
        .order(oauth_client_secrets::id.asc())
        .load(conn)?)
}

/// Stores a client.
pub fn insert_client(conn: &mut DbConn, row: &OAuthClientRow) -> Result<(), ServiceError> {
    diesel::insert_into(oauth_clients::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Stores a secret.
pub fn insert_secret(conn: &mut DbConn, row: &OAuthSecretRow) -> Result<(), ServiceError> {
    diesel::insert_into(oauth_client_secrets::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Revokes a live secret of a client; `Ok(false)`: no live secret of that client has this id.
pub fn revoke_secret(
    conn: &mut DbConn,
    client_id: &str,
    secret_id: &str,
    now: NaiveDateTime,
) -> Result<bool, ServiceError> {
    Ok(diesel::update(
        oauth_client_secrets::table
            .find(secret_id)
            .filter(oauth_client_secrets::client_id.eq(client_id))
            .filter(oauth_client_secrets::revoked_at.is_null()),
    )
    .set(oauth_client_secrets::revoked_at.eq(now))
    .execute(conn)?
        > 0)
}

/// Whether a client has a secret with this id (live or not).
pub fn has_secret(
    conn: &mut DbConn,
    client_id: &str,
    secret_id: &str,
) -> Result<bool, ServiceError> {
    Ok(oauth_client_secrets::table
        .find(secret_id)
        .filter(oauth_client_secrets::client_id.eq(client_id))
        .select(oauth_client_secrets::id)
        .load::<String>(conn)?
        .is_empty()
        .not())
}

/// Revokes a client; revoking a revoked client changes nothing.
pub fn revoke_client(
    conn: &mut DbConn,
    client_id: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    diesel::update(
        oauth_clients::table
            .find(client_id)
            .filter(oauth_clients::revoked_at.is_null()),
    )
    .set((
        oauth_clients::revoked_at.eq(now),
        oauth_clients::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Renames a client.
pub fn relabel(
    conn: &mut DbConn,
    client_id: &str,
    label: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    diesel::update(oauth_clients::table.find(client_id))
        .set((
            oauth_clients::label.eq(label),
            oauth_clients::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Live secrets (of live clients) over the whole server that expire before `until`: what
/// `/metrics` counts.
pub fn expiring_secrets(
    conn: &mut DbConn,
    now: NaiveDateTime,
    until: NaiveDateTime,
) -> Result<i64, ServiceError> {
    Ok(oauth_client_secrets::table
        .inner_join(oauth_clients::table)
        .filter(oauth_client_secrets::revoked_at.is_null())
        .filter(oauth_clients::revoked_at.is_null())
        .filter(oauth_client_secrets::expires_at.gt(now))
        .filter(oauth_client_secrets::expires_at.le(until))
        .count()
        .get_result(conn)?)
}
