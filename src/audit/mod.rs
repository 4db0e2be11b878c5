//! The provisioning log (DESIGN 8): every write and every data-quality warning, per account, with
//! the actor (a token's label), the action, the resource, a machine-readable code and an
//! attribute-level diff from which secrets are removed. Deleting a resource redacts the diffs of its
//! earlier events, so the log keeps that things happened without keeping the person's data.

pub mod refused;
pub mod storage;

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde_json::{Map, Value, json};

use crate::context::{Actor, WriteContext, new_id};
use crate::db::DbConn;
use crate::db::batch::Batch;
use crate::db::models::AuditEventRow;
use crate::db::schema::audit_events;

/// One event to record.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// What was done: `create`, `replace`, `update`, `delete` or `warn`.
    pub action: &'a str,
    /// `User`, `Store`, …
    pub resource_type: &'a str,
    /// The resource's id.
    pub resource_id: Option<&'a str>,
    /// A machine-readable code such as `user.created` or `user.external_id_missing`.
    pub code: &'a str,
    /// The attribute diff, or the warning's particulars.
    pub detail: Option<Value>,
}

/// Attribute names whose values never enter the log.
const SECRET_KEYS: &[&str] = &["password", "secret", "token"];

/// Records `event` for `account_id`, on the caller's connection (inside its transaction).
pub fn record(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    event: Event<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    storage::insert(conn, &event_row(account_id, actor, event, now))
}

/// Adds the recording of `event` for `account_id` to `batch`, to be written with the batch's
/// other statements (one round trip on PostgreSQL, see [`Batch`]).
pub fn record_in(
    batch: &mut Batch<'_>,
    account_id: &str,
    actor: &Actor,
    event: Event<'_>,
    now: NaiveDateTime,
) {
    storage::insert_in(batch, event_row(account_id, actor, event, now));
}

/// The row that records `event` for `account_id` (what [`record`] inserts), its detail stripped
/// of secrets, for a write that logs in a statement of its own making
/// ([`storage::append_insert_per_row`]).
pub fn event_row(
    account_id: &str,
    actor: &Actor,
    event: Event<'_>,
    now: NaiveDateTime,
) -> AuditEventRow {
    AuditEventRow {
        id: new_id(),
        account_id: account_id.to_owned(),
        occurred_at: now,
        actor: actor.label.clone(),
        token_id: actor.token_id.clone(),
        action: event.action.to_owned(),
        resource_type: event.resource_type.to_owned(),
        resource_id: event.resource_id.map(str::to_owned),
        code: event.code.to_owned(),
        detail: event.detail.map(|d| strip_secrets(d).to_string()),
    }
}

/// Records `event` for the account, actor and time of the write `ctx` describes.
pub fn record_write(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    event: Event<'_>,
) -> QueryResult<()> {
    record(conn, &ctx.account.id, ctx.actor, event, ctx.now)
}

/// Records a data-quality warning (`action` `warn`) about user `user_id` during the write `ctx`.
pub fn warn_about_user(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    user_id: &str,
    code: &str,
    detail: Value,
) -> QueryResult<()> {
    record_write(conn, ctx, user_warning(user_id, code, detail))
}

/// Adds the recording of a data-quality warning about user `user_id` during the write `ctx` to
/// `batch` (see [`warn_about_user`]).
pub fn warn_about_user_in(
    batch: &mut Batch<'_>,
    ctx: &WriteContext<'_>,
    user_id: &str,
    code: &str,
    detail: Value,
) {
    let event = user_warning(user_id, code, detail);
    record_in(batch, &ctx.account.id, ctx.actor, event, ctx.now);
}

/// The event of a data-quality warning about user `user_id`.
fn user_warning<'a>(user_id: &'a str, code: &'a str, detail: Value) -> Event<'a> {
    Event {
        action: "warn",
        resource_type: "User",
        resource_id: Some(user_id),
        code,
        detail: Some(detail),
    }
}

/// Replaces the details of every event about one resource by a redaction marker.
pub fn redact_resource(
    conn: &mut DbConn,
    account_id: &str,
    resource_type: &str,
    resource_id: &str,
) -> QueryResult<usize> {
    diesel::update(
        audit_events::table
            .filter(audit_events::account_id.eq(account_id))
            .filter(audit_events::resource_type.eq(resource_type))
            .filter(audit_events::resource_id.eq(resource_id))
            .filter(audit_events::detail.is_not_null()),
    )
    .set(audit_events::detail.eq(json!({"redacted": true}).to_string()))
    .execute(conn)
}

fn strip_secrets(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let secret = SECRET_KEYS
                        .iter()
                        .any(|s| k.to_ascii_lowercase().contains(s));
                    (
                        k,
                        if secret {
                            Value::String("[redacted]".into())
                        } else {
                            strip_secrets(v)
                        },
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_secrets).collect()),
        other => other,
    }
}

/// Flattens a resource to `path → value`: extension attributes as `urn:…:attr`, nested objects by
/// `.`, arrays kept whole (a multi-valued attribute changes as one).
fn flatten_resource(value: &Value, out: &mut BTreeMap<String, Value>) {
    let Value::Object(map) = value else { return };
    for (key, v) in map {
        match v {
            Value::Object(ext) if key.starts_with("urn:") => {
                for (name, inner) in ext {
                    flatten(format!("{key}:{name}"), inner, out);
                }
            }
            _ => flatten(key.clone(), v, out),
        }
    }
}

fn flatten(path: String, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                flatten(format!("{path}.{k}"), v, out);
            }
        }
        leaf => {
            out.insert(path, leaf.clone());
        }
    }
}

/// The attribute-level diff between two representations: `{path: {"from": old, "to": new}}`, with
/// `null` for absent. `None` when nothing changed.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Option<Value> {
    let (mut old, mut new) = (BTreeMap::new(), BTreeMap::new());
    if let Some(b) = before {
        flatten_resource(b, &mut old);
    }
    if let Some(a) = after {
        flatten_resource(a, &mut new);
    }
    let mut changes = Map::new();
    let paths: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for path in paths {
        let (o, n) = (old.get(path), new.get(path));
        if o != n {
            changes.insert(
                path.clone(),
                json!({"from": o.cloned().unwrap_or(Value::Null), "to": n.cloned().unwrap_or(Value::Null)}),
            );
        }
    }
    (!changes.is_empty()).then_some(Value::Object(changes))
}

/// What to read from the log.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Only events about this resource type.
    pub resource_type: Option<String>,
    /// Only events about this resource.
    pub resource_id: Option<String>,
    /// Only events with this code.
    pub code: Option<String>,
    /// Only events with this action (`create`, `warn`, `refuse`, …).
    pub action: Option<String>,
    /// Only events at or after this time.
    pub since: Option<NaiveDateTime>,
    /// Only events before this time.
    pub until: Option<NaiveDateTime>,
    /// Rows to skip.
    pub offset: i64,
    /// Rows to return at most.
    pub limit: i64,
}

/// A page of an account's events, newest first, and how many match in all.
pub fn list(
    conn: &mut DbConn,
    account_id: &str,
    query: &Query,
) -> QueryResult<(i64, Vec<AuditEventRow>)> {
    let filtered = || {
        let mut q = audit_events::table
            .filter(audit_events::account_id.eq(account_id.to_owned()))
            .into_boxed();
        if let Some(t) = &query.resource_type {
            q = q.filter(audit_events::resource_type.eq(t.clone()));
        }
        if let Some(id) = &query.resource_id {
            q = q.filter(audit_events::resource_id.eq(id.clone()));
        }
        if let Some(code) = &query.code {
            q = q.filter(audit_events::code.eq(code.clone()));
        }
        if let Some(action) = &query.action {
            q = q.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(since) = query.since {
            q = q.filter(audit_events::occurred_at.ge(since));
        }
        if let Some(until) = query.until {
            q = q.filter(audit_events::occurred_at.lt(until));
        }
        q
    };
    let total = filtered().count().get_result(conn)?;
    let rows = filtered()
        .select(AuditEventRow::as_select())
        .order((audit_events::occurred_at.desc(), audit_events::id.desc()))
        .offset(query.offset)
        .limit(query.limit)
        .load(conn)?;
    Ok((total, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_changed_leaves_and_hides_secrets() {
        let before = json!({"name": {"givenName": "Ann", "familyName": "Lee"}, "emails": [{"value": "a@x"}],
                            "urn:x:User": {"department": "A", "manager": {"value": "m1"}}});
        let after = json!({"name": {"givenName": "Anne", "familyName": "Lee"}, "emails": [{"value": "a@x"}],
                           "urn:x:User": {"department": "B", "manager": {"value": "m2"}}, "password": "hunter2"});
        let d = diff(Some(&before), Some(&after)).unwrap();
        assert_eq!(d["name.givenName"], json!({"from": "Ann", "to": "Anne"}));
        assert_eq!(d["urn:x:User:department"], json!({"from": "A", "to": "B"}));
        assert_eq!(
            d["urn:x:User:manager.value"],
            json!({"from": "m1", "to": "m2"})
        );
        assert!(d.get("emails").is_none() && d.get("name.familyName").is_none());
        assert_eq!(strip_secrets(d)["password"], json!("[redacted]"));
        assert!(diff(Some(&before), Some(&before)).is_none());
    }
}
