//! `POST /invitations/accept` with `{"token": "…"}` from the e-mailed link: registers the user, ends
//! the invitation and answers `{"userId", "sessionToken", "expiresAt"}` (an app session). Unknown,
//! used and withdrawn links are a 404, expired ones a 410, CrewPlanner-only and deactivated users a
//! 403; none of them changes anything. Errors are `application/problem+json`.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::super::error::{Failure, ProblemError};
use super::super::run_db;
use crate::error::{FieldError, ServiceError};
use crate::invitations;
use crate::state::AppState;

/// Registers the route, with problem+json errors for its body.
pub fn routes(limit: usize) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.service(
            web::scope("/invitations")
                .wrap(actix_web::middleware::from_fn(|req, next| {
                    super::super::intake::intake(super::super::intake::Gate::Open, req, next)
                }))
                .wrap(actix_web::middleware::from_fn(super::super::cors::app_api))
                .app_data(super::super::problem_json_config(limit))
                .route("/accept", web::post().to(accept))
                .default_service(web::to(|| async {
                    Err::<HttpResponse, _>(ProblemError(Failure::NoRoute))
                })),
        );
    }
}

/// The body of `POST /invitations/accept`.
#[derive(Debug, Deserialize)]
pub struct AcceptBody {
    token: Option<String>,
}

async fn accept(
    state: web::Data<AppState>,
    body: web::Json<AcceptBody>,
) -> Result<HttpResponse, ProblemError> {
    let token = match body.into_inner().token {
        Some(t) if !t.is_empty() && t.len() <= invitations::MAX_TOKEN_LEN => t,
        _ => {
            return Err(ServiceError::InvalidFields(vec![FieldError::new(
                "token",
                "is required: the token of the invitation link (the part after ?token=)",
            )])
            .into());
        }
    };
    let st = state.clone();
    let accepted = run_db(&state, move |conn| {
        invitations::accept(
            conn,
            &st.server_key,
            &token,
            st.app.session_lifetime,
            st.clock.now_naive(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(accepted))
}
