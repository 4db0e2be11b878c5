//! The user directory of the admin API and the console (the CMS's user-management tab): a paged
//! list of an account's users, searchable by name, userName, externalId, e-mail and phone,
//! filtered by group, store, registration state, "in no group" and active, compiled to one
//! parameterised SQL condition (never a load of the account's users). Each user comes back as a
//! [`UserSummary`] whose e-mail, phone, groups and stores are read in a few batched queries for the
//! whole page.
//!
//! Search compares folded text, as SCIM filters do: userName and e-mail values against their
//! identity-folded shadow columns, names and externalId folded at query time
//! ([`fold_expression`]), phone numbers by their digits against the stored E.164 form (a leading
//! trunk `0` is dropped, so `0470 12 34 56` finds `+32 470 12 34 56`) and as written.

use std::collections::HashMap;

use diesel::prelude::*;

use super::registration;
use crate::db::filter::fold_expression;
use crate::db::listing::{CountRow, IdRow};
use crate::db::schema::{
    group_members, groups, stores, user_emails, user_phone_numbers, user_stores, users,
};
use crate::db::sql::{BindValue, SqlBuilder, like_escape};
use crate::db::{Backend, DbConn};
use crate::error::{FieldError, ServiceError};
use crate::text::{char_len, fold_case, fold_identity};

/// The longest `search` accepted, in characters.
pub const MAX_SEARCH_LEN: usize = 255;

/// What the directory is asked for; every filter given must hold.
#[derive(Debug, Clone, Default)]
pub struct DirectoryQuery {
    /// Part of a name, userName, externalId, e-mail address or phone number.
    pub search: Option<String>,
    /// Members of this group.
    pub group_id: Option<String>,
    /// Users of this store, by id or ref id.
    pub store: Option<String>,
    /// `invited` or `registered`.
    pub registration: Option<String>,
    /// `true`: users in no group; `false`: users in at least one.
    pub in_no_group: Option<bool>,
    /// Active or deactivated users.
    pub active: Option<bool>,
    /// Rows skipped.
    pub offset: i64,
    /// Rows shown at most.
    pub limit: i64,
}

/// A group or store as a user summary names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// Its id.
    pub id: String,
    /// Its name (a store's may be unknown).
    pub name: Option<String>,
    /// A store's ref id (`None` for a group).
    pub ref_id: Option<String>,
}

/// A user as the directory lists them.
#[derive(Debug, Clone, Default)]
pub struct UserSummary {
    /// The user's id.
    pub id: String,
    /// Their userName.
    pub user_name: String,
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub family_name: Option<String>,
    /// displayName.
    pub display_name: Option<String>,
    /// The primary e-mail address (else the first).
    pub email: Option<String>,
    /// The primary phone number (else the first), as written.
    pub phone_number: Option<String>,
    /// `scim`, `invitation` or `crewplanner`.
    pub origin: String,
    /// `invited` or `registered`.
    pub registration: String,
    /// Whether the user is active.
    pub active: bool,
    /// Their groups, by name.
    pub groups: Vec<Named>,
    /// Their stores, primary first as the user lists them.
    pub stores: Vec<Named>,
}

/// Reads and checks the query's values, naming every bad one.
fn check(query: &DirectoryQuery) -> Result<Option<String>, ServiceError> {
    let mut errors = Vec::new();
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(s) = search
        && char_len(s) > MAX_SEARCH_LEN
    {
        errors.push(FieldError::new(
            "search",
            format!("must be at most {MAX_SEARCH_LEN} characters"),
        ));
    }
    if let Some(r) = &query.registration
        && r != registration::INVITED
        && r != registration::REGISTERED
    {
        errors.push(FieldError::new(
            "registration",
            "must be invited or registered",
        ));
    }
    for (field, value) in [("groupId", &query.group_id), ("storeId", &query.store)] {
        if value
            .as_deref()
            .is_some_and(|v| v.is_empty() || char_len(v) > 255 || v.chars().any(char::is_control))
        {
            errors.push(FieldError::new(field, "must be an id of this account"));
        }
    }
    if errors.is_empty() {
        Ok(search.map(str::to_owned))
    } else {
        Err(ServiceError::InvalidFields(errors))
    }
}

/// The digits of a search term that reads as a phone number (at least 3 digits, nothing but
/// digits, spaces and `+-./()`), without a leading trunk `0`.
fn phone_digits(term: &str) -> Option<String> {
    let phone_like = term
        .chars()
        .all(|c| c.is_ascii_digit() || " +-./()".contains(c));
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    (phone_like && digits.len() >= 3).then(|| digits.to_owned())
}

fn like(sql: &mut SqlBuilder, expr: &str, needle: &str) {
    sql.push(expr)
        .push(" LIKE ")
        .bind(BindValue::Text(format!("%{}%", like_escape(needle))))
        .push(" ESCAPE '\\'");
}

/// `WHERE …` of the directory query: the account and every filter, values bound.
fn condition(sql: &mut SqlBuilder, account_id: &str, query: &DirectoryQuery, search: Option<&str>) {
    let backend: Backend = sql.backend();
    sql.push(" FROM users WHERE users.account_id = ")
        .bind(BindValue::Text(account_id.to_owned()));
    if let Some(term) = search {
        let identity = fold_identity(term);
        let folded = fold_case(term);
        sql.push(" AND (");
        like(sql, "users.user_name_ci", &identity);
        for column in [
            "users.given_name",
            "users.family_name",
            "users.display_name",
            "users.external_id",
            "(COALESCE(users.given_name, '') || ' ' || COALESCE(users.family_name, ''))",
        ] {
            sql.push(" OR ");
            like(sql, &fold_expression(backend, column), &folded);
        }
        sql.push(
            " OR EXISTS (SELECT 1 FROM user_emails e WHERE e.user_id = users.id AND e.account_id = users.account_id AND ",
        );
        like(sql, "e.value_ci", &identity);
        sql.push(") OR EXISTS (SELECT 1 FROM user_phone_numbers p WHERE p.user_id = users.id AND p.account_id = users.account_id AND (");
        like(sql, "p.value", term);
        if let Some(digits) = phone_digits(term) {
            sql.push(" OR ");
            like(sql, "p.value_e164", &digits);
        }
        sql.push(")))");
    }
    if let Some(group_id) = &query.group_id {
        sql.push(
            " AND EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = users.id AND gm.account_id = users.account_id AND gm.group_id = ",
        )
        .bind(BindValue::Text(group_id.clone()))
        .push(")");
    }
    if let Some(store) = &query.store {
        sql.push(
            " AND EXISTS (SELECT 1 FROM user_stores us JOIN stores s ON s.id = us.store_id WHERE us.user_id = users.id AND s.account_id = users.account_id AND (s.id = ",
        )
        .bind(BindValue::Text(store.clone()))
        .push(" OR s.ref_id = ")
        .bind(BindValue::Text(store.clone()))
        .push("))");
    }
    if let Some(r) = &query.registration {
        sql.push(" AND users.registration = ")
            .bind(BindValue::Text(r.clone()));
    }
    if let Some(no_group) = query.in_no_group {
        sql.push(if no_group {
            " AND NOT EXISTS"
        } else {
            " AND EXISTS"
        })
        .push(" (SELECT 1 FROM group_members gm WHERE gm.user_id = users.id)");
    }
    if let Some(active) = query.active {
        sql.push(" AND users.active = ")
            .bind(BindValue::Bool(active));
    }
}

/// A page of the account's users matching `query`, oldest first (ids are UUIDv7), as summaries,
/// and how many match in all.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    query: &DirectoryQuery,
) -> Result<(i64, Vec<UserSummary>), ServiceError> {
    let search = check(query)?;
    let backend = conn.backend();
    let mut count = SqlBuilder::new(backend);
    count.push("SELECT COUNT(*) AS n");
    condition(&mut count, account_id, query, search.as_deref());
    let mut page = SqlBuilder::new(backend);
    page.push("SELECT users.id AS id");
    condition(&mut page, account_id, query, search.as_deref());
    page.push(" ORDER BY users.id LIMIT ")
        .bind(BindValue::BigInt(query.limit))
        .push(" OFFSET ")
        .bind(BindValue::BigInt(query.offset));
    crate::db::read_transaction(conn, |conn| {
        let total = count.query().get_result::<CountRow>(conn)?.n;
        let ids: Vec<String> = page
            .query()
            .load::<IdRow>(conn)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        Ok((total, summaries(conn, account_id, &ids)?))
    })
}

/// Each user's value marked primary, else their first (`rows` come in position order).
fn primary_or_first(rows: Vec<(String, String, Option<bool>)>) -> HashMap<String, String> {
    let mut out: HashMap<String, (String, bool)> = HashMap::new();
    for (user_id, value, primary) in rows {
        let primary = primary == Some(true);
        match out.get(&user_id) {
            Some((_, true)) => {}
            Some(_) if !primary => {}
            _ => {
                out.insert(user_id, (value, primary));
            }
        }
    }
    out.into_iter()
        .map(|(id, (value, _))| (id, value))
        .collect()
}

/// The summaries of these users of the account, in the order of `ids`: five queries whatever
/// the page's size.
pub fn summaries(
    conn: &mut DbConn,
    account_id: &str,
    ids: &[String],
) -> QueryResult<Vec<UserSummary>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        String,
        bool,
    );
    let rows: Vec<Row> = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::id.eq_any(ids))
        .select((
            users::id,
            users::user_name,
            users::given_name,
            users::family_name,
            users::display_name,
            users::origin,
            users::registration,
            users::active,
        ))
        .load(conn)?;
    let mut by_id: HashMap<String, UserSummary> = rows
        .into_iter()
        .map(
            |(
                id,
                user_name,
                given_name,
                family_name,
                display_name,
                origin,
                registration,
                active,
            )| {
                (
                    id.clone(),
                    UserSummary {
                        id,
                        user_name,
                        given_name,
                        family_name,
                        display_name,
                        origin,
                        registration,
                        active,
                        ..UserSummary::default()
                    },
                )
            },
        )
        .collect();
    let emails: Vec<(String, String, Option<bool>)> = user_emails::table
        .filter(user_emails::account_id.eq(account_id))
        .filter(user_emails::user_id.eq_any(ids))
        .order((user_emails::user_id, user_emails::position))
        .select((
            user_emails::user_id,
            user_emails::value,
            user_emails::is_primary,
        ))
        .load(conn)?;
    for (user_id, email) in primary_or_first(emails) {
        if let Some(u) = by_id.get_mut(&user_id) {
            u.email = Some(email);
        }
    }
    let phones: Vec<(String, String, Option<bool>)> = user_phone_numbers::table
        .filter(user_phone_numbers::account_id.eq(account_id))
        .filter(user_phone_numbers::user_id.eq_any(ids))
        .order((user_phone_numbers::user_id, user_phone_numbers::position))
        .select((
            user_phone_numbers::user_id,
            user_phone_numbers::value,
            user_phone_numbers::is_primary,
        ))
        .load(conn)?;
    for (user_id, phone) in primary_or_first(phones) {
        if let Some(u) = by_id.get_mut(&user_id) {
            u.phone_number = Some(phone);
        }
    }
    let memberships: Vec<(String, String, String)> = group_members::table
        .inner_join(groups::table)
        .filter(group_members::account_id.eq(account_id))
        .filter(group_members::user_id.eq_any(ids))
        .order((group_members::user_id, groups::display_name))
        .select((group_members::user_id, groups::id, groups::display_name))
        .load(conn)?;
    for (user_id, id, name) in memberships {
        if let Some(u) = by_id.get_mut(&user_id) {
            u.groups.push(Named {
                id,
                name: Some(name),
                ref_id: None,
            });
        }
    }
    let user_store_rows: Vec<(String, String, String, Option<String>)> = user_stores::table
        .inner_join(stores::table)
        .filter(stores::account_id.eq(account_id))
        .filter(user_stores::user_id.eq_any(ids))
        .order((user_stores::user_id, user_stores::position))
        .select((
            user_stores::user_id,
            stores::id,
            stores::ref_id,
            stores::name,
        ))
        .load(conn)?;
    for (user_id, id, ref_id, name) in user_store_rows {
        if let Some(u) = by_id.get_mut(&user_id) {
            u.stores.push(Named {
                id,
                name,
                ref_id: Some(ref_id),
            });
        }
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_like_terms_search_by_their_digits_without_the_trunk_zero() {
        assert_eq!(phone_digits("0470 12 34 56").as_deref(), Some("470123456"));
        assert_eq!(phone_digits("+32 470").as_deref(), Some("32470"));
        assert_eq!(phone_digits("470-12").as_deref(), Some("47012"));
        assert_eq!(phone_digits("47"), None, "too short to mean a number");
        assert_eq!(phone_digits("ann 470"), None, "not a number");
    }

    #[test]
    fn the_primary_value_wins_else_the_first() {
        let row = |u: &str, v: &str, p: Option<bool>| (u.to_owned(), v.to_owned(), p);
        let picked = primary_or_first(vec![
            row("a", "a1", None),
            row("a", "a2", Some(true)),
            row("a", "a3", Some(true)),
            row("b", "b1", Some(false)),
            row("b", "b2", None),
        ]);
        assert_eq!(picked["a"], "a2");
        assert_eq!(picked["b"], "b1");
    }
}
