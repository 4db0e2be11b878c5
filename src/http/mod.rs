//! HTTP: the route table (`configure`), shared by `serve` and every test, plus the helpers handlers
//! share. Handlers are thin: extract, call one domain function in `web::block`, map to the wire.
//!
//! Grouped by API: [`scim`], [`admin`], [`app`], [`crewplanner`], [`oauth`], the HTML [`console`]
//! (and [`health`]), each importing
//! only itself and the shared plumbing here ([`auth`], [`intake`], [`error`], [`telemetry`]).

/// The [`crate::context::WriteContext`] of a write by `caller`, built where the write runs (in the
/// blocking closure, which owns the caller and a clone of the state).
macro_rules! write_ctx {
    ($state:expr, $caller:expr, $actor:ident, $ctx:ident) => {
        let $actor = $caller.0.actor();
        let $ctx = $crate::context::WriteContext {
            account: &$caller.0.account,
            actor: &$actor,
            registry: &$state.registry,
            now: $state.clock.now_naive(),
        };
    };
}

pub mod access_log;
pub mod admin;
pub mod app;
pub mod auth;
pub mod console;
pub mod cors;
pub mod crewplanner;
pub mod error;
pub mod health;
pub mod intake;
pub mod oauth;
pub mod rate_limit;
pub mod scim;
pub mod telemetry;

use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::{HttpResponse, mime, web};

use crate::db::DbConn;
use crate::error::ServiceError;
use crate::state::AppState;
use error::{Failure, ProblemError};

/// The SCIM media type (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";

/// Registers every route and the state they share. Every API's routes sit behind [`intake`],
/// which reads the bounded body and, but for SCIM, checks the token before any extractor runs.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    use actix_web::middleware::from_fn;
    use intake::{Gate, intake};
    move |cfg| {
        let limit = state.settings.max_body_bytes;
        cfg.app_data(web::Data::new(state))
            .service(web::resource("/healthz").get(health::healthz))
            .service(web::resource("/readyz").get(health::readyz))
            .service(
                web::scope("/scim/v2")
                    .wrap(from_fn(|req, next| intake(Gate::Handler, req, next)))
                    .configure(scim::routes)
                    .default_service(web::to(scim::kit::no_route)),
            )
            .service(
                web::scope("/admin/v1")
                    .wrap(from_fn(|req, next| intake(Gate::Admin, req, next)))
                    .app_data(problem_json_config(limit))
                    .app_data(problem_query_config())
                    .configure(admin::routes)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ProblemError(Failure::NoRoute))
                    })),
            )
            .service(
                web::scope("/app/v1")
                    .wrap(from_fn(cors::app_api))
                    .app_data(problem_json_config(limit))
                    .app_data(problem_query_config())
                    .configure(app::routes)
                    .default_service(web::to(|| async {
                        Err::<HttpResponse, _>(ProblemError(Failure::NoRoute))
                    })),
            )
            .service(
                web::scope(oauth::TOKEN_PATH)
                    .wrap(from_fn(|req, next| intake(Gate::OpenHandler, req, next)))
                    .configure(oauth::token_routes),
            )
            .configure(oauth::routes)
            .configure(console::routes)
            .configure(crewplanner::routes)
            .configure(app::accept::routes(limit));
    }
}

fn is_json(mime: &mime::Mime) -> bool {
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

fn problem_json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .content_type_required(true)
        .content_type(|mime| is_json(&mime))
        .error_handler(move |err, _| ProblemError(json_failure(&err, limit)).into())
}

fn query_failure(err: &QueryPayloadError) -> Failure {
    crate::scim::error::InputError::invalid_value(format!("the query string cannot be read: {err}"))
        .into()
}

fn problem_query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _| ProblemError(query_failure(&err)).into())
}

/// Runs `f` with a pooled connection on the blocking thread pool, checked first
/// ([`crate::db::checked_out`]: `f` may write, so it is never run twice).
pub async fn run_db<T, F>(state: &AppState, f: F) -> Result<T, ServiceError>
where
    F: FnOnce(&mut DbConn) -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let pool = state.pool.clone();
    web::block(move || {
        let mut conn = crate::db::checked_out(&pool)?;
        f(&mut conn)
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?
}

/// The SCIM base URL as clients see it (`https://host/scim/v2`): from the configured public URL,
/// never from the request's `Host` or `X-Forwarded-Host`, which a client chooses.
pub fn scim_base(state: &AppState) -> String {
    format!(
        "{}/scim/v2",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// `response` with the weak `ETag` of a resource whose opaque tag is `tag` (a group's version; a
/// user's [`crate::users::storage::UserRecord::tag`]).
pub fn with_etag(mut response: HttpResponse, tag: &str) -> HttpResponse {
    if let Ok(tag) = actix_web::http::header::HeaderValue::from_str(&crate::scim::etag::weak(tag)) {
        response
            .headers_mut()
            .insert(actix_web::http::header::ETAG, tag);
    }
    response
}
