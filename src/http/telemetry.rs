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

/// Where the HTTP layer (actix-http) reports a request too malformed to reach the app: it answers
/// it 400 and closes, and logs an ERROR that anyone on the internet can cause.
const MALFORMED_TARGET: &str = "actix_http::h1::dispatcher";

/// A layer that re-reports actix-http's malformed-request ERRORs as one WARN line of ours (target
/// `mobietrain_scim::http::malformed`, the parser's reason, nothing of the request); the original
/// line is filtered out of the output by [`quiet_malformed`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MalformedAsWarning;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for MalformedAsWarning {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let meta = event.metadata();
        if meta.target() != MALFORMED_TARGET || *meta.level() != tracing::Level::ERROR {
            return;
        }
        struct Message(String);
        impl tracing::field::Visit for Message {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.0 = format!("{value:?}");
                }
            }
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        // Only the parser's words ("request parse error: invalid Header provided"), bounded.
        let reason: String = message.0.chars().take(200).collect();
        tracing::warn!(
            target: "mobietrain_scim::http::malformed",
            reason = %reason,
            "a malformed request was answered 400 by the HTTP layer"
        );
    }
}

/// `filter` with actix-http's malformed-request ERRORs left out (they come back as WARNs through
/// [`MalformedAsWarning`]), unless the operator's `RUST_LOG` names `actix_http` itself.
pub fn quiet_malformed(
    filter: tracing_subscriber::EnvFilter,
    rust_log: &str,
) -> tracing_subscriber::EnvFilter {
    if rust_log.contains("actix_http") {
        return filter;
    }
    filter.add_directive(
        format!("{MALFORMED_TARGET}=off")
            .parse()
            .expect("a valid filter directive"),
    )
}
