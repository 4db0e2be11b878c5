//! The account queries that run on every request, on the backend's own connection.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{Account, ApiToken};
use crate::db::schema::{accounts, api_tokens};

/// The token stored under `hash` with its account: one indexed lookup, which every request runs
/// (see `db::fetch_optional_inner!`).
pub fn token_by_hash(conn: &mut DbConn, hash: &str) -> QueryResult<Option<(ApiToken, Account)>> {
    crate::db::fetch_optional_inner!(
        conn,
        api_tokens::table
            .inner_join(accounts::table)
            .filter(api_tokens::token_hash.eq(hash))
            .select((ApiToken::as_select(), Account::as_select()))
    )
}
