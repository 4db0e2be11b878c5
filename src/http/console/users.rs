//! The account's users: the directory of the admin API (`users::directory`), searchable by name,
//! e-mail, userName and externalId, 25 a page, each user with their groups, stores, origin,
//! registration, state and warnings; and one user's page with everything the list cannot fit on a
//! phone, and the warnings the provisioning log holds about them.
//!
//! A user's warnings on the list are what their summary shows now (no way to reach them, in no
//! group, so no learning content); the user's page adds the logged ones (`user.email_invalid`,
//! `store.name_differs`, …) with a link to the log filtered to them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleError, Signed, texts, view};
use crate::audit;
use crate::http::run_db;
use crate::state::AppState;
use crate::users;
use crate::users::directory::{self, DirectoryQuery, Named, UserSummary};

/// Users per page.
const PAGE_SIZE: u64 = 25;
/// The logged warnings a user's page shows at most (the log has them all).
const WARNINGS_SHOWN: i64 = 20;

/// Registers the user pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users/{id}", web::get().to(show));
}

/// The list's query string.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    store: Option<String>,
    group: Option<String>,
    page: Option<String>,
}

/// A filter value of the query string: trimmed, non-empty, at most `max` characters (longer is
/// cut, as a browser's `maxlength` would).
fn bounded(raw: Option<String>, max: usize) -> Option<String> {
    raw.map(|v| v.trim().chars().take(max).collect::<String>())
        .filter(|v| !v.is_empty())
}

/// A group or store as a row names it.
#[derive(Debug, serde::Serialize)]
struct Place {
    name: String,
    ref_id: Option<String>,
}

impl From<&Named> for Place {
    fn from(n: &Named) -> Self {
        Self {
            name: n.name.clone().unwrap_or_default(),
            ref_id: n.ref_id.clone(),
        }
    }
}

/// One user as the list shows them.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    name: String,
    user_name: String,
    email: Option<String>,
    phone: Option<String>,
    /// The catalog key of the origin.
    origin: String,
    /// `invited` or `registered`.
    registration: String,
    /// The catalog key of the registration.
    registration_key: String,
    active: bool,
    groups: Vec<Place>,
    stores: Vec<Place>,
    /// Catalog keys of what is wrong now.
    warnings: Vec<&'static str>,
}

/// The name a person goes by: first and last name, else the display name, else the userName.
fn person_name(u: &UserSummary) -> String {
    let full = [u.given_name.as_deref(), u.family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !full.trim().is_empty() {
        full
    } else {
        u.display_name
            .clone()
            .unwrap_or_else(|| u.user_name.clone())
    }
}

/// What is wrong with a user now, as catalog keys.
fn warnings(u: &UserSummary) -> Vec<&'static str> {
    let mut out = Vec::new();
    if u.email.is_none() && u.phone_number.is_none() {
        out.push("users.warn_no_contact");
    }
    if u.groups.is_empty() {
        out.push("users.warn_no_group");
    }
    out
}

/// The catalog key of an origin or registration value (`origin.scim`), or `{prefix}.other` for a
/// value the catalog does not know yet.
fn known(prefix: &str, value: &str) -> String {
    let key = format!("{prefix}.{value}");
    if texts::text(&key).is_some() {
        key
    } else {
        format!("{prefix}.other")
    }
}

impl From<UserSummary> for Row {
    fn from(u: UserSummary) -> Self {
        Self {
            name: person_name(&u),
            warnings: warnings(&u),
            groups: u.groups.iter().map(Place::from).collect(),
            stores: u.stores.iter().map(Place::from).collect(),
            origin: known("origin", &u.origin),
            registration_key: known("registration", &u.registration),
            registration: u.registration,
            id: u.id,
            user_name: u.user_name,
            email: u.email,
            phone: u.phone_number,
            active: u.active,
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let p = params.into_inner();
    // Bounded here as the domain bounds them, so a long paste is cut rather than refused.
    let q = bounded(p.q, directory::MAX_SEARCH_LEN);
    let store = bounded(p.store, directory::MAX_SEARCH_LEN);
    let group = bounded(p.group, directory::MAX_SEARCH_LEN);
    let page = super::page_number(p.page.as_deref());
    let query = DirectoryQuery {
        search: q.clone(),
        store: store.clone(),
        group_id: group.clone(),
        offset: super::page_offset(page, PAGE_SIZE),
        limit: PAGE_SIZE as i64,
        ..DirectoryQuery::default()
    };
    let account_id = signed.0.caller.account.id.clone();
    let listed = run_db(&state, move |conn| {
        directory::list(conn, &account_id, &query)
    })
    .await;
    let (status, total, summaries, error) = match listed {
        Ok((total, summaries)) => (StatusCode::OK, total, summaries, None),
        Err(e) => {
            let detail = super::refusal_detail(e)?;
            (StatusCode::BAD_REQUEST, 0, Vec::new(), Some(detail))
        }
    };
    let rows: Vec<Row> = summaries.into_iter().map(Row::from).collect();
    let pages = super::page_count(total, PAGE_SIZE);
    let pager = super::pager(
        "/console/users",
        page.min(pages),
        pages,
        &[
            ("q", q.as_deref()),
            ("store", store.as_deref()),
            ("group", group.as_deref()),
        ],
    );
    Ok(view::page(
        status,
        "users.html",
        context! {
            session => signed.layout(),
            nav => "users",
            shown => rows.len(),
            rows => minijinja::value::Serde(&rows),
            total => total,
            q => q,
            store => store,
            group => group,
            error => error,
            pager => pager,
        },
    ))
}

/// A logged warning about a user.
#[derive(Debug, serde::Serialize)]
struct Logged {
    when: String,
    code: String,
}

/// One user's page: the summary's facts, the record's other fields, the logged warnings.
async fn show(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = id.into_inner();
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ConsoleError::NotFound);
    }
    let account_id = signed.0.caller.account.id.clone();
    let (summary, record, logged, logged_total) = run_db(&state, move |conn| {
        let record = users::get(conn, &account_id, &id)?;
        let summary = directory::summaries(conn, &account_id, std::slice::from_ref(&id))?
            .pop()
            .ok_or(crate::error::ServiceError::NotFound("user"))?;
        let query = audit::Query {
            resource_type: Some("User".to_owned()),
            resource_id: Some(id.clone()),
            action: Some("warn".to_owned()),
            limit: WARNINGS_SHOWN,
            ..audit::Query::default()
        };
        let (total, logged) = audit::list(conn, &account_id, &query)?;
        Ok((summary, record, logged, total))
    })
    .await?;
    let logged: Vec<Logged> = logged
        .into_iter()
        .map(|e| Logged {
            when: super::when(e.occurred_at),
            code: e.code,
        })
        .collect();
    let r = &record.row;
    let emails: Vec<String> = record.emails.iter().map(|e| e.value.clone()).collect();
    let phones: Vec<String> = record
        .phone_numbers
        .iter()
        .map(|p| p.value.clone())
        .collect();
    let roles: Vec<String> = record.roles.iter().map(|r| r.value.clone()).collect();
    let facts = context! {
        external_id => r.external_id.clone(),
        title => r.title.clone(),
        company_id => r.company_id.clone(),
        department => r.department.clone(),
        language => r.preferred_language.clone(),
        emails => emails,
        phones => phones,
        roles => roles,
        created => super::when(r.created_at),
        updated => super::when(r.updated_at),
    };
    let user = Row::from(summary);
    Ok(view::page(
        StatusCode::OK,
        "user.html",
        context! {
            session => signed.layout(),
            nav => "users",
            u => minijinja::value::Serde(&user),
            facts => facts,
            logged => minijinja::value::Serde(&logged),
            logged_total => logged_total,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_without_contact_or_group_is_warned_about_and_named_by_what_they_have() {
        let mut u = UserSummary {
            user_name: "ann@example.com".into(),
            ..UserSummary::default()
        };
        assert_eq!(
            warnings(&u),
            ["users.warn_no_contact", "users.warn_no_group"]
        );
        assert_eq!(person_name(&u), "ann@example.com");
        u.given_name = Some("Ann".into());
        u.phone_number = Some("+32 470 12 34 56".into());
        u.groups.push(Named {
            id: "g".into(),
            name: Some("Sales".into()),
            ref_id: None,
        });
        assert!(warnings(&u).is_empty());
        assert_eq!(person_name(&u), "Ann");
        assert_eq!(known("origin", "scim"), "origin.scim");
        assert_eq!(known("origin", "martian"), "origin.other");
    }
}
