//! Prometheus metrics: one registry per process, built by the composition root (`app`) and held
//! by the application (no process-global recorder), rendered in the Prometheus text format on the
//! private metrics listener (`METRICS_BIND`), never on the public one, since the labels name
//! accounts.
//!
//! Every label set is bounded: routes are templates (`/scim/v2/Users/{id}`), methods a fixed set,
//! statuses codes, `scimType`s and job names come from the code, accounts from authenticated
//! tokens. Counts the code keeps elsewhere (client dialect rewrites, CrewPlanner refusals, the
//! pool, the job backlog) are read when scraped, by [`Collector`]s the composition root registers.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
pub use prometheus_client::metrics::MetricType as Kind;
pub use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
pub use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

pub use prometheus_client::collector::Collector;

/// The prefix of every metric name.
pub const PREFIX: &str = "mobietrain";

/// The upper bounds (seconds) of the request latency histogram's buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

type Labels<const N: usize> = [(&'static str, String); N];

/// The metrics of one process. When disabled (no `METRICS_BIND`), recording does nothing.
#[derive(Debug)]
pub struct Metrics {
    enabled: bool,
    registry: Registry,
    http_requests: Family<Labels<4>, Counter>,
    http_duration: Family<Labels<2>, Histogram>,
    scim_errors: Family<Labels<2>, Counter>,
    rate_limited: Family<Labels<2>, Counter>,
    jobs: Family<Labels<2>, Counter>,
    messages: Family<Labels<2>, Counter>,
}

impl Default for Metrics {
    /// Metrics that record nothing.
    fn default() -> Self {
        Self::new(false, Vec::new())
    }
}

/// The outcome of one job attempt, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobOutcome {
    /// Done.
    Done,
    /// Failed; it will be retried.
    Retry,
    /// Failed for good.
    Failed,
    /// Its lease ran out before it finished, so another worker may have it.
    LeaseLost,
}

impl JobOutcome {
    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Retry => "retry",
            JobOutcome::Failed => "failed",
            JobOutcome::LeaseLost => "lease_lost",
        }
    }
}

/// One request as counted.
#[derive(Debug, Clone, Copy)]
pub struct RequestSample<'a> {
    /// The route template, or `unmatched`.
    pub route: &'a str,
    /// The method ([`method_label`]).
    pub method: &'static str,
    /// The status code.
    pub status: u16,
    /// The account, or `none` before authentication.
    pub account: &'a str,
    /// How long it took, in seconds.
    pub seconds: f64,
}

impl Metrics {
    /// A registry with every metric of the server, plus `collectors` read at each scrape.
    pub fn new(enabled: bool, collectors: Vec<Box<dyn Collector>>) -> Self {
        let mut registry = Registry::with_prefix(PREFIX);
        let http_requests = Family::<Labels<4>, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route template, method, status and account",
            http_requests.clone(),
        );
        let http_duration =
            Family::<Labels<2>, Histogram>::new_with_constructor(latency_histogram as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route template and method",
            http_duration.clone(),
        );
        let scim_errors = Family::<Labels<2>, Counter>::default();
        registry.register(
            "scim_errors",
            "SCIM error responses by scimType (none when the error has none) and status",
            scim_errors.clone(),
        );
        let rate_limited = Family::<Labels<2>, Counter>::default();
        registry.register(
            "rate_limited_requests",
            "Requests refused with 429 by the per-account rate limit, by account and bucket",
            rate_limited.clone(),
        );
        let jobs = Family::<Labels<2>, Counter>::default();
        registry.register(
            "jobs",
            "Background job attempts by job type and outcome",
            jobs.clone(),
        );
        let messages = Family::<Labels<2>, Counter>::default();
        registry.register(
            "messages",
            "E-mails and text messages handed to their service, by channel and outcome",
            messages.clone(),
        );
        for collector in collectors {
            registry.register_collector(collector);
        }
        Self {
            enabled,
            registry,
            http_requests,
            http_duration,
            scim_errors,
            rate_limited,
            jobs,
            messages,
        }
    }

    /// Whether anything is recorded (a metrics listener is configured).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Counts one HTTP request and its latency.
    pub fn request(&self, sample: &RequestSample<'_>) {
        if !self.enabled {
            return;
        }
        self.http_requests
            .get_or_create(&[
                ("route", sample.route.to_owned()),
                ("method", sample.method.to_owned()),
                ("status", sample.status.to_string()),
                ("account", sample.account.to_owned()),
            ])
            .inc();
        self.http_duration
            .get_or_create(&[
                ("route", sample.route.to_owned()),
                ("method", sample.method.to_owned()),
            ])
            .observe(sample.seconds);
    }

    /// Counts one SCIM error response.
    pub fn scim_error(&self, scim_type: Option<&str>, status: u16) {
        if !self.enabled {
            return;
        }
        self.scim_errors
            .get_or_create(&[
                ("scim_type", scim_type.unwrap_or("none").to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    /// Counts one request refused by the rate limit of `bucket` (`read` or `write`).
    pub fn rate_limited(&self, account: &str, bucket: &'static str) {
        if !self.enabled {
            return;
        }
        self.rate_limited
            .get_or_create(&[
                ("account", account.to_owned()),
                ("bucket", bucket.to_owned()),
            ])
            .inc();
    }

    /// Counts one attempt of the job type `job`.
    pub fn job(&self, job: &str, outcome: JobOutcome) {
        if !self.enabled {
            return;
        }
        self.jobs
            .get_or_create(&[
                ("job", job.to_owned()),
                ("outcome", outcome.as_str().to_owned()),
            ])
            .inc();
    }

    /// Counts one message on `channel` (`email`, `sms`): sent, or failed.
    pub fn message(&self, channel: &'static str, sent: bool) {
        if !self.enabled {
            return;
        }
        let outcome = if sent { "sent" } else { "failed" };
        self.messages
            .get_or_create(&[
                ("channel", channel.to_owned()),
                ("outcome", outcome.to_owned()),
            ])
            .inc();
    }

    /// The metrics in the Prometheus text format (version 0.0.4), collectors read now.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail; a collector that fails leaves its part out.
        if let Err(e) =
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        {
            tracing::warn!(error = %e, "a metrics collector failed");
        }
        out
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The label of an HTTP method: the standard ones by name, anything else `other` (a client may
/// send any token as a method).
pub fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// Writes a metric family read at scrape time (for [`Collector`]s): `name` (without the prefix or
/// a counter's `_total`) with one labelled sample per entry, each a [`ConstCounter`] or a
/// [`ConstGauge`].
pub fn encode_family<M: EncodeMetric>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric_type: MetricType,
    samples: Vec<(Vec<(&'static str, String)>, M)>,
) -> Result<(), std::fmt::Error> {
    let mut metric = encoder.encode_descriptor(name, help, None, metric_type)?;
    for (labels, value) in &samples {
        value.encode(metric.encode_family(labels)?)?;
    }
    Ok(())
}

/// A collector from a closure (the composition root's way to expose counts it holds elsewhere).
pub fn collector<F>(f: F) -> Box<dyn Collector>
where
    F: for<'a, 'b> Fn(&'a mut DescriptorEncoder<'b>) -> Result<(), std::fmt::Error>
        + Send
        + Sync
        + 'static,
{
    Box::new(FnCollector(f))
}

struct FnCollector<F>(F);

impl<F> std::fmt::Debug for FnCollector<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FnCollector")
    }
}

impl<F> Collector for FnCollector<F>
where
    F: for<'a, 'b> Fn(&'a mut DescriptorEncoder<'b>) -> Result<(), std::fmt::Error>
        + Send
        + Sync
        + 'static,
{
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        (self.0)(&mut encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_metrics_record_nothing_and_enabled_ones_render_buckets() {
        let off = Metrics::default();
        off.request(&RequestSample {
            route: "/x",
            method: "GET",
            status: 200,
            account: "a",
            seconds: 0.01,
        });
        assert!(!off.render().contains("route=\"/x\""));
        let on = Metrics::new(true, Vec::new());
        on.request(&RequestSample {
            route: "/x",
            method: "GET",
            status: 200,
            account: "a",
            seconds: 0.01,
        });
        let text = on.render();
        assert!(text.contains("mobietrain_http_request_duration_seconds_bucket{"));
        assert!(text.contains("le=\"0.01\""));
        assert!(text.contains("mobietrain_http_requests_total{"));
    }

    #[test]
    fn unknown_methods_share_one_label() {
        assert_eq!(method_label("GET"), "GET");
        assert_eq!(method_label("BREW"), "other");
    }
}
