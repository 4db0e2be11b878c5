//! An account's settings as an admin sees and changes them (`/admin/v1/account`, `account
//! settings`): each change checked, every broken rule named, nothing written then.

use chrono::NaiveDateTime;

use crate::db::models::Account;
use crate::db::{self, DbConn};
use crate::email::templates::Language;
use crate::error::{FieldError, ServiceError};

/// The account settings an admin sees and changes (`/admin/v1/account`, `account settings`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsChange {
    /// The account's name, which invitations and the CMS show.
    pub name: Option<String>,
    /// Refuse SCIM users without externalId.
    pub require_external_id: Option<bool>,
    /// Refuse SCIM users without a contact.
    pub require_contact: Option<bool>,
    /// Invite users SCIM creates with an e-mail.
    pub invite_on_provision: Option<bool>,
    /// The language of invitations when the user's own is not written in.
    pub default_language: Option<String>,
    /// Whether the admin accepts the user agreement for invitations sent on provisioning (needed
    /// once, when `invite_on_provision` is first turned on).
    pub agreement_accepted: Option<bool>,
}

/// Applies a settings change; every broken rule is named, and nothing is written then.
pub fn change_settings(
    conn: &mut DbConn,
    account_id: &str,
    change: &SettingsChange,
    now: NaiveDateTime,
) -> Result<Account, ServiceError> {
    db::write_transaction(conn, |conn| {
        let mut account = super::find_account(conn, account_id)?;
        let mut errors = Vec::new();
        if let Some(name) = &change.name {
            match super::check_name("account name", name) {
                Ok(())
                    if crate::text::forbidden_char(name, crate::text::Lines::Single).is_none() =>
                {
                    account.name = name.trim().to_owned()
                }
                _ => errors.push(FieldError::new(
                    "name",
                    format!(
                        "must be 1 to {} characters on one line, without control characters",
                        super::MAX_NAME_LEN
                    ),
                )),
            }
        }
        if let Some(l) = &change.default_language {
            match Language::ALL.into_iter().find(|x| x.as_str() == l) {
                Some(language) => account.default_language = language.as_str().to_owned(),
                None => errors.push(FieldError::new(
                    "defaultLanguage",
                    "must be a language invitations are written in: en, nl, fr or de",
                )),
            }
        }
        if let Some(v) = change.require_external_id {
            account.require_external_id = v;
        }
        if let Some(v) = change.require_contact {
            account.require_contact = v;
        }
        if let Some(on) = change.invite_on_provision {
            if on && account.invite_agreement_accepted_at.is_none() {
                if change.agreement_accepted == Some(true) {
                    account.invite_agreement_accepted_at = Some(now);
                } else {
                    errors.push(FieldError::new(
                        "agreementAccepted",
                        "must be true to turn inviteOnProvision on: the user agreement is \
                         accepted once, for every invitation sent on provisioning",
                    ));
                }
            }
            account.invite_on_provision = on;
        }
        if !errors.is_empty() {
            return Err(ServiceError::InvalidFields(errors));
        }
        account.updated_at = now;
        super::store_settings(conn, &account)?;
        Ok(account)
    })
}
