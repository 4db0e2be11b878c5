//! Users found by a contact (an e-mail address or a phone number), for signing in with a one-time
//! code: what `signin` asks `users` for, so that no other module reads the user tables.

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{user_emails, user_phone_numbers, users};

/// A contact as people type it, normalised for lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    /// An e-mail address, identity-folded ([`crate::text::fold_identity`]).
    Email(String),
    /// A phone number in E.164.
    Phone(String),
}

impl Contact {
    /// The contact's normalised value (what its shadow column holds).
    pub fn value(&self) -> &str {
        match self {
            Contact::Email(v) | Contact::Phone(v) => v,
        }
    }
}

/// A user who holds a contact, with what decides whether they may sign in with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The user's account.
    pub account_id: String,
    /// The user.
    pub user_id: String,
    /// Whether the user is active.
    pub active: bool,
    /// [`super::sign_in`]: `any` or `crewplanner`.
    pub sign_in: String,
    /// [`super::registration`]: `invited` or `registered`.
    pub registration: String,
}

impl Holder {
    /// Whether the user may sign in with a one-time code: active, registered, and not limited to
    /// CrewPlanner.
    pub fn may_sign_in(&self) -> bool {
        self.active
            && self.sign_in == super::sign_in::ANY
            && self.registration == super::registration::REGISTERED
    }
}

/// The distinct users holding `contact` (in `account_id` when given), at most `limit` of them:
/// one indexed lookup on the contact's shadow column.
pub fn holders(
    conn: &mut DbConn,
    contact: &Contact,
    account_id: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<Holder>> {
    let ids: Vec<String> = match contact {
        Contact::Email(folded) => {
            let mut q = user_emails::table
                .filter(user_emails::value_ci.eq(folded))
                .select(user_emails::user_id)
                .distinct()
                .into_boxed();
            if let Some(account) = account_id {
                q = q.filter(user_emails::account_id.eq(account.to_owned()));
            }
            q.limit(limit).load(conn)?
        }
        Contact::Phone(e164) => {
            let mut q = user_phone_numbers::table
                .filter(user_phone_numbers::value_e164.eq(e164))
                .select(user_phone_numbers::user_id)
                .distinct()
                .into_boxed();
            if let Some(account) = account_id {
                q = q.filter(user_phone_numbers::account_id.eq(account.to_owned()));
            }
            q.limit(limit).load(conn)?
        }
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, bool, String, String)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((
            users::account_id,
            users::id,
            users::active,
            users::sign_in,
            users::registration,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(account_id, user_id, active, sign_in, registration)| Holder {
                account_id,
                user_id,
                active,
                sign_in,
                registration,
            },
        )
        .collect())
}

/// The E.164 numbers of user `user_id` of account `account_id`, in the user's order.
pub fn phone_numbers(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
) -> QueryResult<Vec<String>> {
    let numbers: Vec<Option<String>> = user_phone_numbers::table
        .filter(user_phone_numbers::user_id.eq(user_id))
        .filter(user_phone_numbers::account_id.eq(account_id))
        .order(user_phone_numbers::position.asc())
        .select(user_phone_numbers::value_e164)
        .load(conn)?;
    Ok(numbers.into_iter().flatten().collect())
}
