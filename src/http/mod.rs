//! HTTP: the route table (`configure`), shared by `serve` and every test, plus the helpers handlers
//! share. Handlers are thin: extract, call one domain function in `web::block`, map to the wire.

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
pub mod intake;
pub mod invitation_accept;
pub mod rate_limit;
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

/// The SCIM base URL as clients see it (`https://host/scim/v2`): from the configured public URL,
/// never from the request's `Host` or `X-Forwarded-Host`, which a client chooses.
pub fn scim_base(state: &AppState) -> String {
    format!(
        "{}/scim/v2",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// The client's `If-Match` precondition.
pub fn if_match(req: &HttpRequest) -> crate::scim::etag::Precondition {
    crate::scim::etag::Precondition::if_match(
        req.headers()
            .get(actix_web::http::header::IF_MATCH)
            .and_then(|v| v.to_str().ok()),
    )
}

/// `response` with the `ETag` of a resource at `version`.
pub fn with_etag(mut response: HttpResponse, version: i64) -> HttpResponse {
    if let Ok(tag) =
        actix_web::http::header::HeaderValue::from_str(&crate::scim::etag::etag(version))
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::ETAG, tag);
    }
    response
}

/// The client's `If-None-Match`, as sent.
pub fn if_none_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(actix_web::http::header::IF_NONE_MATCH)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Whether an `If-None-Match` header names the current version (weak comparison, or `*`).
pub fn none_match_holds(header: Option<&str>, version: i64) -> bool {
    let Some(header) = header else {
        return false;
    };
    let current = version.to_string();
    header.trim() == "*"
        || header
            .split(',')
            .any(|t| crate::scim::etag::opaque_tag(t) == current)
}

/// A SCIM answer built on the blocking pool, with the resource serialised there too (an
/// `HttpResponse` cannot cross threads); [`ScimReply::into_response`] finishes it on the worker.
#[derive(Debug)]
pub struct ScimReply {
    status: actix_web::http::StatusCode,
    body: Option<String>,
    version: Option<i64>,
    location: Option<String>,
}

impl ScimReply {
    /// A JSON document.
    pub fn json(status: actix_web::http::StatusCode, body: &Value) -> Self {
        Self {
            status,
            body: Some(body.to_string()),
            version: None,
            location: None,
        }
    }

    /// An answer without a body (`204`, `304`).
    pub fn empty(status: actix_web::http::StatusCode) -> Self {
        Self {
            status,
            body: None,
            version: None,
            location: None,
        }
    }

    /// With the `ETag` of `version`.
    pub fn tagged(mut self, version: i64) -> Self {
        self.version = Some(version);
        self
    }

    /// With a `Location`.
    pub fn located(mut self, url: String) -> Self {
        self.location = Some(url);
        self
    }

    /// The response.
    pub fn into_response(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(location) = self.location
            && let Ok(value) = actix_web::http::header::HeaderValue::from_str(&location)
        {
            builder.insert_header((actix_web::http::header::LOCATION, value));
        }
        let response = match self.body {
            Some(body) => builder.content_type(SCIM_JSON).body(body),
            None => builder.finish(),
        };
        match self.version {
            Some(version) => with_etag(response, version),
            None => response,
        }
    }
}

/// A SCIM JSON response.
pub fn scim_response(status: actix_web::http::StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}
