//! The write context: what every domain write carries besides its connection (the account, who
//! writes, the schemas, the time), and the ids new rows get. A leaf of the foundation, so every
//! domain module can take it without importing another domain module.

use chrono::NaiveDateTime;

use crate::db::models::Account;
use crate::scim::schema::Registry;

/// A new id: UUIDv7, so ids sort by creation and index pages stay warm.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Who made a change.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The token's label, or a fixed name such as `cli` or `system`.
    pub label: String,
    /// The token's id, when a token made it.
    pub token_id: Option<String>,
}

/// Everything a write needs besides the connection.
#[derive(Debug, Clone, Copy)]
pub struct WriteContext<'a> {
    /// The caller's account.
    pub account: &'a Account,
    /// Who writes, for the provisioning log.
    pub actor: &'a Actor,
    /// The schemas the input is read against.
    pub registry: &'a Registry,
    /// The time of the write.
    pub now: NaiveDateTime,
}
