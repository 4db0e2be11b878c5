//! Liveness (`/healthz`, touches no database) and readiness (`/readyz`, the database answers; the
//! job queue's counts per state come along as detail).

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
    let ping = run_db(&state, |conn| {
        crate::db::ping(conn)?;
        Ok(crate::jobs::queue::count_by_state(conn)?)
    })
    .await;
    match ping {
        Ok(counts) => {
            let jobs: serde_json::Map<String, serde_json::Value> = counts
                .into_iter()
                .map(|(state, n)| (state.as_str().to_owned(), json!(n)))
                .collect();
            HttpResponse::Ok().json(json!({"status": "ready", "database": "ok", "jobs": jobs}))
        }
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "unreachable"}))
        }
    }
}
