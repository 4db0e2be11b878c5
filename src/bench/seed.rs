//! Seeding through the database layer (never HTTP): accounts and tokens, stores, users and groups
//! with memberships, in large transactions of multi-row inserts. Every row has exactly the shape a
//! SCIM create of the same [`Person`] writes (folded shadow columns, versions, timestamps,
//! child-row positions), so reads and filters behave as in production. What the seeder leaves
//! out: the provisioning-log events of those creates, which no benchmarked read touches.

use std::ops::Range;

use anyhow::Context;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::payload::{self, CALLING_CODE, Person, STORES};
use super::storage;
use crate::accounts::{self, Scope};
use crate::context::new_id;
use crate::db::models::{EmailRow, GroupMemberRow, GroupRow, StoreRow, UserRow, UserStoreRow};
use crate::db::schema::groups;
use crate::db::{self, DbConn};
use crate::text::fold_identity;

/// Users written per transaction.
const USERS_PER_TX: usize = 5_000;
/// Memberships per multi-row `INSERT` (4 columns).
const MEMBERS_PER_INSERT: usize = 2_000;

/// A tenant of the benchmark: its id and a SCIM token.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// The account id.
    pub account_id: String,
    /// A `scim` token of the account.
    pub token: String,
    /// The account's stores, by index (see [`payload::store_ref`]).
    pub stores: Vec<StoreRow>,
}

/// Creates an account with a SCIM token and the synthetic stores.
pub fn tenant(conn: &mut DbConn, name: &str, now: NaiveDateTime) -> anyhow::Result<Tenant> {
    let account = accounts::create_account(conn, name, now).context("creating an account")?;
    let (_, token) = accounts::issue_token(conn, &account.id, "bench", Scope::Scim, now)
        .context("issuing a token")?;
    let rows: Vec<StoreRow> = (0..STORES)
        .map(|i| StoreRow {
            id: new_id(),
            account_id: account.id.clone(),
            ref_id: payload::store_ref(i),
            name: Some(payload::store_name(i)),
            country_calling_code: CALLING_CODE.to_owned(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    storage::insert_stores(conn, &rows)?;
    Ok(Tenant {
        account_id: account.id,
        token,
        stores: rows,
    })
}

/// The rows a SCIM create of `person` writes in `tenant`.
fn user_rows(
    tenant: &Tenant,
    person: Person<'_>,
    now: NaiveDateTime,
) -> (UserRow, EmailRow, UserStoreRow) {
    let user_name = person.user_name();
    let email = person.work_email();
    let row = UserRow {
        id: new_id(),
        account_id: tenant.account_id.clone(),
        user_name_ci: fold_identity(&user_name),
        user_name,
        external_id: Some(person.external_id()),
        name_formatted: Some(person.display_name()),
        family_name: Some(person.family_name().to_owned()),
        given_name: Some(person.given_name()),
        display_name: Some(person.display_name()),
        title: Some(person.title().to_owned()),
        active: true,
        employee_number: Some(person.employee_number()),
        department: Some(person.department().to_owned()),
        origin: "scim".to_owned(),
        sign_in: "any".to_owned(),
        registration: "registered".to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    };
    let email = EmailRow {
        user_id: row.id.clone(),
        position: 0,
        account_id: tenant.account_id.clone(),
        value_ci: fold_identity(&email),
        value: email,
        display: None,
        kind: Some("work".to_owned()),
        is_primary: Some(true),
    };
    let link = UserStoreRow {
        user_id: row.id.clone(),
        position: 0,
        store_id: tenant.stores[person.store()].id.clone(),
        is_primary: None,
    };
    (row, email, link)
}

/// Inserts the users numbered `range` (tag `tag`) into `tenant`; returns their ids in order.
pub fn users(
    conn: &mut DbConn,
    tenant: &Tenant,
    tag: &str,
    range: Range<u64>,
    now: NaiveDateTime,
) -> anyhow::Result<Vec<String>> {
    let mut ids = Vec::with_capacity((range.end - range.start) as usize);
    let numbers: Vec<u64> = range.collect();
    for tx in numbers.chunks(USERS_PER_TX) {
        let mut rows = Vec::with_capacity(tx.len());
        let mut emails = Vec::with_capacity(tx.len());
        let mut links = Vec::with_capacity(tx.len());
        for &n in tx {
            let (row, email, link) = user_rows(tenant, Person { tag, n }, now);
            ids.push(row.id.clone());
            rows.push(row);
            emails.push(email);
            links.push(link);
        }
        db::write_transaction(conn, |conn| {
            storage::insert_users(conn, &rows, &emails, &links)
        })
        .context("seeding users")?;
    }
    settle(conn)?;
    Ok(ids)
}

/// Creates a group named `name` with `members` (user ids of `tenant`); returns its id.
pub fn group(
    conn: &mut DbConn,
    tenant: &Tenant,
    name: &str,
    members: &[String],
    now: NaiveDateTime,
) -> anyhow::Result<String> {
    let row = GroupRow {
        id: new_id(),
        account_id: tenant.account_id.clone(),
        display_name: name.to_owned(),
        display_name_ci: fold_identity(name),
        external_id: Some(format!("ext-{name}")),
        group_type: None,
        version: 1,
        created_at: now,
        updated_at: now,
        origin: crate::groups::origin::SCIM.to_owned(),
    };
    db::write_transaction(conn, |conn| {
        diesel::insert_into(groups::table)
            .values(&row)
            .execute(conn)?;
        for chunk in members.chunks(MEMBERS_PER_INSERT) {
            let rows: Vec<GroupMemberRow> = chunk
                .iter()
                .map(|user_id| GroupMemberRow {
                    group_id: row.id.clone(),
                    user_id: user_id.clone(),
                    account_id: tenant.account_id.clone(),
                    rule_id: None,
                })
                .collect();
            storage::insert_members(conn, &rows)?;
        }
        QueryResult::Ok(())
    })
    .context("seeding a group")?;
    settle(conn)?;
    Ok(row.id)
}

/// Leaves the database as a long-running one would be after a bulk load ([`storage::settle`]).
fn settle(conn: &mut DbConn) -> anyhow::Result<()> {
    Ok(storage::settle(conn)?)
}
