//! The one configuration of the server: plain data (no domain types), built from the command line
//! and the environment by `cli` (its clap structs are only the parsing front-end), checked here by
//! [`Config::validate`] before anything is written, and turned into services by the composition
//! root (`app`). Nothing else checks settings. Secrets are [`Secret`]s: their `Debug` shows
//! no value, so a logged or printed configuration never carries one.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::db::{self, Backend, ConnectionManager, DatabaseTarget, PoolSettings, SqliteSync};

/// The documented defaults, shared by the command line (`--help`) and [`Config::default`].
pub mod defaults {
    /// `DATABASE_URL`.
    pub const DATABASE_URL: &str = "sqlite://mobietrain-scim.db";
    /// `DB_POOL_TIMEOUT_SECS`.
    pub const DB_POOL_TIMEOUT_SECS: u64 = 5;
    /// `SERVER_KEY_FILE`.
    pub const SERVER_KEY_FILE: &str = "mobietrain-scim.key";
    /// `BIND`.
    pub const BIND: &str = "127.0.0.1:8080";
    /// `MAX_BODY_BYTES`.
    pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
    /// `BODY_READ_TIMEOUT_SECS`.
    pub const BODY_READ_TIMEOUT_SECS: u64 = 5;
    /// `MAX_PROJECTION_PATHS`.
    pub const MAX_PROJECTION_PATHS: usize = 100;
    /// `MAX_PATCH_OPERATIONS`.
    pub const MAX_PATCH_OPERATIONS: usize = 1000;
    /// `MAX_MULTI_VALUES`.
    pub const MAX_MULTI_VALUES: usize = 100;
    /// `MAX_MEMBERS_PER_REQUEST`.
    pub const MAX_MEMBERS_PER_REQUEST: usize = 100_000;
    /// `MAX_RESULTS`.
    pub const MAX_RESULTS: u64 = 1000;
    /// `BULK_MAX_OPERATIONS`.
    pub const BULK_MAX_OPERATIONS: usize = 1000;
    /// `BULK_MAX_PAYLOAD_BYTES`.
    pub const BULK_MAX_PAYLOAD_BYTES: usize = 1024 * 1024;
    /// `CURSOR_TIMEOUT_SECS`.
    pub const CURSOR_TIMEOUT_SECS: u64 = 600;
    /// `APP_URL`.
    pub const APP_URL: &str = "https://app.mobietrain.com/sign-in";
    /// `SESSION_LIFETIME_HOURS`.
    pub const SESSION_LIFETIME_HOURS: i64 = 336;
    /// `CREWPLANNER_ISSUER_TEMPLATE`.
    pub const CREWPLANNER_ISSUER_TEMPLATE: &str = "https://{slug}.crewplanner.com";
    /// `WORKER_THREADS`.
    pub const WORKER_THREADS: usize = 2;
    /// `JOB_LEASE_SECS`.
    pub const JOB_LEASE_SECS: i64 = 300;
    /// `JOB_POLL_MS`.
    pub const JOB_POLL_MS: u64 = 1000;
    /// `REFUSED_REQUEST_RETENTION_DAYS`.
    pub const REFUSED_REQUEST_RETENTION_DAYS: i64 = 30;
    /// `MAIL_FROM`.
    pub const MAIL_FROM: &str = "no-reply@mobietrain.com";
    /// `MAIL_FROM_NAME`.
    pub const MAIL_FROM_NAME: &str = "MobieTrain";
    /// `INVITE_URL`.
    pub const INVITE_URL: &str = "https://app.mobietrain.com/invitation";
    /// `INVITATION_REMINDER_DAYS`, as the command line writes it.
    pub const INVITATION_REMINDER_DAYS: &str = "7,14,30,53,57";
    /// `INVITATION_EXPIRY_DAYS`.
    pub const INVITATION_EXPIRY_DAYS: i64 = 60;
    /// `INVITATION_RESEND_COOLDOWN_HOURS`.
    pub const INVITATION_RESEND_COOLDOWN_HOURS: i64 = 24;
    /// `TWILIO_API_URL`.
    pub const TWILIO_API_URL: &str = "https://api.twilio.com";
}

/// The largest key file read (a JWKS document, a PEM key, an HS256 secret): the bound the
/// CrewPlanner key parsers apply to documents, checked before a file is read.
pub const MAX_KEY_FILE_BYTES: u64 = 256 * 1024;

/// A secret setting (the server key, the SMTP URL with its password): shown by `Debug` as
/// `Secret(..)`, never by value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that uses it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Every setting of the server. Commands that do not read a section (`account`, `migrate`, …) get
/// its defaults.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Where the data lives.
    pub database: DatabaseConfig,
    /// Where the server key comes from.
    pub key: KeyConfig,
    /// The HTTP server and its request limits.
    pub http: HttpConfig,
    /// The app sign-in.
    pub app: AppConfig,
    /// Server-wide CrewPlanner settings.
    pub crewplanner: CrewPlannerConfig,
    /// The background job workers.
    pub workers: WorkerConfig,
    /// Outgoing e-mail.
    pub mail: MailConfig,
    /// Invitation reminders, expiry, cool-down and links.
    pub invitations: InvitationConfig,
    /// Metrics and per-account rate limits.
    pub observability: ObservabilityConfig,
    /// How long the provisioning log keeps what.
    pub audit: AuditConfig,
    /// Outgoing text messages (Twilio).
    pub text: TextConfig,
    /// OAuth 2.0 for provisioning clients.
    pub oauth: OAuthConfig,
}

impl Config {
    /// Checks every setting; the one place settings are validated. Fails with a message naming
    /// the variable, never quoting a secret.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.database.validate()?;
        self.key.validate()?;
        self.http.validate()?;
        self.app.validate()?;
        self.crewplanner.validate()?;
        self.mail.validate()?;
        self.invitations.validate()?;
        self.audit.validate()?;
        self.text.validate()?;
        self.oauth.validate()?;
        self.cors_origins()?;
        Ok(())
    }

    /// The origins the app API and the invitation accept route answer cross-origin requests
    /// from: `CORS_ALLOWED_ORIGINS`, or by default the origins of `APP_URL` and `INVITE_URL`
    /// (where the app runs). Each as a browser sends it in `Origin` (`https://app.example.com`).
    pub fn cors_origins(&self) -> anyhow::Result<Vec<String>> {
        let mut origins = Vec::new();
        match &self.app.cors_allowed_origins {
            Some(listed) => {
                for entry in listed.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
                    let origin = origin_of(entry).with_context(|| {
                        format!(
                            "CORS_ALLOWED_ORIGINS: {entry:?} is not an origin such as \
                             https://app.example.com (scheme, host and port only; no *)"
                        )
                    })?;
                    if origin != entry.trim_end_matches('/').to_ascii_lowercase() {
                        bail!(
                            "CORS_ALLOWED_ORIGINS: {entry:?} is not an origin; write it as {origin:?}"
                        );
                    }
                    if !origins.contains(&origin) {
                        origins.push(origin);
                    }
                }
            }
            None => {
                for (name, url) in [
                    ("APP_URL", &self.app.app_url),
                    ("INVITE_URL", &self.invitations.invite_url),
                ] {
                    let origin =
                        origin_of(url).with_context(|| format!("{name} has no origin: {url:?}"))?;
                    if !origins.contains(&origin) {
                        origins.push(origin);
                    }
                }
            }
        }
        Ok(origins)
    }
}

/// The origin of an absolute http(s) URL as a browser writes it in `Origin`: lowercase scheme and
/// host, the port only when it is not the scheme's default.
fn origin_of(url: &str) -> anyhow::Result<String> {
    let parsed = url::Url::parse(url.trim())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!("not an http(s) URL with a host");
    }
    Ok(parsed.origin().ascii_serialization())
}

/// Metrics and per-account rate limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservabilityConfig {
    /// Where `/metrics` is served (`METRICS_BIND`), apart from the public listener; `None` serves
    /// no metrics (and records none).
    pub metrics_bind: Option<SocketAddr>,
    /// Reads per second per account (`RATE_LIMIT_READS`; 0: no limit).
    pub rate_limit_reads: u32,
    /// Writes per second per account (`RATE_LIMIT_WRITES`; 0: no limit).
    pub rate_limit_writes: u32,
}

impl Default for ObservabilityConfig {
    fn default() -> Self {
        Self {
            metrics_bind: None,
            rate_limit_reads: 200,
            rate_limit_writes: 100,
        }
    }
}

/// Where the data lives (`DATABASE_URL` and the pool).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER@HOST:PORT/DB`.
    pub url: String,
    /// SQLite durability.
    pub sqlite_synchronous: SqliteSync,
    /// Connections at most; `None`: 8 for SQLite, 16 for PostgreSQL.
    pub pool_size: Option<u32>,
    /// Seconds a request waits for a connection before it is answered 503.
    pub pool_timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: defaults::DATABASE_URL.to_owned(),
            sqlite_synchronous: SqliteSync::Full,
            pool_size: None,
            pool_timeout_secs: defaults::DB_POOL_TIMEOUT_SECS,
        }
    }
}

impl DatabaseConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let target = DatabaseTarget::parse(&self.url)?;
        if target.backend == Backend::Sqlite && target.address.trim().is_empty() {
            bail!(
                "DATABASE_URL {:?} names no SQLite file: write sqlite://PATH \
                 (e.g. sqlite:///var/lib/mobietrain-scim/mobietrain-scim.db)",
                self.url
            );
        }
        Ok(())
    }

    /// The SQLite file the URL names (`None` for PostgreSQL and for an in-memory database).
    pub fn sqlite_file(&self) -> Option<PathBuf> {
        let target = DatabaseTarget::parse(&self.url).ok()?;
        let path = target.address;
        (target.backend == Backend::Sqlite
            && !path.is_empty()
            && !path.starts_with(':')
            && !path.starts_with("file:"))
        .then(|| PathBuf::from(path))
    }

    /// What the URL points at.
    pub fn target(&self) -> anyhow::Result<DatabaseTarget> {
        Ok(DatabaseTarget::parse(&self.url)?)
    }

    /// The backend the URL selects.
    pub fn backend(&self) -> anyhow::Result<Backend> {
        Ok(self.target()?.backend)
    }

    /// A connection manager for the URL, with the SQLite durability setting.
    pub fn manager(&self) -> anyhow::Result<ConnectionManager> {
        Ok(ConnectionManager::new(
            self.target()?,
            self.sqlite_synchronous,
        ))
    }

    /// The pool's size (the backend's default unless set) and wait.
    pub fn pool_settings(&self, backend: Backend) -> PoolSettings {
        let default = match backend {
            db::Backend::Sqlite => 8,
            db::Backend::Postgres => 16,
        };
        PoolSettings {
            max_size: self.pool_size.unwrap_or(default),
            connection_timeout: Duration::from_secs(self.pool_timeout_secs),
        }
    }
}

/// Where the server key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyConfig {
    /// `SERVER_KEY`: 64 hex characters.
    pub server_key: Option<Secret>,
    /// The file holding the key when `SERVER_KEY` is not set.
    pub server_key_file: PathBuf,
}

impl Default for KeyConfig {
    fn default() -> Self {
        Self {
            server_key: None,
            server_key_file: PathBuf::from(defaults::SERVER_KEY_FILE),
        }
    }
}

impl KeyConfig {
    /// A `SERVER_KEY` that is set must be a key (the file is read when the key is loaded).
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(key) = self
            .server_key
            .as_ref()
            .filter(|k| !k.expose().trim().is_empty())
        {
            crate::crypto::ServerKey::parse(key.expose())
                .map_err(|e| anyhow::anyhow!("SERVER_KEY: {e}"))?;
        }
        Ok(())
    }
}

/// The HTTP server: where it listens, its public URL and its request limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The address to listen on.
    pub bind: SocketAddr,
    /// The externally visible base URL; required unless `bind` is a loopback address.
    pub public_url: Option<String>,
    /// The largest JSON request body, in bytes.
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, in seconds (1-300).
    pub body_read_timeout_secs: u64,
    /// The most resources a list response returns.
    pub max_results: u64,
    /// The most operations of one Bulk request (`BULK_MAX_OPERATIONS`).
    pub bulk_max_operations: usize,
    /// The largest Bulk request body, in bytes (`BULK_MAX_PAYLOAD_BYTES`).
    pub bulk_max_payload_bytes: usize,
    /// How long a paging cursor stays valid, in seconds (`CURSOR_TIMEOUT_SECS`).
    pub cursor_timeout_secs: u64,
    /// The bounds on lists inside a request.
    pub limits: LimitsConfig,
    /// HTTP worker threads; `None`: one per core.
    pub workers: Option<usize>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            bind: defaults::BIND
                .parse()
                .expect("the default BIND is an address"),
            public_url: None,
            max_body_bytes: defaults::MAX_BODY_BYTES,
            body_read_timeout_secs: defaults::BODY_READ_TIMEOUT_SECS,
            max_results: defaults::MAX_RESULTS,
            bulk_max_operations: defaults::BULK_MAX_OPERATIONS,
            bulk_max_payload_bytes: defaults::BULK_MAX_PAYLOAD_BYTES,
            cursor_timeout_secs: defaults::CURSOR_TIMEOUT_SECS,
            limits: LimitsConfig::default(),
            workers: None,
        }
    }
}

impl HttpConfig {
    fn validate(&self) -> anyhow::Result<()> {
        self.limits.validate()?;
        if self.body_read_timeout_secs == 0 || self.body_read_timeout_secs > 300 {
            bail!("BODY_READ_TIMEOUT_SECS must be between 1 and 300");
        }
        if self.bulk_max_operations == 0 || self.bulk_max_payload_bytes == 0 {
            bail!("BULK_MAX_OPERATIONS and BULK_MAX_PAYLOAD_BYTES must be at least 1");
        }
        if self.cursor_timeout_secs == 0 || self.cursor_timeout_secs > 86_400 {
            bail!("CURSOR_TIMEOUT_SECS must be between 1 and 86400");
        }
        match self.configured_public_url() {
            Some(url) => {
                let ok = (url.starts_with("https://") || url.starts_with("http://"))
                    && url.len() > "https://".len()
                    && !url.contains(['?', '#', ' ']);
                if !ok {
                    bail!(
                        "PUBLIC_URL must be an absolute http(s) URL without ?query or #fragment: {url:?}"
                    );
                }
            }
            None if self.bind.ip().is_loopback() => {}
            None => bail!(
                "PUBLIC_URL is required when BIND ({}) is not a loopback address: it is the base URL \
                 in Location and meta.location (e.g. PUBLIC_URL=https://scim.example.com)",
                self.bind
            ),
        }
        Ok(())
    }

    fn configured_public_url(&self) -> Option<&str> {
        self.public_url.as_deref().filter(|u| !u.trim().is_empty())
    }

    /// The public base URL once listening on `addr`: `PUBLIC_URL` without a trailing slash, or
    /// `http://` and the loopback address listened on (validation made sure one applies).
    pub fn public_url_for(&self, addr: SocketAddr) -> String {
        match self.configured_public_url() {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{addr}"),
        }
    }

    /// How long a request body may take to arrive.
    pub fn body_read_timeout(&self) -> Duration {
        Duration::from_secs(self.body_read_timeout_secs)
    }
}

/// How many entries each list of a request may hold (each at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitsConfig {
    /// `MAX_PROJECTION_PATHS`.
    pub projection_paths: usize,
    /// `MAX_PATCH_OPERATIONS`.
    pub patch_operations: usize,
    /// `MAX_MULTI_VALUES`.
    pub multi_values: usize,
    /// `MAX_MEMBERS_PER_REQUEST`.
    pub members: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            projection_paths: defaults::MAX_PROJECTION_PATHS,
            patch_operations: defaults::MAX_PATCH_OPERATIONS,
            multi_values: defaults::MAX_MULTI_VALUES,
            members: defaults::MAX_MEMBERS_PER_REQUEST,
        }
    }
}

impl LimitsConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if [
            self.projection_paths,
            self.patch_operations,
            self.multi_values,
            self.members,
        ]
        .contains(&0)
        {
            bail!(
                "MAX_PROJECTION_PATHS, MAX_PATCH_OPERATIONS, MAX_MULTI_VALUES and MAX_MEMBERS_PER_REQUEST must be at least 1"
            );
        }
        Ok(())
    }
}

/// The app sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppConfig {
    /// The app's sign-in page (`?code=…` is appended).
    pub app_url: String,
    /// How long an app session lasts, in hours (at least 1).
    pub session_lifetime_hours: i64,
    /// `CORS_ALLOWED_ORIGINS`; `None`: the origins of `APP_URL` and `INVITE_URL` (see
    /// [`Config::cors_origins`]).
    pub cors_allowed_origins: Option<Vec<String>>,
}

impl Default for AppConfig {
    fn default() -> Self {
        Self {
            app_url: defaults::APP_URL.to_owned(),
            session_lifetime_hours: defaults::SESSION_LIFETIME_HOURS,
            cors_allowed_origins: None,
        }
    }
}

impl AppConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if self.session_lifetime_hours < 1 {
            bail!("SESSION_LIFETIME_HOURS must be at least 1");
        }
        if chrono::Duration::try_hours(self.session_lifetime_hours).is_none() {
            bail!("SESSION_LIFETIME_HOURS is too large");
        }
        let url = &self.app_url;
        let ok = (url.starts_with("https://") || url.starts_with("http://"))
            && !url.contains(['?', '#', ' ']);
        if !ok {
            bail!("APP_URL must be an absolute http(s) URL without ?query or #fragment: {url:?}");
        }
        Ok(())
    }

    /// How long an app session lasts (validated: at least an hour, representable).
    pub fn session_lifetime(&self) -> chrono::Duration {
        chrono::Duration::try_hours(self.session_lifetime_hours).unwrap_or(chrono::Duration::MAX)
    }
}

/// Server-wide CrewPlanner settings: where the platform keys are, and the issuer template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrewPlannerConfig {
    /// CrewPlanner's JWKS document by URL (fetched on first use).
    pub jwks_url: Option<String>,
    /// CrewPlanner's JWKS document from a file.
    pub jwks_file: Option<PathBuf>,
    /// CrewPlanner's public key in PEM.
    pub public_key_file: Option<PathBuf>,
    /// The `kid` of the PEM key.
    pub public_key_id: Option<String>,
    /// The issuer of an account's tokens; `{slug}` stands for the account's slug.
    pub issuer_template: String,
}

impl Default for CrewPlannerConfig {
    fn default() -> Self {
        Self {
            jwks_url: None,
            jwks_file: None,
            public_key_file: None,
            public_key_id: None,
            issuer_template: defaults::CREWPLANNER_ISSUER_TEMPLATE.to_owned(),
        }
    }
}

impl CrewPlannerConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if !self.issuer_template.contains("{slug}") {
            bail!("CREWPLANNER_ISSUER_TEMPLATE must contain {{slug}}");
        }
        for file in [&self.jwks_file, &self.public_key_file]
            .into_iter()
            .flatten()
        {
            check_key_file(file)?;
        }
        Ok(())
    }

    /// The JWKS URL, when one is set and not blank.
    pub fn jwks_url(&self) -> Option<&str> {
        self.jwks_url.as_deref().filter(|u| !u.is_empty())
    }
}

fn check_key_file(file: &Path) -> anyhow::Result<()> {
    let len = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if len > MAX_KEY_FILE_BYTES {
        bail!("{} is larger than a key file can be", file.display());
    }
    Ok(())
}

/// Reads a key file (a JWKS document, a PEM key, a secret), refusing anything larger than a key
/// document can be.
pub fn read_key_file(file: &Path) -> anyhow::Result<String> {
    check_key_file(file)?;
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

/// OAuth 2.0 for provisioning clients (`/oauth/token`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthConfig {
    /// `OAUTH_ACCESS_TOKEN_TTL_SECS`: how long an access token lasts, 3600 to 21600 seconds (1 to
    /// 6 hours, what Entra's gallery asks for).
    pub access_token_ttl_secs: i64,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_secs: Self::DEFAULT_TTL_SECS,
        }
    }
}

impl OAuthConfig {
    /// The default access-token lifetime, in seconds (1 hour).
    pub const DEFAULT_TTL_SECS: i64 = 3600;
    /// The shortest access-token lifetime accepted, in seconds (1 hour).
    pub const MIN_TTL_SECS: i64 = 3600;
    /// The longest access-token lifetime accepted, in seconds (6 hours).
    pub const MAX_TTL_SECS: i64 = 21_600;

    fn validate(&self) -> anyhow::Result<()> {
        let range = Self::MIN_TTL_SECS..=Self::MAX_TTL_SECS;
        if !range.contains(&self.access_token_ttl_secs) {
            bail!(
                "OAUTH_ACCESS_TOKEN_TTL_SECS must be {} to {} seconds (1 to 6 hours)",
                range.start(),
                range.end()
            );
        }
        Ok(())
    }
}

/// How long the provisioning log keeps what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditConfig {
    /// `REFUSED_REQUEST_RETENTION_DAYS`: days a refused provisioning request stays in the log.
    pub refused_retention_days: i64,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            refused_retention_days: defaults::REFUSED_REQUEST_RETENTION_DAYS,
        }
    }
}

impl AuditConfig {
    /// Checks the retention: at least a day, at most ten years.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(1..=3650).contains(&self.refused_retention_days) {
            bail!(
                "REFUSED_REQUEST_RETENTION_DAYS must be between 1 and 3650, not {}",
                self.refused_retention_days
            );
        }
        Ok(())
    }
}

/// The background job workers of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    /// Worker threads (0: none in this process).
    pub threads: usize,
    /// Seconds a claimed job is held.
    pub lease_secs: i64,
    /// Milliseconds an idle worker waits before it looks for work again.
    pub poll_ms: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            threads: defaults::WORKER_THREADS,
            lease_secs: defaults::JOB_LEASE_SECS,
            poll_ms: defaults::JOB_POLL_MS,
        }
    }
}

impl WorkerConfig {
    /// How long a claim holds a job: at least a second.
    pub fn lease(&self) -> chrono::Duration {
        chrono::Duration::try_seconds(self.lease_secs.max(1)).unwrap_or(chrono::Duration::MAX)
    }

    /// How long an idle worker waits: at least 10 ms.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_millis(self.poll_ms.max(10))
    }
}

/// Outgoing e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// `SMTP_URL` (it may hold a password); `None` or empty: mail jobs fail until it is set.
    pub smtp_url: Option<Secret>,
    /// The sender's address.
    pub from: String,
    /// The sender's display name.
    pub from_name: String,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: defaults::MAIL_FROM.to_owned(),
            from_name: defaults::MAIL_FROM_NAME.to_owned(),
        }
    }
}

impl MailConfig {
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(url) = self.smtp_url() {
            // The scheme is checked here, in words an operator can act on; the mailer's own
            // parse (below) says less. The URL itself is never quoted: it may hold a password.
            let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
            if !matches!(scheme.as_deref(), Some("smtp" | "smtps")) {
                bail!(
                    "SMTP_URL must start with smtp:// (plain or STARTTLS: smtp://user:pass@host:587?tls=required) \
                     or smtps:// (TLS: smtps://user:pass@host:465)"
                );
            }
            crate::email::smtp::SmtpMailer::new(url, &self.sender())?;
        }
        Ok(())
    }

    /// The SMTP URL, when one is set and not empty.
    pub fn smtp_url(&self) -> Option<&str> {
        self.smtp_url
            .as_ref()
            .map(Secret::expose)
            .filter(|u| !u.is_empty())
    }

    /// The sender of every message.
    pub fn sender(&self) -> crate::email::Sender {
        crate::email::Sender {
            address: self.from.clone(),
            name: self.from_name.clone(),
        }
    }
}

/// Outgoing text messages through Twilio's Messages API. Without an account SID, text jobs fail
/// (and wait for a retry) until it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextConfig {
    /// `TWILIO_API_URL`: `https://…`, or `http://` to a loopback address (tests).
    pub api_url: String,
    /// `TWILIO_ACCOUNT_SID` (`AC…`).
    pub account_sid: Option<String>,
    /// `TWILIO_AUTH_TOKEN` (environment or `TWILIO_AUTH_TOKEN_FILE`, never a flag).
    pub auth_token: Option<Secret>,
    /// `TWILIO_FROM`: the sending number in E.164 (or an alphanumeric sender id).
    pub from: Option<String>,
    /// `TWILIO_MESSAGING_SERVICE_SID` (`MG…`), instead of `TWILIO_FROM`.
    pub messaging_service_sid: Option<String>,
}

impl Default for TextConfig {
    fn default() -> Self {
        Self {
            api_url: defaults::TWILIO_API_URL.to_owned(),
            account_sid: None,
            auth_token: None,
            from: None,
            messaging_service_sid: None,
        }
    }
}

impl TextConfig {
    fn validate(&self) -> anyhow::Result<()> {
        let url = url::Url::parse(&self.api_url).map_err(|_| {
            anyhow::anyhow!("TWILIO_API_URL must be a URL (https://api.twilio.com)")
        })?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if loopback => {}
            _ => bail!(
                "TWILIO_API_URL must be https:// (http:// is allowed only to a loopback address, \
                 for tests)"
            ),
        }
        if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
            bail!(
                "TWILIO_API_URL must hold no query and no credentials (they are TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)"
            );
        }
        let Some(sid) = self.account_sid.as_deref() else {
            if self.auth_token.is_some()
                || self.from.is_some()
                || self.messaging_service_sid.is_some()
            {
                bail!("TWILIO_ACCOUNT_SID is required when other TWILIO_ variables are set");
            }
            return Ok(());
        };
        let sid_like = |s: &str, prefix: &str| {
            s.len() == 34 && s.starts_with(prefix) && s[2..].bytes().all(|b| b.is_ascii_hexdigit())
        };
        if !sid_like(sid, "AC") {
            bail!("TWILIO_ACCOUNT_SID must be AC followed by 32 hexadecimal digits");
        }
        if self
            .auth_token
            .as_ref()
            .is_none_or(|t| t.expose().trim().is_empty())
        {
            bail!(
                "TWILIO_AUTH_TOKEN (or TWILIO_AUTH_TOKEN_FILE) is required with TWILIO_ACCOUNT_SID"
            );
        }
        match (self.from.as_deref(), self.messaging_service_sid.as_deref()) {
            (Some(_), Some(_)) | (None, None) => bail!(
                "set exactly one of TWILIO_FROM (a number in E.164) and TWILIO_MESSAGING_SERVICE_SID"
            ),
            (Some(from), None) => {
                let alphanumeric = (1..=11).contains(&from.len())
                    && from.bytes().all(|b| b.is_ascii_alphanumeric() || b == b' ')
                    && from.bytes().any(|b| b.is_ascii_alphabetic());
                if !alphanumeric && crate::phone::e164(from).as_deref() != Some(from) {
                    bail!(
                        "TWILIO_FROM must be a number in E.164 (+3225550000) or an alphanumeric \
                         sender id of at most 11 characters"
                    );
                }
            }
            (None, Some(mss)) => {
                if !sid_like(mss, "MG") {
                    bail!(
                        "TWILIO_MESSAGING_SERVICE_SID must be MG followed by 32 hexadecimal digits"
                    );
                }
            }
        }
        Ok(())
    }

    /// The Twilio sender's settings, when a provider is configured.
    pub fn twilio(&self) -> Option<crate::sms::twilio::TwilioSettings> {
        use crate::sms::twilio::{Origin, TwilioSettings};
        let account_sid = self.account_sid.clone()?;
        let auth_token = self.auth_token.as_ref()?.expose().trim().to_owned();
        let from = match (&self.from, &self.messaging_service_sid) {
            (Some(n), _) => Origin::Number(n.clone()),
            (None, Some(s)) => Origin::MessagingService(s.clone()),
            (None, None) => return None,
        };
        Some(TwilioSettings {
            api_url: self.api_url.clone(),
            account_sid,
            auth_token,
            from,
            timeout: Duration::from_secs(15),
        })
    }
}

/// Invitation reminders, expiry, cool-down and links (DESIGN 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationConfig {
    /// The app page that accepts invitations.
    pub invite_url: String,
    /// Days after the first send on which reminders go out.
    pub reminder_days: Vec<i64>,
    /// Days after the first send an invitation expires.
    pub expiry_days: i64,
    /// Hours after an admin's last send before the invitation may be sent again.
    pub resend_cooldown_hours: i64,
}

impl Default for InvitationConfig {
    fn default() -> Self {
        Self {
            invite_url: defaults::INVITE_URL.to_owned(),
            reminder_days: defaults::INVITATION_REMINDER_DAYS
                .split(',')
                .map(|d| d.parse().expect("the default reminder days are numbers"))
                .collect(),
            expiry_days: defaults::INVITATION_EXPIRY_DAYS,
            resend_cooldown_hours: defaults::INVITATION_RESEND_COOLDOWN_HOURS,
        }
    }
}

impl InvitationConfig {
    /// Reminders ascending, from day 1, before the expiry, at most 20 of them; an expiry of at
    /// least a day; a cool-down that is not negative; an absolute http(s) link without query or
    /// fragment.
    fn validate(&self) -> anyhow::Result<()> {
        let (Some(expiry), Some(_)) = (
            chrono::Duration::try_days(self.expiry_days),
            chrono::Duration::try_hours(self.resend_cooldown_hours),
        ) else {
            bail!("INVITATION_EXPIRY_DAYS or INVITATION_RESEND_COOLDOWN_HOURS is too large");
        };
        if expiry < chrono::Duration::days(1) {
            bail!("INVITATION_EXPIRY_DAYS must be at least 1");
        }
        if self.reminder_days.len() > 20 {
            bail!("at most 20 reminder days");
        }
        let mut previous = 0;
        for &day in &self.reminder_days {
            if day <= previous || day >= self.expiry_days {
                bail!(
                    "INVITATION_REMINDER_DAYS ({}) must ascend, from 1, and come before the \
                     expiry (INVITATION_EXPIRY_DAYS, {})",
                    self.reminder_days
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(","),
                    self.expiry_days
                );
            }
            previous = day;
        }
        if self.resend_cooldown_hours < 0 {
            bail!("the resend cool-down cannot be negative");
        }
        let url = &self.invite_url;
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.contains(['?', '#', ' '])
        {
            bail!(
                "INVITE_URL must be an absolute http(s) URL without ?query or #fragment: {url:?}"
            );
        }
        Ok(())
    }

    /// How long after the first send an invitation expires.
    pub fn expiry(&self) -> chrono::Duration {
        chrono::Duration::try_days(self.expiry_days).unwrap_or(chrono::Duration::MAX)
    }

    /// How long after an admin's last send a resend is refused.
    pub fn resend_cooldown(&self) -> chrono::Duration {
        chrono::Duration::try_hours(self.resend_cooldown_hours).unwrap_or(chrono::Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid() {
        Config::default().validate().unwrap();
        assert_eq!(
            InvitationConfig::default().reminder_days,
            [7, 14, 30, 53, 57]
        );
    }

    #[test]
    fn each_section_is_checked() {
        let broken = |change: fn(&mut Config)| {
            let mut config = Config::default();
            change(&mut config);
            config.validate().unwrap_err().to_string()
        };
        assert!(broken(|c| c.database.url = "mysql://x".into()).contains("scheme"));
        assert!(broken(|c| c.database.url = "sqlite://".into()).contains("names no SQLite file"));
        assert!(
            broken(|c| c.mail.smtp_url = Some(Secret::new("http://x")))
                .contains("must start with smtp://")
        );
        assert!(
            broken(|c| c.app.cors_allowed_origins = Some(vec!["*".into()]))
                .contains("CORS_ALLOWED_ORIGINS")
        );
        assert!(
            broken(|c| c.app.cors_allowed_origins = Some(vec!["https://a.example/x".into()]))
                .contains("CORS_ALLOWED_ORIGINS")
        );
        assert!(broken(|c| c.http.limits.members = 0).contains("at least 1"));
        assert!(broken(|c| c.http.body_read_timeout_secs = 0).contains("BODY_READ"));
        assert!(broken(|c| c.http.public_url = Some("ftp://x".into())).contains("PUBLIC_URL"));
        assert!(
            broken(|c| c.http.bind = "0.0.0.0:80".parse().unwrap())
                .contains("PUBLIC_URL is required")
        );
        assert!(broken(|c| c.app.session_lifetime_hours = 0).contains("SESSION_LIFETIME"));
        assert!(broken(|c| c.app.app_url = "https://x/?a".into()).contains("APP_URL"));
        assert!(broken(|c| c.crewplanner.issuer_template = "x".into()).contains("{slug}"));
        assert!(
            broken(|c| c.mail.smtp_url = Some(Secret::new("nope://user:pw@x")))
                .contains("SMTP_URL")
        );
        assert!(broken(|c| c.invitations.reminder_days = vec![7, 3]).contains("ascend"));
        assert!(broken(|c| c.invitations.expiry_days = 0).contains("INVITATION_EXPIRY_DAYS"));
        assert!(
            broken(|c| c.key.server_key = Some(Secret::new("abc"))).contains("64 hex characters")
        );
        assert!(broken(|c| c.invitations.invite_url = "x".into()).contains("INVITE_URL"));
    }

    #[test]
    fn cors_origins_default_to_those_of_the_app_and_invitation_pages() {
        let mut config = Config::default();
        config.app.app_url = "https://App.Example.com:443/sign-in".into();
        config.invitations.invite_url = "http://localhost:3000/invitation".into();
        assert_eq!(
            config.cors_origins().unwrap(),
            ["https://app.example.com", "http://localhost:3000"]
        );
        config.app.cors_allowed_origins = Some(vec!["https://x.example".into(), " ".into()]);
        assert_eq!(config.cors_origins().unwrap(), ["https://x.example"]);
    }

    #[test]
    fn the_text_provider_is_checked() {
        let twilio = |change: fn(&mut TextConfig)| {
            let mut text = TextConfig {
                account_sid: Some(format!("AC{}", "0a".repeat(16))),
                auth_token: Some(Secret::new("secret-token")),
                from: Some("+3225550100".into()),
                ..TextConfig::default()
            };
            change(&mut text);
            text.validate().map_err(|e| e.to_string())
        };
        assert!(twilio(|_| {}).is_ok());
        assert!(twilio(|t| t.api_url = "http://127.0.0.1:9999".into()).is_ok());
        assert!(twilio(|t| t.api_url = "http://[::1]:9999".into()).is_ok());
        assert!(
            twilio(|t| t.api_url = "http://api.twilio.com".into())
                .unwrap_err()
                .contains("loopback")
        );
        assert!(twilio(|t| t.api_url = "ftp://x".into()).is_err());
        assert!(
            twilio(|t| t.auth_token = None)
                .unwrap_err()
                .contains("TWILIO_AUTH_TOKEN")
        );
        assert!(
            twilio(|t| t.messaging_service_sid = Some(format!("MG{}", "0".repeat(32))))
                .unwrap_err()
                .contains("exactly one")
        );
        assert!(
            twilio(|t| {
                t.from = None;
                t.messaging_service_sid = Some(format!("MG{}", "0".repeat(32)));
            })
            .is_ok()
        );
        assert!(twilio(|t| t.from = Some("0470123456".into())).is_err());
        assert!(twilio(|t| t.from = Some("MobieTrain".into())).is_ok());
        assert!(twilio(|t| t.account_sid = Some("AC1".into())).is_err());
        let err = twilio(|t| t.account_sid = None).unwrap_err();
        assert!(err.contains("TWILIO_ACCOUNT_SID"), "{err}");
        assert!(!err.contains("secret-token"));
    }

    #[test]
    fn secrets_do_not_show_in_debug() {
        let mut config = Config::default();
        config.mail.smtp_url = Some(Secret::new("smtps://user:hunter2@mail.example"));
        config.key.server_key = Some(Secret::new("00ff"));
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("00ff"),
            "{shown}"
        );
    }
}
