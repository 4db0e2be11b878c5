//! A user's entity tag (DESIGN 5): a user shows the current name and calling code of its stores
//! and the displayName of its groups, which change without the user's row changing (an admin
//! renames a store, a client renames a group). So that a representation never changes under the
//! same tag while a rename stays one write, the tag covers the user's version and the
//! (id, version) of every store and group it shows: `<version>` for a user that shows none,
//! `<version>-<digest>` otherwise, the digest being the first 64 bits of a SHA-256 over those
//! pairs in the order the user shows them. It is computed from what the read loads anyway, so it
//! costs no query.

use sha2::{Digest, Sha256};

use super::storage::UserRecord;

impl UserRecord {
    /// The opaque part of the user's entity tag (`W/"<tag>"` on the wire).
    pub fn tag(&self) -> String {
        if self.stores.is_empty() && self.groups.is_empty() {
            return self.row.version.to_string();
        }
        let mut hash = Sha256::new();
        for (_, store) in &self.stores {
            hash.update(format!("s\u{1f}{}\u{1f}{}\u{1e}", store.id, store.version));
        }
        for group in &self.groups {
            hash.update(format!(
                "g\u{1f}{}\u{1f}{}\u{1e}",
                group.group_id, group.version
            ));
        }
        let digest = hash.finalize();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}-{hex}", self.row.version)
    }
}

#[cfg(test)]
mod tests {
    use super::super::storage::UserGroup;
    use super::*;
    use crate::db::models::{StoreRow, UserStoreRow};

    fn store(version: i64) -> (UserStoreRow, StoreRow) {
        (
            UserStoreRow {
                user_id: "u".into(),
                position: 0,
                store_id: "s".into(),
                is_primary: None,
            },
            StoreRow {
                id: "s".into(),
                account_id: "a".into(),
                ref_id: "GNT-01".into(),
                name: None,
                country_calling_code: "32".into(),
                created_at: chrono::NaiveDateTime::default(),
                updated_at: chrono::NaiveDateTime::default(),
                version,
            },
        )
    }

    #[test]
    fn the_tag_moves_with_the_user_its_stores_and_its_groups() {
        let mut rec = UserRecord::default();
        rec.row.version = 3;
        assert_eq!(rec.tag(), "3");
        rec.stores.push(store(1));
        let with_store = rec.tag();
        assert!(with_store.starts_with("3-"), "{with_store}");
        rec.stores[0].1.version = 2;
        let renamed_store = rec.tag();
        assert_ne!(renamed_store, with_store);
        rec.groups.push(UserGroup {
            group_id: "g".into(),
            display: "Sales".into(),
            version: 1,
        });
        let with_group = rec.tag();
        assert_ne!(with_group, renamed_store);
        rec.groups[0].version = 2;
        assert_ne!(rec.tag(), with_group);
        rec.row.version = 4;
        assert!(rec.tag().starts_with("4-"));
    }
}
