//! The account's background jobs on the admin API: `GET /admin/v1/jobs` lists them (all, or those
//! of one `state`, e.g. `?state=failed`),
//! `POST /admin/v1/jobs/{id}/retry` queues a failed one again. An account sees only its own jobs:
//! another account's and server-wide jobs are a 404 (those are for the CLI, `jobs list|retry`).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::{Job, JobList};
use crate::jobs::{JobState, queue};
use crate::scim::error::InputError;
use crate::state::AppState;

/// Registers the job routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/jobs", web::get().to(list_jobs))
        .route("/jobs/{id}/retry", web::post().to(retry_job));
}

/// Query parameters of `GET /admin/v1/jobs`.
#[derive(Debug, Deserialize)]
pub struct JobsParams {
    state: Option<String>,
    count: Option<String>,
}

async fn list_jobs(
    state: web::Data<AppState>,
    caller: AdminCaller,
    params: web::Query<JobsParams>,
) -> Result<HttpResponse, ProblemError> {
    let p = params.into_inner();
    let job_state = match p.state.as_deref() {
        None => None,
        Some(s) => Some(JobState::parse(s).ok_or_else(|| {
            InputError::invalid_value("\"state\" must be queued, running, done or failed")
        })?),
    };
    let max = state.settings.max_results as i64;
    let count = match p.count.as_deref() {
        None => 100.min(max),
        Some(c) => c
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| InputError::invalid_value("\"count\" must be a whole number"))?
            .min(max),
    };
    let account_id = caller.0.account.id.clone();
    let rows = run_db(&state, move |conn| {
        Ok(queue::list(conn, Some(&account_id), job_state, count)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(JobList {
        items_per_page: rows.len(),
        jobs: rows.iter().map(Job::from).collect(),
    }))
}

async fn retry_job(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let row = run_db(&state, move |conn| {
        queue::retry(conn, Some(&account_id), &id, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Job::from(&row)))
}
