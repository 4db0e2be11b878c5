//! Reading and writing invitations, always scoped to one account (except the link's lookup by id,
//! which the MAC then authenticates).

use crate::db::FetchOptional;
use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use diesel::dsl::sql;
use diesel::sql_types::Text;

use super::delivery::Status;
use crate::db::models::{InvitationRow, InvitationTombstoneRow};
use crate::db::schema::{invitation_tombstones, invitations};
use crate::db::{Backend, DbConn};
use crate::text::{fold_case, fold_identity};

type DbBackend = <DbConn as diesel::Connection>::Backend;

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

/// Counts a resend an admin caused and queues its delivery afresh, if the invitation is still at
/// send `row.sends` (a compare-and-set, so of two concurrent resends one wins) and no send went
/// out less than `cooldown` ago while the latest went out. `false` when either is not so.
pub fn record_resend(
    conn: &mut DbConn,
    row: &InvitationRow,
    cooldown: chrono::Duration,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let cooled = invitations::delivery_status
        .ne(Status::Sent.as_str())
        .or(invitations::last_delivered_at.le(now - cooldown))
        .or(invitations::last_delivered_at.is_null());
    let n = diesel::update(
        invitations::table
            .find(&row.id)
            .filter(invitations::sends.eq(row.sends))
            .filter(cooled),
    )
    .set((
        invitations::sends.eq(invitations::sends + 1),
        invitations::last_sent_at.eq(now),
        invitations::delivery_status.eq(Status::Queued.as_str()),
        invitations::delivery_attempts.eq(0),
        invitations::delivery_error.eq(None::<String>),
        invitations::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records that a send went out at `now`: the latest (then the delivery is `sent`) or an older
/// one (then only the time of the last send that went out moves).
pub fn record_delivered(
    conn: &mut DbConn,
    id: &str,
    latest: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let target = invitations::table.find(id);
    if latest {
        diesel::update(target)
            .set((
                invitations::delivery_status.eq(Status::Sent.as_str()),
                invitations::delivery_attempts.eq(invitations::delivery_attempts + 1),
                invitations::delivery_error.eq(None::<String>),
                invitations::last_delivered_at.eq(now),
                invitations::updated_at.eq(now),
            ))
            .execute(conn)?;
    } else {
        diesel::update(target)
            .set((
                invitations::last_delivered_at.eq(now),
                invitations::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::first_delivered_at.is_null()),
    )
    .set(invitations::first_delivered_at.eq(now))
    .execute(conn)?;
    Ok(())
}

/// Records a failed attempt of the latest send: `failing` or `failed`, with the error.
pub fn record_failure(
    conn: &mut DbConn,
    id: &str,
    status: Status,
    error: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::delivery_status.eq(status.as_str()),
            invitations::delivery_attempts.eq(invitations::delivery_attempts + 1),
            invitations::delivery_error.eq(Some(error)),
            invitations::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Moves the invitation's clock: the first send went out at `anchor`, it expires at `expires_at`.
pub fn restart_clock(
    conn: &mut DbConn,
    id: &str,
    anchor: NaiveDateTime,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set((
            invitations::first_sent_at.eq(anchor),
            invitations::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
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

/// Which of an account's pending invitations a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Only those expiring after this time (exclusive).
    pub expires_after: Option<NaiveDateTime>,
    /// Only those expiring at or before this time.
    pub expires_until: Option<NaiveDateTime>,
    /// Only those whose delivery is in this status.
    pub delivery: Option<Status>,
    /// Only those whose user's name, userName, e-mail or phone contains this text.
    pub search: Option<String>,
}

type Condition =
    Box<dyn BoxableExpression<invitations::table, DbBackend, SqlType = diesel::sql_types::Bool>>;

/// `column` case-folded as [`crate::text::fold_case`] folds, on either backend.
fn folded(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("mts_fold({column})"),
        Backend::Postgres => {
            format!("(lower(normalize({column}, NFC) COLLATE \"und-x-icu\") COLLATE \"C\")")
        }
    }
}

/// Invitations whose user matches `term`: the user's full name (folded as text is), userName and
/// e-mail values (identity-folded, on their shadow columns), phone numbers (by their digits, on
/// the E.164 column). A sub-select, so the page and its count stay one query each.
fn search(backend: Backend, account_id: &str, term: &str) -> Condition {
    let like = |v: &str| format!("%{}%", crate::db::sql::like_escape(v));
    let name = like(&fold_case(term));
    let identity = like(&fold_identity(term));
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let full_name = folded(
        backend,
        "(coalesce(u.given_name, '') || ' ' || coalesce(u.family_name, ''))",
    );
    // Fewer than 3 digits match no phone: the pattern `` matches no stored number.
    let phone = if digits.len() >= 3 {
        format!("%{digits}%")
    } else {
        String::new()
    };
    let condition = sql::<diesel::sql_types::Bool>(
        "invitations.user_id IN (SELECT u.id FROM users u WHERE u.account_id = ",
    )
    .bind::<Text, _>(account_id.to_owned())
    .sql(&format!(" AND ({full_name} LIKE "))
    .bind::<Text, _>(name)
    .sql(" ESCAPE '\\' OR u.user_name_ci LIKE ")
    .bind::<Text, _>(identity.clone())
    .sql(" ESCAPE '\\') UNION SELECT e.user_id FROM user_emails e WHERE e.account_id = ")
    .bind::<Text, _>(account_id.to_owned())
    .sql(" AND e.value_ci LIKE ")
    .bind::<Text, _>(identity)
    .sql(" ESCAPE '\\' UNION SELECT p.user_id FROM user_phone_numbers p WHERE p.account_id = ")
    .bind::<Text, _>(account_id.to_owned())
    .sql(" AND p.value_e164 LIKE ")
    .bind::<Text, _>(phone)
    .sql(")");
    Box::new(condition)
}

fn conditions(
    backend: Backend,
    account_id: &str,
    selection: &Selection,
    now: NaiveDateTime,
) -> Vec<Condition> {
    let mut all: Vec<Condition> = vec![
        Box::new(invitations::account_id.eq(account_id.to_owned())),
        Box::new(invitations::expires_at.gt(now)),
    ];
    if let Some(after) = selection.expires_after {
        all.push(Box::new(invitations::expires_at.gt(after)));
    }
    if let Some(until) = selection.expires_until {
        all.push(Box::new(invitations::expires_at.le(until)));
    }
    if let Some(status) = selection.delivery {
        all.push(Box::new(invitations::delivery_status.eq(status.as_str())));
    }
    if let Some(term) = &selection.search {
        all.push(search(backend, account_id, term));
    }
    all
}

fn selected(
    backend: Backend,
    account_id: &str,
    selection: &Selection,
    now: NaiveDateTime,
) -> invitations::BoxedQuery<'static, DbBackend> {
    conditions(backend, account_id, selection, now)
        .into_iter()
        .fold(invitations::table.into_boxed(), |q, c| q.filter(c))
}

/// One page of an account's pending invitations that `selection` picks, soonest expiry first,
/// and how many there are.
pub fn page(
    conn: &mut DbConn,
    account_id: &str,
    selection: &Selection,
    (offset, limit): (i64, i64),
    now: NaiveDateTime,
) -> QueryResult<(i64, Vec<InvitationRow>)> {
    let backend = conn.backend();
    let total = selected(backend, account_id, selection, now)
        .count()
        .get_result(conn)?;
    let rows = if limit == 0 {
        Vec::new()
    } else {
        selected(backend, account_id, selection, now)
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

/// Keeps what became of an ended invitation (no personal data) until `keep_until`.
pub fn insert_tombstone(conn: &mut DbConn, row: &InvitationTombstoneRow) -> QueryResult<()> {
    diesel::insert_into(invitation_tombstones::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The tombstone of invitation `id`, if it is still kept at `now`.
pub fn find_tombstone(
    conn: &mut DbConn,
    id: &str,
    now: NaiveDateTime,
) -> QueryResult<Option<InvitationTombstoneRow>> {
    invitation_tombstones::table
        .find(id)
        .filter(invitation_tombstones::keep_until.gt(now))
        .select(InvitationTombstoneRow::as_select())
        .fetch_optional(conn)
}

/// Deletes up to `limit` tombstones kept until `now` or before; returns how many.
pub fn purge_tombstones(conn: &mut DbConn, now: NaiveDateTime, limit: i64) -> QueryResult<usize> {
    let due: Vec<String> = invitation_tombstones::table
        .filter(invitation_tombstones::keep_until.le(now))
        .order(invitation_tombstones::keep_until.asc())
        .limit(limit)
        .select(invitation_tombstones::id)
        .load(conn)?;
    diesel::delete(invitation_tombstones::table.filter(invitation_tombstones::id.eq_any(&due)))
        .execute(conn)
}
