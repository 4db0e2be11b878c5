//! Signing in again with a one-time code ([`crate::signin`]):
//! - `POST /app/v1/sign-in/code` with `{"email"}` or `{"phone"}` and an optional `"accountId"`
//!   answers 202 with the same body whoever asks (no enumeration); the code goes out by e-mail or
//!   text through the job queue when exactly one user may sign in with the contact. A client
//!   address that asks too often gets a 429 with `Retry-After`; a contact asked for too often
//!   gets the same 202 and nothing more is sent.
//! - `POST /app/v1/sign-in` with the same contact (and `accountId`) and `"code"` answers
//!   `{userId, sessionToken, expiresAt}` like the session exchange; a wrong, used, expired or
//!   void code is a 401 with one generic detail. A client address that tries too many codes
//!   (across codes and contacts) gets a 429 with `Retry-After`, and the code is not looked at.
//!
//! Bodies are small JSON documents (at most [`MAX_BODY`] bytes); errors are
//! `application/problem+json`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::super::error::{Failure, ProblemError};
use super::super::run_db;
use crate::clock::rfc3339;
use crate::error::ServiceError;
use crate::signin::{self, Asker, Refused};
use crate::state::AppState;

/// The largest body either endpoint reads.
pub const MAX_BODY: usize = 4096;

/// The one detail of every refused sign-in.
const REFUSED: &str = "the code is wrong, expired or already used: ask for a new code (codes are valid \
                       once, for 10 minutes, and void after 5 wrong tries)";

/// The routes, under `/app/v1`, behind intake with no caller to check.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use super::super::intake::{Gate, intake};
    use actix_web::middleware::from_fn;
    cfg.service(
        web::scope("/sign-in")
            .wrap(from_fn(|req, next| intake(Gate::Open, req, next)))
            .app_data(super::super::problem_json_config(MAX_BODY))
            .service(web::resource("").post(sign_in))
            .service(web::resource("/code").post(request_code)),
    );
}

/// The contact of both bodies.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CodeRequestBody {
    email: Option<String>,
    phone: Option<String>,
    account_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SignInBody {
    email: Option<String>,
    phone: Option<String>,
    account_id: Option<String>,
    code: Option<String>,
}

/// The client's address as the connection shows it (forwarding headers are not trusted).
fn client_address(req: &HttpRequest) -> String {
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

async fn request_code(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<CodeRequestBody>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    let asker = Asker::parse(
        body.email.as_deref(),
        body.phone.as_deref(),
        body.account_id.as_deref(),
    )?;
    if let Err(wait) = state.sign_in_limits.check_address(&client_address(&req)) {
        return Err(ServiceError::TooSoon {
            detail: "too many sign-in codes asked for from this address; wait and try again"
                .to_owned(),
            retry_after_secs: i64::try_from(wait).unwrap_or(i64::MAX),
        }
        .into());
    }
    let contact_mac = asker.contact_mac(&state.server_key);
    // A contact asked for too often is answered alike, and sent nothing more.
    if state.sign_in_limits.check_contact(&contact_mac).is_ok() {
        let st = state.clone();
        let now = state.clock.now_naive();
        run_db(&state, move |conn| {
            signin::request_code(conn, &st.server_key, &asker, now)
        })
        .await?;
    }
    Ok(HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({
            "status": "accepted",
            "detail": "if this contact belongs to a MobieTrain user who can sign in this way, a \
                       code is on its way; it is valid for 10 minutes",
        })))
}

async fn sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Json<SignInBody>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    let asker = Asker::parse(
        body.email.as_deref(),
        body.phone.as_deref(),
        body.account_id.as_deref(),
    )?;
    let Some(code) = body.code.filter(|c| c.len() <= 64) else {
        return Err(
            ServiceError::InvalidFields(vec![crate::error::FieldError::new(
                "code",
                "is required: the 6-digit code that was sent",
            )])
            .into(),
        );
    };
    if let Err(wait) = state.sign_in_limits.check_attempt(&client_address(&req)) {
        return Err(ServiceError::TooSoon {
            detail: "too many sign-in attempts from this address; wait and try again".to_owned(),
            retry_after_secs: i64::try_from(wait).unwrap_or(i64::MAX),
        }
        .into());
    }
    let st = state.clone();
    let lifetime = state.app.session_lifetime;
    let now = state.clock.now_naive();
    let outcome = run_db(&state, move |conn| {
        signin::sign_in(conn, &st.server_key, &asker, code.trim(), lifetime, now)
    })
    .await?;
    match outcome {
        Ok(session) => Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(json!({
                "userId": session.user_id,
                "sessionToken": session.token,
                "expiresAt": rfc3339(session.expires_at),
            }))),
        Err(Refused::Malformed) => {
            Err(
                ServiceError::InvalidFields(vec![crate::error::FieldError::new(
                    "code",
                    "must be the 6 digits that were sent",
                )])
                .into(),
            )
        }
        Err(Refused::Wrong) => Err(ProblemError(Failure::Unauthorized(REFUSED))),
    }
}
