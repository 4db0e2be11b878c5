//! Invitations on the admin API (the CMS "Invite user" form and the invited-users tab):
//! `POST /admin/v1/invitations`, `GET /admin/v1/invitations` (paged, soonest expiry first;
//! `?marker=ok|yellow|red`, `?delivery=` (or `?state=`) `queued|sent|failing|failed`, `?search=`
//! over the invitee's name, userName, e-mail and phone),
//! `GET /admin/v1/invitations/{id}`, `POST /admin/v1/invitations/{id}/resend` (202, or 429 with
//! `Retry-After` inside the cool-down) and `DELETE /admin/v1/invitations/{id}` (withdraw).

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::InvitationPage;
use super::{PageParams, write};
use crate::error::{FieldError, ServiceError};
use crate::invitations::{self, ListFilter, Marker, delivery};
use crate::state::AppState;
use crate::text::{Lines, forbidden_char};

/// Registers the invitation routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/invitations", web::post().to(create))
        .route("/invitations", web::get().to(list))
        .route("/invitations/{id}", web::get().to(get))
        .route("/invitations/{id}", web::delete().to(withdraw))
        .route("/invitations/{id}/resend", web::post().to(resend));
}

async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ProblemError> {
    let form = super::invitation_form::read(&body).map_err(ServiceError::InvalidFields)?;
    let invitation = write(&state, caller, move |conn, ctx, st| {
        invitations::create(conn, ctx, &st.invitations, &form)
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            actix_web::http::header::LOCATION,
            format!("/admin/v1/invitations/{}", invitation.id),
        ))
        .json(invitation))
}

/// The longest `?search=` text read, in characters.
const MAX_SEARCH_CHARS: usize = 100;
/// The query parameters `GET /admin/v1/invitations` knows.
const LIST_PARAMS: &[&str] = &[
    "startIndex",
    "count",
    "marker",
    "delivery",
    "state",
    "search",
];

/// Reads the list's filter from the query string; every unknown parameter and value is named.
fn list_filter(query: &str) -> Result<(PageParams, ListFilter), ServiceError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| {
            ServiceError::InvalidFields(vec![FieldError::new(
                "",
                "the query string is not valid form encoding",
            )])
        })?
        .into_inner();
    let mut errors = Vec::new();
    let mut page = PageParams {
        start_index: None,
        count: None,
    };
    let mut filter = ListFilter::default();
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &pairs {
        let Some(known) = LIST_PARAMS.iter().find(|k| **k == name.as_str()) else {
            errors.push(FieldError::new(
                name.chars().take(64).collect::<String>(),
                format!(
                    "is not a parameter of this list (they are {})",
                    LIST_PARAMS.join(", ")
                ),
            ));
            continue;
        };
        if seen.contains(known) {
            errors.push(FieldError::new(*known, "is given more than once"));
            continue;
        }
        seen.push(known);
        let shown: String = value.chars().take(64).collect();
        match *known {
            "startIndex" => page.start_index = Some(value.clone()),
            "count" => page.count = Some(value.clone()),
            "marker" => match value.as_str() {
                "ok" => filter.marker = Some(Marker::Ok),
                "yellow" => filter.marker = Some(Marker::Yellow),
                "red" => filter.marker = Some(Marker::Red),
                _ => errors.push(FieldError::new(
                    "marker",
                    format!("{shown:?} is not a marker; use ok, yellow or red"),
                )),
            },
            "delivery" | "state" => match delivery::Status::parse(value) {
                Some(_) if filter.delivery.is_some() => errors.push(FieldError::new(
                    *known,
                    "delivery and state are the same filter; give one",
                )),
                Some(status) => filter.delivery = Some(status),
                None => errors.push(FieldError::new(
                    *known,
                    format!(
                        "{shown:?} is not a delivery status; use queued, sent, failing or failed"
                    ),
                )),
            },
            _ => {
                let term = value.trim();
                if term.chars().count() > MAX_SEARCH_CHARS {
                    errors.push(FieldError::new(
                        "search",
                        format!("is longer than {MAX_SEARCH_CHARS} characters"),
                    ));
                } else if forbidden_char(term, Lines::Single).is_some() {
                    errors.push(FieldError::new("search", "holds a control character"));
                } else if !term.is_empty() {
                    filter.search = Some(term.to_owned());
                }
            }
        }
    }
    if errors.is_empty() {
        Ok((page, filter))
    } else {
        Err(ServiceError::InvalidFields(errors))
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, ProblemError> {
    let (params, filter) = list_filter(req.query_string())?;
    let page = params.page(state.settings.max_results)?;
    let st = state.clone();
    let (total, rows) = run_db(&state, move |conn| {
        invitations::list(
            conn,
            &st.invitations,
            &caller.0.account.id,
            &filter,
            (page.offset() as i64, page.count as i64),
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(InvitationPage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: rows.len(),
        invitations: rows,
    }))
}

async fn get(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let st = state.clone();
    let invitation = run_db(&state, move |conn| {
        invitations::get(
            conn,
            &st.invitations,
            &caller.0.account.id,
            &id,
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(invitation))
}

async fn resend(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let invitation = write(&state, caller, move |conn, ctx, st| {
        invitations::resend(conn, ctx, &st.invitations, &id)
    })
    .await?;
    Ok(HttpResponse::Accepted().json(invitation))
}

async fn withdraw(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    write(&state, caller, move |conn, ctx, _| {
        invitations::withdraw(conn, ctx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
