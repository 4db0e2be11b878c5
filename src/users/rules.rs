//! MobieTrain's rules for user data (seed `user-data-mapping.txt`, DESIGN 5), applied to every SCIM
//! write: the hard ones refuse the write with `invalidValue` and a `detail` naming the attribute and
//! the rule; the soft ones let it through and leave a warning for the provisioning log.
//!
//! Every text attribute is checked by one rule ([`check_text`]): its length, and the characters
//! free text may not hold. Single-line text (names, userName, title, e-mail and phone values, …)
//! holds no control character at all (Unicode general category Cc: CR, LF, NUL, DEL, C1 controls,
//! and TAB too, which in a name is pasted spreadsheet debris rather than meaning) and no Unicode
//! line or paragraph separator. Multi-line text (an address's `formatted` and `streetAddress`,
//! which RFC 7643 §4.1.2 lets hold newlines) may hold CR, LF and TAB, and no other control
//! character. NUL is refused everywhere, so SQLite (which would store it) and PostgreSQL (which
//! cannot) give the same answer. Other modules (groups, invitations, CrewPlanner) use the same
//! check for their text.

use serde_json::{Value, json};

use super::model::{PluralValue, UserAttributes};
use crate::db::models::Account;
use crate::phone::{calling_code, e164};
use crate::scim::error::InputError;
use crate::text::{Lines, char_len, forbidden_char_detail};

/// Free text the seed bounds (names, job position, company id, store name, …), in characters.
pub const MAX_TEXT: usize = 255;
/// Longer free text: formatted names and addresses.
pub const MAX_LONG_TEXT: usize = 1024;
/// URLs.
pub const MAX_URL: usize = 2048;

/// A data-quality warning: a machine-readable code and its particulars (no personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// E.g. `user.external_id_missing`.
    pub code: &'static str,
    /// Which attribute, and what to do about it.
    pub detail: Value,
}

/// The rule of every text attribute: at most `max` characters, and only the characters text of
/// `lines` may hold. A 400 `invalidValue` naming `path` otherwise.
pub fn check_text(
    path: &str,
    value: Option<&str>,
    max: usize,
    lines: Lines,
) -> Result<(), InputError> {
    let Some(v) = value else {
        return Ok(());
    };
    if char_len(v) > max {
        return Err(InputError::invalid_value(format!(
            "\"{path}\" is {} characters long; at most {max} are allowed",
            char_len(v)
        )));
    }
    match forbidden_char_detail(path, v, lines) {
        Some(detail) => Err(InputError::invalid_value(detail)),
        None => Ok(()),
    }
}

/// [`check_text`] for single-line text, which almost every attribute is.
fn bounded(path: &str, value: Option<&str>, max: usize) -> Result<(), InputError> {
    check_text(path, value, max, Lines::Single)
}

fn present(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.trim().is_empty())
}

fn one_primary(path: &str, values: impl Iterator<Item = Option<bool>>) -> Result<(), InputError> {
    if values.filter(|p| *p == Some(true)).count() > 1 {
        return Err(InputError::invalid_value(format!(
            "\"{path}\" has more than one element with \"primary\": true; at most one may be primary"
        )));
    }
    Ok(())
}

fn plural_texts(path: &str, values: &[PluralValue]) -> Result<(), InputError> {
    for (i, v) in values.iter().enumerate() {
        bounded(&format!("{path}[{i}].value"), v.value.as_deref(), MAX_TEXT)?;
        bounded(
            &format!("{path}[{i}].display"),
            v.display.as_deref(),
            MAX_TEXT,
        )?;
        bounded(&format!("{path}[{i}].type"), v.kind.as_deref(), MAX_TEXT)?;
        if !present(v.value.as_deref()) {
            return Err(InputError::invalid_value(format!(
                "\"{path}[{i}].value\" is required"
            )));
        }
    }
    one_primary(path, values.iter().map(|v| v.primary))
}

fn looks_like_email(value: &str) -> bool {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// Checks `user` (with the flat store attributes already folded into `stores`) against the rules.
/// Returns the warnings to record, or the first rule broken.
pub fn check(user: &UserAttributes, account: &Account) -> Result<Vec<Warning>, InputError> {
    let mut warnings = Vec::new();

    // userName: required by SCIM, unique per account (the database enforces that).
    if !present(user.user_name.as_deref()) {
        return Err(InputError::invalid_value(
            "\"userName\" is required and must not be blank",
        ));
    }
    bounded("userName", user.user_name.as_deref(), MAX_TEXT)?;
    bounded("externalId", user.external_id.as_deref(), MAX_TEXT)?;

    // First and last name present; free text of at most 255 characters.
    let name = user.name.clone().unwrap_or_default();
    for (path, value) in [
        ("name.givenName", &name.given_name),
        ("name.familyName", &name.family_name),
    ] {
        if !present(value.as_deref()) {
            return Err(InputError::invalid_value(format!(
                "\"{path}\" is required: MobieTrain needs a user's first and last name"
            )));
        }
    }
    for (path, value, max) in [
        ("name.givenName", &name.given_name, MAX_TEXT),
        ("name.familyName", &name.family_name, MAX_TEXT),
        ("name.middleName", &name.middle_name, MAX_TEXT),
        ("name.honorificPrefix", &name.honorific_prefix, MAX_TEXT),
        ("name.honorificSuffix", &name.honorific_suffix, MAX_TEXT),
        ("name.formatted", &name.formatted, MAX_LONG_TEXT),
        ("displayName", &user.display_name, MAX_TEXT),
        ("nickName", &user.nick_name, MAX_TEXT),
        ("profileUrl", &user.profile_url, MAX_URL),
        ("title", &user.title, MAX_TEXT),
        ("userType", &user.user_type, MAX_TEXT),
        ("preferredLanguage", &user.preferred_language, MAX_TEXT),
        ("locale", &user.locale, MAX_TEXT),
        ("timezone", &user.timezone, MAX_TEXT),
    ] {
        bounded(path, value.as_deref(), max)?;
    }
    if let Some(ent) = &user.enterprise {
        let manager = ent.manager.clone().unwrap_or_default();
        for (attr, value, max) in [
            ("employeeNumber", &ent.employee_number, MAX_TEXT),
            ("costCenter", &ent.cost_center, MAX_TEXT),
            ("organization", &ent.organization, MAX_TEXT),
            ("division", &ent.division, MAX_TEXT),
            ("department", &ent.department, MAX_TEXT),
            ("manager.value", &manager.value, MAX_TEXT),
            ("manager.$ref", &manager.reference, MAX_URL),
        ] {
            bounded(
                &format!("{}:{attr}", crate::scim::urn::ENTERPRISE_USER),
                value.as_deref(),
                max,
            )?;
        }
    }
    for (i, a) in user.addresses.iter().enumerate() {
        for (sub, value, max, lines) in [
            ("formatted", &a.formatted, MAX_LONG_TEXT, Lines::Multi),
            (
                "streetAddress",
                &a.street_address,
                MAX_LONG_TEXT,
                Lines::Multi,
            ),
            ("locality", &a.locality, MAX_TEXT, Lines::Single),
            ("region", &a.region, MAX_TEXT, Lines::Single),
            ("postalCode", &a.postal_code, MAX_TEXT, Lines::Single),
            ("country", &a.country, MAX_TEXT, Lines::Single),
            ("type", &a.kind, MAX_TEXT, Lines::Single),
        ] {
            check_text(
                &format!("addresses[{i}].{sub}"),
                value.as_deref(),
                max,
                lines,
            )?;
        }
    }
    one_primary("addresses", user.addresses.iter().map(|a| a.primary))?;

    // At least an e-mail or a phone number; a phone number carries its country code.
    plural_texts("emails", &user.emails)?;
    plural_texts("phoneNumbers", &user.phone_numbers)?;
    for (i, email) in user.emails.iter().enumerate() {
        if !looks_like_email(email.value.as_deref().unwrap_or_default()) {
            return Err(InputError::invalid_value(format!(
                "\"emails[{i}].value\" is not an e-mail address (expected local-part@domain)"
            )));
        }
    }
    if user.emails.is_empty() && user.phone_numbers.is_empty() {
        return Err(InputError::invalid_value(
            "a user needs at least an e-mail address (\"emails\") or a phone number (\"phoneNumbers\")",
        ));
    }
    for (i, phone) in user.phone_numbers.iter().enumerate() {
        if e164(phone.value.as_deref().unwrap_or_default()).is_some() {
            continue;
        }
        if user.emails.is_empty() {
            return Err(InputError::invalid_value(format!(
                "\"phoneNumbers[{i}].value\" must carry its country code, as in \"+32 470 12 34 56\": \
                 it is the user's only contact"
            )));
        }
        warnings.push(Warning {
            code: "user.phone_without_country_code",
            detail: json!({"attribute": format!("phoneNumbers[{i}].value"),
                           "message": "phone number without a country code; write it as +32 470 12 34 56"}),
        });
    }
    if user.emails.is_empty() {
        warnings.push(Warning {
            code: "user.email_missing",
            detail: json!({"attribute": "emails",
                           "message": "no e-mail address: MobieTrain cannot write to this user"}),
        });
    }

    // Roles: MobieTrain knows users and managers; a manager has at least one store.
    plural_texts("roles", &user.roles)?;
    let mut manager = false;
    for (i, role) in user.roles.iter().enumerate() {
        match role
            .value
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("user") => {}
            Some("manager") => manager = true,
            _ => {
                return Err(InputError::invalid_value(format!(
                    "\"roles[{i}].value\" must be \"user\" or \"manager\""
                )));
            }
        }
    }

    // Stores: each has a ref id and a real ITU calling code.
    let mt = user.mobietrain.clone().unwrap_or_default();
    bounded(
        &format!("{}:companyId", crate::scim::urn::MOBIETRAIN_USER),
        mt.company_id.as_deref(),
        MAX_TEXT,
    )?;
    let stores_path = format!("{}:stores", crate::scim::urn::MOBIETRAIN_USER);
    for (i, store) in mt.stores.iter().enumerate() {
        let path = format!("{stores_path}[{i}]");
        if !present(store.ref_id.as_deref()) {
            return Err(InputError::invalid_value(format!(
                "\"{path}.refId\" is required: a store is identified by its ref id \
                 (for the primary store, \"storeRefId\" sets it)"
            )));
        }
        bounded(&format!("{path}.refId"), store.ref_id.as_deref(), MAX_TEXT)?;
        bounded(&format!("{path}.name"), store.name.as_deref(), MAX_TEXT)?;
        if let Some(code) = &store.country_calling_code
            && calling_code(code).is_none()
        {
            return Err(InputError::invalid_value(format!(
                "\"{path}.countryCallingCode\" must be the ITU calling code of the store's country, \
                 digits only, such as \"32\" for Belgium; {code:?} is not one"
            )));
        }
        if mt.stores[..i].iter().any(|s| s.ref_id == store.ref_id) {
            return Err(InputError::invalid_value(format!(
                "\"{path}.refId\" names the same store as an earlier element"
            )));
        }
    }
    one_primary(&stores_path, mt.stores.iter().map(|s| s.primary))?;
    if manager && mt.stores.is_empty() {
        return Err(InputError::invalid_value(format!(
            "a user with the role \"manager\" needs at least one store (\"{stores_path}\" or \"storeRefId\")"
        )));
    }

    // externalId: required by the seed; by default a warning, the userName standing in.
    if !present(user.external_id.as_deref()) {
        if account.require_external_id {
            return Err(InputError::invalid_value(
                "\"externalId\" is required: this account requires the identity provider's id of every user",
            ));
        }
        warnings.push(Warning {
            code: "user.external_id_missing",
            detail: json!({"attribute": "externalId",
                           "message": "no externalId: the userName identifies this user instead"}),
        });
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::forbidden_char;

    #[test]
    fn single_line_text_holds_no_control_character_multi_line_text_only_breaks_and_tabs() {
        for bad in [
            "a\rb",
            "a\nb",
            "a\u{0}b",
            "a\tb",
            "a\u{7f}",
            "a\u{85}",
            "a\u{1b}[31m",
            "a\u{2028}b",
        ] {
            assert!(forbidden_char(bad, Lines::Single).is_some(), "{bad:?}");
        }
        for good in [
            "Zoë O'Brien-Ñúñez",
            "李小龍",
            "a b",
            "emoji 🎉",
            "a\u{200d}b",
            "",
        ] {
            assert_eq!(forbidden_char(good, Lines::Single), None, "{good:?}");
        }
        assert_eq!(
            forbidden_char("Main St 1\r\nFloor 2\tB", Lines::Multi),
            None
        );
        assert_eq!(forbidden_char("Main St\u{0}", Lines::Multi), Some('\u{0}'));
        assert_eq!(
            forbidden_char("Main St\u{1b}", Lines::Multi),
            Some('\u{1b}')
        );
        let err =
            check_text("name.givenName", Some("Ann\nLee"), MAX_TEXT, Lines::Single).unwrap_err();
        assert_eq!(err.scim_type, crate::scim::error::ScimType::InvalidValue);
        assert!(
            err.detail
                .starts_with("\"name.givenName\" contains the control character U+000A"),
            "{}",
            err.detail
        );
        assert!(
            !err.detail.contains("Ann"),
            "the value is not repeated: {}",
            err.detail
        );
    }
}
