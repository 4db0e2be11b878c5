//! The `stores` queries a user write runs: the look-up by ref id and the race-safe insert.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::StoreRow;
use crate::db::schema::stores;

/// The store of `account_id` with `ref_id`.
pub fn find(conn: &mut DbConn, account_id: &str, ref_id: &str) -> QueryResult<Option<StoreRow>> {
    crate::db::fetch_optional_inner!(
        conn,
        stores::table
            .filter(stores::account_id.eq(account_id))
            .filter(stores::ref_id.eq(ref_id))
            .select(StoreRow::as_select())
    )
}

/// Inserts a store unless the account has one with its ref id; returns whether it was inserted.
/// Two writes may create the same store at once: the loser keeps the winner's row.
pub fn insert_if_absent(conn: &mut DbConn, row: &StoreRow) -> QueryResult<bool> {
    let inserted = crate::db::on_inner!(conn, |c| diesel::insert_into(stores::table)
        .values(row)
        .on_conflict((stores::account_id, stores::ref_id))
        .do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}
