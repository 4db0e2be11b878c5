//! Appending to the provisioning log, which every write does.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::batch::Batch;
use crate::db::models::AuditEventRow;
use crate::db::schema::audit_events;

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
