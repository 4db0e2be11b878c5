//! Appending to the provisioning log, which every write does.

use diesel::prelude::*;

use crate::db::DbConn;
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
