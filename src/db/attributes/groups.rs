//! Where each Group attribute is stored, for the filter compiler and sorting (the Groups twin of
//! [`super::users`]). Every attribute `/Schemas` lists for Groups is here, filterable, or
//! unfilterable with the reason. The README documents this table.

use super::super::filter::{AttributeTable, Child, Kind, Store};

/// Shorthand for a column of `groups`.
const fn col(column: &'static str, kind: Kind) -> Store {
    Store::Column {
        column,
        folded: None,
        kind,
    }
}

/// The Groups attribute table.
pub static GROUP_ATTRIBUTES: AttributeTable = AttributeTable {
    table: "groups",
    id_column: "groups.id",
    account_column: "groups.account_id",
    children: &[Child {
        name: "members",
        select: "SELECT c.group_id FROM group_members c JOIN users u ON u.id = c.user_id",
        account_column: Some("c.account_id"),
        condition: None,
    }],
    not_null: &[
        "groups.id",
        "groups.display_name_ci",
        "groups.created_at",
        "groups.updated_at",
    ],
    attributes: &[
        ("id", col("groups.id", Kind::Text)),
        ("externalId", col("groups.external_id", Kind::Text)),
        (
            "meta",
            Store::Unfilterable("filter on meta.created, meta.lastModified or meta.resourceType"),
        ),
        ("meta.resourceType", Store::Constant("Group")),
        ("meta.created", col("groups.created_at", Kind::Timestamp)),
        (
            "meta.lastModified",
            col("groups.updated_at", Kind::Timestamp),
        ),
        (
            "meta.version",
            Store::Unfilterable("versions are compared with If-Match and If-None-Match"),
        ),
        (
            "meta.location",
            Store::Unfilterable("it is derived from the id; filter on id"),
        ),
        (
            "displayName",
            Store::Column {
                column: "groups.display_name",
                folded: Some("groups.display_name_ci"),
                kind: Kind::Text,
            },
        ),
        ("members", Store::Child("members")),
        (
            "members.value",
            Store::ChildColumn {
                child: "members",
                column: "c.user_id",
                folded: None,
                kind: Kind::Text,
            },
        ),
        (
            "members.display",
            Store::ChildColumn {
                child: "members",
                column: "COALESCE(u.display_name, u.user_name)",
                folded: None,
                kind: Kind::Text,
            },
        ),
        (
            "members.$ref",
            Store::Unfilterable("it is derived from the member's id; filter on members.value"),
        ),
        (
            "members.type",
            Store::Unfilterable("every member is a User"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group:groupType",
            col("groups.group_type", Kind::Text),
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    /// Every attribute and sub-attribute `/Schemas` lists for Groups has an entry.
    #[test]
    fn the_table_covers_every_schema_attribute() {
        let registry = Registry::embedded();
        let rt = registry.resource_type("Group").unwrap();
        assert_eq!(
            GROUP_ATTRIBUTES.missing_paths(&registry, rt),
            Vec::<String>::new()
        );
    }
}
