//! CORS for the routes the MobieTrain app calls from its own origin: the app API (`/app/v1/…`) and
//! the invitation accept route (`/invitations/accept`). Nothing else answers cross-origin: the SCIM
//! and admin APIs are called by servers, and a browser on another origin gets no
//! `Access-Control-*` header from them.
//!
//! The allowed origins are configuration (`CORS_ALLOWED_ORIGINS`, by default the origins of
//! `APP_URL` and `INVITE_URL`), read from the application state on each request, so wiring this
//! in is one `.wrap(from_fn(cors::app_api))` where a scope is built. Credentials are not allowed:
//! the app sends bearer tokens, never cookies. A preflight is answered here, before intake reads a
//! body or checks a token: 204 with the allowed methods and headers for an allowed origin, 403
//! without any `Access-Control-*` header for another.

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError, web};

use super::error::{Failure, ProblemError};
use crate::state::AppState;

/// The methods the app uses on these routes.
const METHODS: &str = "GET, POST, DELETE";
/// The request headers the app sends beyond the CORS-safelisted ones.
const HEADERS: &str = "authorization, content-type";
/// How long a browser may cache a preflight's answer, in seconds.
const MAX_AGE_SECS: &str = "600";

/// The middleware: answers preflights of allowed origins, marks the responses to their requests
/// (`Access-Control-Allow-Origin`), and leaves every other origin without CORS headers.
pub async fn app_api(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let allowed = allowed_origin(&req);
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut response = match &allowed {
            Some(origin) => HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE_SECS))
                .finish(),
            None => ProblemError(Failure::Forbidden(
                "this origin may not call this API from a browser (CORS_ALLOWED_ORIGINS)",
            ))
            .error_response(),
        };
        vary_on_origin(response.headers_mut());
        return Ok(req.into_response(response));
    }
    // Intake and the handlers answer refusals as responses, so they are marked too and the app's
    // page can read them.
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    if let Some(origin) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    }
    vary_on_origin(headers);
    Ok(response)
}

/// The request's `Origin`, when it is one of the configured origins (compared exactly: browsers
/// send the serialised origin, which configuration holds in the same form).
fn allowed_origin(req: &ServiceRequest) -> Option<HeaderValue> {
    let origins = &req.app_data::<web::Data<AppState>>()?.settings.cors_origins;
    let origin = req.headers().get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    origins.iter().any(|o| o == text).then(|| origin.clone())
}

/// Tells caches that the answer depends on `Origin`.
fn vary_on_origin(headers: &mut header::HeaderMap) {
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
}
