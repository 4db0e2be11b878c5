//! Stores on the admin API: `GET /admin/v1/stores` (paged by ref id, each with its user count from
//! one grouped query) and `PATCH /admin/v1/stores/{id}` `{"name": …}`, the only way a store is
//! renamed (its version moves, and with it the ETags of its users).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::{Store, StorePage};
use super::{PageParams, write};
use crate::state::AppState;
use crate::stores;

/// Registers the store routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::get().to(list))
        .route("/stores/{id}", web::patch().to(rename));
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<PageParams>,
) -> Result<HttpResponse, ProblemError> {
    let page = params.page(state.settings.max_results)?;
    let account_id = caller.0.account.id.clone();
    let (total, rows) = run_db(&state, move |conn| {
        Ok(stores::list(
            conn,
            &account_id,
            page.offset() as i64,
            page.count as i64,
        )?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(StorePage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: rows.len(),
        stores: rows.iter().map(Store::from).collect(),
    }))
}

/// The body of `PATCH /admin/v1/stores/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreChange {
    name: String,
}

async fn rename(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: web::Json<StoreChange>,
) -> Result<HttpResponse, ProblemError> {
    let name = body.into_inner().name;
    let store = write(&state, caller, move |conn, ctx, _| {
        stores::rename(conn, ctx, &id, &name)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Store::from(&store)))
}
