//! The admin API's account catalogue: group rules (`GET`/`POST /admin/v1/group-rules`,
//! `DELETE /admin/v1/group-rules/{id}`). Stores are in [`super::stores`].

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::{GroupRule, GroupRuleList};
use crate::state::AppState;
use crate::users::group_rules;

/// Registers the catalogue routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/group-rules", web::get().to(list_rules))
        .route("/group-rules", web::post().to(create_rule))
        .route("/group-rules/{id}", web::delete().to(delete_rule));
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
    Ok(HttpResponse::Ok().json(GroupRuleList {
        total_results: rows.len(),
        rules: rows.iter().map(GroupRule::from).collect(),
    }))
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
    Ok(HttpResponse::Created().json(GroupRule::from(&row)))
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
