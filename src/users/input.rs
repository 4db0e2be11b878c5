//! A user as a client writes it, typed: what [`super::create`], [`super::create_as`] and
//! [`super::replace`] take. A SCIM body is parsed into it once, at the HTTP edge
//! ([`UserInput::from_scim`]); invitations and CrewPlanner fill it in field by field; a stored user
//! reads back as one ([`UserInput::of_record`]). The seed's rules ([`super::rules::check`]) judge it
//! with the account's settings when it is written.

use serde_json::Value;

use super::model::{Address, EnterpriseUser, Name, PluralValue, StoreValue, UserAttributes};
use super::storage::UserRecord;
use crate::scim::error::InputError;
use crate::scim::resource::canonicalize_noting;
use crate::text::char_len;

/// The most ignored attribute names a write keeps for its warning; the rest are counted.
pub const MAX_IGNORED_NAMED: usize = 10;
/// The longest ignored attribute name kept, in characters (longer ones are cut).
pub const MAX_IGNORED_NAME: usize = 100;

/// The attributes of a write that no schema names, ignored: the first names, bounded, and how many
/// there were in all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ignored {
    /// At most [`MAX_IGNORED_NAMED`] names as sent, each at most [`MAX_IGNORED_NAME`] characters.
    pub names: Vec<String>,
    /// How many attributes were ignored in all.
    pub total: usize,
}

impl Ignored {
    fn of(all: Vec<String>) -> Self {
        let total = all.len();
        let names = all
            .into_iter()
            .take(MAX_IGNORED_NAMED)
            .map(|n| {
                if char_len(&n) > MAX_IGNORED_NAME {
                    n.chars().take(MAX_IGNORED_NAME).chain(['…']).collect()
                } else {
                    n
                }
            })
            .collect();
        Self { names, total }
    }
}
use crate::scim::schema::Registry;

/// The attributes of a user that a write sets. What a write leaves out is absent (`None`, empty):
/// a replacement clears it, except `active`, which keeps its value when not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserInput {
    /// `userName`: unique in the account by the identity fold.
    pub user_name: Option<String>,
    /// `externalId`: the identity provider's id, unique in the account.
    pub external_id: Option<String>,
    /// `name`: first and last name, and the rest of RFC 7643 §4.1.1.
    pub name: Name,
    /// `displayName`.
    pub display_name: Option<String>,
    /// `nickName`.
    pub nick_name: Option<String>,
    /// `profileUrl`.
    pub profile_url: Option<String>,
    /// `title`: the job position.
    pub title: Option<String>,
    /// `userType`.
    pub user_type: Option<String>,
    /// `preferredLanguage` (`nl-BE`).
    pub preferred_language: Option<String>,
    /// `locale`.
    pub locale: Option<String>,
    /// `timezone`.
    pub timezone: Option<String>,
    /// `active`; `None` is active on create and unchanged on replace.
    pub active: Option<bool>,
    /// `emails`.
    pub emails: Vec<PluralValue>,
    /// `phoneNumbers`.
    pub phone_numbers: Vec<PluralValue>,
    /// `addresses`.
    pub addresses: Vec<Address>,
    /// `roles`: `user` or `manager`.
    pub roles: Vec<PluralValue>,
    /// The enterprise extension (department, manager, …).
    pub enterprise: EnterpriseUser,
    /// MobieTrain's `companyId` (the seed's User/Company ID).
    pub company_id: Option<String>,
    /// MobieTrain's `stores`, the flat primary-store attributes folded in.
    pub stores: Vec<StoreValue>,
    /// Attributes of the body no schema names, ignored (a warning, `user.attribute_ignored`).
    pub ignored: Ignored,
}

impl UserInput {
    /// Parses a SCIM User body (a POST or PUT, or a document a PATCH produced) by the schemas of
    /// `registry`: attribute names are matched case-insensitively, values must have their declared
    /// types, read-only and unknown attributes are dropped, multi-valued attributes are bounded, and
    /// the flat `storeRefId`/`storeName`/`storeCountryCallingCode` write the primary store.
    pub fn from_scim(body: &Value, registry: &Registry) -> Result<Self, InputError> {
        let resource_type = registry
            .resource_type("User")
            .expect("the User resource type is served");
        let mut ignored = Vec::new();
        let canonical = canonicalize_noting(registry, resource_type, body, &mut ignored)?;
        let attrs: UserAttributes = serde_json::from_value(Value::Object(canonical))
            .map_err(|e| InputError::invalid_syntax(format!("the user cannot be read: {e}")))?;
        Ok(Self {
            ignored: Ignored::of(ignored),
            ..Self::from_attributes(attrs)
        })
    }

    /// The stored user as an input: writing it back changes nothing.
    pub fn of_record(rec: &UserRecord) -> Self {
        Self::from_attributes(super::to_attributes(rec))
    }

    /// The writable part of `attrs`; the flat store attributes are folded into `stores`, the
    /// read-only lifecycle fields dropped.
    fn from_attributes(attrs: UserAttributes) -> Self {
        let mut mobietrain = attrs.mobietrain.unwrap_or_default();
        mobietrain.fold_flat_store();
        Self {
            user_name: attrs.user_name,
            external_id: attrs.external_id,
            name: attrs.name.unwrap_or_default(),
            display_name: attrs.display_name,
            nick_name: attrs.nick_name,
            profile_url: attrs.profile_url,
            title: attrs.title,
            user_type: attrs.user_type,
            preferred_language: attrs.preferred_language,
            locale: attrs.locale,
            timezone: attrs.timezone,
            active: attrs.active,
            emails: attrs.emails,
            phone_numbers: attrs.phone_numbers,
            addresses: attrs.addresses,
            roles: attrs.roles,
            enterprise: attrs.enterprise.unwrap_or_default(),
            company_id: mobietrain.company_id,
            stores: mobietrain.stores,
            ignored: Ignored::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::error::ScimType;
    use crate::scim::urn;
    use serde_json::json;

    fn parse(body: Value) -> Result<UserInput, InputError> {
        UserInput::from_scim(&body, &Registry::embedded())
    }

    #[test]
    fn a_scim_body_becomes_typed_fields_with_extensions_and_flat_store_folded_in() {
        let input = parse(json!({
            "schemas": [urn::USER],
            "USERNAME": "ann@example.com", "externalId": "e1", "id": "ignored",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "title": "Store manager", "active": "False",
            "emails": {"value": "ann@example.com", "primary": "True"},
            "roles": [{"value": "manager"}],
            "favouriteColour": "blue",
            urn::ENTERPRISE_USER: {"department": "Sales", "manager": [{"value": "m1"}]},
            urn::MOBIETRAIN_USER: {"companyId": "C1", "storeRefId": "GNT-01",
                                   "storeCountryCallingCode": "32", "origin": "invitation"},
        }))
        .unwrap();
        assert_eq!(input.user_name.as_deref(), Some("ann@example.com"));
        assert_eq!(input.external_id.as_deref(), Some("e1"));
        assert_eq!(input.name.given_name.as_deref(), Some("Ann"));
        assert_eq!(input.title.as_deref(), Some("Store manager"));
        assert_eq!(input.active, Some(false));
        assert_eq!(input.emails.len(), 1);
        assert_eq!(input.emails[0].primary, Some(true));
        assert_eq!(input.roles[0].value.as_deref(), Some("manager"));
        assert_eq!(input.enterprise.department.as_deref(), Some("Sales"));
        let manager = input.enterprise.manager.as_ref().unwrap();
        assert_eq!(manager.value.as_deref(), Some("m1"));
        assert_eq!(input.company_id.as_deref(), Some("C1"));
        assert_eq!(input.stores.len(), 1, "the flat store is the primary store");
        assert_eq!(input.stores[0].ref_id.as_deref(), Some("GNT-01"));
        assert_eq!(input.stores[0].country_calling_code.as_deref(), Some("32"));
        assert_eq!(
            input.ignored.names,
            ["favouriteColour"],
            "id is common, not ignored"
        );
        let many: serde_json::Map<String, Value> = (0..30)
            .map(|i| (format!("x{i}{}", "y".repeat(200)), json!(1)))
            .collect();
        let input = parse(Value::Object(many)).unwrap();
        assert_eq!(input.ignored.total, 30);
        assert_eq!(input.ignored.names.len(), MAX_IGNORED_NAMED);
        assert!(
            input
                .ignored
                .names
                .iter()
                .all(|n| char_len(n) == MAX_IGNORED_NAME + 1)
        );
    }

    #[test]
    fn wrong_types_and_bounds_are_refused_as_the_scim_parse_refuses_them() {
        let err = parse(json!({"active": "maybe"})).unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidValue);
        assert!(err.detail.starts_with("\"active\""), "{}", err.detail);
        let err = parse(json!({"emails": [{"value": "a@x"}, {"primary": {"x": 1}}]})).unwrap_err();
        assert!(
            err.detail.contains("\"emails[1].primary\""),
            "{}",
            err.detail
        );
        let limit = Registry::embedded().limits().multi_values;
        let many: Vec<Value> = (0..=limit)
            .map(|i| json!({"value": format!("{i}@x")}))
            .collect();
        let err = parse(json!({ "emails": many })).unwrap_err();
        assert!(err.detail.starts_with("\"emails\" has"), "{}", err.detail);
        let err = parse(json!(["not", "an", "object"])).unwrap_err();
        assert_eq!(err.scim_type, ScimType::InvalidSyntax);
    }
}
