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

diesel::define_sql_function! {
    /// Case-folds text exactly as [`crate::text::fold_case`] does (registered on SQLite connections;
    /// SQLite's own `lower()` folds ASCII only).
    fn mts_fold(value: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Registers [`mts_fold`] on a SQLite connection.
pub fn register_sqlite_functions(conn: &mut SqliteConnection) -> diesel::QueryResult<()> {
    mts_fold_utils::register_impl(conn, |value: Option<String>| {
        value.map(|v| crate::text::fold_case(&v))
    })
}
