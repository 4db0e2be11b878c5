//! Accounts (tenants), their settings ([`settings`]) and API tokens.
//!
//! A token is 32 random bytes shown once; only its SHA-256 is stored, under a unique index, so a
//! request is authenticated by one indexed lookup. The stored and computed digests are compared in
//! constant time. `last_used_at` is written at most once a minute per token, so reads stay reads.

pub mod rate_limit;
pub mod settings;
pub mod storage;

use crate::db::FetchOptional;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use subtle::ConstantTimeEq;

use crate::db::DbConn;
use crate::db::models::{Account, ApiToken};
use crate::db::schema::{accounts, api_tokens};
use crate::error::ServiceError;
use crate::text::char_len;

/// Which API a token opens; neither opens the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scope {
    /// The SCIM API under `/scim/v2`.
    Scim,
    /// The admin API under `/admin/v1`.
    Admin,
}

impl Scope {
    /// The stored and printed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Scim => "scim",
            Scope::Admin => "admin",
        }
    }
}

/// The longest account name or token label accepted.
pub const MAX_NAME_LEN: usize = 255;
/// What every token starts with, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "mts_";
/// How many characters of a token `token list` shows.
const SHOWN_PREFIX_LEN: usize = TOKEN_PREFIX.len() + 8;

pub use settings::{SettingsChange, change_settings};

/// Id generation lives in the foundation ([`crate::context`]); re-exported where callers have
/// always found it.
pub use crate::context::new_id;

fn check_name(what: &str, value: &str) -> Result<(), ServiceError> {
    if value.trim().is_empty() || char_len(value) > MAX_NAME_LEN {
        return Err(ServiceError::invalid_value(format!(
            "the {what} must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    Ok(())
}

/// Creates an account.
pub fn create_account(
    conn: &mut DbConn,
    name: &str,
    now: NaiveDateTime,
) -> Result<Account, ServiceError> {
    check_name("account name", name)?;
    let account = Account {
        id: new_id(),
        name: name.to_owned(),
        require_external_id: false,
        created_at: now,
        updated_at: now,
        invite_on_provision: false,
        default_language: "en".to_owned(),
        invite_agreement_accepted_at: None,
        require_contact: false,
        has_group_rules: false,
    };
    diesel::insert_into(accounts::table)
        .values(&account)
        .execute(conn)?;
    Ok(account)
}

/// Every account, oldest first.
pub fn list_accounts(conn: &mut DbConn) -> Result<Vec<Account>, ServiceError> {
    Ok(accounts::table
        .select(Account::as_select())
        .order(accounts::id.asc())
        .load(conn)?)
}

/// Accounts with no live token (revoked and expired ones do not count), oldest first, at most
/// `limit`: after a first start whose token was lost, `serve` names them and how to issue one.
pub fn without_live_token(
    conn: &mut DbConn,
    limit: i64,
    now: NaiveDateTime,
) -> Result<Vec<Account>, ServiceError> {
    let live = api_tokens::table
        .filter(api_tokens::account_id.eq(accounts::id))
        .filter(api_tokens::revoked_at.is_null())
        .filter(
            api_tokens::expires_at
                .is_null()
                .or(api_tokens::expires_at.gt(now)),
        );
    Ok(accounts::table
        .filter(diesel::dsl::not(diesel::dsl::exists(live)))
        .select(Account::as_select())
        .order(accounts::id.asc())
        .limit(limit)
        .load(conn)?)
}

/// Whether any account exists.
pub fn any_account(conn: &mut DbConn) -> Result<bool, ServiceError> {
    Ok(accounts::table
        .select(accounts::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// The account with this id.
pub fn find_account(conn: &mut DbConn, id: &str) -> Result<Account, ServiceError> {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .fetch_optional(conn)?
        .ok_or(ServiceError::NotFound("account"))
}

/// Changes an account's settings; `None` leaves a setting as it is.
pub fn update_settings(
    conn: &mut DbConn,
    id: &str,
    require_external_id: Option<bool>,
    now: NaiveDateTime,
) -> Result<Account, ServiceError> {
    let mut account = find_account(conn, id)?;
    if let Some(value) = require_external_id {
        account.require_external_id = value;
    }
    account.updated_at = now;
    diesel::update(accounts::table.find(id))
        .set((
            accounts::require_external_id.eq(account.require_external_id),
            accounts::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(account)
}

/// Records whether account `id` has group rules (`users::group_rules` keeps it, inside its own
/// writes' transactions). The update also locks the account's row until the transaction ends, so
/// the rule writes of one account take turns: a writer that counts the rules after marking counts
/// every rule committed before it.
pub fn mark_group_rules(conn: &mut DbConn, id: &str, has_group_rules: bool) -> QueryResult<()> {
    diesel::update(accounts::table.find(id))
        .set(accounts::has_group_rules.eq(has_group_rules))
        .execute(conn)?;
    Ok(())
}

/// Stores an account's name and settings as they are on `account` (see
/// [`change_settings`], which checks them first).
pub fn store_settings(conn: &mut DbConn, account: &Account) -> Result<(), ServiceError> {
    diesel::update(accounts::table.find(&account.id))
        .set((
            accounts::name.eq(&account.name),
            accounts::require_external_id.eq(account.require_external_id),
            accounts::invite_on_provision.eq(account.invite_on_provision),
            accounts::default_language.eq(&account.default_language),
            accounts::invite_agreement_accepted_at.eq(account.invite_agreement_accepted_at),
            accounts::require_contact.eq(account.require_contact),
            accounts::updated_at.eq(account.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Hex SHA-256 of a token, the form in which it is stored.
pub fn hash_token(token: &str) -> String {
    crate::crypto::sha256_hex(token)
}

fn generate_token() -> String {
    crate::crypto::random_token(TOKEN_PREFIX)
}

/// Issues a token for an account that never expires; returns its row and the token itself, which
/// is shown only now.
pub fn issue_token(
    conn: &mut DbConn,
    account_id: &str,
    label: &str,
    scope: Scope,
    now: NaiveDateTime,
) -> Result<(ApiToken, String), ServiceError> {
    issue_token_until(conn, account_id, label, scope, None, now)
}

/// The longest a token may live, in days (about ten years): an expiry further out is a mistake.
pub const MAX_TOKEN_DAYS: i64 = 3660;

/// The expiry `days` days after `now`, checked: 1 to [`MAX_TOKEN_DAYS`].
pub fn expiry_in_days(days: i64, now: NaiveDateTime) -> Result<NaiveDateTime, ServiceError> {
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ServiceError::invalid_value(format!(
            "a token lives 1 to {MAX_TOKEN_DAYS} days, not {days}"
        )));
    }
    now.checked_add_signed(Duration::days(days))
        .ok_or_else(|| ServiceError::invalid_value("the expiry is out of range"))
}

/// Issues a token for an account, expiring at `expires_at` (which must be in the future) or never;
/// returns its row and the token itself, which is shown only now.
pub fn issue_token_until(
    conn: &mut DbConn,
    account_id: &str,
    label: &str,
    scope: Scope,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> Result<(ApiToken, String), ServiceError> {
    check_name("token label", label)?;
    if let Some(at) = expires_at {
        if at <= now {
            return Err(ServiceError::invalid_value(
                "the expiry must be in the future",
            ));
        }
        if at > now + Duration::days(MAX_TOKEN_DAYS) {
            return Err(ServiceError::invalid_value(format!(
                "the expiry must be at most {MAX_TOKEN_DAYS} days away"
            )));
        }
    }
    find_account(conn, account_id)?;
    let token = generate_token();
    let row = ApiToken {
        id: new_id(),
        account_id: account_id.to_owned(),
        label: label.to_owned(),
        scope: scope.as_str().to_owned(),
        token_hash: hash_token(&token),
        prefix: token[..SHOWN_PREFIX_LEN].to_owned(),
        created_at: now,
        last_used_at: None,
        revoked_at: None,
        expires_at,
    };
    diesel::insert_into(api_tokens::table)
        .values(&row)
        .execute(conn)?;
    Ok((row, token))
}

/// An account's tokens, revoked ones included, oldest first.
pub fn list_tokens(conn: &mut DbConn, account_id: &str) -> Result<Vec<ApiToken>, ServiceError> {
    find_account(conn, account_id)?;
    Ok(api_tokens::table
        .filter(api_tokens::account_id.eq(account_id))
        .select(ApiToken::as_select())
        .order(api_tokens::id.asc())
        .load(conn)?)
}

/// Gives the account's token `token_id` a new label (the actor its later writes are logged as).
pub fn relabel_token(
    conn: &mut DbConn,
    account_id: &str,
    token_id: &str,
    label: &str,
) -> Result<ApiToken, ServiceError> {
    check_name("token label", label)?;
    let changed = diesel::update(
        api_tokens::table
            .filter(api_tokens::account_id.eq(account_id))
            .filter(api_tokens::id.eq(token_id)),
    )
    .set(api_tokens::label.eq(label))
    .execute(conn)?;
    if changed == 0 {
        return Err(ServiceError::NotFound("token"));
    }
    account_token(conn, account_id, token_id)
}

/// The account's token `token_id`.
pub fn account_token(
    conn: &mut DbConn,
    account_id: &str,
    token_id: &str,
) -> Result<ApiToken, ServiceError> {
    api_tokens::table
        .filter(api_tokens::account_id.eq(account_id))
        .filter(api_tokens::id.eq(token_id))
        .select(ApiToken::as_select())
        .fetch_optional(conn)?
        .ok_or(ServiceError::NotFound("token"))
}

/// Revokes the account's token `token_id` (404 for another account's); revoking a revoked token
/// changes nothing. Returns the token and whether this call revoked it.
pub fn revoke_account_token(
    conn: &mut DbConn,
    account_id: &str,
    token_id: &str,
    now: NaiveDateTime,
) -> Result<(ApiToken, bool), ServiceError> {
    account_token(conn, account_id, token_id)?;
    revoke_token(conn, token_id, now)
}

/// Revokes a token; revoking a revoked token changes nothing. Returns the token and whether this
/// call revoked it (`false`: it was revoked already).
pub fn revoke_token(
    conn: &mut DbConn,
    token_id: &str,
    now: NaiveDateTime,
) -> Result<(ApiToken, bool), ServiceError> {
    let revoked = diesel::update(
        api_tokens::table
            .find(token_id)
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(now))
    .execute(conn)?
        > 0;
    let token = api_tokens::table
        .find(token_id)
        .select(ApiToken::as_select())
        .fetch_optional(conn)?
        .ok_or(ServiceError::NotFound("token"))?;
    Ok((token, revoked))
}

/// Why a presented token opens nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Not a token of this server, revoked, or expired.
    Unknown,
    /// A live token of the other scope.
    WrongScope,
}

/// Who is calling: the token and its account.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account the token opens.
    pub account: Account,
    /// The token's id.
    pub token_id: String,
    /// The token's label: the actor in the provisioning log.
    pub label: String,
}

/// Authenticates a bearer token for `scope`.
pub fn authenticate(
    conn: &mut DbConn,
    token: &str,
    scope: Scope,
    now: NaiveDateTime,
) -> Result<Result<Caller, Refusal>, ServiceError> {
    let hash = hash_token(token);
    let found = storage::token_by_hash(conn, &hash)?;
    let Some((row, account)) = found else {
        return Ok(Err(Refusal::Unknown));
    };
    if !bool::from(row.token_hash.as_bytes().ct_eq(hash.as_bytes()))
        || row.revoked_at.is_some()
        || row.expires_at.is_some_and(|at| at <= now)
    {
        return Ok(Err(Refusal::Unknown));
    }
    if row.scope != scope.as_str() {
        return Ok(Err(Refusal::WrongScope));
    }
    if row
        .last_used_at
        .is_none_or(|at| now - at >= Duration::minutes(1))
    {
        diesel::update(api_tokens::table.find(&row.id))
            .set(api_tokens::last_used_at.eq(now))
            .execute(conn)?;
    }
    Ok(Ok(Caller {
        account,
        token_id: row.id,
        label: row.label,
    }))
}

/// First start: when no account exists, creates one with a SCIM token and returns both, so the
/// caller can print them once (never to the logs). Runs under the migration lock.
pub fn bootstrap(
    conn: &mut DbConn,
    now: NaiveDateTime,
) -> Result<Option<(Account, String)>, ServiceError> {
    if any_account(conn)? {
        return Ok(None);
    }
    let account = create_account(conn, "Default account", now)?;
    let (_, token) = issue_token(conn, &account.id, "bootstrap", Scope::Scim, now)?;
    tracing::info!(account.id = %account.id, "first start: created an account and a SCIM token");
    Ok(Some((account, token)))
}
