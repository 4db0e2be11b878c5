//! The `sign_in_passcodes` table, which `signin` owns.

use diesel::prelude::*;

use crate::db::models::SignInPasscodeRow;
use crate::db::schema::sign_in_passcodes;
use crate::db::{DbConn, FetchOptional};
use chrono::NaiveDateTime;

/// Stores a new code row.
pub(super) fn insert(conn: &mut DbConn, row: &SignInPasscodeRow) -> QueryResult<()> {
    diesel::insert_into(sign_in_passcodes::table)
        .values(row.clone())
        .execute(conn)?;
    Ok(())
}

/// The code row `id`.
pub(super) fn find(conn: &mut DbConn, id: &str) -> QueryResult<Option<SignInPasscodeRow>> {
    sign_in_passcodes::table
        .find(id)
        .select(SignInPasscodeRow::as_select())
        .fetch_optional(conn)
}

/// The user's newest code row asked for with the contact of digest `contact_mac`.
pub(super) fn latest(
    conn: &mut DbConn,
    user_id: &str,
    contact_mac: &str,
) -> QueryResult<Option<SignInPasscodeRow>> {
    let rows: Vec<SignInPasscodeRow> = sign_in_passcodes::table
        .filter(sign_in_passcodes::user_id.eq(user_id))
        .filter(sign_in_passcodes::contact_mac.eq(contact_mac))
        .order(sign_in_passcodes::created_at.desc())
        .select(SignInPasscodeRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().next())
}

/// Counts one more wrong try against row `id`; returns the tries so far.
pub(super) fn count_wrong(conn: &mut DbConn, id: &str) -> QueryResult<i32> {
    diesel::update(sign_in_passcodes::table.find(id))
        .set(sign_in_passcodes::failed_attempts.eq(sign_in_passcodes::failed_attempts + 1))
        .execute(conn)?;
    sign_in_passcodes::table
        .find(id)
        .select(sign_in_passcodes::failed_attempts)
        .first(conn)
}

/// Deletes row `id`; whether it was there.
pub(super) fn delete(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(sign_in_passcodes::table.find(id)).execute(conn)? == 1)
}

/// Deletes every code row of a user.
pub(super) fn delete_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<usize> {
    diesel::delete(sign_in_passcodes::table.filter(sign_in_passcodes::user_id.eq(user_id)))
        .execute(conn)
}

/// Deletes every expired code row.
pub(super) fn delete_expired(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(sign_in_passcodes::table.filter(sign_in_passcodes::expires_at.le(now)))
        .execute(conn)
}
