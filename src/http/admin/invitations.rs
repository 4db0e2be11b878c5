//! Invitations on the admin API (the CMS "Invite user" form and the invited-users tab):
//! `POST /admin/v1/invitations`, `GET /admin/v1/invitations` (paged, soonest expiry first),
//! `GET /admin/v1/invitations/{id}`, `POST /admin/v1/invitations/{id}/resend` (202, or 429 with
//! `Retry-After` inside the cool-down) and `DELETE /admin/v1/invitations/{id}` (withdraw).

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::InvitationPage;
use super::{PageParams, write};
use crate::error::ServiceError;
use crate::invitations;
use crate::state::AppState;

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

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ProblemError> {
    let page = params.page(state.settings.max_results)?;
    let st = state.clone();
    let (total, rows) = run_db(&state, move |conn| {
        invitations::list(
            conn,
            &st.invitations,
            &caller.0.account.id,
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
