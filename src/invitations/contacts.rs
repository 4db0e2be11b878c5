//! One contact, one person (DESIGN 6): the form's e-mail address or phone number may not already
//! belong to a user of the account, as their userName, one of their e-mail values or one of their
//! phone numbers. Compared as uniqueness compares them: e-mail addresses and userNames
//! identity-folded ([`fold_identity`], on the shadow columns), phone numbers in E.164.
//!
//! The refusal is a 409 naming that user (`userId`, `userName`) and, when they have a pending
//! invitation, its `invitationId`, so the CMS can offer to resend it. The same applies when that
//! user is the very person being invited again (an invited SCIM user whose invitation was
//! withdrawn or expired stays a user): the form would otherwise overwrite their groups, stores and
//! name, so the CMS edits or removes that user instead. A user an invitation created is deleted
//! with its withdrawn or expired invitation, so inviting them again simply works.

use diesel::prelude::*;
use serde_json::{Map, Value};

use super::rules::InvitationForm;
use crate::db::DbConn;
use crate::db::schema::{invitations, user_emails, user_phone_numbers, users};
use crate::error::{Conflict, FieldError, ServiceError};
use crate::text::fold_identity;

/// The user of `account_id` a contact already belongs to: their id and userName.
fn owner_of_email(
    conn: &mut DbConn,
    account_id: &str,
    email: &str,
) -> QueryResult<Option<(String, String)>> {
    let folded = fold_identity(email);
    let by_email = user_emails::table
        .filter(user_emails::account_id.eq(account_id))
        .filter(user_emails::value_ci.eq(&folded))
        .select(user_emails::user_id);
    users::table
        .filter(users::account_id.eq(account_id))
        .filter(
            users::user_name_ci
                .eq(&folded)
                .or(users::id.eq_any(by_email)),
        )
        .order(users::created_at.asc())
        .select((users::id, users::user_name))
        .first(conn)
        .optional()
}

fn owner_of_phone(
    conn: &mut DbConn,
    account_id: &str,
    e164: &str,
) -> QueryResult<Option<(String, String)>> {
    let by_phone = user_phone_numbers::table
        .filter(user_phone_numbers::account_id.eq(account_id))
        .filter(user_phone_numbers::value_e164.eq(e164))
        .select(user_phone_numbers::user_id);
    users::table
        .filter(users::account_id.eq(account_id))
        .filter(
            users::user_name_ci
                .eq(fold_identity(e164))
                .or(users::id.eq_any(by_phone)),
        )
        .order(users::created_at.asc())
        .select((users::id, users::user_name))
        .first(conn)
        .optional()
}

/// Refuses the form (409) when its e-mail address or phone number already belongs to a user of
/// the account; checks the e-mail first.
pub fn refuse_taken(
    conn: &mut DbConn,
    account_id: &str,
    form: &InvitationForm,
) -> Result<(), ServiceError> {
    if let Some(email) = form.email.as_deref()
        && let Some(owner) = owner_of_email(conn, account_id, email)?
    {
        return Err(taken(conn, "email", "e-mail address", owner)?);
    }
    if let Some(e164) = form.phone_number.as_deref().and_then(crate::phone::e164)
        && let Some(owner) = owner_of_phone(conn, account_id, &e164)?
    {
        return Err(taken(conn, "phoneNumber", "phone number", owner)?);
    }
    Ok(())
}

fn taken(
    conn: &mut DbConn,
    field: &str,
    what: &str,
    (user_id, user_name): (String, String),
) -> Result<ServiceError, ServiceError> {
    let invitation: Option<String> = invitations::table
        .filter(invitations::user_id.eq(&user_id))
        .select(invitations::id)
        .first(conn)
        .optional()?;
    let shown: String = user_name.chars().take(64).collect();
    let next = if invitation.is_some() {
        "they have a pending invitation: resend it instead (invitationId)"
    } else {
        "edit that user, or remove them first, instead of inviting a second person"
    };
    let detail = format!(
        "this {what} already belongs to user {user_id} ({shown:?}) of this account; {next}"
    );
    let mut members = Map::new();
    members.insert("userId".into(), Value::from(user_id));
    members.insert("userName".into(), Value::from(user_name));
    if let Some(id) = invitation {
        members.insert("invitationId".into(), Value::from(id));
    }
    Ok(ServiceError::Conflict(Box::new(Conflict {
        detail: detail.clone(),
        errors: vec![FieldError::new(field, detail)],
        members,
    })))
}
