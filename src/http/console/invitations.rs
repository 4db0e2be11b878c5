//! The seed's "invited users" tab and "Invite user" form: the list with markers in colour and in
//! words, resend (inactive during the cool-down), withdraw behind a confirmation page, and the form
//! whose errors come back per field from the same domain function the admin API calls.
//!
//! Each row says how the delivery of its latest send went (the domain's `delivery`), in words and
//! colour: waiting, sent, failing with a retry coming, or failed with the reason. The marker,
//! delivery and search filters and the paging run in the database (`invitations::list`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleError, Signed, see_other, texts, view, write};
use crate::error::{FieldError, ServiceError};
use crate::http::run_db;
use crate::invitations::rules::{InvitationForm, MAX_GROUPS, MAX_ID_LEN, MAX_STORES, StoreInput};
use crate::invitations::{self, Invitation, Marker, delivery};
use crate::scim::list::{ListRequest, Page};
use crate::state::AppState;
use crate::text::{Lines, forbidden_char};

/// Invitations per page.
const PAGE_SIZE: usize = 25;
/// The longest search text read.
const MAX_SEARCH_LEN: usize = 100;
/// Store rows on the form.
const STORE_ROWS: usize = 3;
/// The notices a redirect may name (`?notice=…`); anything else is ignored.
const NOTICES: &[&str] = &["invited", "resent", "resend_refused", "withdrawn", "gone"];

/// Registers the invitation pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invitations", web::get().to(list))
        .route("/invitations/new", web::get().to(new_form))
        .route("/invitations/new", web::post().to(create))
        .route("/invitations/{id}/resend", web::post().to(resend))
        .route(
            "/invitations/{id}/withdraw",
            web::get().to(confirm_withdraw),
        )
        .route("/invitations/{id}/withdraw", web::post().to(withdraw));
}

/// The list's query string.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    marker: Option<String>,
    delivery: Option<String>,
    q: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

/// How the latest send of an invitation went, as a row shows it.
#[derive(Debug, serde::Serialize)]
struct DeliveryShown {
    /// `queued`, `sent`, `failing` or `failed` (the colour).
    status: &'static str,
    /// The outcome in words, naming the channel and, for a failure, the reason.
    words: String,
}

/// The delivery of `inv` in words: an invitation with an e-mail address goes by e-mail, one
/// without by text message.
fn delivery_shown(inv: &Invitation) -> DeliveryShown {
    let d = &inv.delivery;
    let channel = if inv.email.is_some() { "email" } else { "text" };
    let status = d.status.as_str();
    let reason = d.last_error.clone().unwrap_or_else(|| {
        texts::text("delivery.no_reason")
            .unwrap_or_default()
            .to_owned()
    });
    let words = match d.status {
        delivery::Status::Queued => texts::format(&format!("delivery.queued_{channel}"), &[]),
        delivery::Status::Sent => texts::format(
            &format!("delivery.sent_{channel}"),
            &[(
                "at",
                d.sent_at
                    .as_deref()
                    .map(super::when_rfc3339)
                    .unwrap_or_default(),
            )],
        ),
        delivery::Status::Failing => texts::format(
            &format!("delivery.failing_{channel}"),
            &[("reason", reason), ("n", d.attempts.to_string())],
        ),
        delivery::Status::Failed => {
            texts::format(&format!("delivery.failed_{channel}"), &[("reason", reason)])
        }
    };
    DeliveryShown {
        status,
        words: words.unwrap_or_default(),
    }
}

fn marker_name(m: Marker) -> &'static str {
    match m {
        Marker::Ok => "ok",
        Marker::Yellow => "yellow",
        Marker::Red => "red",
    }
}

/// The marker in words: how long until the invitation expires.
fn marker_words(expires_at: Option<NaiveDateTime>, now: NaiveDateTime) -> String {
    let Some(expires_at) = expires_at else {
        return String::new();
    };
    let left = expires_at - now;
    let text = if left <= chrono::Duration::zero() {
        texts::format("marker.expired", &[])
    } else if left < chrono::Duration::days(1) {
        texts::format("marker.expires_today", &[])
    } else {
        let days = left.num_days() + i64::from(left > chrono::Duration::days(left.num_days()));
        if days == 1 {
            texts::format("marker.expires_in_one_day", &[])
        } else {
            texts::format("marker.expires_in_days", &[("n", days.to_string())])
        }
    };
    text.unwrap_or_default()
}

fn display_name(inv: &Invitation) -> String {
    let name = [inv.given_name.as_deref(), inv.family_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if name.is_empty() {
        texts::text("invitations.no_name")
            .unwrap_or_default()
            .to_owned()
    } else {
        name
    }
}

/// One row of the list as the template shows it.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    groups: Vec<String>,
    invited_on: String,
    expires_on: String,
    marker: &'static str,
    marker_words: String,
    resend_available: bool,
    resend_at: String,
    reminders: i32,
    delivery: DeliveryShown,
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let p = params.into_inner();
    let marker = p
        .marker
        .filter(|m| ["ok", "yellow", "red"].contains(&m.as_str()));
    let delivery_filter = p.delivery.as_deref().and_then(delivery::Status::parse);
    let q =
        p.q.map(|q| q.trim().chars().take(MAX_SEARCH_LEN).collect::<String>())
            .filter(|q| !q.is_empty());
    let page = super::page_number(p.page.as_deref());
    let st = state.clone();
    let account_id = signed.0.caller.account.id.clone();
    let now = state.clock.now_naive();
    let filter = invitations::ListFilter {
        marker: match marker.as_deref() {
            Some("ok") => Some(invitations::Marker::Ok),
            Some("yellow") => Some(invitations::Marker::Yellow),
            Some("red") => Some(invitations::Marker::Red),
            _ => None,
        },
        delivery: delivery_filter,
        search: q.clone(),
    };
    let offset = super::page_offset(page, PAGE_SIZE as u64);
    let (total, invitations, people) = run_db(&state, move |conn| {
        let (total, shown) = invitations::list(
            conn,
            &st.invitations,
            &account_id,
            &filter,
            (offset, PAGE_SIZE as i64),
            now,
        )?;
        let ids: Vec<String> = shown.iter().map(|i| i.user_id.clone()).collect();
        let people = crate::users::storage::load(conn, &account_id, &ids)?;
        Ok((total, shown, people))
    })
    .await?;
    let people: BTreeMap<_, _> = people.into_iter().map(|u| (u.row.id.clone(), u)).collect();
    let rows: Vec<Row> = invitations
        .into_iter()
        .map(|i| {
            let person = people.get(&i.user_id);
            let resend_at = i
                .resend_available_at
                .as_deref()
                .and_then(super::parse_rfc3339);
            Row {
                delivery: delivery_shown(&i),
                name: display_name(&i),
                phone: person.and_then(|u| u.phone_numbers.first().map(|p| p.value.clone())),
                groups: person
                    .map(|u| u.groups.iter().map(|g| g.display.clone()).collect())
                    .unwrap_or_default(),
                invited_on: super::when_rfc3339(
                    i.first_sent_at.as_deref().unwrap_or(&i.last_sent_at),
                ),
                expires_on: super::when_rfc3339(&i.expires_at),
                marker: marker_name(i.marker),
                marker_words: marker_words(super::parse_rfc3339(&i.expires_at), now),
                resend_available: resend_at.is_none_or(|at| at <= now),
                resend_at: i
                    .resend_available_at
                    .as_deref()
                    .map(super::when_rfc3339)
                    .unwrap_or_default(),
                reminders: i.reminders_sent,
                email: i.email,
                id: i.id,
            }
        })
        .collect();
    let pages = super::page_count(total, PAGE_SIZE as u64);
    let page = page.min(pages);
    let notice = super::notice(p.notice, NOTICES);
    let pager = super::pager(
        "/console/invitations",
        page,
        pages,
        &[
            ("marker", marker.as_deref()),
            ("delivery", delivery_filter.map(delivery::Status::as_str)),
            ("q", q.as_deref()),
        ],
    );
    Ok(view::page(
        StatusCode::OK,
        "invitations.html",
        context! {
            session => signed.layout(),
            nav => "invitations",
            shown => rows.len(),
            rows => minijinja::value::Serde(&rows),
            total => total,
            marker => marker,
            delivery => delivery_filter.map(delivery::Status::as_str),
            deliveries => minijinja::value::Serde(delivery::Status::ALL.map(delivery::Status::as_str)),
            q => q,
            notice => notice,
            pager => pager,
        },
    ))
}

async fn resend(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    signed.form(&body)?;
    let id = id.into_inner();
    let outcome = write(&state, &signed, move |conn, ctx, st| {
        invitations::resend(conn, ctx, &st.invitations, &id)
    })
    .await;
    Ok(match outcome {
        Ok(_) => see_other("/console/invitations?notice=resent"),
        Err(ServiceError::TooSoon { .. }) => {
            see_other("/console/invitations?notice=resend_refused")
        }
        Err(ServiceError::NotFound(_)) => see_other("/console/invitations?notice=gone"),
        Err(e) => return Err(e.into()),
    })
}

async fn confirm_withdraw(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let st = state.clone();
    let account_id = signed.0.caller.account.id.clone();
    let id = id.into_inner();
    let invitation = run_db(&state, move |conn| {
        invitations::get(
            conn,
            &st.invitations,
            &account_id,
            &id,
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(view::page(
        StatusCode::OK,
        "withdraw.html",
        context! {
            session => signed.layout(),
            nav => "invitations",
            id => invitation.id.clone(),
            name => display_name(&invitation),
            email => invitation.email,
        },
    ))
}

async fn withdraw(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    signed.form(&body)?;
    let id = id.into_inner();
    let outcome = write(&state, &signed, move |conn, ctx, _| {
        invitations::withdraw(conn, ctx, &id)
    })
    .await;
    Ok(match outcome {
        Ok(()) => see_other("/console/invitations?notice=withdrawn"),
        Err(ServiceError::NotFound(_)) => see_other("/console/invitations?notice=gone"),
        Err(e) => return Err(e.into()),
    })
}

/// The form's values as entered, to show them again with the errors.
#[derive(Debug, Default, serde::Serialize)]
struct Entered {
    given_name: String,
    family_name: String,
    email: String,
    phone: String,
    job_position: String,
    company_id: String,
    role: String,
    language: String,
    agreement: bool,
    groups: Vec<String>,
    stores: Vec<[String; 3]>,
}

/// The account's groups, for the form's choice.
async fn account_groups(
    state: &web::Data<AppState>,
    signed: &Signed,
) -> Result<Vec<(String, String)>, ConsoleError> {
    let st = state.clone();
    let account_id = signed.0.caller.account.id.clone();
    let groups = run_db(state, move |conn| {
        let request = ListRequest {
            filter: None,
            sort: None,
            page: Page {
                start_index: 1,
                count: st.settings.max_results,
            },
            paging: crate::scim::cursor::Paging::Index,
        };
        crate::groups::list(conn, &st.registry, &account_id, &request, false)
    })
    .await?
    .records;
    let mut groups: Vec<(String, String)> = groups
        .into_iter()
        .map(|g| (g.row.id, g.row.display_name))
        .collect();
    groups.sort_by_key(|g| g.1.to_lowercase());
    Ok(groups)
}

fn form_page(
    status: StatusCode,
    signed: &Signed,
    groups: &[(String, String)],
    entered: &Entered,
    errors: &BTreeMap<String, Vec<String>>,
) -> HttpResponse {
    let languages: Vec<(&str, String)> = crate::email::templates::Language::ALL
        .iter()
        .map(|l| {
            let name = texts::text(&format!("language.{}", l.as_str())).unwrap_or(l.as_str());
            (l.as_str(), name.to_owned())
        })
        .collect();
    view::page(
        status,
        "invite.html",
        context! {
            session => signed.layout(),
            nav => "invite",
            groups => minijinja::value::Serde(groups),
            languages => minijinja::value::Serde(&languages),
            v => minijinja::value::Serde(entered),
            errors => minijinja::value::Serde(errors),
            failed => !errors.is_empty(),
        },
    )
}

async fn new_form(
    state: web::Data<AppState>,
    signed: Signed,
) -> Result<HttpResponse, ConsoleError> {
    let groups = account_groups(&state, &signed).await?;
    let entered = Entered {
        role: "user".to_owned(),
        language: signed.0.caller.account.default_language.clone(),
        stores: vec![Default::default(); STORE_ROWS],
        ..Entered::default()
    };
    Ok(form_page(
        StatusCode::OK,
        &signed,
        &groups,
        &entered,
        &BTreeMap::new(),
    ))
}

/// The form field an error of the domain names (`stores[0].refId` → `stores`).
fn field_key(field: &str) -> String {
    field.split(['[', '.']).next().unwrap_or(field).to_owned()
}

/// Reads the posted form into the domain's form, and what was entered; ids the domain could not
/// even look up (too long, control characters) are refused here.
fn read(form: &super::Form) -> (InvitationForm, Entered, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut groups = form.all("groupIds");
    if groups.len() > MAX_GROUPS {
        errors.push(FieldError::new(
            "groupIds",
            format!("at most {MAX_GROUPS} groups"),
        ));
        groups.truncate(MAX_GROUPS);
    }
    let mut seen = std::collections::BTreeSet::new();
    groups.retain(|id| {
        id.len() <= MAX_ID_LEN
            && forbidden_char(id, Lines::Single).is_none()
            && seen.insert(id.clone())
    });
    let mut stores = Vec::new();
    let mut entered_stores = Vec::new();
    for i in 0..STORE_ROWS.min(MAX_STORES) {
        let row = [
            form.get(&format!("storeRef{i}")).unwrap_or_default(),
            form.get(&format!("storeName{i}")).unwrap_or_default(),
            form.get(&format!("storeCountry{i}")).unwrap_or_default(),
        ];
        if row.iter().any(|v| !v.is_empty()) {
            let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
            stores.push(StoreInput {
                ref_id: some(&row[0]),
                name: some(&row[1]),
                country_calling_code: some(&row[2]),
            });
        }
        entered_stores.push(row);
    }
    let agreement = form.get("agreementAccepted").is_some();
    let domain = InvitationForm {
        given_name: form.get("givenName"),
        family_name: form.get("familyName"),
        email: form.get("email"),
        phone_number: form.get("phoneNumber"),
        job_position: form.get("jobPosition"),
        company_id: form.get("companyId"),
        stores,
        group_ids: groups.clone(),
        role: form.get("role"),
        language: form.get("language"),
        agreement_accepted: Some(agreement),
    };
    let entered = Entered {
        given_name: domain.given_name.clone().unwrap_or_default(),
        family_name: domain.family_name.clone().unwrap_or_default(),
        email: domain.email.clone().unwrap_or_default(),
        phone: domain.phone_number.clone().unwrap_or_default(),
        job_position: domain.job_position.clone().unwrap_or_default(),
        company_id: domain.company_id.clone().unwrap_or_default(),
        role: domain.role.clone().unwrap_or_default(),
        language: domain.language.clone().unwrap_or_default(),
        agreement,
        groups,
        stores: entered_stores,
    };
    (domain, entered, errors)
}

async fn create(
    state: web::Data<AppState>,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = signed.form(&body)?;
    let (domain, entered, mut errors) = read(&form);
    if errors.is_empty() {
        let outcome = write(&state, &signed, move |conn, ctx, st| {
            invitations::create(conn, ctx, &st.invitations, &domain)
        })
        .await;
        match outcome {
            Ok(_) => return Ok(see_other("/console/invitations?notice=invited")),
            Err(ServiceError::InvalidFields(list)) => errors = list,
            Err(ServiceError::FieldTaken(e)) => errors = vec![e],
            // The e-mail or phone belongs to a user of the account: shown beside its field.
            Err(ServiceError::Conflict(c)) if !c.errors.is_empty() => errors = c.errors,
            Err(e) => return Err(e.into()),
        }
    }
    let mut by_field: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in errors {
        by_field
            .entry(field_key(&e.field))
            .or_default()
            .push(e.detail);
    }
    let groups = account_groups(&state, &signed).await?;
    Ok(form_page(
        StatusCode::BAD_REQUEST,
        &signed,
        &groups,
        &entered,
        &by_field,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_in_words_counts_whole_days_up() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T10:00:00Z")
            .unwrap()
            .naive_utc();
        let words = |h: i64| marker_words(Some(now + chrono::Duration::hours(h)), now);
        assert_eq!(words(48), "expires in 2 days");
        assert_eq!(words(47), "expires in 2 days");
        assert_eq!(words(49), "expires in 3 days");
        assert_eq!(words(24), "expires in 1 day");
        assert_eq!(words(5), "expires within a day");
        assert_eq!(words(0), "expired");
        assert_eq!(field_key("stores[0].refId"), "stores");
        assert_eq!(field_key("givenName"), "givenName");
    }
}
