//! Reading and writing invitations, always scoped to one account (except the link's lookup by id,
//! which the MAC then authenticates).

use crate::db::FetchOptional;
use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::InvitationRow;
use crate::db::schema::invitations;

/// The invitation `id` of `account_id`, if it is still pending at `now`.
pub fn find(
    conn: &mut DbConn,
    account_id: &str,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .find(id)
        .filter(invitations::account_id.eq(account_id))
        .filter(invitations::expires_at.gt(now))
        .select(InvitationRow::as_select())
        .fetch_optional(conn)
}

/// The invitation `id` of any account, expired or not (the link's lookup, and the jobs').
pub fn find_any(conn: &mut DbConn, id: &str) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .fetch_optional(conn)
}

/// Whether `user_id` has an invitation.
pub fn exists_for_user(conn: &mut DbConn, user_id: &str) -> QueryResult<bool> {
    Ok(invitations::table
        .filter(invitations::user_id.eq(user_id))
        .count()
        .get_result::<i64>(conn)?
        > 0)
}

/// Ids of invitations expired at `now`, oldest expiry first, at most `limit`.
pub fn expired_ids(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<String>> {
    invitations::table
        .filter(invitations::expires_at.le(now))
        .order((invitations::expires_at.asc(), invitations::id.asc()))
        .limit(limit)
        .select(invitations::id)
        .load(conn)
}

/// Stores a new invitation.
pub fn insert(conn: &mut DbConn, row: &InvitationRow) -> QueryResult<()> {
    diesel::insert_into(invitations::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Deletes an invitation; `false` when another request got there first.
pub fn delete(conn: &mut DbConn, id: &str) -> QueryResult<bool> {
    Ok(diesel::delete(invitations::table.find(id)).execute(conn)? == 1)
}

/// Counts a send an admin caused, if the last one is at least `cooldown` old (a compare-and-set,
/// so of two concurrent resends one wins). `false` when it is too soon.
pub fn record_resend(
    conn: &mut DbConn,
    id: &str,
    cooldown: chrono::Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::last_sent_at.le(now - cooldown)),
    )
    .set((
        invitations::sends.eq(invitations::sends + 1),
        invitations::last_sent_at.eq(now),
        invitations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Marks reminder `n` sent, unless it (or a later one) already was; `false` then.
pub fn record_reminder(
    conn: &mut DbConn,
    id: &str,
    n: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let changed = diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::last_reminder.lt(n)),
    )
    .set((
        invitations::reminders_sent.eq(invitations::reminders_sent + 1),
        invitations::last_reminder.eq(n),
        invitations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// One page of an account's pending invitations, soonest expiry first, and how many there are.
pub fn page(
    conn: &mut DbConn,
    account_id: &str,
    offset: i64,
    limit: i64,
    now: NaiveDateTime,
) -> QueryResult<(i64, Vec<InvitationRow>)> {
    let pending = invitations::account_id
        .eq(account_id.to_owned())
        .and(invitations::expires_at.gt(now));
    let total = invitations::table
        .filter(pending.clone())
        .count()
        .get_result(conn)?;
    let rows = if limit == 0 {
        Vec::new()
    } else {
        invitations::table
            .filter(pending)
            .order((invitations::expires_at.asc(), invitations::id.asc()))
            .offset(offset)
            .limit(limit)
            .select(InvitationRow::as_select())
            .load(conn)?
    };
    Ok((total, rows))
}

/// What an invitation shows of its user: the user's contact ([`crate::users::storage::Contact`]).
pub type Invitee = crate::users::storage::Contact;

/// The invitees of these users, by user id (asked of [`crate::users`], which owns the rows).
pub fn invitees(conn: &mut DbConn, user_ids: &[String]) -> QueryResult<HashMap<String, Invitee>> {
    crate::users::storage::contacts(conn, user_ids)
}
