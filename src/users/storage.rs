//! Reading and writing users: the `users` row and its child rows, always scoped to one account.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::aggregate::{UserChildren, user_children};
use crate::db::batch::Batch;
use crate::db::cacheable;
use crate::db::listing::{Found, Listing, Reader};
use crate::db::models::{
    AddressRow, EmailRow, EmailShadowRow, PhoneNumberRow, RoleRow, ShadowRow, StoreRow, UserRow,
    UserStoreRow,
};
use crate::db::schema::{
    group_members, groups, user_addresses, user_emails, user_phone_numbers, user_roles,
    user_stores, users,
};
use crate::db::{DbConn, FetchOptional};
use crate::db::{fetch_optional_inner, on_inner};
use crate::error::ServiceError;
use crate::scim::list::ListRequest;
use crate::scim::schema::Registry;
use scim_v2::filter::Filter;

use crate::db::attributes::USER_ATTRIBUTES;

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
    /// The groups the user is a member of (read-only `groups`), ordered by group id.
    pub groups: Vec<UserGroup>,
}

/// A group a user is a member of, as the user's read-only `groups` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    /// The group's id.
    pub group_id: String,
    /// The group's displayName.
    pub display: String,
    /// The group's version (the user's ETag covers it, [`super::etag`]).
    pub version: i64,
}

/// The groups of these users, by user id, in one query.
pub fn load_groups(
    conn: &mut DbConn,
    user_ids: &[String],
) -> QueryResult<HashMap<String, Vec<UserGroup>>> {
    let mut out: HashMap<String, Vec<UserGroup>> = HashMap::new();
    let query = group_members::table
        .inner_join(groups::table)
        .order((group_members::user_id, group_members::group_id))
        .select((
            group_members::user_id,
            groups::id,
            groups::display_name,
            groups::version,
        ));
    // One user with `=`: a statement diesel caches (it never caches an `IN` list).
    let rows = match user_ids {
        [one] => query
            .filter(group_members::user_id.eq(one))
            .load::<(String, String, String, i64)>(conn)?,
        _ => query
            .filter(group_members::user_id.eq_any(user_ids))
            .load::<(String, String, String, i64)>(conn)?,
    };
    for (user_id, group_id, display, version) in rows {
        out.entry(user_id).or_default().push(UserGroup {
            group_id,
            display,
            version,
        });
    }
    Ok(out)
}

/// Adds the insert of the rows of a multi-valued attribute to a batch: one row with a single-row
/// `INSERT`, whose statement is cached (the typical user has one e-mail, one store), more with one
/// multi-row insert (never cached: its shape depends on the count).
macro_rules! push_rows {
    ($batch:expr, $table:expr, $rows:expr) => {
        match $rows {
            [] => {}
            [one] => $batch.push(diesel::insert_into($table).values(one)),
            rows => $batch.push(diesel::insert_into($table).values(rows)),
        }
    };
}

/// Which child tables a write touches: all of them for a new user, only those whose rows changed
/// for a replacement (a PATCH of `title` rewrites no e-mail, phone, address, role or store row).
#[derive(Debug, Clone, Copy)]
struct Changed {
    emails: bool,
    phone_numbers: bool,
    addresses: bool,
    roles: bool,
    stores: bool,
}

impl Changed {
    const ALL: Changed = Changed {
        emails: true,
        phone_numbers: true,
        addresses: true,
        roles: true,
        stores: true,
    };

    fn between(old: &UserRecord, new: &UserRecord) -> Self {
        let links = |r: &UserRecord| -> Vec<UserStoreRow> {
            r.stores.iter().map(|(link, _)| link.clone()).collect()
        };
        Changed {
            emails: old.emails != new.emails,
            phone_numbers: old.phone_numbers != new.phone_numbers,
            addresses: old.addresses != new.addresses,
            roles: old.roles != new.roles,
            stores: links(old) != links(new),
        }
    }
}

/// Adds the inserts of `rec`'s child rows in the tables `changed` names to `batch`.
fn push_children<'a>(batch: &mut Batch<'a>, rec: &'a UserRecord, changed: Changed) {
    if changed.emails {
        push_rows!(batch, user_emails::table, rec.emails.as_slice());
    }
    if changed.phone_numbers {
        push_rows!(
            batch,
            user_phone_numbers::table,
            rec.phone_numbers.as_slice()
        );
    }
    if changed.addresses {
        push_rows!(batch, user_addresses::table, rec.addresses.as_slice());
    }
    if changed.roles {
        push_rows!(batch, user_roles::table, rec.roles.as_slice());
    }
    match rec.stores.as_slice() {
        _ if !changed.stores => {}
        [] => {}
        [(link, _)] => batch.push(diesel::insert_into(user_stores::table).values(link)),
        stores => {
            let links: Vec<&UserStoreRow> = stores.iter().map(|(link, _)| link).collect();
            batch.push(diesel::insert_into(user_stores::table).values(links));
        }
    }
}

fn delete_children(conn: &mut DbConn, user_id: &str, changed: Changed) -> QueryResult<()> {
    if changed.emails {
        diesel::delete(user_emails::table.filter(user_emails::user_id.eq(user_id)))
            .execute(conn)?;
    }
    if changed.phone_numbers {
        diesel::delete(user_phone_numbers::table.filter(user_phone_numbers::user_id.eq(user_id)))
            .execute(conn)?;
    }
    if changed.addresses {
        diesel::delete(user_addresses::table.filter(user_addresses::user_id.eq(user_id)))
            .execute(conn)?;
    }
    if changed.roles {
        diesel::delete(user_roles::table.filter(user_roles::user_id.eq(user_id))).execute(conn)?;
    }
    if changed.stores {
        diesel::delete(user_stores::table.filter(user_stores::user_id.eq(user_id)))
            .execute(conn)?;
    }
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
        DbConn::Pg(c) => query.for_update().load::<String>(c)?,
        DbConn::Sqlite(c) => query.load::<String>(c)?,
    };
    Ok(!found.is_empty())
}

/// How many users an account has.
pub fn count(conn: &mut DbConn, account_id: &str) -> QueryResult<i64> {
    users::table
        .filter(users::account_id.eq(account_id))
        .count()
        .get_result(conn)
}

/// Whether `id` is a user of `account_id`. An id holding a control character is none, and is never
/// sent to the database (PostgreSQL cannot take NUL in a text parameter; an id never holds one).
pub fn exists(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<bool> {
    if id.chars().any(char::is_control) {
        return Ok(false);
    }
    let found = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq(id))
        .select(users::id)
        .first::<String>(conn)
        .optional()?;
    Ok(found.is_some())
}

/// Adds the insert of a new user and its child rows to `batch`, the `users` row first (the child
/// rows reference it).
pub fn insert_in<'a>(batch: &mut Batch<'a>, rec: &'a UserRecord) {
    batch.push(diesel::insert_into(users::table).values(&rec.row));
    push_children(batch, rec, Changed::ALL);
}

/// Inserts a new user with its child rows: one statement on PostgreSQL ([`insert_in`]).
pub fn insert(conn: &mut DbConn, rec: &UserRecord) -> QueryResult<()> {
    let mut batch = Batch::new();
    insert_in(&mut batch, rec);
    batch.execute(conn)?;
    Ok(())
}

/// Replaces a user's row and the child rows that differ from `current` (the user as read under
/// the write's lock), provided the stored row is still at `current`'s version (compare-and-set: a
/// concurrent writer that got there first makes this return `false`, and the caller retries on
/// fresh state, rolling back what it wrote). `log` (the caller's log rows, or nothing) goes out
/// with the update, in one statement on PostgreSQL; the update is the batch's last part, whose
/// row count is the compare-and-set's result. A child table whose rows are unchanged is not
/// written at all.
pub fn replace<'a>(
    conn: &mut DbConn,
    rec: &'a UserRecord,
    current: &UserRecord,
    mut log: Batch<'a>,
) -> QueryResult<bool> {
    // Cached by its text: diesel caches no update by itself, and the row is always written whole.
    log.push(cacheable::update(
        users::table,
        users::account_id
            .eq(&rec.row.account_id)
            .and(users::id.eq(&rec.row.id))
            .and(users::version.eq(current.row.version)),
        &rec.row,
    ));
    if log.execute(conn)? != 1 {
        return Ok(false);
    }
    let changed = Changed::between(current, rec);
    delete_children(conn, &rec.row.id, changed)?;
    let mut inserts = Batch::new();
    push_children(&mut inserts, rec, changed);
    inserts.execute(conn)?;
    Ok(true)
}

/// Deletes a user (child rows and group memberships go with it); returns how many rows were
/// deleted (0 or 1).
pub fn delete(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<usize> {
    delete_children(conn, id, Changed::ALL)?;
    crate::groups::storage::delete_memberships_of(conn, id)?;
    diesel::delete(
        users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq(id)),
    )
    .execute(conn)
}

/// A user's row with its child rows aggregated as JSON ([`crate::db::aggregate`]), as a
/// statement written as text reads it ([`Listing::find_records`]).
#[derive(QueryableByName)]
struct UserRowWithChildren {
    #[diesel(embed)]
    user: UserRow,
    #[diesel(sql_type = diesel::sql_types::Text)]
    children: String,
}

/// The select list of [`UserRowWithChildren`].
fn select_with_children(backend: crate::db::Backend) -> String {
    format!("users.*, {} AS children", UserChildren::sql(backend))
}

/// How the listing reads users whole: in the page's statement, else by id.
const READER: Reader<UserRowWithChildren> = Reader {
    select: select_with_children,
    by_ids: load_with_children,
};

/// A user from its row and its children's JSON.
fn record_of(row: UserRow, children: &str) -> QueryResult<UserRecord> {
    let children = user_children(children, &row.id, &row.account_id)?;
    Ok(UserRecord {
        row,
        emails: children.emails,
        phone_numbers: children.phone_numbers,
        addresses: children.addresses,
        roles: children.roles,
        stores: children.stores,
        groups: children
            .groups
            .into_iter()
            .map(|(group_id, display, version)| UserGroup {
                group_id,
                display,
                version,
            })
            .collect(),
    })
}

/// Loads one user in one statement: its row with its child rows aggregated into the same query
/// ([`crate::db::aggregate`]), so a read is one round trip and one snapshot on both backends (no
/// transaction needed for the representation and its `ETag` to agree). The statement is prepared
/// once per connection and cached: `=` on the key, no `LIMIT` (SQLite expires a statement whose
/// bound `LIMIT` is bound again), and run on the backend's own connection
/// ([`crate::db::fetch_optional_inner!`]; through the multi-backend connection diesel writes each
/// statement's SQL text anew on every call, README "Performance").
fn load_one(conn: &mut DbConn, account_id: &str, id: &str) -> QueryResult<Option<UserRecord>> {
    let found: Option<(UserRow, String)> = fetch_optional_inner!(
        conn,
        users::table
            .filter(users::id.eq(id))
            .filter(users::account_id.eq(account_id))
            .select((UserRow::as_select(), UserChildren))
    )?;
    found
        .map(|(row, children)| record_of(row, &children))
        .transpose()
}

/// The users with these ids in `account_id` with their children, in the order of `ids` (missing
/// ones skipped), in one statement (one snapshot: no transaction needed). On PostgreSQL the ids
/// are one array bind (`= ANY($1)`), so the statement is cached whatever their number.
fn load_with_children(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
) -> QueryResult<Vec<UserRowWithChildren>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(UserRow, String)> = on_inner!(conn, |c| users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq_any(ids))
        .select((UserRow::as_select(), UserChildren))
        .load(c))?;
    let mut by_id: HashMap<String, UserRowWithChildren> = rows
        .into_iter()
        .map(|(row, children)| {
            (
                row.id.clone(),
                UserRowWithChildren {
                    user: row,
                    children,
                },
            )
        })
        .collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// Loads the users with these ids in `account_id`, in the order of `ids` (missing ones skipped),
/// each read in one statement with its child rows (one user: the cached single-row read).
pub fn load(conn: &mut DbConn, account_id: &str, ids: &[String]) -> QueryResult<Vec<UserRecord>> {
    match ids {
        [] => Ok(Vec::new()),
        [id] => Ok(load_one(conn, account_id, id)?.into_iter().collect()),
        _ => load_with_children(conn, account_id, ids)?
            .into_iter()
            .map(|r| record_of(r.user, &r.children))
            .collect(),
    }
}

/// Lists Users through the generic listing over their attribute table.
fn listing(registry: &Registry) -> Listing<'_> {
    Listing {
        registry,
        resource_type: "User",
        table: &USER_ATTRIBUTES,
    }
}

/// One page of an account's users, read whole (see [`Listing::find_records`]: a lookup or an index
/// page is one statement).
pub fn find_page(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
) -> Result<Found<UserRecord>, ServiceError> {
    let mut found = listing(registry).find_records(conn, account_id, request, &READER)?;
    let records = std::mem::take(&mut found.items)
        .into_iter()
        .map(|r| record_of(r.user, &r.children))
        .collect::<QueryResult<_>>()?;
    Ok(found.with_items(records))
}

/// The database's plan for listing users by `filter` (see [`Listing::explain`]).
pub fn explain(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    filter: &Filter,
) -> Result<Vec<String>, ServiceError> {
    listing(registry).explain(conn, account_id, filter)
}

/// The database's plan for the cursor page of `request` after `after` (see
/// [`Listing::explain_after`]).
pub fn explain_after(
    conn: &mut DbConn,
    registry: &Registry,
    account_id: &str,
    request: &ListRequest,
    after: &crate::scim::cursor::Position,
) -> Result<Vec<String>, ServiceError> {
    listing(registry).explain_after(conn, account_id, request, after)
}

/// How to address a user: given name, family name, the address mail goes to and their phone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub family_name: Option<String>,
    /// The primary e-mail address (else the first).
    pub email: Option<String>,
    /// The primary phone number (else the first), as stored.
    pub phone_number: Option<String>,
}

/// The contacts of these users, by user id, in three queries.
pub fn contacts(conn: &mut DbConn, user_ids: &[String]) -> QueryResult<HashMap<String, Contact>> {
    let mut out: HashMap<String, Contact> = users::table
        .filter(users::id.eq_any(user_ids))
        .select((users::id, users::given_name, users::family_name))
        .load::<(String, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, given_name, family_name)| {
            (
                id,
                Contact {
                    given_name,
                    family_name,
                    email: None,
                    phone_number: None,
                },
            )
        })
        .collect();
    let emails: Vec<(String, String, Option<bool>)> = user_emails::table
        .filter(user_emails::user_id.eq_any(user_ids))
        .order((user_emails::user_id.asc(), user_emails::position.asc()))
        .select((
            user_emails::user_id,
            user_emails::value,
            user_emails::is_primary,
        ))
        .load(conn)?;
    keep_primary_or_first(&mut out, emails, |c| &mut c.email);
    let phones: Vec<(String, String, Option<bool>)> = user_phone_numbers::table
        .filter(user_phone_numbers::user_id.eq_any(user_ids))
        .order((
            user_phone_numbers::user_id.asc(),
            user_phone_numbers::position.asc(),
        ))
        .select((
            user_phone_numbers::user_id,
            user_phone_numbers::value,
            user_phone_numbers::is_primary,
        ))
        .load(conn)?;
    keep_primary_or_first(&mut out, phones, |c| &mut c.phone_number);
    Ok(out)
}

/// Sets `field` of each user's contact to the value marked primary, else the first: `values` are
/// (user id, value, primary) in each user's order.
fn keep_primary_or_first(
    contacts: &mut HashMap<String, Contact>,
    values: Vec<(String, String, Option<bool>)>,
    field: impl Fn(&mut Contact) -> &mut Option<String>,
) {
    for (user_id, value, primary) in values {
        if let Some(contact) = contacts.get_mut(&user_id) {
            let kept = field(contact);
            if kept.is_none() || primary == Some(true) {
                *kept = Some(value);
            }
        }
    }
}

/// The id of the user of `account_id` whose externalId is `external_id`.
pub fn id_by_external_id(
    conn: &mut DbConn,
    account_id: &str,
    external_id: &str,
) -> QueryResult<Option<String>> {
    users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::external_id.eq(external_id))
        .select(users::id)
        .fetch_optional(conn)
}

/// The columns of a [`ShadowRow`].
const SHADOW: (
    users::id,
    users::account_id,
    users::user_name,
    users::user_name_ci,
) = (
    users::id,
    users::account_id,
    users::user_name,
    users::user_name_ci,
);

/// Up to `limit` users of every account, in id order after `after`: their userName and its
/// shadow value, for the re-fold of [`crate::refold`] (keyset paging, so a large database is
/// walked in pages, never loaded whole).
pub fn user_name_page(
    conn: &mut DbConn,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<ShadowRow>> {
    let mut query = users::table
        .select(SHADOW)
        .order(users::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// User `id`'s userName and shadow value, read again when an earlier step may have changed it.
pub fn user_name_row(conn: &mut DbConn, id: &str) -> QueryResult<Option<ShadowRow>> {
    users::table
        .filter(users::id.eq(id))
        .select(SHADOW)
        .load(conn)
        .map(|rows| rows.into_iter().next())
}

/// The user of `account_id` other than `except_id` whose shadow value is `user_name_ci`.
pub fn user_name_holder(
    conn: &mut DbConn,
    account_id: &str,
    user_name_ci: &str,
    except_id: &str,
) -> QueryResult<Option<ShadowRow>> {
    users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::user_name_ci.eq(user_name_ci))
        .filter(users::id.ne(except_id))
        .select(SHADOW)
        .load(conn)
        .map(|rows| rows.into_iter().next())
}

/// Sets user `id`'s userName shadow value, and nothing else: the representation (and with it the
/// version) is unchanged, since the userName is stored as sent.
pub fn set_user_name_ci(conn: &mut DbConn, id: &str, user_name_ci: &str) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::user_name_ci.eq(user_name_ci))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` e-mail values of every account, in key order after `after` (user id, position),
/// with their shadow values, for the re-fold of [`crate::refold`].
pub fn email_page(
    conn: &mut DbConn,
    after: Option<(&str, i32)>,
    limit: i64,
) -> QueryResult<Vec<EmailShadowRow>> {
    let mut query = user_emails::table
        .select((
            user_emails::user_id,
            user_emails::position,
            user_emails::value,
            user_emails::value_ci,
        ))
        .order((user_emails::user_id, user_emails::position))
        .limit(limit)
        .into_boxed();
    if let Some((user_id, position)) = after {
        // A plain `>=` bound on the key's leading column, so both databases seek the primary key
        // for each page without having to see through the `OR`.
        query = query
            .filter(user_emails::user_id.ge(user_id.to_owned()))
            .filter(
                user_emails::user_id
                    .gt(user_id.to_owned())
                    .or(user_emails::position.gt(position)),
            );
    }
    query.load(conn)
}

/// Sets one e-mail value's shadow value.
pub fn set_email_value_ci(
    conn: &mut DbConn,
    user_id: &str,
    position: i32,
    value_ci: &str,
) -> QueryResult<()> {
    diesel::update(
        user_emails::table
            .filter(user_emails::user_id.eq(user_id))
            .filter(user_emails::position.eq(position)),
    )
    .set(user_emails::value_ci.eq(value_ci))
    .execute(conn)?;
    Ok(())
}
