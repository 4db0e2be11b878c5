//! The test harness: every test gets its own database (a fresh SQLite file, or a fresh PostgreSQL
//! database cloned from a migrated template when `TEST_DATABASE_URL` is set), the app built by the
//! composition root (`app`) as `serve` builds it, the real route table (`http::configure`), and
//! helpers to call it. Jobs run when a test says so ([`TestApp::run_due_jobs`], through the real
//! job registry); a test that leaves due jobs unprocessed fails when its app is dropped. Logs of
//! the whole test binary are captured so tests can prove what never reaches them.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::{TestRequest, call_service, init_service, read_body};
use actix_web::{App, http::StatusCode};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::BigInt;
use mobietrain_scim::accounts::{self, Scope};
use mobietrain_scim::app;
use mobietrain_scim::clock::{Clock, SystemClock};
use mobietrain_scim::config::{Config, DatabaseConfig, ObservabilityConfig};
use mobietrain_scim::db::{
    self, ConnectionManager, DatabaseTarget, DbConn, PoolSettings, SqliteSync,
};
use mobietrain_scim::email::Mailer;
use mobietrain_scim::email::memory::MemoryMailer;
use mobietrain_scim::http::{access_log::access_log, configure};
use mobietrain_scim::jobs::schedule::Schedule;
use mobietrain_scim::jobs::worker::{WorkerSettings, run_due};
use mobietrain_scim::state::{AppState, HttpSettings};
use serde_json::Value;

/// The PostgreSQL server to test against, if any (`postgres://postgres@127.0.0.1:5432`).
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
        .map(|url| {
            // Keep scheme and authority; the harness chooses the database.
            let after_scheme = url.find("://").map(|i| i + 3).unwrap_or(0);
            match url[after_scheme..].find('/') {
                Some(slash) => url[..after_scheme + slash].to_owned(),
                None => url,
            }
        })
}

/// A database owned by one test, removed when the test ends.
pub struct TestDb {
    /// The `DATABASE_URL` of this database.
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { server, name } = &self.cleanup
            && let Ok(mut admin) = open(&format!("{server}/postgres"))
        {
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"));
        }
    }
}

fn open(url: &str) -> anyhow::Result<DbConn> {
    let target = DatabaseTarget::parse(url)?;
    Ok(ConnectionManager::new(target, SqliteSync::Normal).open()?)
}

/// The migrated template database all PostgreSQL test databases are cloned from; named after the
/// migrations, so a change to them builds a new one.
fn postgres_template(server: &str) -> String {
    static TEMPLATE: OnceLock<String> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            for m in ["up", "down"] {
                for entry in
                    std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"))
                        .unwrap()
                {
                    let path = entry.unwrap().path().join(format!("{m}.sql"));
                    path.file_name().hash(&mut hasher);
                    std::fs::read_to_string(&path)
                        .unwrap_or_default()
                        .hash(&mut hasher);
                }
            }
            let name = format!("mts_template_{:016x}", hasher.finish());
            let mut admin = open(&format!("{server}/postgres"))
                .expect("PostgreSQL at TEST_DATABASE_URL answers");
            admin
                .batch_execute("SELECT pg_advisory_lock(4242)")
                .unwrap();
            #[derive(diesel::QueryableByName)]
            struct Count {
                #[diesel(sql_type = BigInt)]
                n: i64,
            }
            let exists = diesel::sql_query(format!(
                "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
            ))
            .get_result::<Count>(&mut admin)
            .unwrap()
            .n > 0;
            if !exists {
                let building = format!("{name}_building");
                admin
                    .batch_execute(&format!(
                        "DROP DATABASE IF EXISTS \"{building}\" WITH (FORCE)"
                    ))
                    .unwrap();
                admin
                    .batch_execute(&format!("CREATE DATABASE \"{building}\""))
                    .unwrap();
                {
                    let mut conn = open(&format!("{server}/{building}")).unwrap();
                    db::run_migrations(&mut conn).unwrap();
                }
                admin
                    .batch_execute(&format!(
                        "ALTER DATABASE \"{building}\" RENAME TO \"{name}\""
                    ))
                    .unwrap();
            }
            admin
                .batch_execute("SELECT pg_advisory_unlock(4242)")
                .unwrap();
            name
        })
        .clone()
}

impl TestDb {
    /// A fresh, migrated database on the backend under test.
    pub fn new() -> Self {
        match postgres_server() {
            Some(server) => {
                let template = postgres_template(&server);
                let name = format!("mts_test_{}", uuid::Uuid::new_v4().simple());
                let mut admin = open(&format!("{server}/postgres")).unwrap();
                // Another test cloning the template at the same moment makes PostgreSQL refuse; retry.
                let mut attempt = 0;
                loop {
                    match admin.batch_execute(&format!(
                        "CREATE DATABASE \"{name}\" TEMPLATE \"{template}\""
                    )) {
                        Ok(()) => break,
                        Err(e) if attempt < 50 => {
                            attempt += 1;
                            let _ = e;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => panic!("cannot create a test database: {e}"),
                    }
                }
                TestDb {
                    url: format!("{server}/{name}"),
                    cleanup: Cleanup::Postgres { server, name },
                }
            }
            None => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("test.db").display());
                let mut conn = open(&url).unwrap();
                db::run_migrations(&mut conn).unwrap();
                TestDb {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
        }
    }

    /// Whether this is PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        matches!(self.cleanup, Cleanup::Postgres { .. })
    }
}

/// Log lines of the whole test binary, at every level.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&log_buffer().lock().unwrap()).into_owned()
}

fn log_buffer() -> &'static Arc<Mutex<Vec<u8>>> {
    static BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUFFER.get_or_init(|| Arc::new(Mutex::new(Vec::new())))
}

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log_buffer().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(|| Capture)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other subscriber is set");
    });
}

/// A response as tests see it.
#[derive(Debug)]
pub struct Resp {
    /// The status code.
    pub status: StatusCode,
    /// The headers.
    pub headers: actix_web::http::header::HeaderMap,
    /// The body as JSON (`Null` when empty).
    pub body: Value,
}

impl Resp {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts a SCIM error: status, `scimType` (if any), and the RFC 7644 §3.12 shape.
    #[track_caller]
    pub fn assert_scim_error(&self, status: u16, scim_type: Option<&str>) -> &str {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.body);
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/scim+json")
        );
        assert_eq!(
            self.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
        assert_eq!(
            self.body["status"],
            Value::String(status.to_string()),
            "status is a string"
        );
        assert_eq!(
            self.body["scimType"].as_str(),
            scim_type,
            "body: {}",
            self.body
        );
        let detail = self.body["detail"].as_str().expect("a detail");
        assert!(!detail.is_empty());
        detail
    }
}

/// Tokens of one test account.
#[derive(Debug, Clone)]
pub struct TestAccount {
    /// The account id.
    pub id: String,
    /// A SCIM-scope token.
    pub scim: String,
    /// An admin-scope token.
    pub admin: String,
}

/// The real app on a database of its own.
pub struct TestApp {
    /// The application state the routes share.
    pub state: AppState,
    /// Where the jobs run by [`TestApp::run_due_jobs`] send e-mail.
    pub mailer: Arc<MemoryMailer>,
    /// Where the jobs run by [`TestApp::run_due_jobs`] send text messages.
    pub texts: Arc<mobietrain_scim::sms::memory::MemoryTextSender>,
    /// The database (dropped last).
    pub db: TestDb,
    /// Set by [`TestApp::allow_unprocessed_jobs`].
    unprocessed_allowed: AtomicBool,
}

impl TestApp {
    /// An app with default settings.
    pub fn new() -> Self {
        Self::with(HttpSettings::default(), 4)
    }

    /// An app with these HTTP settings and pool size.
    pub fn with(settings: HttpSettings, pool_size: u32) -> Self {
        Self::on(TestDb::new(), settings, pool_size)
    }

    /// An app on an existing test database, built by the composition root from the default
    /// configuration (with this database and pool size, and a fresh server key).
    /// The per-account rate limits are off (`RATE_LIMIT_READS=0 RATE_LIMIT_WRITES=0`): only the
    /// limiter's own tests turn them on ([`TestApp::observed`]).
    pub fn on(db: TestDb, settings: HttpSettings, pool_size: u32) -> Self {
        let observability = ObservabilityConfig {
            rate_limit_reads: 0,
            rate_limit_writes: 0,
            ..ObservabilityConfig::default()
        };
        Self::observed(
            db,
            settings,
            pool_size,
            observability,
            Arc::new(SystemClock),
        )
    }

    /// An app with these metrics and rate-limit settings and this clock.
    pub fn observed(
        db: TestDb,
        settings: HttpSettings,
        pool_size: u32,
        observability: ObservabilityConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        init_logs();
        let config = Config {
            database: DatabaseConfig {
                url: db.url.clone(),
                sqlite_synchronous: SqliteSync::Normal,
                pool_size: Some(pool_size),
                pool_timeout_secs: 30,
            },
            observability,
            ..Config::default()
        };
        config.validate().unwrap();
        let state = app::state(
            &config,
            app::Parts {
                pool: app::pool(&config.database).unwrap(),
                clock,
                server_key: Arc::new(mobietrain_scim::crypto::ServerKey::generate()),
                http: settings,
                crewplanner: Arc::new(app::crewplanner(&config.crewplanner).unwrap()),
            },
        );
        TestApp {
            state,
            mailer: Arc::new(MemoryMailer::new()),
            texts: Arc::default(),
            db,
            unprocessed_allowed: AtomicBool::new(false),
        }
    }

    /// Runs every job due at the app's clock through the real job registry, on this test's
    /// database, until none is due; mail goes to [`TestApp::mailer`]. Returns how many ran (a
    /// failed attempt counts; it is retried only once its backoff has passed on the clock).
    pub fn run_due_jobs(&self) -> usize {
        self.run_due_jobs_with(self.mailer.clone(), Vec::new())
    }

    /// [`TestApp::run_due_jobs`] with another mailer, ticking `schedules` first.
    pub fn run_due_jobs_with(&self, mailer: Arc<dyn Mailer>, schedules: Vec<Schedule>) -> usize {
        self.run_due_jobs_sending(mailer, self.texts.clone(), schedules)
    }

    /// [`TestApp::run_due_jobs_with`], texts going to `texts`.
    pub fn run_due_jobs_sending(
        &self,
        mailer: Arc<dyn Mailer>,
        texts: Arc<dyn mobietrain_scim::sms::TextSender>,
        schedules: Vec<Schedule>,
    ) -> usize {
        let settings = WorkerSettings {
            threads: 1,
            lease: chrono::Duration::seconds(60),
            schedules,
            instance: "test".into(),
            ..WorkerSettings::default()
        };
        run_due(
            &app::job_services_with_texts(&self.state, mailer, texts),
            &app::job_registry(),
            &settings,
            10_000,
        )
        .expect("the due jobs run")
    }

    /// Lets this test end with due jobs left unprocessed (it is about what is queued, not about
    /// what running it does).
    pub fn allow_unprocessed_jobs(&self) {
        self.unprocessed_allowed.store(true, Ordering::SeqCst);
    }

    /// A pooled connection to the test database.
    pub fn conn(&self) -> db::PooledConn {
        self.state.pool.get().unwrap()
    }

    /// Creates an account with a SCIM and an admin token.
    pub fn account(&self, name: &str) -> TestAccount {
        let mut conn = self.conn();
        let now = SystemClock.now_naive();
        let account = accounts::create_account(&mut conn, name, now).unwrap();
        let (_, scim) =
            accounts::issue_token(&mut conn, &account.id, "test scim", Scope::Scim, now).unwrap();
        let (_, admin) =
            accounts::issue_token(&mut conn, &account.id, "test admin", Scope::Admin, now).unwrap();
        TestAccount {
            id: account.id,
            scim,
            admin,
        }
    }

    /// Sends a request through the real route table.
    pub async fn send(&self, req: TestRequest) -> Resp {
        let app = init_service(
            App::new()
                .wrap(actix_web::middleware::from_fn(access_log))
                .configure(configure(self.state.clone())),
        )
        .await;
        let response = call_service(&app, req.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = read_body(response).await;
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// A request with a bearer token and, if given, a SCIM JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> Resp {
        let mut req = TestRequest::default()
            .method(method)
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")));
        if let Some(body) = body {
            req = req
                .insert_header(("Content-Type", "application/scim+json"))
                .set_payload(body.to_string());
        }
        self.send(req).await
    }

    /// `GET path`.
    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, token, None).await
    }

    /// `POST path` with a JSON body.
    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::POST, path, token, Some(body)).await
    }

    /// `PUT path` with a JSON body.
    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Resp {
        self.call(Method::PUT, path, token, Some(body)).await
    }

    /// `DELETE path`.
    pub async fn delete(&self, path: &str, token: &str) -> Resp {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Rows in `table`, counted in the database.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
            .get_result::<Count>(&mut self.conn())
            .unwrap()
            .n
    }

    /// Provisioning-log entries that record a change or a warning (not the `request.refused`
    /// record of a refused request, which a refusal adds by design).
    pub fn count_audit_changes(&self) -> i64 {
        self.count("audit_events WHERE code <> 'request.refused'")
    }

    /// Starts the real HTTP server on a free loopback port, in a thread of its own; returns its base
    /// URL and a handle that stops it.
    pub fn serve(&self, workers: usize) -> (String, actix_web::dev::ServerHandle) {
        let state = self.state.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = actix_web::HttpServer::new(move || {
                    App::new()
                        .wrap(actix_web::middleware::from_fn(access_log))
                        .configure(configure(state.clone()))
                })
                .workers(workers)
                .bind("127.0.0.1:0")
                .unwrap();
                let addr = server.addrs()[0];
                let running = server.run();
                tx.send((format!("http://{addr}"), running.handle()))
                    .unwrap();
                running.await
            })
        });
        rx.recv_timeout(Duration::from_secs(30))
            .expect("the server starts")
    }
}

impl Drop for TestApp {
    /// Fails the test when it leaves jobs due and unprocessed (unless it said it may, or is
    /// failing already): what a test causes, it runs.
    fn drop(&mut self) {
        if std::thread::panicking() || self.unprocessed_allowed.load(Ordering::SeqCst) {
            return;
        }
        let Ok(mut conn) = self.state.pool.get() else {
            return;
        };
        let now = self.state.clock.now_naive();
        let due = mobietrain_scim::jobs::queue::due(&mut conn, now).expect("the jobs can be read");
        if !due.is_empty() {
            let mut names = std::collections::BTreeMap::<&str, usize>::new();
            for job in &due {
                *names.entry(job.name.as_str()).or_default() += 1;
            }
            panic!(
                "the test left due jobs unprocessed (name: count): {names:?} (run them with run_due_jobs, or \
                 call allow_unprocessed_jobs)"
            );
        }
    }
}

/// A second pool on a test database, as a separate app instance would have: it shares only the
/// database with the first.
pub fn pool_on(db: &TestDb, size: u32) -> db::Pool {
    db::build_pool(
        ConnectionManager::new(DatabaseTarget::parse(&db.url).unwrap(), SqliteSync::Normal),
        &PoolSettings {
            max_size: size,
            connection_timeout: Duration::from_secs(30),
        },
    )
    .unwrap()
}

/// Polls `done` until it holds, failing the test after `within`.
#[track_caller]
pub fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A minimal valid user body.
pub fn user(user_name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
    })
}
