//! The server key's fingerprint in the database (the table `server_key`, one row): the first
//! start that uses a key on a database stores its fingerprint, and every later start compares.
//! Instances sharing a database with different keys would seal secrets and mint invitation links
//! that the others cannot open; this check makes that a refused start instead of 500s later.
//! Only the fingerprint is stored ([`crate::crypto::ServerKey::fingerprint`]), never the key.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::server_key;
use super::{DbConn, FetchOptional};

/// The stored fingerprint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = server_key)]
pub struct ServerKeyRow {
    /// Always 1: the table holds one row at most.
    pub id: i32,
    /// The fingerprint of the key the database was first used with.
    pub fingerprint: String,
    /// When it was stored.
    pub created_at: NaiveDateTime,
}

/// What [`check_or_store`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyCheck {
    /// No fingerprint was stored; this key's is now.
    Stored,
    /// The stored fingerprint is this key's.
    Matches,
    /// The database was first used with another key, whose fingerprint this is.
    Mismatch {
        /// The stored fingerprint.
        stored: String,
    },
}

/// Compares `fingerprint` with the stored one, storing it when there is none. Run it under the
/// migration lock (`db::migrate_locked`), so instances starting together agree on the first key.
pub fn check_or_store(
    conn: &mut DbConn,
    fingerprint: &str,
    now: NaiveDateTime,
) -> QueryResult<KeyCheck> {
    let stored = server_key::table
        .find(1)
        .select(ServerKeyRow::as_select())
        .fetch_optional(conn)?;
    Ok(match stored {
        Some(row) if row.fingerprint == fingerprint => KeyCheck::Matches,
        Some(row) => KeyCheck::Mismatch {
            stored: row.fingerprint,
        },
        None => {
            diesel::insert_into(server_key::table)
                .values(ServerKeyRow {
                    id: 1,
                    fingerprint: fingerprint.to_owned(),
                    created_at: now,
                })
                .execute(conn)?;
            KeyCheck::Stored
        }
    })
}
