//! The app API (`/app/v1`): trade a one-time code for a session, sign in again with a code sent by
//! e-mail or text ([`sign_in`]), read the signed-in user and the onboarding still required,
//! complete onboarding (a regional language tag such as `nl-BE` is read as its language), sign
//! out. Sessions are bearer tokens
//! ([`crate::sessions`]); errors are `application/problem+json`.

pub mod accept;
pub mod sign_in;

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, dev::Payload, web};
use serde::Deserialize;
use serde_json::json;

use super::error::{Failure, ProblemError};
use super::run_db;
use crate::clock::rfc3339;
use crate::error::ServiceError;
use crate::sessions::{self, CodeRefusal, SessionCaller};
use crate::state::AppState;
use crate::users;

/// The routes, under `/app/v1`, each behind intake: `/me` checks the session before anything else;
/// `/session` is where a session starts, so its token (to sign out) is checked by [`AppCaller`].
pub fn routes(cfg: &mut web::ServiceConfig) {
    use super::intake::{Gate, intake};
    use actix_web::middleware::from_fn;
    cfg.service(
        web::resource("/session")
            .wrap(from_fn(|req, next| intake(Gate::Open, req, next)))
            .post(exchange_code)
            .delete(sign_out),
    )
    .service(
        web::scope("/me")
            .wrap(from_fn(|req, next| intake(Gate::Session, req, next)))
            .service(web::resource("").get(me))
            .service(web::resource("/onboarding").post(onboard)),
    )
    .configure(sign_in::routes);
}

/// A caller with a live session of an active user.
#[derive(Debug, Clone)]
pub struct AppCaller(pub SessionCaller);

impl FromRequest for AppCaller {
    type Error = ProblemError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ProblemError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            // Behind `Gate::Session`, intake has checked the session already.
            if let Some(caller) = req.extensions().get::<SessionCaller>().cloned() {
                return Ok(AppCaller(caller));
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .expect("AppState is registered by http::configure")
                .clone();
            let Some(token) = super::auth::bearer(&req) else {
                return Err(ProblemError(Failure::Unauthorized(super::auth::NO_SESSION)));
            };
            let now = state.clock.now_naive();
            let found = run_db(&state, move |conn| {
                sessions::authenticate(conn, &token, now)
            })
            .await
            .map_err(|e| ProblemError(e.into()))?;
            found
                .map(AppCaller)
                .ok_or(ProblemError(Failure::Unauthorized(
                    super::auth::SESSION_ENDED,
                )))
        })
    }
}

fn no_store(mut builder: actix_web::HttpResponseBuilder) -> actix_web::HttpResponseBuilder {
    builder.insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
}

async fn exchange_code(
    state: web::Data<AppState>,
    body: web::Json<CodeBody>,
) -> Result<HttpResponse, ProblemError> {
    let code = body.into_inner().code;
    let lifetime = state.app.session_lifetime;
    let now = state.clock.now_naive();
    let outcome = run_db(&state, move |conn| {
        sessions::redeem_code(conn, &code, lifetime, now)
    })
    .await
    .map_err(|e| ProblemError(e.into()))?;
    match outcome {
        Ok(session) => Ok(no_store(HttpResponse::Ok()).json(json!({
            "userId": session.user_id,
            "sessionToken": session.token,
            "expiresAt": rfc3339(session.expires_at),
        }))),
        Err(CodeRefusal::Invalid) => Err(ProblemError(Failure::Unauthorized(
            "the code is unknown, already used or expired (codes are valid once, for 60 seconds)",
        ))),
        Err(CodeRefusal::UserInactive) => Err(ProblemError(Failure::Unauthorized(
            "the user was deactivated",
        ))),
    }
}

async fn sign_out(
    state: web::Data<AppState>,
    caller: AppCaller,
) -> Result<HttpResponse, ProblemError> {
    run_db(&state, move |conn| {
        sessions::end(conn, &caller.0.session_id)
    })
    .await
    .map_err(|e| ProblemError(e.into()))?;
    Ok(HttpResponse::NoContent().finish())
}

async fn me(state: web::Data<AppState>, caller: AppCaller) -> Result<HttpResponse, ProblemError> {
    let c = caller.0;
    let body = run_db(&state, move |conn| {
        let rec = users::get(conn, &c.account_id, &c.user_id)?;
        let onboarding = sessions::onboarding(conn, &c.user_id)?;
        Ok(json!({
            "id": rec.row.id,
            "accountId": rec.row.account_id,
            "userName": rec.row.user_name,
            "name": {"givenName": rec.row.given_name, "familyName": rec.row.family_name},
            "emails": rec.emails.iter().map(|e| e.value.clone()).collect::<Vec<_>>(),
            "title": rec.row.title,
            "groups": rec.groups.iter().map(|g| json!({"id": g.group_id, "display": g.display}))
                .collect::<Vec<_>>(),
            "stores": rec.stores.iter().map(|(_, s)| json!({"refId": s.ref_id, "name": s.name}))
                .collect::<Vec<_>>(),
            "origin": rec.row.origin,
            "onboarding": onboarding,
            "sessionExpiresAt": rfc3339(c.expires_at),
        }))
    })
    .await
    .map_err(|e| ProblemError(e.into()))?;
    Ok(no_store(HttpResponse::Ok()).json(body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OnboardingBody {
    language: String,
    accept_terms: bool,
}

async fn onboard(
    state: web::Data<AppState>,
    caller: AppCaller,
    body: web::Json<OnboardingBody>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    if !body.accept_terms {
        return Err(ProblemError(
            ServiceError::invalid_value(
                "acceptTerms must be true: the terms and conditions must be accepted to use the app",
            )
            .into(),
        ));
    }
    let c = caller.0;
    let now = state.clock.now_naive();
    let onboarding = run_db(&state, move |conn| {
        sessions::complete_onboarding(conn, &c.account_id, &c.user_id, &body.language, now)
    })
    .await
    .map_err(|e| ProblemError(e.into()))?;
    Ok(no_store(HttpResponse::Ok()).json(json!({ "onboarding": onboarding })))
}
