//! Just-in-time provisioning from a verified CrewPlanner token (DESIGN 7).
//!
//! The user with `externalId` = `sub` is found or created. A user CrewPlanner created takes its
//! name, e-mail, phone, job title and department from each token; a user another source manages
//! (SCIM, an invitation) is linked as it is: SCIM wins. A `department` claim puts a CrewPlanner-made
//! user in the group of that name with `groupType` Department, created when needed. Every write goes
//! through the same user rules, group code and provisioning log as SCIM.

use super::LaunchError;
use super::refusal::{Reason, Refusal};
use super::token::Claims;
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::groups::{self, storage as group_storage};
use crate::scim::error::{AttrPath, Rule};
use crate::scim::etag::Precondition;
use crate::text::Lines;
use crate::text::{char_len, fold_identity};
use crate::users::model::PluralValue;
use crate::users::rules::{MAX_TEXT, text_problem};
use crate::users::{self, Lifecycle, UserInput, UserRecord, origin, registration, sign_in};

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
        if let Some((_, detail)) = value
            .as_deref()
            .and_then(|v| text_problem(name, v, MAX_TEXT, Lines::Single))
        {
            return Err(Refusal::new(
                Reason::InvalidClaim,
                format!("the claim {detail}"),
            ));
        }
    }
    Ok(())
}

/// Finds, creates or updates the user of `claims` (inside the caller's transaction). A contact is
/// advice here whatever the account's `requireContact` (a setting for SCIM writes): CrewPlanner
/// employees without an e-mail or a phone are signed in, with the warning `user.no_contact`.
pub fn user_for(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    claims: &Claims,
) -> Result<UserRecord, LaunchError> {
    check_user_claims(claims)?;
    let account = crate::db::models::Account {
        require_contact: false,
        ..ctx.account.clone()
    };
    let ctx = &WriteContext {
        account: &account,
        ..*ctx
    };
    let found = users::storage::id_by_external_id(conn, &ctx.account.id, &claims.sub)
        .map_err(ServiceError::from)?;
    let Some(id) = found else {
        let mut rec = create_user(conn, ctx, claims)?;
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
    let before = UserInput::of_record(&current);
    let mut user = before.clone();
    apply_claims(&mut user, claims);
    let rec = if user == before {
        current.clone()
    } else {
        users::replace(conn, ctx, &id, &user, &Precondition::None).map_err(invalid_claim)?
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
        ServiceError::Violated(v) => Refusal::new(Reason::InvalidClaim, v.detail()).into(),
        ServiceError::Input(input) => Refusal::new(Reason::InvalidClaim, input.detail).into(),
        ServiceError::Uniqueness(detail) => Refusal::new(Reason::InvalidClaim, detail).into(),
        other => LaunchError::Service(other),
    }
}

/// Creates the user of a first visit. The userName is the e-mail when the token has one and no
/// user of the account has it as userName (the users' uniqueness rule says so), else
/// `crewplanner:{sub}`.
fn create_user(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    claims: &Claims,
) -> Result<UserRecord, LaunchError> {
    let mut user = new_user(claims)?;
    if let Some(email) = &claims.email {
        user.user_name = Some(email.clone());
        // `create_as` runs in a savepoint of the caller's transaction: a refusal leaves it usable.
        match users::create_as(conn, ctx, &user, CREWPLANNER) {
            Err(ServiceError::Violated(v))
                if v.breaks(AttrPath::core("userName"), Rule::Unique) => {}
            created => return created.map_err(invalid_claim),
        }
    }
    user.user_name = Some(format!("crewplanner:{}", claims.sub));
    users::create_as(conn, ctx, &user, CREWPLANNER).map_err(invalid_claim)
}

/// The user a first visit creates, but for the userName.
fn new_user(claims: &Claims) -> Result<UserInput, LaunchError> {
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
    let mut user = UserInput {
        external_id: Some(claims.sub.clone()),
        locale: claims.locale.clone(),
        preferred_language: claims.locale.clone(),
        ..UserInput::default()
    };
    apply_claims(&mut user, claims);
    Ok(user)
}

/// Lays the token's optional user data over a user: what a claim carries replaces the attribute;
/// what it lacks is left as it is.
fn apply_claims(user: &mut UserInput, claims: &Claims) {
    if let Some(g) = &claims.given_name {
        user.name.given_name = Some(g.clone());
    }
    if let Some(f) = &claims.family_name {
        user.name.family_name = Some(f.clone());
    }
    let only = |value: &String, kind: &str| {
        vec![PluralValue {
            value: Some(value.clone()),
            display: None,
            kind: Some(kind.to_owned()),
            primary: Some(true),
        }]
    };
    if let Some(email) = &claims.email {
        user.emails = only(email, "work");
    }
    if let Some(phone) = &claims.phone_number {
        user.phone_numbers = only(phone, "mobile");
    }
    if let Some(title) = &claims.job_title {
        user.title = Some(title.clone());
    }
    if let Some(department) = &claims.department {
        user.enterprise.department = Some(department.clone());
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
