//! `GET /crewplanner/{account_id}/launch?jwt=…`: the CrewPlanner link. Open to the internet; every
//! answer is `Cache-Control: no-store` and `Referrer-Policy: no-referrer`. Success is a 303 to the
//! app with a one-time code; a refusal is a short page, or `application/problem+json` when the
//! client asks for JSON, naming the reason class (never the token).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde_json::json;

use crate::context::Actor;
use crate::context::WriteContext;
use crate::crewplanner::refusal::{Reason, Refusal};
use crate::crewplanner::{self, LaunchError, Launched, link, token};
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::state::AppState;

/// The longest account id in a path (a UUID is 36).
const MAX_ACCOUNT_ID_LEN: usize = 64;
/// The longest query string read.
const MAX_QUERY_LEN: usize = token::MAX_TOKEN_BYTES + 512;

/// The routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/crewplanner/{account_id}/launch").get(launch));
}

async fn launch(
    req: HttpRequest,
    state: web::Data<AppState>,
    account_id: web::Path<String>,
) -> HttpResponse {
    match try_launch(&req, &state, account_id.into_inner()).await {
        Ok(launched) => {
            let location = format!("{}?code={}", state.app.app_url, launched.code);
            guarded(HttpResponse::SeeOther())
                .insert_header((header::LOCATION, location))
                .finish()
        }
        Err(LaunchError::Refused(refusal)) => {
            state.crewplanner.refusals.count(refusal.reason);
            refused(&req, &refusal)
        }
        Err(LaunchError::Service(e)) => {
            tracing::error!(error = %e, "CrewPlanner launch failed on our side");
            let status = match e {
                ServiceError::Unavailable(_) | ServiceError::Contended => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            page_or_problem(
                &req,
                status,
                "MobieTrain could not sign you in because of an error on our side. Try again in a minute.",
                "an internal error occurred; it has been logged",
                None,
            )
        }
    }
}

async fn try_launch(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    account_id: String,
) -> Result<Launched, LaunchError> {
    let malformed = |what: &str| Refusal::new(Reason::Malformed, what.to_owned());
    let query = req.query_string();
    if query.len() > MAX_QUERY_LEN || account_id.len() > MAX_ACCOUNT_ID_LEN {
        return Err(malformed("the link is longer than a CrewPlanner link can be").into());
    }
    // An account id is a UUID: anything else (a NUL, which PostgreSQL cannot even compare) names
    // no account, and is refused before any database work.
    if !account_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(malformed("the link's account id is not an account id").into());
    }
    let jwt = web::Query::<std::collections::HashMap<String, String>>::from_query(query)
        .ok()
        .and_then(|q| q.into_inner().remove("jwt"))
        .ok_or_else(|| malformed("the link carries no jwt parameter"))?;
    if jwt.contains('\0') {
        return Err(malformed("the link's jwt is not a token").into());
    }
    let parts = token::split(&jwt)?;

    let (account, link_row) = {
        let account_id = account_id.clone();
        blocking(state, move |conn| {
            crewplanner::enabled_link(conn, &account_id)
        })
        .await?
    };
    let own = link::own_keys(&link_row, &state.server_key)
        .map_err(|e| ServiceError::Internal(format!("the account's CrewPlanner keys: {e:#}")))?;
    let keys = match own {
        Some(keys) => keys,
        None if state.crewplanner.platform.is_configured() => {
            state
                .crewplanner
                .platform
                .keys(parts.kid.as_deref())
                .await?
        }
        None => {
            return Err(Refusal::new(
                Reason::KeysUnavailable,
                "no CrewPlanner keys are configured on this server",
            )
            .into());
        }
    };
    let now = state.clock.now_naive();
    let claims = state.crewplanner.verify(&parts, &keys, &link_row, now)?;

    let registry = state.registry.clone();
    let leeway = state.crewplanner.leeway_secs;
    blocking(state, move |conn| {
        let actor = Actor {
            label: "crewplanner".to_owned(),
            token_id: None,
        };
        let ctx = WriteContext {
            account: &account,
            actor: &actor,
            registry: &registry,
            now,
        };
        crewplanner::complete(conn, &ctx, &claims, leeway)
    })
    .await
}

/// Runs database work on the blocking pool, keeping refusals apart from failures.
async fn blocking<T, F>(state: &AppState, f: F) -> Result<T, LaunchError>
where
    F: FnOnce(&mut DbConn) -> Result<T, LaunchError> + Send + 'static,
    T: Send + 'static,
{
    super::run_db(state, move |conn| Ok(f(conn))).await?
}

fn guarded(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"));
    builder
}

fn refused(req: &HttpRequest, refusal: &Refusal) -> HttpResponse {
    let status = StatusCode::from_u16(refusal.reason.status()).unwrap_or(StatusCode::UNAUTHORIZED);
    page_or_problem(
        req,
        status,
        refusal.reason.title(),
        &refusal.detail,
        Some(refusal.reason),
    )
}

/// A short HTML page for a browser, or a problem document for a client that asks for JSON.
fn page_or_problem(
    req: &HttpRequest,
    status: StatusCode,
    title: &str,
    detail: &str,
    reason: Option<Reason>,
) -> HttpResponse {
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    let mut builder = guarded(HttpResponse::build(status));
    if wants_json {
        let body = json!({
            "type": "about:blank",
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
            "reason": reason.map(Reason::code),
        });
        builder
            .content_type("application/problem+json")
            .body(body.to_string())
    } else {
        // Only fixed texts reach the page: nothing of the request is echoed.
        let code = reason.map(Reason::code).unwrap_or("internal");
        builder
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", "default-src 'none'"))
            .body(format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\"><title>MobieTrain</title></head>\
                 <body><h1>You could not be signed in</h1><p>{title}</p>\
                 <p><small>Reason: {code}</small></p></body></html>"
            ))
    }
}
