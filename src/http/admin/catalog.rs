//! The admin API's account catalogue: stores (`GET /admin/v1/stores`, paged, with user counts) and
//! group rules (`GET`/`POST /admin/v1/group-rules`, `DELETE /admin/v1/group-rules/{id}`).

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use crate::scim::list::Page;
use crate::state::AppState;
use crate::stores;
use crate::users::group_rules;

/// Registers the catalogue routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::get().to(list_stores))
        .route("/group-rules", web::get().to(list_rules))
        .route("/group-rules", web::post().to(create_rule))
        .route("/group-rules/{id}", web::delete().to(delete_rule));
}

/// Paging parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    /// 1-based index of the first result.
    pub start_index: Option<String>,
    /// How many results at most.
    pub count: Option<String>,
}

impl PageParams {
    /// The page these parameters ask for, at most `max_results` long.
    pub fn page(&self, max_results: u64) -> Result<Page, ProblemError> {
        Ok(Page::from_params(
            self.start_index.as_deref(),
            self.count.as_deref(),
            max_results,
        )?)
    }
}

/// A store as the admin API shows it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StoreView {
    id: String,
    ref_id: String,
    name: Option<String>,
    country_calling_code: String,
    user_count: i64,
}

/// A page of stores.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StorePage {
    total_results: i64,
    start_index: u64,
    items_per_page: usize,
    stores: Vec<StoreView>,
}

async fn list_stores(
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
    let stores: Vec<StoreView> = rows
        .into_iter()
        .map(|s| StoreView {
            id: s.store.id,
            ref_id: s.store.ref_id,
            name: s.store.name,
            country_calling_code: s.store.country_calling_code,
            user_count: s.user_count,
        })
        .collect();
    Ok(HttpResponse::Ok().json(StorePage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: stores.len(),
        stores,
    }))
}

/// The body of `POST /admin/v1/group-rules`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewRule {
    attribute: String,
    group_type: String,
}

async fn list_rules(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let rows = run_db(&state, move |conn| {
        Ok(group_rules::list(conn, &account_id)?)
    })
    .await?;
    let rules: Vec<Value> = rows.iter().map(group_rules::to_json).collect();
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "totalResults": rules.len(),
        "rules": rules,
    })))
}

async fn create_rule(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<NewRule>,
) -> Result<HttpResponse, ProblemError> {
    let st = state.clone();
    let row = run_db(&state, move |conn| {
        group_rules::create(
            conn,
            &st.registry,
            &caller.0.account.id,
            &caller.0.actor(),
            &body.attribute,
            &body.group_type,
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(group_rules::to_json(&row)))
}

async fn delete_rule(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let st = state.clone();
    run_db(&state, move |conn| {
        group_rules::delete(
            conn,
            &caller.0.account.id,
            &caller.0.actor(),
            &id,
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
