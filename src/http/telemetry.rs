//! Telemetry plumbing: the private metrics listener (`METRICS_BIND`, `GET /metrics` in the
//! Prometheus text format), and actix-http's malformed-request errors re-reported as one WARN line.
//! The access log and request ids are [`super::access_log`]'s.

use std::sync::Arc;

use actix_web::{HttpResponse, web};

use crate::metrics::Metrics;

/// The metrics server on `listener`: `GET /metrics` only, one worker, no signal handling of its
/// own (the process's main loop stops it). The collectors read the database, so rendering runs on
/// the blocking pool.
pub fn metrics_server(
    listener: std::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<actix_web::dev::Server> {
    let server = actix_web::HttpServer::new(move || {
        let metrics = metrics.clone();
        actix_web::App::new().route(
            "/metrics",
            web::get().to(move || {
                let metrics = metrics.clone();
                async move {
                    match web::block(move || metrics.render()).await {
                        Ok(text) => HttpResponse::Ok()
                            .content_type("text/plain; version=0.0.4; charset=utf-8")
                            .body(text),
                        Err(_) => HttpResponse::InternalServerError().finish(),
                    }
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)?;
    Ok(server.run())
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
