//! Stores: account-level entities keyed by `refId` (DESIGN §5). A user write names stores by ref id;
//! a store it names for the first time is created (recorded in the provisioning log). A user write
//! never renames a store nor moves it to another country: another spelling or calling code is a
//! warning (`store.name_differs`, `store.calling_code_differs`) and the store keeps what it has, so
//! two spellings in an identity provider cannot make a store flip for all its users. Renames go
//! through the admin API. A name is filled in when the store has none yet.
//!
//! A store has a `version` that moves on with every change its users show (name, calling code):
//! a user's ETag covers the versions of its stores, so whatever renames a store (the admin API)
//! must bump it in the same statement.

pub mod storage;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::json;

use crate::audit::{self, Event};
use crate::context::{Actor, WriteContext, new_id};
use crate::db::models::StoreRow;
use crate::db::schema::{stores, user_stores};
use crate::db::{DbConn, FetchOptional};
use crate::error::ServiceError;
use crate::phone::calling_code;
use crate::scim::error::{AttrPath, Rule, Violation};
use crate::text::{Lines, char_len, forbidden_char_detail};

/// A store as a user write names it.
#[derive(Debug, Clone)]
pub struct StoreRef {
    /// The store's ref id (required).
    pub ref_id: String,
    /// Its name, if the write carries one.
    pub name: Option<String>,
    /// Its calling code, if the write carries one (already checked to be an ITU or ISO 3166 code).
    pub country_calling_code: Option<String>,
    /// The calling code of the store this one replaced as the user's primary store, for a store
    /// that does not exist yet when the write carries no calling code (a flat `storeRefId` change).
    pub inherited_calling_code: Option<String>,
    /// Where the calling code sits in the request (`stores[i].countryCallingCode`, or the flat
    /// `storeCountryCallingCode` when the write used the flat attributes), for errors.
    pub calling_code_path: AttrPath,
}

/// Finds or creates each referenced store; one that exists keeps its name and calling code (a
/// difference is a warning), but gets a name when it has none. Returns the stores in the order given.
pub fn resolve(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    refs: &[StoreRef],
    now: NaiveDateTime,
) -> Result<Vec<StoreRow>, ServiceError> {
    resolve_known(conn, account_id, actor, refs, &[], now)
}

/// [`resolve`], with the stores a user showed before the write (read in the same transaction): a
/// reference that names one of them exactly as it is (ref id, name and calling code) is that store,
/// with nothing to look up or reconcile; a PATCH of another attribute reads no store.
pub fn resolve_known(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    refs: &[StoreRef],
    known: &[StoreRow],
    now: NaiveDateTime,
) -> Result<Vec<StoreRow>, ServiceError> {
    let mut out = Vec::with_capacity(refs.len());
    for r in refs {
        let code = r.country_calling_code.as_deref().and_then(calling_code);
        let same = known.iter().find(|s| {
            s.ref_id == r.ref_id
                && s.name.is_some()
                && s.name == r.name
                && code.as_deref() == Some(s.country_calling_code.as_str())
        });
        if let Some(store) = same {
            out.push(store.clone());
            continue;
        }
        let store = match storage::find(conn, account_id, &r.ref_id)? {
            Some(existing) => reconcile(conn, actor, existing, r, code, now)?,
            None => {
                let inherited = || r.inherited_calling_code.as_deref().and_then(calling_code);
                let Some(code) = code.or_else(inherited) else {
                    let path = r.calling_code_path;
                    return Err(Violation::new(
                        path,
                        Rule::Required,
                        format!(
                            "\"{path}\" is required: the store {:?} does not exist yet, and a \
                             store needs its country, as the ITU calling code (\"32\") or the \
                             ISO 3166 country code (\"BE\")",
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
                    version: 1,
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
                    reconcile(
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

/// Compares what a write says of an existing store with the store: a missing name is filled in
/// (`store.updated`); another name or calling code is a warning and changes nothing.
fn reconcile(
    conn: &mut DbConn,
    actor: &Actor,
    mut store: StoreRow,
    r: &StoreRef,
    code: Option<String>,
    now: NaiveDateTime,
) -> Result<StoreRow, ServiceError> {
    let account_id = store.account_id.clone();
    let warn = |conn: &mut DbConn, code: &'static str, detail: serde_json::Value| {
        audit::record(
            conn,
            &account_id,
            actor,
            Event {
                action: "warn",
                resource_type: "Store",
                resource_id: Some(&store.id),
                code,
                detail: Some(detail),
            },
            now,
        )
    };
    match (&store.name, &r.name) {
        (Some(kept), Some(sent)) if kept != sent => warn(
            conn,
            "store.name_differs",
            json!({"refId": store.ref_id, "name": kept, "sent": sent,
                   "hint": "a user write never renames a store: rename it through the admin API"}),
        )?,
        _ => {}
    }
    if let Some(sent) = code.filter(|c| *c != store.country_calling_code) {
        warn(
            conn,
            "store.calling_code_differs",
            json!({"refId": store.ref_id, "countryCallingCode": store.country_calling_code,
                   "sent": sent}),
        )?;
    }
    if store.name.is_some() || r.name.is_none() {
        return Ok(store);
    }
    store.name = r.name.clone();
    store.updated_at = now;
    store.version += 1;
    // The name its users show changes: the version moves on, so their ETags do (DESIGN 5).
    diesel::update(stores::table.find(&store.id))
        .set((
            stores::name.eq(&store.name),
            stores::updated_at.eq(now),
            stores::version.eq(stores::version + 1),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        &store.account_id.clone(),
        actor,
        Event {
            action: "update",
            resource_type: "Store",
            resource_id: Some(&store.id),
            code: "store.updated",
            detail: Some(json!({"refId": store.ref_id, "name": {"from": null, "to": store.name}})),
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

/// The longest store name accepted, in characters (the seed's "free text, max. 255").
pub const MAX_NAME_LEN: usize = 255;

/// Renames the account's store `id` (the only way a store is renamed): the version moves on in
/// the same statement, so the ETags of its users move too, and the provisioning log records the
/// old and new name. Renaming to the current name changes nothing.
pub fn rename(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    name: &str,
) -> Result<StoreSummary, ServiceError> {
    let name = name.trim();
    if name.is_empty() || char_len(name) > MAX_NAME_LEN {
        return Err(ServiceError::invalid_value(format!(
            "\"name\" must be 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if let Some(detail) = forbidden_char_detail("name", name, Lines::Single) {
        return Err(ServiceError::invalid_value(detail));
    }
    crate::db::write_transaction(conn, |conn| {
        let store = stores::table
            .filter(stores::account_id.eq(&ctx.account.id))
            .filter(stores::id.eq(id))
            .select(StoreRow::as_select())
            .fetch_optional(conn)?
            .ok_or(ServiceError::NotFound("store"))?;
        if store.name.as_deref() != Some(name) {
            diesel::update(
                stores::table
                    .filter(stores::account_id.eq(&ctx.account.id))
                    .filter(stores::id.eq(id)),
            )
            .set((
                stores::name.eq(name),
                stores::updated_at.eq(ctx.now),
                stores::version.eq(stores::version + 1),
            ))
            .execute(conn)?;
            audit::record_write(
                conn,
                ctx,
                Event {
                    action: "update",
                    resource_type: "Store",
                    resource_id: Some(id),
                    code: "store.renamed",
                    detail: Some(json!({"refId": store.ref_id,
                                        "name": {"from": store.name, "to": name}})),
                },
            )?;
        }
        Ok::<(), ServiceError>(())
    })?;
    summary(conn, &ctx.account.id, id)
}

/// The account's store `id` with its user count.
pub fn summary(
    conn: &mut DbConn,
    account_id: &str,
    id: &str,
) -> Result<StoreSummary, ServiceError> {
    let store = stores::table
        .filter(stores::account_id.eq(account_id))
        .filter(stores::id.eq(id))
        .select(StoreRow::as_select())
        .fetch_optional(conn)?
        .ok_or(ServiceError::NotFound("store"))?;
    let user_count = user_stores::table
        .filter(user_stores::store_id.eq(id))
        .select(diesel::dsl::count(user_stores::user_id).aggregate_distinct())
        .get_result(conn)?;
    Ok(StoreSummary { store, user_count })
}
