//! Stores: account-level entities keyed by `refId` (DESIGN 5). A user write names stores by ref id;
//! a store it names for the first time is created, and one it names with another name or calling code
//! is updated for every user, both recorded in the provisioning log.

pub mod storage;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Event};
use crate::context::{Actor, new_id};
use crate::db::DbConn;
use crate::db::models::StoreRow;
use crate::db::schema::{stores, user_stores};
use crate::error::ServiceError;
use crate::phone::calling_code;
use crate::scim::error::{AttrPath, Rule, Violation};

/// A store as a user write names it.
#[derive(Debug, Clone)]
pub struct StoreRef {
    /// The store's ref id (required).
    pub ref_id: String,
    /// Its name, if the write carries one.
    pub name: Option<String>,
    /// Its calling code, if the write carries one (already checked to be an ITU code).
    pub country_calling_code: Option<String>,
    /// Where the reference sits in the request (the element of `stores`), for errors.
    pub path: AttrPath,
}

/// Finds or creates each referenced store, updating those whose name or calling code differ.
/// Returns the stores in the order given.
pub fn resolve(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    refs: &[StoreRef],
    now: NaiveDateTime,
) -> Result<Vec<StoreRow>, ServiceError> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let code = r.country_calling_code.as_deref().and_then(calling_code);
        let store = match storage::find(conn, account_id, &r.ref_id)? {
            Some(existing) => update_if_changed(conn, actor, existing, r, code, now)?,
            None => {
                let Some(code) = code else {
                    let path = r.path.sub("countryCallingCode");
                    return Err(Violation::new(
                        path,
                        Rule::Required,
                        format!(
                            "\"{path}\" is required: the store {:?} does not exist yet, and a \
                             store needs the ITU calling code of its country, such as \"32\"",
                            r.ref_id
                        ),
                    )
                    .into());
                };
                let row = StoreRow {
                    id: new_id(),
                    account_id: account_id.to_owned(),
                    ref_id: r.ref_id.clone(),
                    name: r.name.clone(),
                    country_calling_code: code,
                    created_at: now,
                    updated_at: now,
                };
                // Two writes may create the same store at once: the loser keeps the winner's row.
                if storage::insert_if_absent(conn, &row)? {
                    audit::record(
                        conn,
                        account_id,
                        actor,
                        Event {
                            action: "create",
                            resource_type: "Store",
                            resource_id: Some(&row.id),
                            code: "store.created",
                            detail: Some(json!({"refId": row.ref_id, "name": row.name,
                                                "countryCallingCode": row.country_calling_code})),
                        },
                        now,
                    )?;
                    row
                } else {
                    let existing = storage::find(conn, account_id, &r.ref_id)?
                        .ok_or(ServiceError::NotFound("store"))?;
                    update_if_changed(
                        conn,
                        actor,
                        existing,
                        r,
                        Some(row.country_calling_code),
                        now,
                    )?
                }
            }
        };
        out.push(store);
    }
    Ok(out)
}

fn update_if_changed(
    conn: &mut DbConn,
    actor: &Actor,
    mut store: StoreRow,
    r: &StoreRef,
    code: Option<String>,
    now: NaiveDateTime,
) -> Result<StoreRow, ServiceError> {
    let mut changes = serde_json::Map::new();
    if r.name.is_some() && r.name != store.name {
        changes.insert("name".into(), json!({"from": store.name, "to": r.name}));
        store.name = r.name.clone();
    }
    if let Some(code) = code.filter(|c| *c != store.country_calling_code) {
        changes.insert(
            "countryCallingCode".into(),
            json!({"from": store.country_calling_code, "to": code}),
        );
        store.country_calling_code = code;
    }
    if changes.is_empty() {
        return Ok(store);
    }
    store.updated_at = now;
    diesel::update(stores::table.find(&store.id))
        .set((
            stores::name.eq(&store.name),
            stores::country_calling_code.eq(&store.country_calling_code),
            stores::updated_at.eq(now),
        ))
        .execute(conn)?;
    changes.insert("refId".into(), json!(store.ref_id));
    audit::record(
        conn,
        &store.account_id.clone(),
        actor,
        Event {
            action: "update",
            resource_type: "Store",
            resource_id: Some(&store.id),
            code: "store.updated",
            detail: Some(serde_json::Value::Object(changes)),
        },
        now,
    )?;
    Ok(store)
}

/// A store with how many users it has.
#[derive(Debug, Clone)]
pub struct StoreSummary {
    /// The store.
    pub store: StoreRow,
    /// Its distinct users.
    pub user_count: i64,
}

/// A page of an account's stores ordered by ref id, each with its user count, and how many stores
/// the account has.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    offset: i64,
    limit: i64,
) -> QueryResult<(i64, Vec<StoreSummary>)> {
    let total = stores::table
        .filter(stores::account_id.eq(account_id))
        .count()
        .get_result(conn)?;
    let rows: Vec<StoreRow> = stores::table
        .filter(stores::account_id.eq(account_id))
        .order((stores::ref_id, stores::id))
        .offset(offset)
        .limit(limit)
        .select(StoreRow::as_select())
        .load(conn)?;
    let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
    let counts: std::collections::HashMap<String, i64> = user_stores::table
        .filter(user_stores::store_id.eq_any(&ids))
        .group_by(user_stores::store_id)
        .select((
            user_stores::store_id,
            diesel::dsl::count(user_stores::user_id).aggregate_distinct(),
        ))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect();
    Ok((
        total,
        rows.into_iter()
            .map(|store| StoreSummary {
                user_count: counts.get(&store.id).copied().unwrap_or(0),
                store,
            })
            .collect(),
    ))
}
