//! Users on the admin API: `GET /admin/v1/users` (the directory: paged, `?search=` over names,
//! userName, externalId, e-mail and phone; filters `groupId`, `storeId` (id or ref id), `registration`,
//! `inNoGroup`, `active`), `GET /admin/v1/users/{id}` (the user as SCIM shows them) and
//! `DELETE /admin/v1/users/{id}`, the seed's "manually deleted in the CMS", for users no identity
//! provider manages: a SCIM-provisioned user is refused (403, [`users::delete_unmanaged`]) with a
//! problem body saying so.

use actix_web::{HttpResponse, web};

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::directory_views::{User, UserPage};
use super::{PageParams, write};
use crate::error::{FieldError, ServiceError};
use crate::state::AppState;
use crate::users;
use crate::users::directory::{self, DirectoryQuery};

/// Registers the user routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(list))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::delete().to(delete));
}

/// Query parameters of `GET /admin/v1/users`, read as text and checked here so that every bad one
/// is named.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    search: Option<String>,
    group_id: Option<String>,
    store_id: Option<String>,
    registration: Option<String>,
    in_no_group: Option<String>,
    active: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
}

fn flag(name: &str, raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<bool> {
    match raw? {
        "true" => Some(true),
        "false" => Some(false),
        _ => {
            errors.push(FieldError::new(name, "must be true or false"));
            None
        }
    }
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ProblemError> {
    let p = params.into_inner();
    let page = PageParams {
        start_index: p.start_index,
        count: p.count,
    }
    .page(state.settings.max_results)?;
    let mut errors = Vec::new();
    let in_no_group = flag("inNoGroup", p.in_no_group.as_deref(), &mut errors);
    let active = flag("active", p.active.as_deref(), &mut errors);
    if !errors.is_empty() {
        return Err(ServiceError::InvalidFields(errors).into());
    }
    let query = DirectoryQuery {
        search: p.search,
        group_id: p.group_id,
        store: p.store_id,
        registration: p.registration,
        in_no_group,
        active,
        offset: page.offset() as i64,
        limit: page.count as i64,
    };
    let account_id = caller.0.account.id.clone();
    let (total, rows) = run_db(&state, move |conn| {
        directory::list(conn, &account_id, &query)
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserPage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: rows.len(),
        users: rows.iter().map(User::from).collect(),
    }))
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
