//! The seeder's statements that the multi-backend connection cannot express: multi-row inserts
//! and the backends' own "settle after a bulk load" commands, each behind one `match` on the
//! backend (the sanctioned escape hatch, kept to storage modules).

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{EmailRow, GroupMemberRow, StoreRow, UserRow, UserStoreRow};
use crate::db::on_inner;
use crate::db::schema::{group_members, stores, user_emails, user_stores, users};

/// Rows per multi-row `INSERT` (users have 34 columns: well under SQLite's bind limit).
const ROWS_PER_INSERT: usize = 500;

/// Inserts `rows` in one statement.
pub(super) fn insert_stores(conn: &mut DbConn, rows: &[StoreRow]) -> QueryResult<usize> {
    on_inner!(conn, |c| diesel::insert_into(stores::table)
        .values(rows)
        .execute(c))
}

/// Inserts users with their e-mail and store rows, [`ROWS_PER_INSERT`] to a statement. Call it
/// inside a transaction.
pub(super) fn insert_users(
    conn: &mut DbConn,
    rows: &[UserRow],
    emails: &[EmailRow],
    links: &[UserStoreRow],
) -> QueryResult<()> {
    on_inner!(conn, |c| {
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(users::table).values(chunk).execute(c)?;
        }
        for chunk in emails.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(user_emails::table)
                .values(chunk)
                .execute(c)?;
        }
        for chunk in links.chunks(ROWS_PER_INSERT) {
            diesel::insert_into(user_stores::table)
                .values(chunk)
                .execute(c)?;
        }
        QueryResult::Ok(())
    })
}

/// Inserts memberships in one statement.
pub(super) fn insert_members(conn: &mut DbConn, rows: &[GroupMemberRow]) -> QueryResult<usize> {
    on_inner!(conn, |c| diesel::insert_into(group_members::table)
        .values(rows)
        .execute(c))
}

/// Leaves the database as a long-running one would be after such a load. PostgreSQL plans with
/// statistics, which a bulk load leaves stale until autovacuum comes round: gather them now.
/// SQLite's seed transactions leave a WAL of their own size, which every read must consult until
/// the next writer restarts it (a server's steady writes keep it near the 1,000-page
/// autocheckpoint): copy it into the database and truncate it.
pub(super) fn settle(conn: &mut DbConn) -> QueryResult<()> {
    use diesel::connection::SimpleConnection;
    match conn {
        DbConn::Pg(c) => c.batch_execute("ANALYZE"),
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)"),
    }
}
