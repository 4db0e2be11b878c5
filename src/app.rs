//! The composition root: the one place that turns a validated [`Config`] into the running parts,
//! for `serve`, `worker`, `bench` and the tests alike. It opens and migrates the database, builds
//! the request handlers' [`AppState`], the job handlers' context ([`JobServices`]), the job
//! [`Registry`] (every concrete job type is registered here, and only here) and the schedules.

use std::sync::Arc;

use anyhow::Context;

use crate::accounts::rate_limit::{RateLimitSettings, RateLimits};
use crate::clock::{Clock, SystemClock};
use crate::config::{
    Config, CrewPlannerConfig, DatabaseConfig, InvitationConfig, MailConfig, TextConfig,
};
use crate::crypto::ServerKey;
use crate::db::{self, DbConn, Pool};
use crate::email::job::{MailServices, Recipient};
use crate::email::smtp::SmtpMailer;
use crate::email::templates::Templates;
use crate::email::{DisabledMailer, Mailer};
use crate::invitations::InvitationSettings;
use crate::invitations::jobs::InvitationServices;
use crate::jobs::schedule::{self, Schedule};
use crate::jobs::worker::{WorkerSettings, Workers};
use crate::jobs::{Registry, Runtime};
use crate::metrics::Metrics;
use crate::signin::jobs::SignInServices;
use crate::sms::job::TextServices;
use crate::sms::twilio::TwilioSender;
use crate::sms::{DisabledTextSender, TextSender};
use crate::state::{AppSettings, AppState, HttpSettings};

/// Opens one connection and brings the schema up to date (migrations, then the one-off refold of
/// stored identifiers), under the migration lock; `at_start` runs under the same lock after them
/// (the first start's bootstrap).
pub fn migrate<T>(
    database: &DatabaseConfig,
    at_start: impl FnOnce(&mut DbConn) -> anyhow::Result<T>,
) -> anyhow::Result<(DbConn, T)> {
    let mut conn = database
        .manager()?
        .open()
        .context("cannot open the database")?;
    let now = SystemClock.now_naive();
    let made = db::migrate_locked(&mut conn, |conn| {
        crate::refold::run_at_start(conn, now);
        at_start(conn)
    })?;
    Ok((conn, made))
}

/// [`migrate`] with nothing more to do: one migrated connection, for the CLI's commands.
pub fn open_migrated(database: &DatabaseConfig) -> anyhow::Result<DbConn> {
    Ok(migrate(database, |_| Ok(()))?.0)
}

/// The connection pool the configuration describes.
pub fn pool(database: &DatabaseConfig) -> anyhow::Result<Pool> {
    let backend = database.backend()?;
    Ok(db::build_pool(
        database.manager()?,
        &database.pool_settings(backend),
    )?)
}

/// The server key: `SERVER_KEY`, else the key file. A new key is made only when `may_create`
/// and the database is SQLite (a single instance); its file is for the caller to write once the
/// database accepted the key ([`crate::crypto::NewKeyFile`]).
pub fn server_key(
    config: &Config,
    may_create: bool,
) -> anyhow::Result<(ServerKey, Option<crate::crypto::NewKeyFile>)> {
    let sqlite = config.database.backend()? == db::Backend::Sqlite;
    ServerKey::load(
        config.key.server_key.as_ref().map(|k| k.expose()),
        &config.key.server_key_file,
        may_create && sqlite,
    )
}

/// The invitation settings of the configuration.
pub fn invitation_settings(config: &InvitationConfig) -> InvitationSettings {
    InvitationSettings {
        reminder_days: config.reminder_days.clone(),
        expiry: config.expiry(),
        resend_cooldown: config.resend_cooldown(),
        invite_url: config.invite_url.clone(),
    }
}

/// The CrewPlanner link: the platform keys read from their files now, the JWKS URL on first use.
pub fn crewplanner(config: &CrewPlannerConfig) -> anyhow::Result<crate::crewplanner::CrewPlanner> {
    use crate::crewplanner::keys;
    let mut platform = keys::PlatformKeys::default();
    if let Some(file) = &config.jwks_file {
        let doc = crate::config::read_key_file(file)?;
        platform
            .fixed
            .extend(keys::from_jwks(&doc).with_context(|| format!("{}", file.display()))?);
    }
    if let Some(file) = &config.public_key_file {
        let pem = crate::config::read_key_file(file)?;
        platform.fixed.push(
            keys::from_pem(&pem, config.public_key_id.as_deref())
                .with_context(|| format!("{}", file.display()))?,
        );
    }
    if let Some(url) = config.jwks_url() {
        platform.jwks = Some(keys::JwksSource::new(
            url,
            std::time::Duration::from_secs(30),
        )?);
    }
    Ok(crate::crewplanner::CrewPlanner {
        platform,
        issuer_template: config.issuer_template.clone(),
        ..Default::default()
    })
}

/// The HTTP settings once the server listens and its public URL is known.
pub fn http_settings(config: &Config, public_url: String) -> HttpSettings {
    HttpSettings {
        public_url,
        max_body_bytes: config.http.max_body_bytes,
        body_read_timeout: config.http.body_read_timeout(),
        max_results: config.http.max_results,
        bulk_max_operations: config.http.bulk_max_operations,
        bulk_max_payload_bytes: config
            .http
            .bulk_max_payload_bytes
            .min(config.http.max_body_bytes),
        cursor_timeout: std::time::Duration::from_secs(config.http.cursor_timeout_secs),
        bulk_slot_wait: HttpSettings::default().bulk_slot_wait,
        // Validated with the configuration (`Config::validate`), so never the fallback.
        cors_origins: config.cors_origins().unwrap_or_default(),
    }
}

/// What [`state`] needs besides the configuration: what is opened or decided at start.
#[derive(Debug)]
pub struct Parts {
    /// Database connections.
    pub pool: Pool,
    /// The time source.
    pub clock: Arc<dyn Clock>,
    /// The server key.
    pub server_key: Arc<ServerKey>,
    /// The HTTP settings (see [`http_settings`]).
    pub http: HttpSettings,
    /// The CrewPlanner link (see [`crewplanner`]; built first, so a bad key file fails the start
    /// before anything is written).
    pub crewplanner: Arc<crate::crewplanner::CrewPlanner>,
}

/// The request handlers' state.
pub fn state(config: &Config, parts: Parts) -> AppState {
    let limits = crate::scim::limits::Limits {
        projection_paths: config.http.limits.projection_paths,
        patch_operations: config.http.limits.patch_operations,
        multi_values: config.http.limits.multi_values,
        members: config.http.limits.members,
    };
    let dialects = Arc::<crate::scim::dialect::DialectCounters>::default();
    let metrics = Arc::new(server_metrics(
        config,
        &parts.pool,
        &parts.clock,
        &dialects,
        &parts.crewplanner,
    ));
    let rate_limits = Arc::new(RateLimits::new(
        RateLimitSettings {
            reads: config.observability.rate_limit_reads,
            writes: config.observability.rate_limit_writes,
        },
        parts.clock.clone(),
    ));
    let sign_in_limits = Arc::new(crate::signin::limits::SignInLimits::new(
        crate::signin::limits::SignInLimitSettings::default(),
        parts.clock.clone(),
    ));
    let oauth = Arc::new(crate::oauth::OAuth::new(
        config.oauth.access_token_ttl_secs,
        parts.clock.clone(),
    ));
    let clock_for_console = parts.clock.clone();
    let bulk_slots = Arc::new(tokio::sync::Semaphore::new(crate::state::bulk_slots(
        parts.pool.max_size(),
    )));
    AppState {
        bulk_slots,
        oauth,
        pool: parts.pool,
        registry: Arc::new(crate::scim::schema::Registry::embedded().with_limits(limits)),
        clock: parts.clock,
        settings: Arc::new(parts.http),
        dialects,
        metrics,
        rate_limits,
        server_key: parts.server_key,
        app: Arc::new(AppSettings {
            app_url: config.app.app_url.clone(),
            session_lifetime: config.app.session_lifetime(),
        }),
        invitations: Arc::new(invitation_settings(&config.invitations)),
        sign_in_limits,
        crewplanner: parts.crewplanner,
        console_sign_in: Arc::new(crate::console_sessions::SignInThrottle::new(
            clock_for_console,
        )),
    }
}

/// The metrics of a `worker` process: job outcomes, messages, the pool and the job backlog.
/// Recording is on only when `METRICS_BIND` is set.
pub fn worker_metrics(config: &Config, pool: &Pool, clock: &Arc<dyn Clock>) -> Arc<Metrics> {
    Arc::new(Metrics::new(
        config.observability.metrics_bind.is_some(),
        queue_collectors(pool, clock),
    ))
}

/// The metrics of `serve`: those of [`worker_metrics`], and what the request handlers count
/// elsewhere (client dialect rewrites, CrewPlanner refusals), read at each scrape.
fn server_metrics(
    config: &Config,
    pool: &Pool,
    clock: &Arc<dyn Clock>,
    dialects: &Arc<crate::scim::dialect::DialectCounters>,
    crewplanner: &Arc<crate::crewplanner::CrewPlanner>,
) -> Metrics {
    use crate::metrics::{ConstCounter, Kind, collector, encode_family};
    let mut collectors = queue_collectors(pool, clock);
    let dialects = dialects.clone();
    collectors.push(collector(move |encoder| {
        let samples: Vec<_> = crate::scim::dialect::Rewrite::ALL
            .iter()
            .map(|r| {
                let n = ConstCounter::new(dialects.count(*r));
                (vec![("kind", r.name().to_owned())], n)
            })
            .collect();
        encode_family(
            encoder,
            "dialect_rewrites",
            "Client dialect forms rewritten into RFC form, by kind",
            Kind::Counter,
            samples,
        )
    }));
    let crewplanner = crewplanner.clone();
    collectors.push(collector(move |encoder| {
        let samples: Vec<_> = crewplanner
            .refusals
            .snapshot()
            .into_iter()
            .map(|(reason, n)| {
                (
                    vec![("reason", reason.code().to_owned())],
                    ConstCounter::new(n),
                )
            })
            .collect();
        encode_family(
            encoder,
            "crewplanner_refusals",
            "CrewPlanner links refused, by reason",
            Kind::Counter,
            samples,
        )
    }));
    Metrics::new(config.observability.metrics_bind.is_some(), collectors)
}

/// Collectors of the pool's use and of the job backlog (one database query per scrape).
fn queue_collectors(
    pool: &Pool,
    clock: &Arc<dyn Clock>,
) -> Vec<Box<dyn crate::metrics::Collector>> {
    use crate::metrics::{ConstGauge, Kind, collector, encode_family};
    let gauge = |state: &str, n: i64| (vec![("state", state.to_owned())], ConstGauge::new(n));
    let for_pool = pool.clone();
    let pool_usage = collector(move |encoder| {
        let state = for_pool.state();
        let idle = i64::from(state.idle_connections);
        let open = i64::from(state.connections);
        encode_family(
            encoder,
            "db_pool_connections",
            "Database pool connections by state (in_use, idle), and the pool's maximum (max)",
            Kind::Gauge,
            vec![
                gauge("in_use", open - idle),
                gauge("idle", idle),
                gauge("max", i64::from(for_pool.max_size())),
            ],
        )
    });
    let for_secrets = (pool.clone(), clock.clone());
    let (pool, clock) = (pool.clone(), clock.clone());
    let backlog = collector(move |encoder| {
        let counted = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            crate::jobs::queue::backlog(&mut conn, clock.now_naive()).map_err(|e| e.to_string())
        });
        let backlog = match counted {
            Ok(backlog) => backlog,
            Err(e) => {
                tracing::warn!(error = %e, "the job backlog cannot be read for metrics");
                return Ok(());
            }
        };
        encode_family(
            encoder,
            "jobs_backlog",
            "Jobs by state over the whole server: due (a worker would take it now), scheduled \
             (queued for later), running, failed",
            Kind::Gauge,
            vec![
                gauge("due", backlog.due),
                gauge("scheduled", backlog.scheduled),
                gauge("running", backlog.running),
                gauge("failed", backlog.failed),
            ],
        )
    });
    let (pool, clock) = (for_secrets.0, for_secrets.1);
    let expiring = collector(move |encoder| {
        let now = clock.now_naive();
        let until = now + chrono::Duration::days(crate::oauth::clients::EXPIRING_DAYS);
        let counted = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            crate::oauth::storage::expiring_secrets(&mut conn, now, until)
                .map_err(|e| e.to_string())
        });
        match counted {
            Ok(n) => encode_family(
                encoder,
                "oauth_client_secrets_expiring",
                "Live OAuth client secrets (of live clients) over the whole server that expire \
                 within 30 days: add a secret and update the identity provider before they do",
                Kind::Gauge,
                vec![(Vec::new(), ConstGauge::new(n))],
            ),
            Err(e) => {
                tracing::warn!(error = %e, "expiring OAuth secrets cannot be counted for metrics");
                Ok(())
            }
        }
    });
    vec![pool_usage, backlog, expiring]
}

/// Binds the metrics listener of `METRICS_BIND`, if set, so a taken port fails the start early.
pub fn metrics_listener(config: &Config) -> anyhow::Result<Option<std::net::TcpListener>> {
    config
        .observability
        .metrics_bind
        .map(|addr| {
            std::net::TcpListener::bind(addr)
                .with_context(|| format!("cannot listen on {addr} (METRICS_BIND)"))
        })
        .transpose()
}

/// Starts the metrics listener (inside the running actix system) and announces it on stdout.
pub fn serve_metrics(listener: std::net::TcpListener, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let server = crate::http::telemetry::metrics_server(listener, metrics)?;
    actix_web::rt::spawn(server);
    println!("metrics served at http://{addr}/metrics");
    tracing::info!(%addr, "metrics listener started");
    Ok(())
}

/// Names the kind of a job failure for the log: the mail and text errors by kind, else what the
/// generic queue can tell ([`crate::jobs::worker::classify`]).
pub fn classify_failure(error: &anyhow::Error) -> &'static str {
    use crate::email::MailError;
    if let Some(text) = crate::sms::job::text_error(error) {
        return text.kind();
    }
    match error.chain().find_map(|e| e.downcast_ref::<MailError>()) {
        Some(MailError::Transport(_)) => "mail_transport",
        Some(MailError::NotConfigured) => "mail_not_configured",
        Some(_) => "mail_message",
        None => crate::jobs::worker::classify(error),
    }
}

/// A text sender that counts what it hands on: sent or failed.
#[derive(Debug)]
struct CountingTextSender {
    inner: Arc<dyn TextSender>,
    metrics: Arc<Metrics>,
}

impl TextSender for CountingTextSender {
    fn send(
        &self,
        text: &crate::sms::TextMessage,
    ) -> Result<crate::sms::SentText, crate::sms::TextError> {
        let sent = self.inner.send(text);
        self.metrics.message("text", sent.is_ok());
        sent
    }
}

/// `texts`, counted in `metrics` (`messages{channel="text"}`).
pub fn counted_texts(texts: Arc<dyn TextSender>, metrics: &Arc<Metrics>) -> Arc<dyn TextSender> {
    Arc::new(CountingTextSender {
        inner: texts,
        metrics: metrics.clone(),
    })
}

/// The text sender the configuration names: Twilio, or, without `TWILIO_ACCOUNT_SID`, one that
/// refuses every text (text jobs then back off and end up visible as failed).
pub fn text_sender(config: &TextConfig) -> anyhow::Result<Arc<dyn TextSender>> {
    Ok(match config.twilio() {
        Some(settings) => Arc::new(TwilioSender::new(settings)?),
        None => {
            tracing::warn!(
                "TWILIO_ACCOUNT_SID is not set: text message jobs will fail until it is"
            );
            Arc::new(DisabledTextSender)
        }
    })
}

/// A mailer that counts what it hands on: sent or failed.
#[derive(Debug)]
struct CountingMailer {
    inner: Arc<dyn Mailer>,
    metrics: Arc<Metrics>,
}

impl Mailer for CountingMailer {
    fn send(&self, email: &crate::email::Email) -> Result<(), crate::email::MailError> {
        let sent = self.inner.send(email);
        self.metrics.message("email", sent.is_ok());
        sent
    }

    fn domain(&self) -> &str {
        self.inner.domain()
    }
}

/// `mailer`, counted in `metrics`.
pub fn counted_mailer(mailer: Arc<dyn Mailer>, metrics: &Arc<Metrics>) -> Arc<dyn Mailer> {
    Arc::new(CountingMailer {
        inner: mailer,
        metrics: metrics.clone(),
    })
}

/// The mailer the configuration names: SMTP, or, without `SMTP_URL`, one that refuses every
/// message (mail jobs then back off and end up visible as failed).
pub fn mailer(config: &MailConfig) -> anyhow::Result<Arc<dyn Mailer>> {
    Ok(match config.smtp_url() {
        Some(url) => Arc::new(SmtpMailer::new(url, &config.sender())?),
        None => {
            tracing::warn!("SMTP_URL is not set: e-mail jobs will fail until it is");
            Arc::new(DisabledMailer)
        }
    })
}

/// What every job handler of the server uses: the database, the time, the mailer and templates,
/// the server key and the invitation settings.
#[derive(Debug, Clone)]
pub struct JobServices {
    /// Database connections.
    pub pool: Pool,
    /// The time source (a [`crate::clock::ManualClock`] in tests).
    pub clock: Arc<dyn Clock>,
    /// Where e-mail goes.
    pub mailer: Arc<dyn Mailer>,
    /// The embedded e-mail templates.
    pub templates: Arc<Templates>,
    /// The server key: invitation links are derived from it when their e-mail is sent.
    pub server_key: Arc<ServerKey>,
    /// Invitation reminders, expiry and links.
    pub invitations: Arc<InvitationSettings>,
    /// Where text messages go.
    pub texts: Arc<dyn TextSender>,
}

/// The job handlers' context beside `state`: the same pool, clock, key and settings, and `mailer`
/// (texts are refused: [`job_services_with_texts`] names a sender).
pub fn job_services(state: &AppState, mailer: Arc<dyn Mailer>) -> JobServices {
    job_services_with_texts(state, mailer, Arc::new(DisabledTextSender))
}

/// [`job_services`] with `texts` as the text sender.
pub fn job_services_with_texts(
    state: &AppState,
    mailer: Arc<dyn Mailer>,
    texts: Arc<dyn TextSender>,
) -> JobServices {
    JobServices {
        pool: state.pool.clone(),
        clock: state.clock.clone(),
        mailer: counted_mailer(mailer, &state.metrics),
        templates: Arc::new(Templates::embedded()),
        server_key: state.server_key.clone(),
        invitations: state.invitations.clone(),
        texts: counted_texts(texts, &state.metrics),
    }
}

impl Runtime for JobServices {
    fn pool(&self) -> &Pool {
        &self.pool
    }

    fn clock(&self) -> &dyn Clock {
        &*self.clock
    }
}

impl MailServices for JobServices {
    fn mailer(&self) -> &dyn Mailer {
        &*self.mailer
    }

    fn templates(&self) -> &Templates {
        &self.templates
    }

    fn recipient(
        &self,
        conn: &mut DbConn,
        account_id: &str,
        user_id: &str,
    ) -> anyhow::Result<Option<Recipient>> {
        Ok(crate::users::recipient::find(conn, account_id, user_id)?)
    }

    fn account_name(&self, conn: &mut DbConn, account_id: &str) -> anyhow::Result<String> {
        Ok(crate::accounts::find_account(conn, account_id)?.name)
    }
}

impl TextServices for JobServices {
    fn text_sender(&self) -> &dyn TextSender {
        &*self.texts
    }
}

impl SignInServices for JobServices {
    fn server_key(&self) -> &ServerKey {
        &self.server_key
    }
}

impl InvitationServices for JobServices {
    fn invitations(&self) -> &InvitationSettings {
        &self.invitations
    }

    fn server_key(&self) -> &ServerKey {
        &self.server_key
    }
}

/// Every job the server runs, by name. The names are stored in queued rows: never rename one.
pub fn job_registry() -> Registry<JobServices> {
    use crate::invitations::jobs as invitations;
    let mut registry = Registry::new();
    registry.register::<crate::email::job::SendEmail>(crate::email::job::run);
    registry.register::<schedule::PurgeDoneJobs>(schedule::purge_done_jobs);
    registry.register::<invitations::InvitationEmail>(invitations::send_email);
    registry.register::<invitations::ExpireInvitation>(invitations::expire);
    registry.register::<crate::users::jobs::ProvisionInvitation>(invitations::provision);
    registry.register::<invitations::PurgeExpired>(invitations::purge_expired);
    registry.register::<crate::audit::refused::PurgeRefused>(crate::audit::refused::purge_refused);
    registry.register::<crate::console_sessions::PurgeEnded>(
        crate::console_sessions::purge_ended_sessions,
    );
    registry.register::<crate::sms::job::SendText>(crate::sms::job::run);
    registry.register::<crate::signin::jobs::SendCode>(crate::signin::jobs::send_code);
    registry
}

/// The periodic work of the server: the queue's purge of done jobs, the invitations' own, the
/// purge of old refused requests from the provisioning log, and that of ended console sessions.
pub fn schedules(config: &Config) -> Vec<Schedule> {
    let mut schedules = vec![schedule::purge_done_schedule()];
    schedules.extend(crate::invitations::jobs::schedules());
    schedules.push(crate::audit::refused::schedule(
        config.audit.refused_retention_days,
    ));
    schedules.push(crate::console_sessions::schedule());
    schedules
}

/// How this process's workers behave, with the server's schedules.
pub fn worker_settings(config: &Config) -> WorkerSettings {
    WorkerSettings {
        threads: config.workers.threads,
        lease: config.workers.lease(),
        poll_interval: config.workers.poll_interval(),
        schedules: schedules(config),
        classify: classify_failure,
        ..WorkerSettings::default()
    }
}

/// Starts this process's job workers on `pool`, unless the configuration asks for none; they
/// count in `metrics`.
pub fn start_workers(
    config: &Config,
    pool: &Pool,
    clock: Arc<dyn Clock>,
    server_key: Arc<ServerKey>,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Option<Workers>> {
    if config.workers.threads == 0 {
        return Ok(None);
    }
    let services = JobServices {
        pool: pool.clone(),
        clock,
        mailer: counted_mailer(mailer(&config.mail)?, &metrics),
        templates: Arc::new(Templates::embedded()),
        server_key,
        invitations: Arc::new(invitation_settings(&config.invitations)),
        texts: counted_texts(text_sender(&config.text)?, &metrics),
    };
    tracing::info!(threads = config.workers.threads, "job workers started");
    Ok(Some(Workers::start(
        services,
        job_registry(),
        WorkerSettings {
            metrics,
            ..worker_settings(config)
        },
    )))
}
