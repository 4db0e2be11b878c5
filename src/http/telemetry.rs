//! Request spans for tracing-actix-web that record the method, the route pattern, the request id and
//! the status, and nothing else: no query string (filters carry user names and e-mail addresses), no
//! headers (tokens), no bodies.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

/// The root span of every request.
#[derive(Debug, Clone, Copy)]
pub struct PrivacyRootSpan;

impl RootSpanBuilder for PrivacyRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "request",
            http.method = %request.method(),
            http.route = %route,
            request_id = request_id.map(|id| id.to_string()).unwrap_or_default(),
            http.status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let status = match outcome {
            Ok(response) => response.status().as_u16(),
            Err(error) => error.as_response_error().status_code().as_u16(),
        };
        span.record("http.status", status);
        span.in_scope(|| tracing::info!(http.status = status, "request handled"));
    }
}
