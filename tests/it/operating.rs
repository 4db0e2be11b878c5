//! Operating the server (README "Operating"): Prometheus metrics on their own listener, scraped
//! over a real socket from `serve` and from a `worker` process; per-account rate limits; the
//! access log and `X-Request-Id`; the job backlog of `/readyz`; the admin job list.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::{TimeZone, Utc};
use mobietrain_scim::clock::ManualClock;
use mobietrain_scim::config::ObservabilityConfig;
use mobietrain_scim::jobs::queue::{self, EnqueueOptions};
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::concurrency::{client, post};
use crate::harness::{TestApp, TestDb, captured_logs, user, wait_for};

const SERVER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One sample of a scrape: the metric's name, its labels, its value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text exposition format (comments skipped, label values unescaped).
fn parse_exposition(text: &str) -> Vec<Sample> {
    let mut samples = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end with }");
                (name.to_owned(), parse_labels(body))
            }
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("a number: {line}")),
        };
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    samples
}

fn parse_labels(body: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = body.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "a label value is quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_owned(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}

/// The value of the one sample of `name` whose labels include `labels`, if any.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(
        matching.len() <= 1,
        "{name} {labels:?} names one series: {matching:?}"
    );
    matching.first().map(|s| s.value)
}

fn scrape(metrics_base: &str) -> Vec<Sample> {
    let mut response = client()
        .get(format!("{metrics_base}/metrics"))
        .call()
        .expect("the metrics listener answers");
    assert_eq!(response.status().as_u16(), 200);
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    parse_exposition(&response.body_mut().read_to_string().unwrap())
}

/// A `mobietrain-scim` process on `db`, with what it printed on stdout read line by line until
/// `until` has seen everything it needs.
struct Process {
    child: Child,
    printed: Vec<String>,
}

impl Process {
    fn start(db: &TestDb, args: &[&str], env: &[(&str, &str)], ready: &str) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"));
        command
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("SERVER_KEY", SERVER_KEY)
            .env("RUST_LOG", "info")
            .env_remove("SMTP_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut printed = Vec::new();
        for line in stdout.lines().map_while(Result::ok) {
            let done = line.contains(ready);
            printed.push(line);
            if done {
                break;
            }
        }
        assert!(
            printed.iter().any(|l| l.contains(ready)),
            "the process printed {printed:?}"
        );
        Self { child, printed }
    }

    /// The first word after `prefix` in what the process printed.
    fn printed_after(&self, prefix: &str) -> String {
        self.printed
            .iter()
            .find_map(|l| l.split(prefix).nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{prefix:?} in {:?}", self.printed))
            .to_owned()
    }

    /// Stops the process with SIGTERM and returns what it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        let _ = self.child.wait();
        stderr
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serve_publishes_metrics_on_its_own_listener_after_real_requests() {
    let db = TestDb::new();
    let server = Process::start(
        &db,
        &["serve"],
        &[
            ("BIND", "127.0.0.1:0"),
            ("METRICS_BIND", "127.0.0.1:0"),
            ("WORKER_THREADS", "0"),
            ("RATE_LIMIT_READS", "0"),
            ("RATE_LIMIT_WRITES", "0"),
        ],
        "listening on http://",
    );
    let account = server.printed_after("account id:");
    let token = server.printed_after("SCIM token:");
    let base = format!("http://{}", server.printed_after("listening on http://"));
    let metrics = server
        .printed_after("metrics served at ")
        .trim_end_matches("/metrics")
        .to_owned();
    assert_ne!(base, metrics, "metrics have a listener of their own");

    let agent = client();
    let (status, created) = post(
        &agent,
        &format!("{base}/scim/v2/Users"),
        &token,
        &user("ann@example.com"),
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    let get = |path: &str| {
        let mut r = agent
            .get(format!("{base}{path}"))
            .header("Authorization", format!("Bearer {token}"))
            .call()
            .unwrap();
        let status = r.status().as_u16();
        let _ = r.body_mut().read_to_string();
        status
    };
    assert_eq!(get(&format!("/scim/v2/Users/{id}")), 200);
    assert_eq!(get(&format!("/scim/v2/Users/{id}")), 200);
    assert_eq!(get("/scim/v2/Users?filter=userName%20zz%20%22x%22"), 400);
    // Entra's unquoted value is rewritten (and counted).
    assert_eq!(get("/scim/v2/Users?filter=externalId%20eq%20jyoung"), 200);
    // A CrewPlanner link with no valid token is refused (and counted by reason).
    let mut refused = agent
        .get(format!("{base}/crewplanner/{account}/launch?jwt=not-a-jwt"))
        .header("Accept", "application/json")
        .call()
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let _ = refused.body_mut().read_to_string();
    // The public listener has no /metrics.
    let mut public = agent.get(format!("{base}/metrics")).call().unwrap();
    assert_eq!(public.status().as_u16(), 404);
    let _ = public.body_mut().read_to_string();

    let samples = scrape(&metrics);
    let by_id = [
        ("route", "/scim/v2/Users/{id}"),
        ("method", "GET"),
        ("status", "200"),
        ("account", account.as_str()),
    ];
    assert_eq!(
        value(&samples, "mobietrain_http_requests_total", &by_id),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_http_requests_total",
            &[
                ("route", "/scim/v2/Users"),
                ("method", "POST"),
                ("status", "201"),
                ("account", account.as_str()),
            ],
        ),
        Some(1.0)
    );
    // A true histogram: cumulative buckets up to +Inf, a count and a sum.
    let latency = [("route", "/scim/v2/Users/{id}"), ("method", "GET")];
    let buckets: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == "mobietrain_http_request_duration_seconds_bucket")
        .filter(|s| {
            latency
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert!(buckets.len() > 10, "{buckets:?}");
    assert!(buckets.windows(2).all(|w| w[0].value <= w[1].value));
    let inf = [latency[0], latency[1], ("le", "+Inf")];
    assert_eq!(
        value(
            &samples,
            "mobietrain_http_request_duration_seconds_bucket",
            &inf
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_http_request_duration_seconds_count",
            &latency
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_scim_errors_total",
            &[("scim_type", "invalidFilter"), ("status", "400")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_dialect_rewrites_total",
            &[("kind", "filter.unquoted_value")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_crewplanner_refusals_total",
            &[("reason", "malformed")]
        ),
        Some(1.0)
    );
    assert!(
        value(
            &samples,
            "mobietrain_db_pool_connections",
            &[("state", "max")]
        )
        .unwrap()
            >= 1.0
    );
    assert_eq!(
        value(&samples, "mobietrain_jobs_backlog", &[("state", "due")]),
        Some(0.0)
    );
    // No per-account label ever reaches the public listener: it serves no metrics at all.
    let log = server.stop();
    assert!(!log.contains(&token), "the token is never logged");
}

#[actix_web::test]
async fn a_worker_process_publishes_metrics_of_its_jobs_and_logs_why_one_failed() {
    let app = TestApp::new();
    // The worker process runs the job (and fails it: no SMTP_URL), not this test.
    app.allow_unprocessed_jobs();
    let (account, group) = crate::invitations::account_with_group(&app, "Acme").await;
    crate::invitations::invite(&app, &account, "ann.worker@example.com", &group).await;
    let worker = Process::start(
        &app.db,
        &["worker"],
        &[("METRICS_BIND", "127.0.0.1:0"), ("JOB_POLL_MS", "20")],
        "metrics served at",
    );
    let metrics = worker
        .printed_after("metrics served at ")
        .trim_end_matches("/metrics")
        .to_owned();
    let retried = [("job", "invitations.email"), ("outcome", "retry")];
    let mut samples = Vec::new();
    wait_for("the worker to try the job", Duration::from_secs(60), || {
        samples = scrape(&metrics);
        value(&samples, "mobietrain_jobs_total", &retried).is_some()
    });
    assert_eq!(
        value(&samples, "mobietrain_jobs_total", &retried),
        Some(1.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_messages_total",
            &[("channel", "email"), ("outcome", "failed")]
        ),
        Some(1.0)
    );
    // The failed attempt waits for its retry (beside the reminders): scheduled, not due. (The
    // worker's own periodic jobs come and go meanwhile; readyz's test pins the exact counts.)
    assert!(
        value(
            &samples,
            "mobietrain_jobs_backlog",
            &[("state", "scheduled")]
        )
        .unwrap()
            >= 1.0
    );
    assert!(value(&samples, "mobietrain_jobs_backlog", &[("state", "due")]).is_some());
    let log = worker.stop();
    let line = log
        .lines()
        .find(|l| l.contains("job failed; it will be retried"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        line.contains("job.reason=\"mail_not_configured\"")
            || line.contains("job.reason=mail_not_configured"),
        "{line}"
    );
    assert!(!log.contains("ann.worker@example.com"), "{log}");
}

/// An app whose accounts may read 1 and write 1 request per second (bursts of 10), on a clock
/// the test moves, with metrics recorded.
fn limited_app() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap(),
    ));
    let app = TestApp::observed(
        TestDb::new(),
        HttpSettings::default(),
        4,
        ObservabilityConfig {
            metrics_bind: Some("127.0.0.1:0".parse().unwrap()),
            rate_limit_reads: 1,
            rate_limit_writes: 1,
        },
        clock.clone(),
    );
    (app, clock)
}

#[actix_web::test]
async fn a_burst_from_one_account_is_refused_with_retry_after_while_another_is_served() {
    let (app, clock) = limited_app();
    let acme = app.account("Acme");
    let other = app.account("Other");
    for left in (0..10).rev() {
        let r = app.get("/scim/v2/Users", &acme.scim).await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.body);
        assert_eq!(r.header("ratelimit-limit").as_deref(), Some("10"));
        assert_eq!(
            r.header("ratelimit-remaining"),
            Some(left.to_string()),
            "the bucket empties one by one"
        );
    }
    let refused = app.get("/scim/v2/Users", &acme.scim).await;
    refused.assert_scim_error(429, None);
    assert_eq!(refused.header("retry-after").as_deref(), Some("1"));
    assert_eq!(refused.header("ratelimit-remaining").as_deref(), Some("0"));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("retry after 1 seconds"),
        "{}",
        refused.body
    );
    // Searches by POST are reads too.
    let search = app
        .post(
            "/scim/v2/Users/.search",
            &acme.scim,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
        )
        .await;
    search.assert_scim_error(429, None);
    // The admin API shares the account's read bucket, with a problem+json body.
    let admin = app.get("/admin/v1/jobs", &acme.admin).await;
    assert_eq!(admin.status.as_u16(), 429, "{}", admin.body);
    assert_eq!(
        admin.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(admin.header("retry-after").as_deref(), Some("1"));
    // Another account, the account's writes, discovery and health are served.
    let theirs = app.get("/scim/v2/Users", &other.scim).await;
    assert_eq!(theirs.status.as_u16(), 200);
    let write = app
        .post("/scim/v2/Users", &acme.scim, &user("ann@example.com"))
        .await;
    assert_eq!(write.status.as_u16(), 201, "{}", write.body);
    for exempt in ["/scim/v2/ServiceProviderConfig", "/scim/v2/Schemas"] {
        let r = app.get(exempt, &acme.scim).await;
        assert_eq!(r.status.as_u16(), 200, "{exempt}");
        assert_eq!(r.header("ratelimit-limit"), None, "{exempt}");
    }
    let health = app.send(TestRequest::get().uri("/healthz")).await;
    assert_eq!(health.status.as_u16(), 200);
    // Nothing was written by the refused requests, and after Retry-After the next one passes.
    clock.advance(chrono::Duration::seconds(1));
    let again = app.get("/scim/v2/Users", &acme.scim).await;
    assert_eq!(again.status.as_u16(), 200, "{}", again.body);

    let metrics = app.state.metrics.render();
    let samples = parse_exposition(&metrics);
    assert_eq!(
        value(
            &samples,
            "mobietrain_rate_limited_requests_total",
            &[("account", acme.id.as_str()), ("bucket", "read")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &samples,
            "mobietrain_rate_limited_requests_total",
            &[("account", other.id.as_str()), ("bucket", "read")]
        ),
        None
    );
}

#[actix_web::test]
async fn writes_have_their_own_bucket() {
    let (app, clock) = limited_app();
    let acme = app.account("Acme");
    for i in 0..10 {
        let r = app
            .post(
                "/scim/v2/Users",
                &acme.scim,
                &user(&format!("u{i}@example.com")),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    }
    let refused = app
        .post("/scim/v2/Users", &acme.scim, &user("late@example.com"))
        .await;
    refused.assert_scim_error(429, None);
    assert_eq!(app.count("users"), 10, "a refused write changes nothing");
    let read = app.get("/scim/v2/Users?count=0", &acme.scim).await;
    assert_eq!(read.status.as_u16(), 200);
    let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
    clock.advance(chrono::Duration::seconds(wait));
    let later = app
        .post("/scim/v2/Users", &acme.scim, &user("late@example.com"))
        .await;
    assert_eq!(later.status.as_u16(), 201, "{}", later.body);
}

fn token_id(app: &TestApp, account: &str, label: &str) -> String {
    mobietrain_scim::accounts::list_tokens(&mut app.conn(), account)
        .unwrap()
        .into_iter()
        .find(|t| t.label == label)
        .unwrap()
        .id
}

/// The access-log line of the request `request_id`.
fn access_line(request_id: &str) -> String {
    captured_logs()
        .lines()
        .filter(|l| l.contains("mobietrain_scim::access"))
        .find(|l| l.contains(&format!("request_id={request_id}")))
        .unwrap_or_else(|| panic!("no access-log line of {request_id}"))
        .to_owned()
}

/// `GET uri` with `token` and the request id `id`.
async fn traced_get(app: &TestApp, uri: &str, token: &str, id: &str) -> crate::harness::Resp {
    app.send(
        TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("X-Request-Id", id)),
    )
    .await
}

#[actix_web::test]
async fn the_access_log_has_one_line_per_request_with_who_what_and_how_long() {
    let app = TestApp::new();
    let acme = app.account("Acme");
    let scim_token_id = token_id(&app, &acme.id, "test scim");
    let r = traced_get(
        &app,
        "/scim/v2/Users?filter=userName%20zz%20%22ann%40example.com%22",
        &acme.scim,
        "obs-test-1",
    )
    .await;
    r.assert_scim_error(400, Some("invalidFilter"));
    assert_eq!(r.header("x-request-id").as_deref(), Some("obs-test-1"));
    let line = access_line("obs-test-1");
    for field in [
        "method=GET".to_owned(),
        "route=/scim/v2/Users".to_owned(),
        "status=400".to_owned(),
        format!("account_id={}", acme.id),
        format!("token_id={scim_token_id}"),
        "scim_type=invalidFilter".to_owned(),
        "duration_ms=".to_owned(),
    ] {
        assert!(line.contains(&field), "{field} in {line}");
    }
    // Never the query (a user name), the token, or its label (it may name a person).
    assert!(
        !line.contains("ann@example.com") && !line.contains("ann%40"),
        "{line}"
    );
    assert!(
        !line.contains(&acme.scim) && !line.contains("test scim"),
        "{line}"
    );
    assert_eq!(
        captured_logs()
            .lines()
            .filter(|l| l.contains("request_id=obs-test-1") && l.contains("request handled"))
            .count(),
        1,
        "one line per request"
    );

    // The admin API names its caller too.
    let admin_token_id = token_id(&app, &acme.id, "test admin");
    let r = traced_get(&app, "/admin/v1/jobs", &acme.admin, "obs-test-2").await;
    assert_eq!(r.status.as_u16(), 200);
    let line = access_line("obs-test-2");
    assert!(
        line.contains(&format!("token_id={admin_token_id}")),
        "{line}"
    );
    assert!(line.contains("scim_type=-"), "{line}");
}

#[actix_web::test]
async fn every_response_carries_a_request_id_made_or_accepted() {
    let app = TestApp::new();
    let acme = app.account("Acme");
    let mut seen = Vec::new();
    for req in [
        TestRequest::get().uri("/healthz"),
        TestRequest::get().uri("/scim/v2/Users"),
        TestRequest::get()
            .uri("/scim/v2/Users")
            .insert_header(("Authorization", "Bearer nope")),
        TestRequest::get().uri("/no/such/route"),
        TestRequest::get()
            .uri("/admin/v1/jobs")
            .insert_header(("Authorization", format!("Bearer {}", acme.admin))),
    ] {
        let r = app.send(req).await;
        let id = r.header("x-request-id").expect("a request id");
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert!(!seen.contains(&id), "a new id per request");
        seen.push(id);
    }
    // A client's id is kept when it is short and plain, replaced otherwise.
    let r = app
        .send(
            TestRequest::get()
                .uri("/healthz")
                .insert_header(("X-Request-Id", "abc.DEF-1_2:3")),
        )
        .await;
    assert_eq!(r.header("x-request-id").as_deref(), Some("abc.DEF-1_2:3"));
    for bad in [
        "a".repeat(65),
        "two words".to_owned(),
        "semi;colon".to_owned(),
    ] {
        let r = app
            .send(
                TestRequest::get()
                    .uri("/healthz")
                    .insert_header(("X-Request-Id", bad.clone())),
            )
            .await;
        let id = r.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
    }
}

#[actix_web::test]
async fn readyz_counts_only_due_jobs_and_the_admin_list_shows_every_state() {
    let app = TestApp::new();
    app.allow_unprocessed_jobs();
    let acme = app.account("Acme");
    let now = app.state.clock.now_naive();
    let mut conn = app.conn();
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Probe {
        n: u32,
    }
    impl queue::JobType for Probe {
        const NAME: &'static str = "test.probe";
    }
    for (n, run_at) in [(1, now), (2, now + chrono::Duration::days(7))] {
        queue::enqueue(
            &mut conn,
            &Probe { n },
            EnqueueOptions {
                account_id: Some(acme.id.clone()),
                run_at: Some(run_at),
                ..EnqueueOptions::default()
            },
            now,
        )
        .unwrap();
    }
    drop(conn);
    let ready = app.send(TestRequest::get().uri("/readyz")).await;
    assert_eq!(ready.body["jobs"]["queued"], 1, "{}", ready.body);
    assert_eq!(ready.body["jobs"]["scheduled"], 1, "{}", ready.body);

    let all = app.get("/admin/v1/jobs", &acme.admin).await;
    assert_eq!(all.status.as_u16(), 200, "{}", all.body);
    assert_eq!(
        all.body["jobs"].as_array().unwrap().len(),
        2,
        "{}",
        all.body
    );
    let failed = app
        .call(
            Method::GET,
            "/admin/v1/jobs?state=failed",
            &acme.admin,
            None,
        )
        .await;
    assert_eq!(failed.body["jobs"], json!([]));
    let other = app.account("Other");
    let theirs = app.get("/admin/v1/jobs", &other.admin).await;
    assert_eq!(theirs.body["jobs"], Value::Array(vec![]));
}
