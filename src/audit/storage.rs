//! Appending to the provisioning log, which every write does.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::batch::Batch;
use crate::db::models::AuditEventRow;
use crate::db::schema::audit_events;
use crate::db::sql::{BindValue, SqlBuilder};

/// Inserts one event.
pub fn insert(conn: &mut DbConn, row: &AuditEventRow) -> QueryResult<()> {
    // On the backend's own connection: every write logs (see `db::fetch_optional_inner!`).
    crate::db::on_inner!(conn, |c| diesel::insert_into(audit_events::table)
        .values(row)
        .execute(c))?;
    Ok(())
}

/// Adds the insert of one event to `batch`.
pub fn insert_in(batch: &mut Batch<'_>, row: AuditEventRow) {
    batch.push(diesel::insert_into(audit_events::table).values(row));
}

/// Appends to `sql` an `INSERT INTO audit_events (…) SELECT <row's values> FROM <source>`: `row`
/// is logged once for every row of `source` (a table expression of the statement being built, such
/// as the `RETURNING` of a change), so a single statement logs exactly when its change happened.
/// An absent value is written `NULL`, so the text takes one of a few shapes (cacheable).
pub fn append_insert_per_row(sql: &mut SqlBuilder, row: &AuditEventRow, source: &str) {
    let text = |value: &str| Some(BindValue::Text(value.to_owned()));
    let optional = |value: &Option<String>| value.clone().map(BindValue::Text);
    let values = [
        text(&row.id),
        text(&row.account_id),
        Some(BindValue::Timestamp(row.occurred_at)),
        text(&row.actor),
        optional(&row.token_id),
        text(&row.action),
        text(&row.resource_type),
        optional(&row.resource_id),
        text(&row.code),
        optional(&row.detail),
    ];
    sql.push(
        "INSERT INTO audit_events (id, account_id, occurred_at, actor, token_id, action, \
         resource_type, resource_id, code, detail) SELECT ",
    );
    for (i, value) in values.into_iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        match value {
            Some(value) => sql.bind(value),
            None => sql.push("NULL"),
        };
    }
    sql.push(" FROM ").push(source);
}
