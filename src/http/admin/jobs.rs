//! The account's background jobs on the admin API: `GET /admin/v1/jobs` lists them (all, or those
//! of one `state`, e.g. `?state=failed`),
//! `POST /admin/v1/jobs/{id}/retry` queues a failed one again. An account sees only its own jobs:
//! another account's and server-wide jobs are a 404 (those are for the CLI, `jobs list|retry`).
//! Each job names what it is for (`invitationId`, `userId`), read from its payload by the payload's
//! own type ([`subject`]); the payload itself is not shown.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::{Job, JobList};
use crate::db::models::JobRow;
use crate::email::job::SendEmail;
use crate::invitations::jobs::{ExpireInvitation, InvitationEmail};
use crate::jobs::{JobState, JobType, queue};
use crate::scim::error::InputError;
use crate::state::AppState;
use crate::users::jobs::ProvisionInvitation;

/// What a job is for, by id: never contact data (payloads hold none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// The invitation the job is for.
    pub invitation_id: Option<String>,
    /// The user the job is for.
    pub user_id: Option<String>,
}

/// What `row` is for, read from its payload as the payload's own job type; nothing for a job
/// type that names no invitation or user (or a payload that does not fit its type).
pub fn subject(row: &JobRow) -> Subject {
    fn read<J: JobType>(payload: &str) -> Option<J> {
        serde_json::from_str(payload).ok()
    }
    let p = row.payload.as_str();
    let name = row.name.as_str();
    let (invitation_id, user_id) = if name == InvitationEmail::NAME {
        (read::<InvitationEmail>(p).map(|j| j.invitation_id), None)
    } else if name == ExpireInvitation::NAME {
        (read::<ExpireInvitation>(p).map(|j| j.invitation_id), None)
    } else if name == ProvisionInvitation::NAME {
        (None, read::<ProvisionInvitation>(p).map(|j| j.user_id))
    } else if name == SendEmail::NAME {
        (None, read::<SendEmail>(p).map(|j| j.user_id))
    } else {
        (None, None)
    };
    Subject {
        invitation_id,
        user_id,
    }
}

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
