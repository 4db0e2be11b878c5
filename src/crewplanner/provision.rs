//! Just-in-time provisioning from a verified CrewPlanner token (DESIGN 7).
//!
//! The user with `externalId` = `sub` is found or created. A user CrewPlanner created takes its
//! name, e-mail, phone, job title and department from each token; a user another source manages
//! (SCIM, an invitation) is linked as it is: SCIM wins. A `department` claim puts a CrewPlanner-made
//! user in the group of that name with `groupType` Department, created when needed. Every write goes
//! through the same user rules, group code and provisioning log as SCIM.

use serde_json::{Map, Value, json};

use super::LaunchError;
use super::refusal::{Reason, Refusal};
use super::token::Claims;
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::groups::{self, storage as group_storage};
use crate::scim::etag::Precondition;
use crate::scim::urn;
use crate::text::Lines;
use crate::text::{char_len, fold_identity};
use crate::users::rules::{MAX_TEXT, check_text};
use crate::users::{self, Lifecycle, UserRecord, origin, registration, sign_in};

/// The `groupType` of the group a `department` claim names.
pub const DEPARTMENT: &str = "Department";

/// A CrewPlanner-made user.
const CREWPLANNER: Lifecycle = Lifecycle {
    origin: origin::CREWPLANNER,
    sign_in: sign_in::CREWPLANNER,
    registration: registration::REGISTERED,
};

/// Checks the claims that become user fields as the user rules check text (DESIGN 5: free text of
/// at most 255 characters, no control characters), before any of them reaches a query: a bad
/// claim is a refusal naming the claim, never a server error (PostgreSQL cannot even look up a
/// value holding NUL).
pub fn check_user_claims(claims: &Claims) -> Result<(), Refusal> {
    for (name, value) in [
        ("given_name", &claims.given_name),
        ("family_name", &claims.family_name),
        ("email", &claims.email),
        ("phone_number", &claims.phone_number),
        ("locale", &claims.locale),
        ("job_title", &claims.job_title),
        ("department", &claims.department),
    ] {
        check_text(name, value.as_deref(), MAX_TEXT, Lines::Single)
            .map_err(|e| Refusal::new(Reason::InvalidClaim, format!("the claim {}", e.detail)))?;
    }
    Ok(())
}

/// Finds, creates or updates the user of `claims` (inside the caller's transaction).
pub fn user_for(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    claims: &Claims,
) -> Result<UserRecord, LaunchError> {
    check_user_claims(claims)?;
    let found = users::storage::id_by_external_id(conn, &ctx.account.id, &claims.sub)
        .map_err(ServiceError::from)?;
    let Some(id) = found else {
        let body = new_user_body(conn, ctx, claims)?;
        let mut rec = users::create_as(conn, ctx, &body, CREWPLANNER).map_err(invalid_claim)?;
        if let Some(department) = &claims.department {
            join_department(conn, ctx, &rec, None, department)?;
            rec = users::get(conn, &ctx.account.id, &rec.row.id)?;
        }
        return Ok(rec);
    };
    let current = users::get(conn, &ctx.account.id, &id)?;
    if !current.row.active {
        return Err(Refusal::new(
            Reason::UserDeactivated,
            "the user is deactivated in MobieTrain",
        )
        .into());
    }
    if current.row.origin != origin::CREWPLANNER {
        return Ok(current);
    }
    let before = serde_json::to_value(users::to_attributes(&current)).unwrap_or_default();
    let mut body = before.clone();
    if let Some(doc) = body.as_object_mut() {
        apply_claims(doc, claims);
    }
    let rec = if body == before {
        current.clone()
    } else {
        users::replace(conn, ctx, &id, &body, &Precondition::None).map_err(invalid_claim)?
    };
    if let Some(department) = &claims.department
        && current.row.department.as_deref() != Some(department.as_str())
    {
        join_department(
            conn,
            ctx,
            &rec,
            current.row.department.as_deref(),
            department,
        )?;
        return Ok(users::get(conn, &ctx.account.id, &id)?);
    }
    Ok(rec)
}

/// A rule of the user model broken by the token's data is the token's fault: a refusal naming
/// the attribute and rule, not a server error.
fn invalid_claim(e: ServiceError) -> LaunchError {
    match e {
        ServiceError::Input(input) => Refusal::new(Reason::InvalidClaim, input.detail).into(),
        ServiceError::Uniqueness(detail) => Refusal::new(Reason::InvalidClaim, detail).into(),
        other => LaunchError::Service(other),
    }
}

fn new_user_body(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    claims: &Claims,
) -> Result<Value, LaunchError> {
    for (name, value) in [
        ("given_name", &claims.given_name),
        ("family_name", &claims.family_name),
    ] {
        if value.is_none() {
            return Err(Refusal::new(
                Reason::MissingClaim,
                format!("the claim {name} is needed on a first visit (MobieTrain users have a first and last name)"),
            )
            .into());
        }
    }
    let user_name = match &claims.email {
        Some(email) if !user_name_taken(conn, &ctx.account.id, email)? => email.clone(),
        _ => format!("crewplanner:{}", claims.sub),
    };
    let mut body = json!({
        "schemas": [urn::USER, urn::ENTERPRISE_USER],
        "userName": user_name,
        "externalId": claims.sub,
    });
    apply_claims(body.as_object_mut().expect("an object"), claims);
    if let Some(locale) = &claims.locale {
        body["locale"] = json!(locale);
        body["preferredLanguage"] = json!(locale);
    }
    Ok(body)
}

fn user_name_taken(conn: &mut DbConn, account_id: &str, name: &str) -> Result<bool, ServiceError> {
    Ok(users::storage::user_name_taken(conn, account_id, name)?)
}

/// Lays the token's optional user data over a SCIM User body: what a claim carries replaces the
/// attribute; what it lacks is left as it is.
fn apply_claims(doc: &mut Map<String, Value>, claims: &Claims) {
    if claims.given_name.is_some() || claims.family_name.is_some() {
        let name = doc.entry("name").or_insert_with(|| json!({}));
        if let Some(g) = &claims.given_name {
            name["givenName"] = json!(g);
        }
        if let Some(f) = &claims.family_name {
            name["familyName"] = json!(f);
        }
    }
    if let Some(email) = &claims.email {
        doc.insert(
            "emails".into(),
            json!([{"value": email, "type": "work", "primary": true}]),
        );
    }
    if let Some(phone) = &claims.phone_number {
        doc.insert(
            "phoneNumbers".into(),
            json!([{"value": phone, "type": "mobile", "primary": true}]),
        );
    }
    if let Some(title) = &claims.job_title {
        doc.insert("title".into(), json!(title));
    }
    if let Some(department) = &claims.department {
        let ext = doc.entry(urn::ENTERPRISE_USER).or_insert_with(|| json!({}));
        ext["department"] = json!(department);
    }
}

/// Puts the user in the Department group named `department` (created when needed) and takes them
/// out of the Department group of `previous`.
fn join_department(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    rec: &UserRecord,
    previous: Option<&str>,
    department: &str,
) -> Result<(), LaunchError> {
    if char_len(department) > groups::MAX_TEXT_LEN {
        return Err(Refusal::new(
            Reason::InvalidClaim,
            format!(
                "the claim department is longer than {} characters",
                groups::MAX_TEXT_LEN
            ),
        )
        .into());
    }
    let user = std::slice::from_ref(&rec.row.id);
    if let Some(previous) = previous
        && let Some(old) = group_storage::by_name(conn, &ctx.account.id, &fold_identity(previous))
            .map_err(ServiceError::from)?
        && old.group_type.as_deref() == Some(DEPARTMENT)
    {
        groups::remove_members(conn, ctx, &old.id, user)?;
    }
    let group =
        groups::find_or_create_typed(conn, ctx, department, DEPARTMENT, ("via", "crewplanner"))?;
    groups::add_members(conn, ctx, &group.id, user)?;
    Ok(())
}
