//! The provisioning log on the admin API: `GET /admin/v1/audit`, filtered by resource, code and
//! time, paged, newest first.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::{AuditEvent, AuditPage};
use crate::audit;
use crate::scim::error::InputError;
use crate::scim::list::Page;
use crate::state::AppState;

/// Registers the route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(list_audit));
}

/// Query parameters of `GET /admin/v1/audit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditParams {
    resource_type: Option<String>,
    resource_id: Option<String>,
    code: Option<String>,
    since: Option<String>,
    until: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
}

fn time(name: &str, raw: Option<&str>) -> Result<Option<NaiveDateTime>, InputError> {
    raw.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.naive_utc())
            .map_err(|_| {
                InputError::invalid_value(format!(
                    "\"{name}\" must be an RFC 3339 time such as 2026-11-22T10:00:00Z"
                ))
            })
    })
    .transpose()
}

async fn list_audit(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<AuditParams>,
) -> Result<HttpResponse, ProblemError> {
    let p = params.into_inner();
    let page = Page::from_params(
        p.start_index.as_deref(),
        p.count.as_deref(),
        state.settings.max_results,
    )?;
    let query = audit::Query {
        since: time("since", p.since.as_deref())?,
        until: time("until", p.until.as_deref())?,
        resource_type: p.resource_type,
        resource_id: p.resource_id,
        code: p.code,
        action: None,
        offset: page.offset() as i64,
        limit: page.count as i64,
    };
    let account_id = caller.0.account.id.clone();
    let (total, rows) = run_db(&state, move |conn| {
        Ok(audit::list(conn, &account_id, &query)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(AuditPage {
        total_results: total,
        start_index: page.start_index,
        items_per_page: rows.len(),
        events: rows.iter().map(AuditEvent::from).collect(),
    }))
}
