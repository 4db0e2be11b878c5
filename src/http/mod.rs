//! HTTP: the route table (`configure`), shared by `serve` and every test, plus the helpers handlers
//! share. Handlers are thin: extract, call one domain function in `web::block`, map to the wire.

/// The [`crate::users::WriteContext`] of a write by `caller`, built where the write runs (in the
/// blocking closure, which owns the caller and a clone of the state).
macro_rules! write_ctx {
    ($state:expr, $caller:expr, $actor:ident, $ctx:ident) => {
        let $actor = $caller.0.actor();
        let $ctx = $crate::users::WriteContext {
            account: &$caller.0.account,
            actor: &$actor,
            registry: &$state.registry,
            now: $state.clock.now_naive(),
        };
    };
}

pub mod admin;
pub mod admin_account;
pub mod admin_catalog;
pub mod admin_invitations;
pub mod admin_jobs;
pub mod admin_users;
pub mod app;
pub mod auth;
pub mod crewplanner;
pub mod discovery;
pub mod error;
pub mod groups;
pub mod health;
pub mod invitation_accept;
pub mod search;
pub mod telemetry;
pub mod users;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, mime, web};
use serde_json::Value;

use crate::db::DbConn;
use crate::error::ServiceError;
use crate::state::AppState;
use error::{Failure, ProblemError, ScimError};

/// The SCIM media type (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// Registers every route and the state they share.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let limit = state.settings.max_body_bytes;
        cfg.app_data(web::Data::new(state))
            .service(web::resource("/healthz").get(health::healthz))
            .service(web::resource("/readyz").get(health::readyz))
            .service(
                web::scope("/scim/v2")
                    .app_data(scim_json_config(limit))
                    .app_data(scim_query_config())
                    .configure(users::routes)
                    .configure(groups::routes)
                    .configure(discovery::routes)
                    .configure(search::routes)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ScimError(Failure::NoRoute))
                    })),
            )
            .service(
                web::scope("/admin/v1")
                    .app_data(problem_json_config(limit))
                    .app_data(problem_query_config())
                    .configure(admin::routes)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ProblemError(Failure::NoRoute))
                    })),
            )
            .service(
                web::scope("/app/v1")
                    .app_data(problem_json_config(limit))
                    .app_data(problem_query_config())
                    .configure(app::routes)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ProblemError(Failure::NoRoute))
                    })),
            )
            .configure(crewplanner::routes)
            .configure(invitation_accept::routes(limit));
    }
}

fn is_json(mime: mime::Mime) -> bool {
    mime.type_() == mime::APPLICATION
        && (mime.subtype() == mime::JSON
            || (mime.subtype() == "scim" && mime.suffix() == Some(mime::JSON)))
}

fn json_failure(err: &JsonPayloadError, limit: usize) -> Failure {
    match err {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            Failure::PayloadTooLarge(limit)
        }
        JsonPayloadError::ContentType => Failure::UnsupportedMediaType,
        JsonPayloadError::Deserialize(e) => crate::scim::error::InputError::invalid_syntax(
            format!("the body is not valid JSON: {e}"),
        )
        .into(),
        other => crate::scim::error::InputError::invalid_syntax(format!(
            "the body cannot be read: {other}"
        ))
        .into(),
    }
}

fn scim_json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .content_type(is_json)
        .error_handler(move |err, _| ScimError(json_failure(&err, limit)).into())
}

fn problem_json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .content_type(is_json)
        .error_handler(move |err, _| ProblemError(json_failure(&err, limit)).into())
}

fn query_failure(err: &QueryPayloadError) -> Failure {
    crate::scim::error::InputError::invalid_value(format!("the query string cannot be read: {err}"))
        .into()
}

fn scim_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| ScimError(query_failure(&err)).into())
}

fn problem_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| ProblemError(query_failure(&err)).into())
}

/// Runs `f` with a pooled connection on the blocking thread pool.
pub async fn run_db<T, F>(state: &AppState, f: F) -> Result<T, ServiceError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?
}

/// The SCIM base URL as clients see it (`https://host/scim/v2`).
pub fn scim_base(req: &HttpRequest, state: &AppState) -> String {
    match &state.settings.public_url {
        Some(url) => format!("{}/scim/v2", url.trim_end_matches('/')),
        None => {
            let info = req.connection_info();
            format!("{}://{}/scim/v2", info.scheme(), info.host())
        }
    }
}

/// The client's `If-Match` precondition.
pub fn if_match(req: &HttpRequest) -> crate::users::Precondition {
    crate::users::Precondition::if_match(
        req.headers()
            .get(actix_web::http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok()),
    )
}

/// `response` with the `ETag` of a resource at `version`.
pub fn with_etag(mut response: HttpResponse, version: i64) -> HttpResponse {
    if let Ok(tag) = actix_web::http::header::HeaderValue::from_str(&crate::users::etag(version)) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ETAG, tag);
    }
    response
}

/// A 304 when the client's `If-None-Match` names the current version (weak comparison, or `*`).
pub fn not_modified(req: &HttpRequest, version: i64) -> Option<HttpResponse> {
    let header = req
        .headers()
        .get(actix_web::http::header::IF_NONE_MATCH)?
        .to_str()
        .ok()?;
    let current = version.to_string();
    (header.trim() == "*"
        || header
            .split(',')
            .any(|t| crate::users::opaque_tag(t) == current))
    .then(|| with_etag(HttpResponse::NotModified().finish(), version))
}

/// A SCIM JSON response.
pub fn scim_response(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}
