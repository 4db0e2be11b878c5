//! Users on the admin API: `GET /admin/v1/users/{id}` (the user as SCIM shows them) and
//! `DELETE /admin/v1/users/{id}`, the seed's "manually deleted in the CMS", for users no identity
//! provider manages: a SCIM-provisioned user is refused (403) with a problem body saying so.

use actix_web::{HttpResponse, web};

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use crate::error::ServiceError;
use crate::scim::etag::Precondition;
use crate::state::AppState;
use crate::users::{self, origin};

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
        rec.row.version,
    ))
}

async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let st = state.clone();
    run_db(&state, move |conn| {
        write_ctx!(st, caller, actor, ctx);
        crate::db::write_transaction(conn, |conn| {
            let rec = users::get(conn, &ctx.account.id, &id)?;
            if rec.row.origin == origin::SCIM {
                return Err(ServiceError::Forbidden(
                    "this user is managed by the account's identity provider (provisioned over \
                     SCIM): delete or deactivate them there"
                        .to_owned(),
                ));
            }
            users::delete(conn, &ctx, &id, &Precondition::None)
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
