//! The User resource as typed data: what a client may write (after schema canonicalisation) and
//! what the server returns. Field names are the canonical SCIM names; extension attributes live in
//! their extension's struct, under the extension URN.

use crate::scim::error::AttrPath;
use crate::scim::urn::MOBIETRAIN_USER;
use serde::{Deserialize, Serialize};

/// The attributes of a User that clients write, plus the read-only MobieTrain lifecycle fields that
/// the server fills in on output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the SCIM attribute of the same name (RFC 7643 §4.1)"
)]
pub struct UserAttributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Name>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nick_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<PluralValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<PluralValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<Address>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<PluralValue>,
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<EnterpriseUser>,
    #[serde(
        default,
        rename = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User",
        skip_serializing_if = "Option::is_none"
    )]
    pub mobietrain: Option<MobieTrainUser>,
}

/// `name` (RFC 7643 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the SCIM sub-attribute of the same name"
)]
pub struct Name {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub honorific_suffix: Option<String>,
}

/// An element of `emails`, `phoneNumbers` or `roles`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[expect(
    missing_docs,
    reason = "each field is the SCIM sub-attribute of the same name"
)]
pub struct PluralValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// An element of `addresses` (RFC 7643 §4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the SCIM sub-attribute of the same name"
)]
pub struct Address {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// The enterprise extension (RFC 7643 §4.3).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the SCIM attribute of the same name"
)]
pub struct EnterpriseUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employee_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_center: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Manager>,
}

/// `manager` of the enterprise extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[expect(
    missing_docs,
    reason = "each field is the SCIM sub-attribute of the same name"
)]
pub struct Manager {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, rename = "$ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

/// MobieTrain's User extension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the attribute of the same name in mobietrain-user.json"
)]
pub struct MobieTrainUser {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<StoreValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_country_calling_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
}

/// An element of the MobieTrain extension's `stores`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[expect(
    missing_docs,
    reason = "each field is the sub-attribute of the same name in mobietrain-user.json"
)]
pub struct StoreValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ref_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_calling_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
    /// How this element was written (not part of its value: never serialised, never compared).
    #[serde(skip)]
    pub written: StoreWriting,
}

/// How a store element was written: through the flat `storeRefId`/`storeName`/
/// `storeCountryCallingCode`, and, when the flat `storeRefId` moved the user to another store, the
/// calling code of the store it replaced. Not part of the value: two elements that differ only in
/// this are equal, so a write that names the store the user is in changes nothing.
#[derive(Debug, Clone, Default)]
pub struct StoreWriting {
    /// The element was written through the flat attributes: errors name them.
    pub flat: bool,
    /// The calling code of the primary store this element replaced: used for a store that does
    /// not exist yet when the write sent none (DESIGN §5, Entra's incremental PATCH).
    pub inherited_calling_code: Option<String>,
}

impl PartialEq for StoreWriting {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl StoreValue {
    /// Where `sub` of this element (the `index`th of `stores`) sits in the request: the flat
    /// attribute when the element was written through them (`storeCountryCallingCode`), else
    /// `stores[index].sub`.
    pub fn attr_path(&self, index: usize, sub: &'static str) -> AttrPath {
        if self.written.flat {
            flat_store_path(sub)
        } else {
            AttrPath::extension(MOBIETRAIN_USER, "stores")
                .at(index)
                .sub(sub)
        }
    }
}

/// The flat attribute that writes `sub` of the primary store.
pub fn flat_store_path(sub: &'static str) -> AttrPath {
    let flat = match sub {
        "refId" => "storeRefId",
        "name" => "storeName",
        _ => "storeCountryCallingCode",
    };
    AttrPath::extension(MOBIETRAIN_USER, flat)
}

impl MobieTrainUser {
    /// The primary store's index: the element marked primary, else the first.
    pub fn primary_store(&self) -> Option<usize> {
        if self.stores.is_empty() {
            return None;
        }
        Some(
            self.stores
                .iter()
                .position(|s| s.primary == Some(true))
                .unwrap_or(0),
        )
    }

    /// Folds the flat `storeRefId`/`storeName`/`storeCountryCallingCode` into `stores`: they write
    /// the primary store, creating it when there is none. A different `storeRefId` switches the
    /// primary store to another one, so the old store's name and code are not carried over.
    pub fn fold_flat_store(&mut self) {
        let (ref_id, name, code) = (
            self.store_ref_id.take(),
            self.store_name.take(),
            self.store_country_calling_code.take(),
        );
        if ref_id.is_none() && name.is_none() && code.is_none() {
            return;
        }
        let index = match self.primary_store() {
            Some(i) => i,
            None => {
                self.stores.push(StoreValue::default());
                0
            }
        };
        let store = &mut self.stores[index];
        store.written.flat = true;
        if let Some(ref_id) = ref_id
            && store.ref_id.as_deref() != Some(ref_id.as_str())
        {
            *store = StoreValue {
                ref_id: Some(ref_id),
                primary: store.primary,
                written: StoreWriting {
                    flat: true,
                    inherited_calling_code: store.country_calling_code.take(),
                },
                ..Default::default()
            };
        }
        if name.is_some() {
            store.name = name;
        }
        if code.is_some() {
            store.country_calling_code = code;
        }
    }

    /// Sets the flat attributes as the view of the primary store (for output).
    pub fn show_flat_store(&mut self) {
        if let Some(i) = self.primary_store() {
            let store = &self.stores[i];
            self.store_ref_id = store.ref_id.clone();
            self.store_name = store.name.clone();
            self.store_country_calling_code = store.country_calling_code.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(ref_id: &str, primary: Option<bool>) -> StoreValue {
        StoreValue {
            ref_id: Some(ref_id.into()),
            name: Some(format!("{ref_id} name")),
            country_calling_code: Some("32".into()),
            primary,
            ..StoreValue::default()
        }
    }

    #[test]
    fn flat_attributes_write_the_primary_store() {
        let mut mt = MobieTrainUser {
            stores: vec![store("A", None), store("B", Some(true))],
            store_name: Some("B renamed".into()),
            ..Default::default()
        };
        mt.fold_flat_store();
        assert_eq!(mt.stores[1].name.as_deref(), Some("B renamed"));
        assert_eq!(mt.stores[0], store("A", None));
        assert!(mt.store_name.is_none());

        let mut only_flat = MobieTrainUser {
            store_ref_id: Some("S1".into()),
            store_country_calling_code: Some("31".into()),
            ..Default::default()
        };
        only_flat.fold_flat_store();
        assert_eq!(only_flat.stores.len(), 1);
        assert_eq!(only_flat.stores[0].ref_id.as_deref(), Some("S1"));

        let mut switch = MobieTrainUser {
            stores: vec![store("A", None)],
            store_ref_id: Some("Z".into()),
            ..Default::default()
        };
        switch.fold_flat_store();
        assert_eq!(
            switch.stores[0].name, None,
            "another store's name is not carried over"
        );
    }
}
