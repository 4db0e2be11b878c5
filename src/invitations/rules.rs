//! The CMS "Invite user" form (seed `invite-users-by-email.txt`) and its rules (DESIGN 5 and 6):
//! read field by field, so every offending field is named at once, and turned into the typed
//! [`UserInput`] that [`crate::users::create_as`] checks again under the seed's user-data rules; a
//! rule those break comes back with its attribute path, which [`form_field`] turns into the field
//! the admin filled in.

use crate::email::templates::Language;
use crate::error::FieldError;
use crate::phone::{NotTextable, calling_code, e164, textable};
use crate::scim::error::AttrPath;
use crate::scim::urn;
use crate::text::char_len;
use crate::text::{Lines, forbidden_char};
use crate::users::UserInput;
use crate::users::model::{Name, PluralValue, StoreValue};
use crate::users::rules::{MAX_TEXT, is_email_address};

/// The most stores one invitation names.
pub const MAX_STORES: usize = 50;
/// The most groups one invitation names.
pub const MAX_GROUPS: usize = 100;
/// The longest group id accepted (ids are UUIDs).
pub const MAX_ID_LEN: usize = 64;
/// The longest e-mail address (RFC 5321).
pub const MAX_EMAIL_LEN: usize = 254;

/// A store named on the form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreInput {
    /// The store's reference code.
    pub ref_id: Option<String>,
    /// The store's name.
    pub name: Option<String>,
    /// The ITU calling code of the store's country (`"32"`).
    pub country_calling_code: Option<String>,
}

/// The form as read, before its rules are checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InvitationForm {
    /// First name.
    pub given_name: Option<String>,
    /// Last name.
    pub family_name: Option<String>,
    /// E-mail address: the invitation goes there, and it becomes the userName.
    pub email: Option<String>,
    /// Phone number, with its country code; without an e-mail address the invitation goes to it
    /// by text message, and it becomes the userName (in E.164).
    pub phone_number: Option<String>,
    /// Job position (SCIM `title`).
    pub job_position: Option<String>,
    /// The seed's User/Company ID.
    pub company_id: Option<String>,
    /// Stores (a manager needs one).
    pub stores: Vec<StoreInput>,
    /// Groups of the account (at least one).
    pub group_ids: Vec<String>,
    /// `user` (default) or `manager`.
    pub role: Option<String>,
    /// The invitation's language (`en`, `nl`, `fr`, `de`); default: the account's.
    pub language: Option<String>,
    /// Whether the admin accepted the user agreement.
    pub agreement_accepted: Option<bool>,
}

/// The rule of every text field of the form (DESIGN 5: free text of at most `max` characters, no
/// control characters): the length, then the characters, as the user-data rules judge single-line
/// text ([`forbidden_char`]).
fn bounded(field: &str, value: Option<&str>, max: usize, errors: &mut Vec<FieldError>) {
    let Some(v) = value else {
        return;
    };
    if char_len(v) > max {
        errors.push(FieldError::new(
            field,
            format!(
                "is {} characters long; at most {max} are allowed",
                char_len(v)
            ),
        ));
    } else {
        single_line(field, v, errors);
    }
}

/// Pushes the error of a value holding a character single-line text may not; says whether it did.
fn single_line(field: &str, value: &str, errors: &mut Vec<FieldError>) -> bool {
    let Some(c) = forbidden_char(value, Lines::Single) else {
        return false;
    };
    errors.push(FieldError::new(
        field,
        format!(
            "contains the control character U+{:04X}; a single line of text may not contain line \
             breaks, tabs or other control characters",
            u32::from(c)
        ),
    ));
    true
}

const COUNTRY_CODE_RULE: &str = "must carry its country code, as in \"+32 470 12 34 56\"";

/// What is wrong with the number a phone-only invitation would be texted to.
fn not_textable(why: NotTextable) -> &'static str {
    match why {
        NotTextable::NoCountryCode => COUNTRY_CODE_RULE,
        NotTextable::Invalid => {
            "is not a valid phone number of its country (check the digits after the country \
             code): without an e-mail address the invitation goes to it by text message"
        }
        NotTextable::Landline => {
            "is a landline number, which a text message cannot reach: without an e-mail address \
             the invitation goes by text message, so give a mobile number or an e-mail address"
        }
    }
}

/// What the rules make of a form: the language, the role, and whether the user is a manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The invitation's language.
    pub language: Language,
    /// Whether the user is a manager.
    pub manager: bool,
}

/// Checks the rules that need no database: names, contact, stores, role, groups present, language,
/// agreement. Returns every broken rule, each naming its field.
pub fn check(form: &InvitationForm, default_language: &str) -> Result<Checked, Vec<FieldError>> {
    let mut errors = Vec::new();
    for (field, value) in [
        ("givenName", &form.given_name),
        ("familyName", &form.family_name),
    ] {
        match value {
            None => errors.push(FieldError::new(
                field,
                "is required: MobieTrain needs a user's first and last name",
            )),
            Some(v) => bounded(field, Some(v), MAX_TEXT, &mut errors),
        }
    }
    for (field, value) in [
        ("jobPosition", &form.job_position),
        ("companyId", &form.company_id),
    ] {
        bounded(field, value.as_deref(), MAX_TEXT, &mut errors);
    }
    // E-mail, phone or both; the e-mail takes precedence (seed), so the phone is the channel,
    // and must reach a mobile, only when there is no e-mail.
    if let Some(email) = &form.email {
        if single_line("email", email, &mut errors) {
            // Named once: the address rules below would only repeat it.
        } else if email.len() > MAX_EMAIL_LEN {
            errors.push(FieldError::new(
                "email",
                format!("is longer than {MAX_EMAIL_LEN} characters"),
            ));
        } else if !is_email_address(email) {
            errors.push(FieldError::new(
                "email",
                "is not an e-mail address (expected local-part@domain)",
            ));
        }
    } else if form.phone_number.is_none() {
        errors.push(FieldError::new(
            "email",
            "is required unless a mobile phone number is given: the invitation goes to the \
             e-mail address, or else by text message to the phone number",
        ));
    }
    if let Some(phone) = &form.phone_number {
        if char_len(phone) > MAX_TEXT {
            bounded("phoneNumber", Some(phone), MAX_TEXT, &mut errors);
        } else if single_line("phoneNumber", phone, &mut errors) {
            // Named once: the number rules below would only repeat it.
        } else if form.email.is_none() {
            if let Err(why) = textable(phone) {
                errors.push(FieldError::new("phoneNumber", not_textable(why)));
            }
        } else if e164(phone).is_none() {
            errors.push(FieldError::new("phoneNumber", COUNTRY_CODE_RULE));
        }
    }
    for (i, store) in form.stores.iter().enumerate() {
        match &store.ref_id {
            None => errors.push(FieldError::new(
                format!("stores[{i}].refId"),
                "is required: a store is identified by its reference code",
            )),
            Some(r) => bounded(
                &format!("stores[{i}].refId"),
                Some(r),
                MAX_TEXT,
                &mut errors,
            ),
        }
        bounded(
            &format!("stores[{i}].name"),
            store.name.as_deref(),
            MAX_TEXT,
            &mut errors,
        );
        match &store.country_calling_code {
            Some(code) if calling_code(code).is_none() => errors.push(FieldError::new(
                format!("stores[{i}].countryCallingCode"),
                format!(
                    "must name the store's country, as its ITU calling code (\"32\" for \
                     Belgium) or its ISO 3166 code (\"BE\"); {:?} is neither",
                    code.chars().take(16).collect::<String>()
                ),
            )),
            _ => {}
        }
        if form.stores[..i]
            .iter()
            .any(|s| s.ref_id.is_some() && s.ref_id == store.ref_id)
        {
            errors.push(FieldError::new(
                format!("stores[{i}].refId"),
                "names the same store as an earlier element",
            ));
        }
    }
    let manager = match form.role.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("user") => false,
        Some("manager") => true,
        Some(_) => {
            errors.push(FieldError::new("role", "must be \"user\" or \"manager\""));
            false
        }
    };
    if manager && form.stores.is_empty() {
        errors.push(FieldError::new(
            "stores",
            "a manager needs at least one store: without one they cannot get past the language \
             choice when they first sign in to the app",
        ));
    }
    if form.group_ids.is_empty() {
        errors.push(FieldError::new(
            "groupIds",
            "at least one user group is required: without one the user sees no learning content",
        ));
    }
    let language = match &form.language {
        None => Language::from_tag(default_language).unwrap_or(Language::En),
        Some(l) => match Language::ALL.into_iter().find(|x| x.as_str() == l) {
            Some(language) => language,
            None => {
                errors.push(FieldError::new(
                    "language",
                    "must be a language invitations are written in: en, nl, fr or de",
                ));
                Language::En
            }
        },
    };
    if form.agreement_accepted != Some(true) {
        errors.push(FieldError::new(
            "agreementAccepted",
            "must be true: the user agreement has to be accepted before inviting",
        ));
    }
    if errors.is_empty() {
        Ok(Checked { language, manager })
    } else {
        Err(errors)
    }
}

/// The user an invitation creates: the e-mail is the userName and the work address; without one,
/// the phone number in E.164 is the userName. The phone number is their mobile, as typed.
pub fn user_input(form: &InvitationForm, checked: Checked) -> UserInput {
    let plural = |value: &Option<String>, kind: &str, primary: Option<bool>| PluralValue {
        value: value.clone(),
        display: None,
        kind: Some(kind.to_owned()),
        primary,
    };
    let role = if checked.manager { "manager" } else { "user" };
    UserInput {
        user_name: form
            .email
            .clone()
            .or_else(|| form.phone_number.as_deref().and_then(e164)),
        name: Name {
            given_name: form.given_name.clone(),
            family_name: form.family_name.clone(),
            ..Name::default()
        },
        emails: form
            .email
            .iter()
            .map(|email| plural(&Some(email.clone()), "work", Some(true)))
            .collect(),
        phone_numbers: form
            .phone_number
            .iter()
            .map(|phone| plural(&Some(phone.clone()), "mobile", None))
            .collect(),
        title: form.job_position.clone(),
        preferred_language: Some(checked.language.as_str().to_owned()),
        roles: vec![PluralValue {
            value: Some(role.to_owned()),
            ..PluralValue::default()
        }],
        company_id: form.company_id.clone(),
        stores: form
            .stores
            .iter()
            .map(|s| StoreValue {
                ref_id: s.ref_id.clone(),
                name: s.name.clone(),
                country_calling_code: s.country_calling_code.clone(),
                primary: None,
                ..StoreValue::default()
            })
            .collect(),
        ..UserInput::default()
    }
}

/// The form field that holds the user attribute at `path` ([`user_input`] in reverse), or `None`
/// for an attribute the form has no field for.
pub fn form_field(path: &AttrPath) -> Option<String> {
    let field = match (path.schema, path.attribute, path.sub) {
        (None, "name", Some("givenName")) => "givenName",
        (None, "name", Some("familyName")) => "familyName",
        (None, "userName" | "emails", _) => "email",
        (None, "phoneNumbers", _) => "phoneNumber",
        (None, "title", _) => "jobPosition",
        (None, "preferredLanguage", _) => "language",
        (None, "roles", _) => "role",
        (Some(urn::MOBIETRAIN_USER), "companyId", _) => "companyId",
        (Some(urn::MOBIETRAIN_USER), "stores", sub) => {
            return Some(match (path.index, sub) {
                (Some(i), Some(sub)) => format!("stores[{i}].{sub}"),
                (Some(i), None) => format!("stores[{i}]"),
                (None, _) => "stores".to_owned(),
            });
        }
        _ => return None,
    };
    Some(field.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> InvitationForm {
        InvitationForm {
            given_name: Some("Ann".into()),
            family_name: Some("Lee".into()),
            email: Some("ann@example.com".into()),
            group_ids: vec!["g1".into()],
            language: Some("nl".into()),
            agreement_accepted: Some(true),
            ..InvitationForm::default()
        }
    }

    #[test]
    fn a_valid_form_passes_and_becomes_a_user_input() {
        let form = valid();
        let checked = check(&form, "en").unwrap();
        assert_eq!(checked.language, Language::Nl);
        let user = user_input(&form, checked);
        assert_eq!(user.user_name.as_deref(), Some("ann@example.com"));
        assert_eq!(user.emails[0].value.as_deref(), Some("ann@example.com"));
        assert_eq!(user.preferred_language.as_deref(), Some("nl"));
        assert_eq!(user.roles[0].value.as_deref(), Some("user"));
    }

    #[test]
    fn every_broken_rule_is_named() {
        let form = InvitationForm {
            phone_number: Some("0470 12 34 56".into()),
            role: Some("manager".into()),
            language: Some("es".into()),
            stores: vec![StoreInput {
                name: Some("X".into()),
                ..StoreInput::default()
            }],
            ..InvitationForm::default()
        };
        let errors = check(&form, "en").unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        for f in [
            "givenName",
            "familyName",
            "phoneNumber",
            "stores[0].refId",
            "groupIds",
            "language",
            "agreementAccepted",
        ] {
            assert!(fields.contains(&f), "{f} in {fields:?}");
        }
        assert!(errors[2].detail.contains("country code"), "{errors:?}");
        assert!(!fields.contains(&"email"), "a phone number is a channel");
        let neither = InvitationForm {
            email: None,
            ..valid()
        };
        let errors = check(&neither, "en").unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field, "email");
        assert!(errors[0].detail.contains("phone number"), "{errors:?}");
    }

    #[test]
    fn a_phone_only_form_invites_by_its_number_in_e164() {
        let form = InvitationForm {
            email: None,
            phone_number: Some("+32 470 12 34 56".into()),
            ..valid()
        };
        let user = user_input(&form, check(&form, "en").unwrap());
        assert_eq!(user.user_name.as_deref(), Some("+32470123456"));
        assert!(user.emails.is_empty());
        assert_eq!(
            user.phone_numbers[0].value.as_deref(),
            Some("+32 470 12 34 56"),
            "stored as typed"
        );
        for (number, says) in [
            ("0470 12 34 56", "country code"),
            ("+32 470 12", "not a valid phone number"),
            ("+32 2 555 01 00", "landline"),
        ] {
            let form = InvitationForm {
                phone_number: Some(number.into()),
                ..form.clone()
            };
            let errors = check(&form, "en").unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].field, "phoneNumber");
            assert!(errors[0].detail.contains(says), "{number}: {errors:?}");
        }
        // Beside an e-mail address the number is not the channel: a landline is fine.
        let both = InvitationForm {
            email: Some("ann@example.com".into()),
            phone_number: Some("+32 2 555 01 00".into()),
            ..form
        };
        let user = user_input(&both, check(&both, "en").unwrap());
        assert_eq!(user.user_name.as_deref(), Some("ann@example.com"));
    }

    #[test]
    fn attribute_paths_map_to_form_fields() {
        let stores = AttrPath::extension(urn::MOBIETRAIN_USER, "stores");
        for (path, field) in [
            (AttrPath::core("name").sub("givenName"), "givenName"),
            (AttrPath::core("name").sub("familyName"), "familyName"),
            (AttrPath::core("emails").at(0).sub("value"), "email"),
            (AttrPath::core("userName"), "email"),
            (
                AttrPath::core("phoneNumbers").at(0).sub("value"),
                "phoneNumber",
            ),
            (AttrPath::core("title"), "jobPosition"),
            (AttrPath::core("roles").at(0).sub("value"), "role"),
            (
                stores.at(1).sub("countryCallingCode"),
                "stores[1].countryCallingCode",
            ),
            (stores, "stores"),
        ] {
            assert_eq!(form_field(&path).as_deref(), Some(field), "{path}");
        }
        assert_eq!(form_field(&AttrPath::core("nickName")), None);
    }
}
