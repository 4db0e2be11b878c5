//! Liveness (`/healthz`, touches no database) and readiness (`/readyz`, the database answers; the
//! job queue's backlog comes along as detail: `queued` counts only the jobs that are due now, so a
//! backlog can be alerted on; `scheduled` those queued for later, such as reminders).

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::run_db;
use crate::state::AppState;

/// 200 while the process serves HTTP.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when a database connection answers a query, 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let now = state.clock.now_naive();
    let ping = run_db(&state, move |conn| {
        crate::db::ping(conn)?;
        Ok(crate::jobs::queue::backlog(conn, now)?)
    })
    .await;
    match ping {
        Ok(b) => {
            let jobs = json!({
                "queued": b.due,
                "scheduled": b.scheduled,
                "running": b.running,
                "done": b.done,
                "failed": b.failed,
            });
            HttpResponse::Ok().json(json!({"status": "ready", "database": "ok", "jobs": jobs}))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}
