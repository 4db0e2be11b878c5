//! Where each User attribute is stored, for the filter compiler and sorting. Every attribute that
//! `/Schemas` lists is here, filterable, or unfilterable with the reason. The README documents this
//! table.

use super::super::filter::{AttributeTable, Child, Kind, Store};

/// Shorthand for a column of `users`.
const fn col(column: &'static str, kind: Kind) -> Store {
    Store::Column {
        column,
        folded: None,
        kind,
    }
}

/// Shorthand for a column of a child table.
const fn child(child: &'static str, column: &'static str, kind: Kind) -> Store {
    Store::ChildColumn {
        child,
        column,
        folded: None,
        kind,
    }
}

/// `urn:…:User:attr` for the two extension URNs (spelled out: `concat!` takes literals only; a
/// test checks they equal the constants).
macro_rules! ext {
    (ENT, $path:literal) => {
        concat!(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:",
            $path
        )
    };
    (MT, $path:literal) => {
        concat!(
            "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:",
            $path
        )
    };
}

/// The primary store: the element marked primary, else the first.
const PRIMARY_STORE: &str = "c.position = (SELECT COALESCE(MIN(CASE WHEN p.is_primary THEN p.position END), \
     MIN(p.position)) FROM user_stores p WHERE p.user_id = c.user_id)";

/// The Users attribute table.
pub static USER_ATTRIBUTES: AttributeTable = AttributeTable {
    table: "users",
    id_column: "users.id",
    account_column: "users.account_id",
    children: &[
        Child {
            name: "emails",
            select: "SELECT c.user_id FROM user_emails c",
            account_column: Some("c.account_id"),
            condition: None,
        },
        Child {
            name: "phoneNumbers",
            select: "SELECT c.user_id FROM user_phone_numbers c",
            account_column: Some("c.account_id"),
            condition: None,
        },
        Child {
            name: "addresses",
            select: "SELECT c.user_id FROM user_addresses c",
            account_column: None,
            condition: None,
        },
        Child {
            name: "roles",
            select: "SELECT c.user_id FROM user_roles c",
            account_column: None,
            condition: None,
        },
        Child {
            name: ext!(MT, "stores"),
            select: "SELECT c.user_id FROM user_stores c JOIN stores s ON s.id = c.store_id",
            account_column: Some("s.account_id"),
            condition: None,
        },
        Child {
            name: "groups",
            select: "SELECT c.user_id FROM group_members c JOIN groups g ON g.id = c.group_id",
            account_column: Some("c.account_id"),
            condition: None,
        },
        Child {
            name: "primaryStore",
            select: "SELECT c.user_id FROM user_stores c JOIN stores s ON s.id = c.store_id",
            account_column: Some("s.account_id"),
            condition: Some(PRIMARY_STORE),
        },
    ],
    not_null: &[
        "users.id",
        "users.user_name_ci",
        "users.active",
        "users.created_at",
        "users.updated_at",
    ],
    attributes: &[
        ("id", col("users.id", Kind::Text)),
        ("externalId", col("users.external_id", Kind::Text)),
        (
            "meta",
            Store::Unfilterable("filter on meta.created, meta.lastModified or meta.resourceType"),
        ),
        ("meta.resourceType", Store::Constant("User")),
        ("meta.created", col("users.created_at", Kind::Timestamp)),
        (
            "meta.lastModified",
            col("users.updated_at", Kind::Timestamp),
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
            "userName",
            Store::Column {
                column: "users.user_name",
                folded: Some("users.user_name_ci"),
                kind: Kind::Text,
            },
        ),
        (
            "name",
            Store::Complex(&[
                "name.formatted",
                "name.familyName",
                "name.givenName",
                "name.middleName",
                "name.honorificPrefix",
                "name.honorificSuffix",
            ]),
        ),
        ("name.formatted", col("users.name_formatted", Kind::Text)),
        ("name.familyName", col("users.family_name", Kind::Text)),
        ("name.givenName", col("users.given_name", Kind::Text)),
        ("name.middleName", col("users.middle_name", Kind::Text)),
        (
            "name.honorificPrefix",
            col("users.honorific_prefix", Kind::Text),
        ),
        (
            "name.honorificSuffix",
            col("users.honorific_suffix", Kind::Text),
        ),
        ("displayName", col("users.display_name", Kind::Text)),
        ("nickName", col("users.nick_name", Kind::Text)),
        ("profileUrl", col("users.profile_url", Kind::Text)),
        ("title", col("users.title", Kind::Text)),
        ("userType", col("users.user_type", Kind::Text)),
        (
            "preferredLanguage",
            col("users.preferred_language", Kind::Text),
        ),
        ("locale", col("users.locale", Kind::Text)),
        ("timezone", col("users.timezone", Kind::Text)),
        ("active", col("users.active", Kind::Bool)),
        (
            "password",
            Store::Unfilterable("passwords are never stored"),
        ),
        ("emails", Store::Child("emails")),
        (
            "emails.value",
            Store::ChildColumn {
                child: "emails",
                column: "c.value",
                folded: Some("c.value_ci"),
                kind: Kind::Text,
            },
        ),
        ("emails.display", child("emails", "c.display", Kind::Text)),
        ("emails.type", child("emails", "c.kind", Kind::Text)),
        (
            "emails.primary",
            child("emails", "c.is_primary", Kind::Bool),
        ),
        ("phoneNumbers", Store::Child("phoneNumbers")),
        (
            "phoneNumbers.value",
            child("phoneNumbers", "c.value", Kind::Text),
        ),
        (
            "phoneNumbers.display",
            child("phoneNumbers", "c.display", Kind::Text),
        ),
        (
            "phoneNumbers.type",
            child("phoneNumbers", "c.kind", Kind::Text),
        ),
        (
            "phoneNumbers.primary",
            child("phoneNumbers", "c.is_primary", Kind::Bool),
        ),
        ("addresses", Store::Child("addresses")),
        (
            "addresses.formatted",
            child("addresses", "c.formatted", Kind::Text),
        ),
        (
            "addresses.streetAddress",
            child("addresses", "c.street_address", Kind::Text),
        ),
        (
            "addresses.locality",
            child("addresses", "c.locality", Kind::Text),
        ),
        (
            "addresses.region",
            child("addresses", "c.region", Kind::Text),
        ),
        (
            "addresses.postalCode",
            child("addresses", "c.postal_code", Kind::Text),
        ),
        (
            "addresses.country",
            child("addresses", "c.country", Kind::Text),
        ),
        ("addresses.type", child("addresses", "c.kind", Kind::Text)),
        (
            "addresses.primary",
            child("addresses", "c.is_primary", Kind::Bool),
        ),
        ("roles", Store::Child("roles")),
        ("roles.value", child("roles", "c.value", Kind::Text)),
        ("roles.display", child("roles", "c.display", Kind::Text)),
        ("roles.type", child("roles", "c.kind", Kind::Text)),
        ("roles.primary", child("roles", "c.is_primary", Kind::Bool)),
        ("groups", Store::Child("groups")),
        ("groups.value", child("groups", "c.group_id", Kind::Text)),
        (
            "groups.display",
            Store::ChildColumn {
                child: "groups",
                column: "g.display_name",
                folded: Some("g.display_name_ci"),
                kind: Kind::Text,
            },
        ),
        (
            "groups.$ref",
            Store::Unfilterable("it is derived from the group's id; filter on groups.value"),
        ),
        (
            "groups.type",
            Store::Unfilterable("every membership is direct"),
        ),
        (
            ext!(ENT, "employeeNumber"),
            col("users.employee_number", Kind::Text),
        ),
        (
            ext!(ENT, "costCenter"),
            col("users.cost_center", Kind::Text),
        ),
        (
            ext!(ENT, "organization"),
            col("users.organization", Kind::Text),
        ),
        (ext!(ENT, "division"), col("users.division", Kind::Text)),
        (ext!(ENT, "department"), col("users.department", Kind::Text)),
        (
            ext!(ENT, "manager"),
            Store::Complex(&[
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref",
            ]),
        ),
        (
            ext!(ENT, "manager.value"),
            col("users.manager_value", Kind::Text),
        ),
        (
            ext!(ENT, "manager.$ref"),
            col("users.manager_ref", Kind::Text),
        ),
        (ext!(MT, "companyId"), col("users.company_id", Kind::Text)),
        (ext!(MT, "stores"), Store::Child(ext!(MT, "stores"))),
        (
            ext!(MT, "stores.refId"),
            child(ext!(MT, "stores"), "s.ref_id", Kind::Text),
        ),
        (
            ext!(MT, "stores.name"),
            child(ext!(MT, "stores"), "s.name", Kind::Text),
        ),
        (
            ext!(MT, "stores.countryCallingCode"),
            child(ext!(MT, "stores"), "s.country_calling_code", Kind::Text),
        ),
        (
            ext!(MT, "stores.primary"),
            child(ext!(MT, "stores"), "c.is_primary", Kind::Bool),
        ),
        (
            ext!(MT, "storeRefId"),
            child("primaryStore", "s.ref_id", Kind::Text),
        ),
        (
            ext!(MT, "storeName"),
            child("primaryStore", "s.name", Kind::Text),
        ),
        (
            ext!(MT, "storeCountryCallingCode"),
            child("primaryStore", "s.country_calling_code", Kind::Text),
        ),
        (ext!(MT, "origin"), col("users.origin", Kind::Text)),
        (ext!(MT, "signIn"), col("users.sign_in", Kind::Text)),
        (
            ext!(MT, "registration"),
            col("users.registration", Kind::Text),
        ),
    ],
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::schema::Registry;

    /// Every attribute and sub-attribute `/Schemas` lists for Users has an entry.
    #[test]
    fn the_table_covers_every_schema_attribute() {
        let registry = Registry::embedded();
        let rt = registry.resource_type("User").unwrap();
        assert_eq!(
            USER_ATTRIBUTES.missing_paths(&registry, rt),
            Vec::<String>::new()
        );
    }
}
