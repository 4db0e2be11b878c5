//! The access log and the request id: one middleware around the whole app (`App::wrap` with
//! `from_fn(access_log)`) that takes the client's `X-Request-Id` (at most 64 characters of
//! `A-Za-z0-9._:-`) or makes one, returns it on every response, runs the request in a span that
//! carries it, and when the response is ready counts it in the metrics and logs one line (target
//! `mobietrain_scim::access`) with the method, the route template, the status, the duration, the
//! account and the token's id, the `scimType` and the request id. Never the query string (filters
//! carry user names and e-mail addresses), headers (tokens), bodies, or the token's label (it may
//! name a person).
//!
//! The account is known only once the token is checked, which for SCIM happens inside the
//! handler's blocking call: whoever checks it writes it into the request's [`CallerNote`].

use std::sync::{Arc, Mutex};
use std::time::Instant;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use tracing::Instrument;

use crate::accounts::rate_limit::Decision;
use crate::metrics::{RequestSample, method_label};
use crate::state::AppState;

/// The request id header, accepted and returned.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest client request id kept; a longer or odd one is replaced by one of ours.
pub const MAX_REQUEST_ID: usize = 64;

/// The log target of the access log lines.
pub const TARGET: &str = "mobietrain_scim::access";

/// The request's id, in its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// The client's id if it is short and plain (`A-Za-z0-9._:-`), else a new UUIDv7.
    pub fn of(header: Option<&HeaderValue>) -> Self {
        header
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|id| {
                !id.is_empty()
                    && id.len() <= MAX_REQUEST_ID
                    && id.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-')
                    })
            })
            .map_or_else(
                || RequestId(uuid::Uuid::now_v7().to_string()),
                |id| RequestId(id.to_owned()),
            )
    }
}

/// Who the request turned out to be, written where the token is checked (possibly on the
/// blocking pool), read when the response is logged; with the rate limit's decision.
#[derive(Debug, Clone, Default)]
pub struct CallerNote(Arc<Mutex<Option<Noted>>>);

#[derive(Debug, Clone)]
struct Noted {
    account_id: String,
    token_id: String,
    limit: Option<Decision>,
}

impl CallerNote {
    /// Records the caller's account and token id, and the rate limit's decision (`None`: the
    /// bucket has no limit, or the route none).
    pub fn set(&self, account_id: &str, token_id: &str, limit: Option<Decision>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(Noted {
            account_id: account_id.to_owned(),
            token_id: token_id.to_owned(),
            limit,
        });
    }

    fn get(&self) -> Option<Noted> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The note of `req` (a fresh one, read by nobody, outside the access log).
    pub fn of(req: &HttpRequest) -> Self {
        req.extensions()
            .get::<CallerNote>()
            .cloned()
            .unwrap_or_default()
    }
}

impl FromRequest for CallerNote {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(CallerNote::of(req)))
    }
}

/// The access-log middleware (see the module documentation).
pub async fn access_log(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::of(req.headers().get(&REQUEST_ID));
    let note = CallerNote::default();
    req.extensions_mut().insert(request_id.clone());
    req.extensions_mut().insert(note.clone());
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method().as_str());
    let metrics = req
        .app_data::<actix_web::web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id.0,
        http.method = method,
        http.route = %route,
    );
    // Handlers and extractors answer their errors as responses; an error here is the framework's
    // own, answered by it (without our headers).
    let mut response = next.call(req).instrument(span).await?;
    let noted = note.get();
    let status = response.status().as_u16();
    let scim_type = response
        .response()
        .error()
        .and_then(|e| e.as_error::<super::error::ScimError>())
        .and_then(|e| e.0.scim_type())
        .map(|t| t.as_str());
    let (account, token) = caller_of(&response, noted.as_ref());
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        headers.insert(REQUEST_ID, value);
    }
    if let Some(decision) = noted.as_ref().and_then(|n| n.limit.as_ref()) {
        for (name, value) in super::rate_limit::headers(decision) {
            headers.insert(name, value);
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    if let Some(metrics) = metrics.filter(|m| m.enabled()) {
        metrics.request(&RequestSample {
            route: &route,
            method,
            status,
            account: account.as_deref().unwrap_or("none"),
            seconds,
        });
        if status >= 400 && route.starts_with("/scim/") {
            metrics.scim_error(scim_type, status);
        }
    }
    tracing::info!(
        target: TARGET,
        method = %method,
        route = %route,
        status = status,
        duration_ms = seconds * 1000.0,
        account_id = %account.as_deref().unwrap_or("-"),
        token_id = %token.as_deref().unwrap_or("-"),
        scim_type = %scim_type.unwrap_or("-"),
        request_id = %request_id.0,
        "request handled"
    );
    Ok(response)
}

/// The account and token id of the caller: from the note, or from the caller intake left in the
/// request (admin token, app session).
fn caller_of(
    response: &ServiceResponse<BoxBody>,
    noted: Option<&Noted>,
) -> (Option<String>, Option<String>) {
    if let Some(n) = noted {
        return (Some(n.account_id.clone()), Some(n.token_id.clone()));
    }
    let extensions = response.request().extensions();
    if let Some(caller) = extensions.get::<crate::accounts::Caller>() {
        return (
            Some(caller.account.id.clone()),
            Some(caller.token_id.clone()),
        );
    }
    if let Some(session) = extensions.get::<crate::sessions::SessionCaller>() {
        return (
            Some(session.account_id.clone()),
            Some(session.session_id.clone()),
        );
    }
    (None, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_short_request_id_is_kept_and_anything_else_replaced() {
        let kept = RequestId::of(Some(&HeaderValue::from_static("abc-123_x.y:z")));
        assert_eq!(kept.0, "abc-123_x.y:z");
        for bad in ["", "has space", "quote\"", "a\u{7f}b"] {
            let header = HeaderValue::from_str(bad).ok();
            let made = RequestId::of(header.as_ref());
            assert_ne!(made.0, bad);
            assert!(uuid::Uuid::parse_str(&made.0).is_ok());
        }
        let long = "a".repeat(MAX_REQUEST_ID + 1);
        let made = RequestId::of(Some(&HeaderValue::from_str(&long).unwrap()));
        assert_ne!(made.0, long);
        assert!(uuid::Uuid::parse_str(&RequestId::of(None).0).is_ok());
    }
}
