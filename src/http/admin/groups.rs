//! Groups on the admin API: `GET /admin/v1/groups` (paged, `?search=` over the name), `GET`,
//! `PATCH` (rename, groupType) and `DELETE /admin/v1/groups/{id}`, `POST /admin/v1/groups`. A group
//! an identity provider manages (made over SCIM) is read-only here: a 409 says so.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Deserializer};

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::directory_views::{Group, GroupPage};
use super::{PageParams, write};
use crate::groups::AttributeChanges;
use crate::groups::admin::{self, GroupQuery, NewGroup};
use crate::state::AppState;

/// Registers the group routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/groups", web::get().to(list))
        .route("/groups", web::post().to(create))
        .route("/groups/{id}", web::get().to(get))
        .route("/groups/{id}", web::patch().to(patch))
        .route("/groups/{id}", web::delete().to(delete));
}

/// Query parameters of `GET /admin/v1/groups`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    search: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

/// The body of `POST /admin/v1/groups`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewGroupBody {
    display_name: String,
    group_type: Option<String>,
}

/// The body of `PATCH /admin/v1/groups/{id}`: what it names changes; `"groupType": null` clears it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupChangeBody {
    display_name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    group_type: Option<Option<String>>,
}

/// A field that is present, as `Some` of its value (`null` included).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ProblemError> {
    let params = params.into_inner();
    let page = params.page.page(state.settings.max_results)?;
    let query = GroupQuery {
        search: params.search,
        offset: page.offset() as i64,
        limit: page.count as i64,
    };
    let account_id = caller.0.account.id.clone();
    let (total, rows) = run_db(&state, move |conn| admin::list(conn, &account_id, &query)).await?;
    Ok(HttpResponse::Ok().json(GroupPage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: rows.len(),
        groups: rows.iter().map(Group::from).collect(),
    }))
}

async fn get(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let group = run_db(&state, move |conn| admin::summary(conn, &account_id, &id)).await?;
    Ok(HttpResponse::Ok().json(Group::from(&group)))
}

async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<NewGroupBody>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    let new = NewGroup {
        display_name: body.display_name,
        group_type: body.group_type,
    };
    let group = write(&state, caller, move |conn, ctx, _| {
        admin::create(conn, ctx, &new)
    })
    .await?;
    Ok(HttpResponse::Created().json(Group::from(&group)))
}

async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: web::Json<GroupChangeBody>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    let changes = AttributeChanges {
        display_name: body.display_name,
        external_id: None,
        group_type: body.group_type,
    };
    let group = write(&state, caller, move |conn, ctx, _| {
        admin::edit(conn, ctx, &id, &changes)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Group::from(&group)))
}

async fn delete(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    write(&state, caller, move |conn, ctx, _| {
        admin::delete(conn, ctx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
