//! The connection type over both backends, derived by diesel. Its derive generates items without
//! docs (the backend type and its helpers), hence the module-wide expectation.
#![expect(
    missing_docs,
    reason = "diesel::MultiConnection generates undocumented public items"
)]

use diesel::{PgConnection, SqliteConnection};

/// A connection to either backend; queries written once run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    /// A PostgreSQL connection (libpq, bundled).
    Pg(PgConnection),
    /// A SQLite connection (bundled SQLite).
    Sqlite(SqliteConnection),
}
