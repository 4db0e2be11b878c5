//! App sign-in: one-time codes, sessions, and the onboarding the app still requires.
//!
//! Whoever proves who a user is (the CrewPlanner link, an accepted invitation) gets either a
//! one-time code (single use, 60 seconds) to hand over in a redirect, or a session directly. The app
//! trades the code for a session at `POST /app/v1/session` and then sends the session token as a
//! bearer token. Codes and session tokens are 32 random bytes; only their SHA-256 is stored. A
//! session ends when it expires, when its user is deactivated (SCIM `active=false`) or deleted.

use crate::db::FetchOptional;
use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use subtle::ConstantTimeEq;

use crate::crypto::{random_token, sha256_hex};
use crate::db::models::{AppProfileRow, SessionRow, SignInCodeRow};
use crate::db::schema::{app_profiles, sessions, sign_in_codes, users};
use crate::db::{self, DbConn};
use crate::error::ServiceError;

/// How long a one-time sign-in code may be exchanged.
pub const CODE_LIFETIME: Duration = Duration::seconds(60);
/// What every one-time code starts with.
pub const CODE_PREFIX: &str = "mtc_";
/// What every session token starts with.
pub const SESSION_PREFIX: &str = "mta_";
/// The languages the app can be set to during onboarding.
pub const APP_LANGUAGES: &[&str] = &["en", "nl", "fr", "de"];

/// How a user proved who they are.
pub mod via {
    /// The CrewPlanner link.
    pub const CREWPLANNER: &str = "crewplanner";
    /// An accepted e-mail invitation.
    pub const INVITATION: &str = "invitation";
    /// A one-time code sent by e-mail or text message ([`crate::signin`]).
    pub const CODE: &str = "code";
}

/// A session just begun: the token is shown now and never again.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The bearer token for the app.
    pub token: String,
    /// When it ends at the latest.
    pub expires_at: NaiveDateTime,
    /// The signed-in user.
    pub user_id: String,
}

/// A request's session, authenticated.
#[derive(Debug, Clone)]
pub struct SessionCaller {
    /// The session.
    pub session_id: String,
    /// The user's account.
    pub account_id: String,
    /// The signed-in user.
    pub user_id: String,
    /// When the session ends.
    pub expires_at: NaiveDateTime,
}

/// Why a one-time code was refused (all answered alike, so a guesser learns nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Unknown, already used, or expired.
    Invalid,
    /// The user was deactivated since the code was issued.
    UserInactive,
}

/// Issues a one-time code for `user_id`; returns the code, which is shown only now. Expired codes
/// of the same user are removed, so codes do not pile up.
pub fn issue_code(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    via: &str,
    now: NaiveDateTime,
) -> Result<String, ServiceError> {
    diesel::delete(
        sign_in_codes::table
            .filter(sign_in_codes::user_id.eq(user_id))
            .filter(sign_in_codes::expires_at.lt(now)),
    )
    .execute(conn)?;
    let code = random_token(CODE_PREFIX);
    diesel::insert_into(sign_in_codes::table)
        .values(SignInCodeRow {
            code_hash: sha256_hex(&code),
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            via: via.to_owned(),
            created_at: now,
            expires_at: now + CODE_LIFETIME,
        })
        .execute(conn)?;
    Ok(code)
}

/// Trades a one-time code for a session. The code is deleted in the same transaction that reads it,
/// so of two concurrent exchanges exactly one succeeds.
pub fn redeem_code(
    conn: &mut DbConn,
    code: &str,
    lifetime: Duration,
    now: NaiveDateTime,
) -> Result<Result<NewSession, CodeRefusal>, ServiceError> {
    if !code.starts_with(CODE_PREFIX) || code.len() != CODE_PREFIX.len() + 64 {
        return Ok(Err(CodeRefusal::Invalid));
    }
    let hash = sha256_hex(code);
    db::write_transaction(conn, |conn| {
        let row: Option<SignInCodeRow> = sign_in_codes::table
            .find(&hash)
            .select(SignInCodeRow::as_select())
            .fetch_optional(conn)?;
        let Some(row) = row else {
            return Ok(Err(CodeRefusal::Invalid));
        };
        let deleted = diesel::delete(sign_in_codes::table.find(&row.code_hash)).execute(conn)?;
        if deleted != 1 || !bool::from(row.code_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(Err(CodeRefusal::Invalid));
        }
        if row.expires_at < now {
            return Ok(Err(CodeRefusal::Invalid));
        }
        let active: Option<bool> = users::table
            .filter(users::id.eq(&row.user_id))
            .filter(users::account_id.eq(&row.account_id))
            .select(users::active)
            .fetch_optional(conn)?;
        if active != Some(true) {
            return Ok(Err(CodeRefusal::UserInactive));
        }
        create(conn, &row.account_id, &row.user_id, &row.via, lifetime, now).map(Ok)
    })
}

/// Begins a session for `user_id` (the caller has checked who they are and that they are active).
/// Expired sessions of the same user are removed.
pub fn create(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    via: &str,
    lifetime: Duration,
    now: NaiveDateTime,
) -> Result<NewSession, ServiceError> {
    diesel::delete(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::expires_at.lt(now)),
    )
    .execute(conn)?;
    let token = random_token(SESSION_PREFIX);
    let expires_at = now + lifetime;
    diesel::insert_into(sessions::table)
        .values(SessionRow {
            id: crate::context::new_id(),
            account_id: account_id.to_owned(),
            user_id: user_id.to_owned(),
            token_hash: sha256_hex(&token),
            via: via.to_owned(),
            created_at: now,
            expires_at,
        })
        .execute(conn)?;
    Ok(NewSession {
        token,
        expires_at,
        user_id: user_id.to_owned(),
    })
}

/// The session a bearer token opens: live, and its user active. One indexed lookup.
pub fn authenticate(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Option<SessionCaller>, ServiceError> {
    if !token.starts_with(SESSION_PREFIX) {
        return Ok(None);
    }
    let hash = sha256_hex(token);
    let found: Option<SessionRow> = sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(&hash))
        .filter(users::active.eq(true))
        .filter(users::account_id.eq(sessions::account_id))
        .select(SessionRow::as_select())
        .fetch_optional(conn)?;
    Ok(found
        .filter(|s| bool::from(s.token_hash.as_bytes().ct_eq(hash.as_bytes())))
        .filter(|s| s.expires_at > now)
        .map(|s| SessionCaller {
            session_id: s.id,
            account_id: s.account_id,
            user_id: s.user_id,
            expires_at: s.expires_at,
        }))
}

/// Ends every session and unused code of a user (deactivation); returns how many sessions ended.
pub fn end_for_user(conn: &mut DbConn, user_id: &str) -> Result<usize, ServiceError> {
    diesel::delete(sign_in_codes::table.filter(sign_in_codes::user_id.eq(user_id)))
        .execute(conn)?;
    Ok(diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)?)
}

/// Ends one session (sign-out).
pub fn end(conn: &mut DbConn, session_id: &str) -> Result<(), ServiceError> {
    diesel::delete(sessions::table.find(session_id)).execute(conn)?;
    Ok(())
}

/// What the app still has to ask a user before they may use it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Onboarding {
    /// The app language chosen, if any.
    pub language: Option<String>,
    /// Whether the terms and conditions were accepted.
    pub terms_accepted: bool,
    /// What is still required: `language`, `acceptTerms`.
    pub required: Vec<&'static str>,
}

/// The onboarding state of a user.
pub fn onboarding(conn: &mut DbConn, user_id: &str) -> Result<Onboarding, ServiceError> {
    let row: Option<AppProfileRow> = app_profiles::table
        .find(user_id)
        .select(AppProfileRow::as_select())
        .fetch_optional(conn)?;
    let language = row.as_ref().and_then(|r| r.language.clone());
    let terms_accepted = row.as_ref().is_some_and(|r| r.terms_accepted_at.is_some());
    let mut required = Vec::new();
    if language.is_none() {
        required.push("language");
    }
    if !terms_accepted {
        required.push("acceptTerms");
    }
    Ok(Onboarding {
        language,
        terms_accepted,
        required,
    })
}

/// Sets the app language of a user who has chosen none yet (an accepted invitation's language,
/// so onboarding starts in it); the terms stay to be accepted. A tag MobieTrain is not written in
/// changes nothing.
pub fn default_language(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    tag: &str,
    now: NaiveDateTime,
) -> Result<(), ServiceError> {
    let Some(language) = crate::i18n::language_code(tag) else {
        return Ok(());
    };
    let existing: Option<AppProfileRow> = app_profiles::table
        .find(user_id)
        .select(AppProfileRow::as_select())
        .fetch_optional(conn)?;
    match existing {
        Some(row) if row.language.is_some() => {}
        Some(_) => {
            diesel::update(app_profiles::table.find(user_id))
                .set((
                    app_profiles::language.eq(Some(language)),
                    app_profiles::updated_at.eq(now),
                ))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(app_profiles::table)
                .values(AppProfileRow {
                    user_id: user_id.to_owned(),
                    account_id: account_id.to_owned(),
                    language: Some(language.to_owned()),
                    terms_accepted_at: None,
                    updated_at: now,
                })
                .execute(conn)?;
        }
    }
    Ok(())
}

/// Records the onboarding answers: the language (a BCP 47 tag of one of [`APP_LANGUAGES`]:
/// `nl-BE` is stored as `nl`) and, once, the acceptance of the terms.
pub fn complete_onboarding(
    conn: &mut DbConn,
    account_id: &str,
    user_id: &str,
    language: &str,
    now: NaiveDateTime,
) -> Result<Onboarding, ServiceError> {
    let Some(language) = crate::i18n::language_code(language).filter(|l| APP_LANGUAGES.contains(l))
    else {
        return Err(ServiceError::invalid_value(format!(
            "language must be one of {} (a regional tag such as nl-BE is read as its language)",
            APP_LANGUAGES.join(", ")
        )));
    };
    db::write_transaction(conn, |conn| {
        let existing: Option<AppProfileRow> = app_profiles::table
            .find(user_id)
            .select(AppProfileRow::as_select())
            .fetch_optional(conn)?;
        let row = AppProfileRow {
            user_id: user_id.to_owned(),
            account_id: account_id.to_owned(),
            language: Some(language.to_owned()),
            terms_accepted_at: existing
                .as_ref()
                .and_then(|r| r.terms_accepted_at)
                .or(Some(now)),
            updated_at: now,
        };
        if existing.is_some() {
            diesel::update(app_profiles::table.find(user_id))
                .set(&row)
                .execute(conn)?;
        } else {
            diesel::insert_into(app_profiles::table)
                .values(&row)
                .execute(conn)?;
        }
        onboarding(conn, user_id)
    })
}
