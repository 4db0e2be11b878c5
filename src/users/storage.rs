//! Reading and writing users: the `users` row and its child rows, always scoped to one account.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{
    AddressRow, EmailRow, PhoneNumberRow, RoleRow, StoreRow, UserRow, UserStoreRow,
};
use crate::db::schema::{
    stores, user_addresses, user_emails, user_phone_numbers, user_roles, user_stores, users,
};
use crate::on_inner;
use crate::scim::filter::Equality;
use crate::scim::list::Page;
use crate::text::fold_case;

/// A user as stored: its row and the rows of its multi-valued attributes, each in client order.
#[derive(Debug, Clone, Default)]
pub struct UserRecord {
    /// The `users` row.
    pub row: UserRow,
    /// `emails`.
    pub emails: Vec<EmailRow>,
    /// `phoneNumbers`.
    pub phone_numbers: Vec<PhoneNumberRow>,
    /// `addresses`.
    pub addresses: Vec<AddressRow>,
    /// `roles`.
    pub roles: Vec<RoleRow>,
    /// The user's stores with their links.
    pub stores: Vec<(UserStoreRow, StoreRow)>,
}

fn insert_children(conn: &mut DbConn, rec: &UserRecord) -> QueryResult<()> {
    let links: Vec<&UserStoreRow> = rec.stores.iter().map(|(link, _)| link).collect();
    on_inner!(conn, |c| {
        if !rec.emails.is_empty() {
            diesel::insert_into(user_emails::table)
                .values(&rec.emails)
                .execute(c)?;
        }
        if !rec.phone_numbers.is_empty() {
            diesel::insert_into(user_phone_numbers::table)
                .values(&rec.phone_numbers)
                .execute(c)?;
        }
        if !rec.addresses.is_empty() {
            diesel::insert_into(user_addresses::table)
                .values(&rec.addresses)
                .execute(c)?;
        }
        if !rec.roles.is_empty() {
            diesel::insert_into(user_roles::table)
                .values(&rec.roles)
                .execute(c)?;
        }
        if !links.is_empty() {
            diesel::insert_into(user_stores::table)
                .values(links)
                .execute(c)?;
        }
        QueryResult::Ok(())
    })
}

fn delete_children(conn: &mut DbConn, user_id: &str) -> QueryResult<()> {
    diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(user_phone_numbers::table.filter(user_phone_numbers::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user_addresses::table.filter(user_addresses::user_id.eq(user_id)))
        .execute(conn)?;
    diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    diesel::delete(user_stores::table.filter(user_stores::user_id.eq(user_id))).execute(conn)?;
    Ok(())
}

/// Locks a user's row until the transaction ends, so concurrent writers of one user queue instead of
/// racing. PostgreSQL takes a row lock; SQLite needs none (a write transaction holds the database's
/// write lock from `BEGIN IMMEDIATE`). Returns whether the user exists in the account.
pub fn lock(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<bool> {
    let query = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq(id))
        .select(users::id);
    let found = match conn {
        DbConn::Pg(c) => query.for_update().first::<String>(c).optional()?,
        DbConn::Sqlite(c) => query.first::<String>(c).optional()?,
    };
    Ok(found.is_some())
}

/// Inserts a new user with its child rows.
pub fn insert(conn: &mut DbConn, rec: &UserRecord) -> QueryResult<()> {
    diesel::insert_into(users::table)
        .values(&rec.row)
        .execute(conn)?;
    insert_children(conn, rec)
}

/// Replaces a user's row and child rows, provided the stored row is still at `expected_version`
/// (compare-and-set: a concurrent writer that got there first makes this return `false`, and the
/// caller retries on fresh state).
pub fn replace(conn: &mut DbConn, rec: &UserRecord, expected_version: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        users::table
            .filter(users::account_id.eq(&rec.row.account_id))
            .filter(users::id.eq(&rec.row.id))
            .filter(users::version.eq(expected_version)),
    )
    .set(&rec.row)
    .execute(conn)?;
    if updated != 1 {
        return Ok(false);
    }
    delete_children(conn, &rec.row.id)?;
    insert_children(conn, rec)?;
    Ok(true)
}

/// Deletes a user (child rows go with it); returns how many rows were deleted (0 or 1).
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<usize> {
    delete_children(conn, id)?;
    diesel::delete(
        users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq(id)),
    )
    .execute(conn)
}

/// Loads the users with these ids in `account_id`, in the order of `ids` (missing ones skipped).
pub fn load(conn: &mut DbConn, account_id: &str, ids: &[String]) -> QueryResult<Vec<UserRecord>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<UserRow> = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let mut by_id: HashMap<String, UserRecord> = rows
        .iter()
        .map(|r| {
            (
                r.id.clone(),
                UserRecord {
                    row: r.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();

    for e in user_emails::table
        .filter(user_emails::user_id.eq_any(&found))
        .order((user_emails::user_id, user_emails::position))
        .select(EmailRow::as_select())
        .load(conn)?
    {
        if let Some(rec) = by_id.get_mut(&e.user_id) {
            rec.emails.push(e);
        }
    }
    for p in user_phone_numbers::table
        .filter(user_phone_numbers::user_id.eq_any(&found))
        .order((user_phone_numbers::user_id, user_phone_numbers::position))
        .select(PhoneNumberRow::as_select())
        .load(conn)?
    {
        if let Some(rec) = by_id.get_mut(&p.user_id) {
            rec.phone_numbers.push(p);
        }
    }
    for a in user_addresses::table
        .filter(user_addresses::user_id.eq_any(&found))
        .order((user_addresses::user_id, user_addresses::position))
        .select(AddressRow::as_select())
        .load(conn)?
    {
        if let Some(rec) = by_id.get_mut(&a.user_id) {
            rec.addresses.push(a);
        }
    }
    for r in user_roles::table
        .filter(user_roles::user_id.eq_any(&found))
        .order((user_roles::user_id, user_roles::position))
        .select(RoleRow::as_select())
        .load(conn)?
    {
        if let Some(rec) = by_id.get_mut(&r.user_id) {
            rec.roles.push(r);
        }
    }
    for (link, store) in user_stores::table
        .inner_join(stores::table)
        .filter(user_stores::user_id.eq_any(&found))
        .order((user_stores::user_id, user_stores::position))
        .select((UserStoreRow::as_select(), StoreRow::as_select()))
        .load::<(UserStoreRow, StoreRow)>(conn)?
    {
        if let Some(rec) = by_id.get_mut(&link.user_id) {
            rec.stores.push((link, store));
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// The ids of one page of an account's users matching `lookup` (all users when `None`), in a stable
/// order (creation order: ids are UUIDv7), and how many match in all.
pub fn find_page(
    conn: &mut DbConn,
    account_id: &str,
    lookup: Option<&Equality>,
    page: Page,
) -> QueryResult<(i64, Vec<String>)> {
    let matching = || {
        let q = users::table
            .filter(users::account_id.eq(account_id.to_owned()))
            .into_boxed();
        match lookup {
            None => q,
            Some(eq) => match eq.attribute {
                "userName" => q.filter(users::user_name_ci.eq(fold_case(&eq.value))),
                "externalId" => q.filter(users::external_id.eq(eq.value.clone())),
                "id" => q.filter(users::id.eq(eq.value.clone())),
                other => {
                    unreachable!("the filter front end only yields known attributes, not {other}")
                }
            },
        }
    };
    let total: i64 = matching().count().get_result(conn)?;
    if page.count == 0 || page.offset() >= total as u64 {
        return Ok((total, Vec::new()));
    }
    let ids = matching()
        .select(users::id)
        .order(users::id.asc())
        .offset(page.offset() as i64)
        .limit(page.count as i64)
        .load(conn)?;
    Ok((total, ids))
}
