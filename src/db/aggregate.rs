//! A user's multi-valued attributes aggregated into the query that reads its row, so a user is read
//! in one statement: one round trip on PostgreSQL instead of one per child table, and one snapshot
//! on both backends (so no transaction is needed for a representation and its `ETag` to agree).
//!
//! [`UserChildren`] is a select-list expression that renders, per backend, one JSON array of six
//! arrays: the user's e-mails, phone numbers, addresses, roles (each in client order), stores with
//! their links (in client order) and groups (by group id). PostgreSQL builds it with `json_agg`,
//! SQLite with `json_group_array`, both unordered; [`user_children`] reads it back into the rows
//! the separate queries returned and puts each list in order by the key every element carries
//! (position, or group id). Its SQL text is fixed per backend and
//! its query id static, so diesel prepares the statement once per connection.

use chrono::NaiveDateTime;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Text;
use diesel::sqlite::Sqlite;
use serde::Deserialize;

use super::models::{AddressRow, EmailRow, PhoneNumberRow, RoleRow, StoreRow, UserStoreRow};
use super::schema::users;

/// The children of the `users` row a query selects, as one JSON text (see the module docs).
#[derive(Debug, Clone, Copy, Default, QueryId)]
pub struct UserChildren;

impl Expression for UserChildren {
    type SqlType = Text;
}

impl ValidGrouping<()> for UserChildren {
    type IsAggregate = diesel::expression::is_aggregate::No;
}

impl AppearsOnTable<users::table> for UserChildren {}
impl SelectableExpression<users::table> for UserChildren {}

/// PostgreSQL: `json_agg` is NULL over no rows, hence the `coalesce`.
const PG_SQL: &str = "json_build_array(\
(SELECT coalesce(json_agg(json_build_array(e.position, e.value, e.value_ci, e.display, e.kind, \
e.is_primary)), '[]') FROM user_emails e WHERE e.user_id = users.id), \
(SELECT coalesce(json_agg(json_build_array(p.position, p.value, p.value_e164, p.display, p.kind, \
p.is_primary)), '[]') FROM user_phone_numbers p WHERE p.user_id = users.id), \
(SELECT coalesce(json_agg(json_build_array(a.position, a.formatted, a.street_address, a.locality, \
a.region, a.postal_code, a.country, a.kind, a.is_primary)), '[]') \
FROM user_addresses a WHERE a.user_id = users.id), \
(SELECT coalesce(json_agg(json_build_array(r.position, r.value, r.display, r.kind, r.is_primary)), '[]') \
FROM user_roles r WHERE r.user_id = users.id), \
(SELECT coalesce(json_agg(json_build_array(l.position, l.is_primary, s.id, s.account_id, s.ref_id, \
s.name, s.country_calling_code, s.created_at, s.updated_at, s.version)), '[]') \
FROM user_stores l INNER JOIN stores s ON s.id = l.store_id WHERE l.user_id = users.id), \
(SELECT coalesce(json_agg(json_build_array(g.id, g.display_name, g.version)), \
'[]') FROM group_members m INNER JOIN groups g ON g.id = m.group_id WHERE m.user_id = users.id)\
)::text";

/// SQLite: `json()` around each subquery, since a value's JSON subtype does not survive a
/// subquery (without it the inner arrays would be embedded as strings).
const SQLITE_SQL: &str = "json_array(\
json((SELECT json_group_array(json_array(e.position, e.value, e.value_ci, e.display, e.kind, \
e.is_primary)) FROM user_emails e WHERE e.user_id = users.id)), \
json((SELECT json_group_array(json_array(p.position, p.value, p.value_e164, p.display, p.kind, \
p.is_primary)) FROM user_phone_numbers p WHERE p.user_id = users.id)), \
json((SELECT json_group_array(json_array(a.position, a.formatted, a.street_address, a.locality, \
a.region, a.postal_code, a.country, a.kind, a.is_primary)) \
FROM user_addresses a WHERE a.user_id = users.id)), \
json((SELECT json_group_array(json_array(r.position, r.value, r.display, r.kind, r.is_primary)) \
FROM user_roles r WHERE r.user_id = users.id)), \
json((SELECT json_group_array(json_array(l.position, l.is_primary, s.id, s.account_id, s.ref_id, \
s.name, s.country_calling_code, s.created_at, s.updated_at, s.version)) \
FROM user_stores l INNER JOIN stores s ON s.id = l.store_id WHERE l.user_id = users.id)), \
json((SELECT json_group_array(json_array(g.id, g.display_name, g.version)) \
FROM group_members m INNER JOIN groups g ON g.id = m.group_id WHERE m.user_id = users.id))\
)";

impl UserChildren {
    /// The expression's SQL text on `backend`, for statements written as text
    /// ([`super::sql::SqlBuilder`]); it refers to the row as `users`.
    pub fn sql(backend: super::Backend) -> &'static str {
        match backend {
            super::Backend::Postgres => PG_SQL,
            super::Backend::Sqlite => SQLITE_SQL,
        }
    }
}

impl QueryFragment<Pg> for UserChildren {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql(PG_SQL);
        Ok(())
    }
}

impl QueryFragment<Sqlite> for UserChildren {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> diesel::QueryResult<()> {
        out.push_sql(SQLITE_SQL);
        Ok(())
    }
}

/// A boolean column as JSON shows it: `true`/`false` from PostgreSQL, `1`/`0` from SQLite.
#[derive(Debug, Clone, Copy)]
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Bool(bool),
            Int(i64),
        }
        Ok(Flag(match Either::deserialize(d)? {
            Either::Bool(b) => b,
            Either::Int(i) => i != 0,
        }))
    }
}

/// A timestamp column as JSON shows it: `2026-11-29T10:00:00.123` (PostgreSQL) or
/// `2026-11-29 10:00:00.123` (SQLite's text).
#[derive(Debug, Clone, Copy)]
struct Stamp(NaiveDateTime);

impl<'de> Deserialize<'de> for Stamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        NaiveDateTime::parse_from_str(&text.replacen('T', " ", 1), "%Y-%m-%d %H:%M:%S%.f")
            .map(Stamp)
            .map_err(serde::de::Error::custom)
    }
}

type Opt = Option<String>;
/// An address as selected: position, formatted, street, locality, region, postal code, country,
/// type, primary.
type AddressTuple = (i32, Opt, Opt, Opt, Opt, Opt, Opt, Opt, Option<Flag>);

#[derive(Deserialize)]
struct Wire(
    Vec<(i32, String, String, Opt, Opt, Option<Flag>)>,
    Vec<(i32, String, Opt, Opt, Opt, Option<Flag>)>,
    Vec<AddressTuple>,
    Vec<(i32, String, Opt, Opt, Option<Flag>)>,
    #[expect(
        clippy::type_complexity,
        reason = "one store link and its store, as selected"
    )]
    Vec<(
        i32,
        Option<Flag>,
        String,
        String,
        String,
        Opt,
        String,
        Stamp,
        Stamp,
        i64,
    )>,
    Vec<(String, String, i64)>,
);

/// A user's child rows as [`UserChildren`] selects them.
#[derive(Debug, Clone, Default)]
pub struct Children {
    /// `user_emails`, by position.
    pub emails: Vec<EmailRow>,
    /// `user_phone_numbers`, by position.
    pub phone_numbers: Vec<PhoneNumberRow>,
    /// `user_addresses`, by position.
    pub addresses: Vec<AddressRow>,
    /// `user_roles`, by position.
    pub roles: Vec<RoleRow>,
    /// `user_stores` with their `stores`, by position.
    pub stores: Vec<(UserStoreRow, StoreRow)>,
    /// The groups the user is a member of: id, displayName, version; by group id.
    pub groups: Vec<(String, String, i64)>,
}

/// Reads [`UserChildren`]'s JSON for the user `user_id` of `account_id`.
pub fn user_children(json: &str, user_id: &str, account_id: &str) -> diesel::QueryResult<Children> {
    let Wire(mut emails, mut phones, mut addresses, mut roles, mut stores, mut groups) =
        serde_json::from_str(json)
            .map_err(|e| diesel::result::Error::DeserializationError(e.into()))?;
    // Put in order here: an ordered aggregate costs SQLite a sorter (an ephemeral B-tree, opened
    // and closed) per child table per read, about a tenth of a user read's CPU.
    emails.sort_unstable_by_key(|e| e.0);
    phones.sort_unstable_by_key(|p| p.0);
    addresses.sort_unstable_by_key(|a| a.0);
    roles.sort_unstable_by_key(|r| r.0);
    stores.sort_unstable_by_key(|s| s.0);
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let flag = |f: Option<Flag>| f.map(|Flag(b)| b);
    Ok(Children {
        emails: emails
            .into_iter()
            .map(
                |(position, value, value_ci, display, kind, primary)| EmailRow {
                    user_id: user_id.to_owned(),
                    position,
                    account_id: account_id.to_owned(),
                    value,
                    value_ci,
                    display,
                    kind,
                    is_primary: flag(primary),
                },
            )
            .collect(),
        phone_numbers: phones
            .into_iter()
            .map(
                |(position, value, value_e164, display, kind, primary)| PhoneNumberRow {
                    user_id: user_id.to_owned(),
                    position,
                    account_id: account_id.to_owned(),
                    value,
                    value_e164,
                    display,
                    kind,
                    is_primary: flag(primary),
                },
            )
            .collect(),
        addresses: addresses
            .into_iter()
            .map(
                |(
                    position,
                    formatted,
                    street_address,
                    locality,
                    region,
                    postal_code,
                    country,
                    kind,
                    primary,
                )| {
                    AddressRow {
                        user_id: user_id.to_owned(),
                        position,
                        formatted,
                        street_address,
                        locality,
                        region,
                        postal_code,
                        country,
                        kind,
                        is_primary: flag(primary),
                    }
                },
            )
            .collect(),
        roles: roles
            .into_iter()
            .map(|(position, value, display, kind, primary)| RoleRow {
                user_id: user_id.to_owned(),
                position,
                value,
                display,
                kind,
                is_primary: flag(primary),
            })
            .collect(),
        stores: stores
            .into_iter()
            .map(
                |(
                    position,
                    primary,
                    id,
                    store_account,
                    ref_id,
                    name,
                    code,
                    created,
                    updated,
                    version,
                )| {
                    (
                        UserStoreRow {
                            user_id: user_id.to_owned(),
                            position,
                            store_id: id.clone(),
                            is_primary: flag(primary),
                        },
                        StoreRow {
                            id,
                            account_id: store_account,
                            ref_id,
                            name,
                            country_calling_code: code,
                            created_at: created.0,
                            updated_at: updated.0,
                            version,
                        },
                    )
                },
            )
            .collect(),
        groups,
    })
}
