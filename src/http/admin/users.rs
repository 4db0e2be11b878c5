//! Users on the admin API: `GET /admin/v1/users/{id}` (the user as SCIM shows them) and
//! `DELETE /admin/v1/users/{id}`, the seed's "manually deleted in the CMS", for users no identity
//! provider manages: a SCIM-provisioned user is refused (403, [`users::delete_unmanaged`]) with a
//! problem body saying so.

use actix_web::{HttpResponse, web};

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::write;
use crate::state::AppState;
use crate::users;

/// Registers the user routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::delete().to(delete));
}

async fn get(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let rec = run_db(&state, move |conn| users::get(conn, &account_id, &id)).await?;
    let base = super::super::scim_base(&state);
    Ok(super::super::with_etag(
        HttpResponse::Ok().json(users::to_resource(&rec, &base)),
        &rec.tag(),
    ))
}

async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    write(&state, caller, move |conn, ctx, _| {
        users::delete_unmanaged(conn, ctx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
