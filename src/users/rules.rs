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

use super::input::UserInput;
use super::model::PluralValue;
use crate::db::models::Account;
use crate::phone::{calling_code, e164};
use crate::scim::error::{AttrPath, Rule, Violation, Violations};
use crate::scim::urn::{ENTERPRISE_USER, MOBIETRAIN_USER};
use crate::text::{Lines, char_len, forbidden_char_detail};

/// Free text the seed bounds (names, job position, company id, store name, …), in characters.
pub const MAX_TEXT: usize = 255;
/// Longer free text: formatted names and addresses.
pub const MAX_LONG_TEXT: usize = 1024;
/// URLs.
pub const MAX_URL: usize = 2048;

/// MobieTrain's `stores`.
const STORES: AttrPath = AttrPath::extension(MOBIETRAIN_USER, "stores");

/// A data-quality warning: a machine-readable code and its particulars (no personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    /// E.g. `user.external_id_missing`.
    pub code: &'static str,
    /// Which attribute, and what to do about it.
    pub detail: Value,
}

/// What is wrong with the text `value` by the rule of every text attribute (at most `max`
/// characters, and only the characters text of `lines` may hold): the rule broken and a sentence
/// naming `name` (an attribute path, or a claim's name), or `None` when it is fine.
pub fn text_problem(name: &str, value: &str, max: usize, lines: Lines) -> Option<(Rule, String)> {
    if char_len(value) > max {
        return Some((
            Rule::TooLong,
            format!(
                "\"{name}\" is {} characters long; at most {max} are allowed",
                char_len(value)
            ),
        ));
    }
    forbidden_char_detail(name, value, lines).map(|detail| (Rule::ForbiddenCharacter, detail))
}

/// The rule of every text attribute ([`text_problem`]) at `path`: a violation naming it otherwise.
pub fn check_text(
    path: AttrPath,
    value: Option<&str>,
    max: usize,
    lines: Lines,
) -> Result<(), Violation> {
    match value.and_then(|v| text_problem(&path.to_string(), v, max, lines)) {
        Some((rule, detail)) => Err(Violation::new(path, rule, detail)),
        None => Ok(()),
    }
}

/// [`check_text`] for single-line text, which almost every attribute is.
fn bounded(path: AttrPath, value: Option<&str>, max: usize) -> Result<(), Violation> {
    check_text(path, value, max, Lines::Single)
}

fn present(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.trim().is_empty())
}

fn one_primary(
    path: AttrPath,
    values: impl Iterator<Item = Option<bool>>,
) -> Result<(), Violation> {
    if values.filter(|p| *p == Some(true)).count() > 1 {
        return Err(Violation::new(
            path,
            Rule::OnePrimary,
            format!(
                "\"{path}\" has more than one element with \"primary\": true; at most one may be primary"
            ),
        ));
    }
    Ok(())
}

fn plural_texts(attribute: &'static str, values: &[PluralValue]) -> Result<(), Violation> {
    let path = AttrPath::core(attribute);
    for (i, v) in values.iter().enumerate() {
        let element = path.at(i);
        bounded(element.sub("value"), v.value.as_deref(), MAX_TEXT)?;
        bounded(element.sub("display"), v.display.as_deref(), MAX_TEXT)?;
        bounded(element.sub("type"), v.kind.as_deref(), MAX_TEXT)?;
        if !present(v.value.as_deref()) {
            let at = element.sub("value");
            return Err(Violation::new(
                at,
                Rule::Required,
                format!("\"{at}\" is required"),
            ));
        }
    }
    one_primary(path, values.iter().map(|v| v.primary))
}

/// Whether `value` is an e-mail address (`local-part@domain`, no white space, a domain that does
/// not start or end with a dot): the one address rule of user data, SCIM and invitations alike.
pub fn is_email_address(value: &str) -> bool {
    match value.rsplit_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The address MobieTrain writes to among `emails` (the primary, else the first), when it is one.
pub fn mail_address(emails: &[PluralValue]) -> Option<&str> {
    emails
        .iter()
        .find(|e| e.primary == Some(true))
        .or_else(|| emails.first())
        .and_then(|e| e.value.as_deref())
        .filter(|v| is_email_address(v))
}

/// Checks `user` against the rules. Returns the warnings to record, or every rule broken.
pub fn check(user: &UserInput, account: &Account) -> Result<Vec<Warning>, Violations> {
    check_all(user, account)
}

fn check_all(user: &UserInput, account: &Account) -> Result<Vec<Warning>, Violations> {
    let mut warnings = Vec::new();
    let mut broken: Vec<Violation> = Vec::new();

    // userName: required by SCIM, unique per account (the database enforces that).
    let user_name = AttrPath::core("userName");
    if !present(user.user_name.as_deref()) {
        broken.push(Violation::new(
            user_name,
            Rule::Required,
            "\"userName\" is required and must not be blank",
        ));
    }
    broken.extend(bounded(user_name, user.user_name.as_deref(), MAX_TEXT).err());
    let external_id = AttrPath::core("externalId");
    broken.extend(bounded(external_id, user.external_id.as_deref(), MAX_TEXT).err());

    // First and last name present; free text of at most 255 characters.
    let (name, ent) = (&user.name, &user.enterprise);
    let manager = ent.manager.clone().unwrap_or_default();
    let part = |sub| AttrPath::core("name").sub(sub);
    let enterprise = |attribute| AttrPath::extension(ENTERPRISE_USER, attribute);
    for (path, value) in [
        (part("givenName"), &name.given_name),
        (part("familyName"), &name.family_name),
    ] {
        if !present(value.as_deref()) {
            broken.push(Violation::new(
                path,
                Rule::Required,
                format!("\"{path}\" is required: MobieTrain needs a user's first and last name"),
            ));
        }
    }
    for (path, value, max) in [
        (part("givenName"), &name.given_name, MAX_TEXT),
        (part("familyName"), &name.family_name, MAX_TEXT),
        (part("middleName"), &name.middle_name, MAX_TEXT),
        (part("honorificPrefix"), &name.honorific_prefix, MAX_TEXT),
        (part("honorificSuffix"), &name.honorific_suffix, MAX_TEXT),
        (part("formatted"), &name.formatted, MAX_LONG_TEXT),
        (AttrPath::core("displayName"), &user.display_name, MAX_TEXT),
        (AttrPath::core("nickName"), &user.nick_name, MAX_TEXT),
        (AttrPath::core("profileUrl"), &user.profile_url, MAX_URL),
        (AttrPath::core("title"), &user.title, MAX_TEXT),
        (AttrPath::core("userType"), &user.user_type, MAX_TEXT),
        (
            AttrPath::core("preferredLanguage"),
            &user.preferred_language,
            MAX_TEXT,
        ),
        (AttrPath::core("locale"), &user.locale, MAX_TEXT),
        (AttrPath::core("timezone"), &user.timezone, MAX_TEXT),
        (enterprise("employeeNumber"), &ent.employee_number, MAX_TEXT),
        (enterprise("costCenter"), &ent.cost_center, MAX_TEXT),
        (enterprise("organization"), &ent.organization, MAX_TEXT),
        (enterprise("division"), &ent.division, MAX_TEXT),
        (enterprise("department"), &ent.department, MAX_TEXT),
        (enterprise("manager").sub("value"), &manager.value, MAX_TEXT),
        (
            enterprise("manager").sub("$ref"),
            &manager.reference,
            MAX_URL,
        ),
    ] {
        broken.extend(bounded(path, value.as_deref(), max).err());
    }
    let addresses = AttrPath::core("addresses");
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
            broken.extend(check_text(addresses.at(i).sub(sub), value.as_deref(), max, lines).err());
        }
    }
    broken.extend(one_primary(addresses, user.addresses.iter().map(|a| a.primary)).err());

    // At least an e-mail or a phone number; a phone number carries its country code.
    broken.extend(plural_texts("emails", &user.emails).err());
    broken.extend(plural_texts("phoneNumbers", &user.phone_numbers).err());
    // An e-mail value that is not an address is stored as sent (identity providers hold such
    // values, and the user is still theirs): a warning, and no invitation goes there.
    for (i, email) in user.emails.iter().enumerate() {
        if !is_email_address(email.value.as_deref().unwrap_or_default()) {
            let path = AttrPath::core("emails").at(i).sub("value");
            warnings.push(Warning {
                code: "user.email_invalid",
                detail: json!({"attribute": path.to_string(),
                               "detail": "not an e-mail address (expected local-part@domain): \
                                           stored as sent; MobieTrain cannot write to it"}),
            });
        }
    }
    // The seed says a user "should" have a contact: a warning, unless the account requires one.
    if user.emails.is_empty() && user.phone_numbers.is_empty() {
        let message = "a user needs at least an e-mail address (\"emails\") or a phone number \
                       (\"phoneNumbers\") for MobieTrain to reach them";
        if account.require_contact {
            broken.push(Violation::new(
                AttrPath::core("emails"),
                Rule::Contact,
                format!("{message}: this account requires one"),
            ));
        }
        warnings.push(Warning {
            code: "user.no_contact",
            detail: json!({"attribute": "emails", "detail": message}),
        });
    }
    let only_contact = user.emails.is_empty()
        && !user
            .phone_numbers
            .iter()
            .any(|p| e164(p.value.as_deref().unwrap_or_default()).is_some());
    for (i, phone) in user.phone_numbers.iter().enumerate() {
        if e164(phone.value.as_deref().unwrap_or_default()).is_some() {
            continue;
        }
        let path = AttrPath::core("phoneNumbers").at(i).sub("value");
        if only_contact && account.require_contact {
            broken.push(Violation::new(
                path,
                Rule::CountryCode,
                format!(
                    "\"{path}\" must carry its country code, as in \"+32 470 12 34 56\": \
                     it is the user's only contact, and this account requires one"
                ),
            ));
            continue;
        }
        warnings.push(Warning {
            code: "user.phone_without_country_code",
            detail: json!({"attribute": path.to_string(),
                           "detail": "phone number without a country code; write it as +32 470 12 34 56"}),
        });
    }
    if only_contact && !user.phone_numbers.is_empty() {
        warnings.push(Warning {
            code: "user.no_contact",
            detail: json!({"attribute": "phoneNumbers",
                           "detail": "the user's only contact is a phone number without its country \
                                       code: MobieTrain cannot reach them; write it as +32 470 12 34 56"}),
        });
    }
    if user.emails.is_empty() {
        warnings.push(Warning {
            code: "user.email_missing",
            detail: json!({"attribute": "emails",
                           "detail": "no e-mail address: MobieTrain cannot write to this user"}),
        });
    }

    // Roles: MobieTrain knows users and managers; a manager has at least one store.
    broken.extend(plural_texts("roles", &user.roles).err());
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
                let path = AttrPath::core("roles").at(i).sub("value");
                broken.push(Violation::new(
                    path,
                    Rule::Role,
                    format!("\"{path}\" must be \"user\" or \"manager\""),
                ));
            }
        }
    }

    // Stores: each has a ref id and a real ITU calling code.
    broken.extend(
        bounded(
            AttrPath::extension(MOBIETRAIN_USER, "companyId"),
            user.company_id.as_deref(),
            MAX_TEXT,
        )
        .err(),
    );
    for (i, store) in user.stores.iter().enumerate() {
        let ref_id = store.attr_path(i, "refId");
        if !present(store.ref_id.as_deref()) {
            broken.push(Violation::new(
                ref_id,
                Rule::Required,
                format!(
                    "\"{ref_id}\" is required: a store is identified by its ref id \
                     (for the primary store, \"storeRefId\" sets it)"
                ),
            ));
            continue;
        }
        broken.extend(bounded(ref_id, store.ref_id.as_deref(), MAX_TEXT).err());
        broken.extend(bounded(store.attr_path(i, "name"), store.name.as_deref(), MAX_TEXT).err());
        if let Some(code) = &store.country_calling_code
            && calling_code(code).is_none()
        {
            let path = store.attr_path(i, "countryCallingCode");
            broken.push(Violation::new(
                path,
                Rule::CallingCode,
                format!(
                    "\"{path}\" must name the store's country, as its ITU calling code (\"32\" for \
                     Belgium) or its ISO 3166 code (\"BE\"); {code:?} is neither"
                ),
            ));
        }
        if user.stores[..i].iter().any(|s| s.ref_id == store.ref_id) {
            broken.push(Violation::new(
                ref_id,
                Rule::Duplicate,
                format!("\"{ref_id}\" names the same store as an earlier element"),
            ));
        }
    }
    broken.extend(one_primary(STORES, user.stores.iter().map(|s| s.primary)).err());
    if manager && user.stores.is_empty() {
        broken.push(Violation::new(
            STORES,
            Rule::ManagerStore,
            format!(
                "a user with the role \"manager\" needs at least one store (\"{STORES}\" or \"storeRefId\")"
            ),
        ));
    }

    // externalId: required by the seed; by default a warning, the userName standing in.
    if !present(user.external_id.as_deref()) {
        if account.require_external_id {
            broken.push(Violation::new(
                external_id,
                Rule::Required,
                "\"externalId\" is required: this account requires the identity provider's id of every user",
            ));
        } else {
            warnings.push(Warning {
                code: "user.external_id_missing",
            detail: json!({"attribute": "externalId",
                               "detail": "no externalId: the userName identifies this user instead"}),
            });
        }
    }
    // Attributes no schema names are ignored, and said so (bounded: names and a count).
    if user.ignored.total > 0 {
        warnings.push(Warning {
            code: "user.attribute_ignored",
            detail: json!({"attributes": user.ignored.names, "count": user.ignored.total,
                           "detail": "no schema names these attributes: they were ignored \
                                       (see /Schemas for the attributes MobieTrain stores)"}),
        });
    }
    match Violations::from_list(broken) {
        Some(violations) => Err(violations),
        None => Ok(warnings),
    }
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
        let path = AttrPath::core("name").sub("givenName");
        let err = check_text(path, Some("Ann\nLee"), MAX_TEXT, Lines::Single).unwrap_err();
        assert_eq!((err.path, err.rule), (path, Rule::ForbiddenCharacter));
        assert_eq!(
            err.rule.scim_type(),
            crate::scim::error::ScimType::InvalidValue
        );
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

    use crate::users::model::{Address, Manager, StoreValue};

    /// A user every rule accepts.
    fn valid() -> UserInput {
        let plural = |value: &str| PluralValue {
            value: Some(value.to_owned()),
            ..PluralValue::default()
        };
        UserInput {
            user_name: Some("ann@example.com".into()),
            external_id: Some("e1".into()),
            name: crate::users::model::Name {
                given_name: Some("Ann".into()),
                family_name: Some("Lee".into()),
                ..Default::default()
            },
            emails: vec![plural("ann@example.com")],
            phone_numbers: vec![plural("+32 470 12 34 56")],
            roles: vec![plural("manager")],
            stores: vec![StoreValue {
                ref_id: Some("GNT-01".into()),
                country_calling_code: Some("32".into()),
                ..StoreValue::default()
            }],
            ..UserInput::default()
        }
    }

    fn broken(spoil: impl FnOnce(&mut UserInput), account: &Account) -> Violation {
        let mut user = valid();
        spoil(&mut user);
        let err = check(&user, account).expect_err("a rule is broken");
        assert_eq!(err.iter().count(), 1, "one spoilt value, one broken rule");
        err.first().clone()
    }

    fn account(require_external_id: bool) -> Account {
        Account {
            id: "a1".into(),
            name: "Acme".into(),
            require_external_id,
            created_at: chrono::NaiveDateTime::default(),
            updated_at: chrono::NaiveDateTime::default(),
            invite_on_provision: false,
            default_language: "en".into(),
            invite_agreement_accepted_at: None,
            require_contact: false,
            has_group_rules: false,
        }
    }

    #[test]
    fn each_rule_names_its_attribute_path_and_rule_as_data() {
        let account = account(false);
        assert_eq!(check(&valid(), &account), Ok(Vec::new()));
        let stores = AttrPath::extension(crate::scim::urn::MOBIETRAIN_USER, "stores");
        let enterprise = |a| AttrPath::extension(crate::scim::urn::ENTERPRISE_USER, a);
        type Spoil = Box<dyn FnOnce(&mut UserInput)>;
        let cases: Vec<(Spoil, AttrPath, Rule)> = vec![
            (
                Box::new(|u| u.user_name = Some(" ".into())),
                AttrPath::core("userName"),
                Rule::Required,
            ),
            (
                Box::new(|u| u.name.family_name = None),
                AttrPath::core("name").sub("familyName"),
                Rule::Required,
            ),
            (
                Box::new(|u| u.title = Some("x".repeat(MAX_TEXT + 1))),
                AttrPath::core("title"),
                Rule::TooLong,
            ),
            (
                Box::new(|u| {
                    u.enterprise.manager = Some(Manager {
                        value: Some("a\u{0}b".into()),
                        reference: None,
                    })
                }),
                enterprise("manager").sub("value"),
                Rule::ForbiddenCharacter,
            ),
            (
                Box::new(|u| {
                    u.emails[0].primary = Some(true);
                    let mut second = u.emails[0].clone();
                    second.value = Some("b@example.com".into());
                    u.emails.push(second);
                }),
                AttrPath::core("emails"),
                Rule::OnePrimary,
            ),
            (
                Box::new(|u| u.roles[0].value = Some("boss".into())),
                AttrPath::core("roles").at(0).sub("value"),
                Rule::Role,
            ),
            (Box::new(|u| u.stores.clear()), stores, Rule::ManagerStore),
            (
                Box::new(|u| u.stores[0].ref_id = None),
                stores.at(0).sub("refId"),
                Rule::Required,
            ),
            (
                Box::new(|u| u.stores[0].country_calling_code = Some("999".into())),
                stores.at(0).sub("countryCallingCode"),
                Rule::CallingCode,
            ),
            (
                Box::new(|u| u.stores.push(u.stores[0].clone())),
                stores.at(1).sub("refId"),
                Rule::Duplicate,
            ),
            (
                Box::new(|u| {
                    u.addresses = vec![Address {
                        locality: Some("Gent\nZuid".into()),
                        ..Address::default()
                    }]
                }),
                AttrPath::core("addresses").at(0).sub("locality"),
                Rule::ForbiddenCharacter,
            ),
        ];
        for (spoil, path, rule) in cases {
            let v = broken(spoil, &account);
            assert_eq!((v.path, v.rule), (path, rule), "{}", v.detail);
            assert!(
                v.detail.contains(&format!("\"{path}\"")) || rule == Rule::ManagerStore,
                "the detail names the path: {}",
                v.detail
            );
        }
        // An e-mail value that is not an address is stored with a warning.
        let mut odd = valid();
        odd.emails[0].value = Some("emailName357".into());
        let warnings = check(&odd, &account).expect("a warning, not a rule");
        assert_eq!(warnings[0].code, "user.email_invalid");
        assert_eq!(mail_address(&odd.emails), None);
        // The account's setting `requireContact` turns the missing contact from a warning into a rule.
        let contact = Account {
            require_contact: true,
            ..account.clone()
        };
        let no_contact = |u: &mut UserInput| {
            u.emails.clear();
            u.phone_numbers.clear();
        };
        let local_phone = |u: &mut UserInput| {
            u.emails.clear();
            u.phone_numbers[0].value = Some("0470 12 34 56".into());
        };
        let v = broken(no_contact, &contact);
        assert_eq!((v.path, v.rule), (AttrPath::core("emails"), Rule::Contact));
        let v = broken(local_phone, &contact);
        let phone = AttrPath::core("phoneNumbers").at(0).sub("value");
        assert_eq!((v.path, v.rule), (phone, Rule::CountryCode));
        for spoil in [no_contact, local_phone] {
            let mut user = valid();
            spoil(&mut user);
            let warnings = check(&user, &account).expect("a warning without the setting");
            assert!(warnings.iter().any(|w| w.code == "user.no_contact"));
        }
        // The account's setting turns the missing externalId from a warning into a rule.
        let strict = self::account(true);
        let v = broken(|u| u.external_id = None, &strict);
        assert_eq!(
            (v.path, v.rule),
            (AttrPath::core("externalId"), Rule::Required)
        );
        let warnings = check(
            &UserInput {
                external_id: None,
                ..valid()
            },
            &account,
        )
        .unwrap();
        assert_eq!(warnings[0].code, "user.external_id_missing");
    }

    #[test]
    fn every_broken_rule_is_named() {
        let mut user = valid();
        user.name.given_name = None;
        user.roles[0].value = Some("boss".into());
        user.stores[0].country_calling_code = Some("999".into());
        let err = check(&user, &account(false)).expect_err("three rules are broken");
        let rules: Vec<Rule> = err.iter().map(|v| v.rule).collect();
        assert_eq!(rules, [Rule::Required, Rule::Role, Rule::CallingCode]);
        let detail = err.detail();
        assert!(detail.starts_with("3 rules are broken: "), "{detail}");
        for v in err.iter() {
            assert!(detail.contains(&v.detail), "{detail}");
        }
        // However many, the detail stays bounded.
        let mut user = valid();
        user.roles = (0..40)
            .map(|_| PluralValue {
                value: Some("boss".into()),
                ..PluralValue::default()
            })
            .collect();
        let err = check(&user, &account(false)).expect_err("forty roles are wrong");
        assert_eq!(err.iter().count(), 40);
        assert!(err.detail().ends_with("; and 30 more"), "{}", err.detail());
    }

    #[test]
    fn one_e_mail_address_rule() {
        for good in ["ann@example.com", "a@x", "o'neil+tag@sub.example.be"] {
            assert!(is_email_address(good), "{good}");
        }
        for bad in [
            "",
            "ann",
            "@example.com",
            "ann@",
            "ann @example.com",
            "ann@.x",
            "ann@x.",
        ] {
            assert!(!is_email_address(bad), "{bad}");
        }
    }
}
