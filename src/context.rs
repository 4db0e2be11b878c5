//! The leaf every layer may use for what a write needs from its surroundings; for now only the
//! generation of ids.

/// A new id: UUIDv7, so ids sort by creation and index pages stay warm.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
