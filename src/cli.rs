//! The command line: `serve`, `worker`, `migrate`, `account …`, `token …`, `jobs …`, `oauth-client …` and
//! `crewplanner …`. Every option can also be set by the environment variable named in its help
//! (documented in `.env.sample`); secrets come only from the environment or files, never from
//! flags (a flag is visible to every user of the machine in `ps`). How the commands start safely
//! is [`start`]; how they print errors, [`human`].

pub mod human;
pub mod oauth_client;
pub mod start;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounts::{self, Scope};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, Config, Secret, defaults};
use crate::db::{DbConn, SqliteSync};
use crate::jobs::{JobState, queue};

/// The provisioning server of MobieTrain: SCIM 2.0 for identity providers.
#[derive(Debug, Parser)]
#[command(
    name = "mobietrain-scim",
    version,
    about,
    after_help = "Secrets come from the environment or files, never from flags: SERVER_KEY or \
                  SERVER_KEY_FILE, SMTP_URL or SMTP_URL_FILE, TWILIO_AUTH_TOKEN or \
                  TWILIO_AUTH_TOKEN_FILE. The .env file is not read: load it \
                  with `set -a; . ./.env; set +a` (or systemd's EnvironmentFile=)."
)]
pub struct Cli {
    /// Database settings, shared by every command.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The server key, shared by every command that seals or derives secrets.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Log format on stderr.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (the embedded default) or `postgres://USER@HOST:PORT/DB`.
    #[arg(long, env = "DATABASE_URL", default_value = defaults::DATABASE_URL, global = true)]
    pub database_url: String,
    /// SQLite durability: `full` (an acknowledged write survives a power cut) or `normal`.
    #[arg(long, env = "SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Full, global = true)]
    pub sqlite_synchronous: SqliteSync,
    /// Database connections at most (default: 8 for SQLite, 16 for PostgreSQL).
    #[arg(long, env = "DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// Seconds a request waits for a connection before it is answered 503.
    #[arg(long, env = "DB_POOL_TIMEOUT_SECS", default_value_t = defaults::DB_POOL_TIMEOUT_SECS, global = true)]
    pub db_pool_timeout_secs: u64,
}

/// Where the server key comes from: the environment variable `SERVER_KEY` (64 hex characters,
/// `openssl rand -hex 32`; read by [`config`], never a flag), else the key file.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Refused: a key on the command line is visible to every user of the machine. Kept so that
    /// the old flag says what to do instead of "unexpected argument".
    #[arg(long = "server-key", hide = true, global = true)]
    pub server_key_flag: Option<String>,
    /// The file holding the server key when SERVER_KEY is not set; created on first start of a
    /// SQLite server.
    #[arg(long, env = "SERVER_KEY_FILE", default_value = defaults::SERVER_KEY_FILE, global = true)]
    pub server_key_file: std::path::PathBuf,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first; on a database with no account, creates one).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts (tenants).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Run only the background job workers (several instances may run at once on PostgreSQL).
    Worker(WorkerArgs),
    /// Server-wide background jobs (an account's own jobs are on the admin API).
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Benchmark the server on fresh databases of its own (see README, "Performance").
    Bench(crate::bench::BenchArgs),
    /// An account's CrewPlanner link (sign-in from CrewPlanner).
    #[command(subcommand)]
    Crewplanner(CrewPlannerCommand),
    /// An account's OAuth 2.0 clients (client credentials for identity providers).
    #[command(subcommand)]
    OauthClient(oauth_client::OAuthClientCommand),
}

/// `crewplanner …`.
#[derive(Debug, Subcommand)]
pub enum CrewPlannerCommand {
    /// Turn the CrewPlanner link on for an account (or change its slug or keys). Without a key
    /// option the server-wide CrewPlanner keys are used.
    Enable {
        /// The account id (give it to the customer for CrewPlanner's integration page).
        #[arg(long)]
        account: String,
        /// The customer's CrewPlanner subdomain (`acme` for https://acme.crewplanner.com).
        #[arg(long)]
        slug: String,
        /// The account's own JWKS document.
        #[arg(long, group = "own_key")]
        jwks_file: Option<std::path::PathBuf>,
        /// The account's own public key in PEM.
        #[arg(long, group = "own_key")]
        public_key_file: Option<std::path::PathBuf>,
        /// The account's own HS256 secret (at least 32 bytes; stored encrypted, never shown).
        #[arg(long, group = "own_key")]
        hs256_secret_file: Option<std::path::PathBuf>,
        /// The server's CrewPlanner keys, as `serve` reads them: without one of them or an
        /// account key above, enabling is refused (every sign-in would fail).
        #[command(flatten)]
        keys: Box<CrewPlannerArgs>,
        /// Where the launch URL points.
        #[command(flatten)]
        public: PublicUrlArgs,
    },
    /// Turn the CrewPlanner link off for an account.
    Disable {
        /// The account id.
        #[arg(long)]
        account: String,
        /// Where the launch URL points.
        #[command(flatten)]
        public: PublicUrlArgs,
    },
    /// Show an account's CrewPlanner link and its launch URL (never a secret).
    Show {
        /// The account id.
        #[arg(long)]
        account: String,
        /// Where the launch URL points.
        #[command(flatten)]
        public: PublicUrlArgs,
    },
}

/// The server's public base URL, for commands that print a URL of it.
#[derive(Debug, Clone, Args)]
pub struct PublicUrlArgs {
    /// The server's externally visible base URL (as `serve` has it).
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The address the server listens on (the base URL when PUBLIC_URL is not set).
    #[arg(long, env = "BIND", default_value = defaults::BIND)]
    pub bind: SocketAddr,
}

impl PublicUrlArgs {
    /// The base URL, as `serve` works it out.
    fn base(&self) -> String {
        config::HttpConfig {
            bind: self.bind,
            public_url: self.public_url.clone(),
            ..config::HttpConfig::default()
        }
        .public_url_for(self.bind)
    }
}

/// Options of the background workers and the mailer, for `serve` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Worker threads that run background jobs (0: none in this process).
    #[arg(long, env = "WORKER_THREADS", default_value_t = defaults::WORKER_THREADS)]
    pub worker_threads: usize,
    /// Seconds a claimed job is held; a job whose worker died is run again after this.
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = defaults::JOB_LEASE_SECS)]
    pub job_lease_secs: i64,
    /// Milliseconds an idle worker waits before it looks for work again.
    #[arg(long, env = "JOB_POLL_MS", default_value_t = defaults::JOB_POLL_MS)]
    pub job_poll_ms: u64,
    /// Days a refused provisioning request stays in the provisioning log (purged hourly).
    #[arg(long, env = "REFUSED_REQUEST_RETENTION_DAYS",
          default_value_t = defaults::REFUSED_REQUEST_RETENTION_DAYS)]
    pub refused_request_retention_days: i64,
    /// Refused: the mail server's URL holds its password. Set SMTP_URL in the environment, or
    /// SMTP_URL_FILE.
    #[arg(long = "smtp-url", hide = true)]
    pub smtp_url_flag: Option<String>,
    /// A file holding the mail server's URL (smtp://host:2525, smtp://user:pass@host:587?tls=required
    /// or smtps://user:pass@host), when SMTP_URL is not set in the environment. Never logged.
    /// Without either, e-mail jobs fail and wait for a retry.
    #[arg(long, env = "SMTP_URL_FILE")]
    pub smtp_url_file: Option<std::path::PathBuf>,
    /// The sender's address.
    #[arg(long, env = "MAIL_FROM", default_value = defaults::MAIL_FROM)]
    pub mail_from: String,
    /// The sender's display name.
    #[arg(long, env = "MAIL_FROM_NAME", default_value = defaults::MAIL_FROM_NAME)]
    pub mail_from_name: String,
    /// Twilio's API for text messages (https://, or http:// to a loopback address for tests).
    #[arg(long, env = "TWILIO_API_URL", default_value = defaults::TWILIO_API_URL)]
    pub twilio_api_url: String,
    /// The Twilio account SID (AC…); unset: text jobs fail and wait for a retry.
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Refused: the auth token is a secret. Set TWILIO_AUTH_TOKEN in the environment, or
    /// TWILIO_AUTH_TOKEN_FILE.
    #[arg(long = "twilio-auth-token", hide = true)]
    pub twilio_auth_token_flag: Option<String>,
    /// A file holding the Twilio auth token, when TWILIO_AUTH_TOKEN is not set in the
    /// environment. Never logged.
    #[arg(long, env = "TWILIO_AUTH_TOKEN_FILE")]
    pub twilio_auth_token_file: Option<std::path::PathBuf>,
    /// The number texts come from, in E.164 (or an alphanumeric sender id); or set
    /// TWILIO_MESSAGING_SERVICE_SID instead.
    #[arg(long, env = "TWILIO_FROM")]
    pub twilio_from: Option<String>,
    /// The Twilio messaging service (MG…) texts are sent through, instead of TWILIO_FROM.
    #[arg(long, env = "TWILIO_MESSAGING_SERVICE_SID")]
    pub twilio_messaging_service_sid: Option<String>,
    /// Invitation reminders, expiry, cool-down and links.
    #[command(flatten)]
    pub invitations: InvitationArgs,
    /// Where Prometheus metrics are served (`/metrics`, e.g. 127.0.0.1:9464), apart from the
    /// public listener; unset: no metrics. Port 0 picks a free port (printed at start).
    #[arg(long, env = "METRICS_BIND")]
    pub metrics_bind: Option<SocketAddr>,
}

/// Invitation settings (DESIGN 6), for `serve` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct InvitationArgs {
    /// The app page that accepts invitations; the e-mailed link is `{INVITE_URL}?token=…`.
    #[arg(long, env = "INVITE_URL", default_value = defaults::INVITE_URL)]
    pub invite_url: String,
    /// Days after the first send on which reminders go out, comma-separated.
    #[arg(
        long,
        env = "INVITATION_REMINDER_DAYS",
        value_delimiter = ',',
        default_value = defaults::INVITATION_REMINDER_DAYS
    )]
    pub invitation_reminder_days: Vec<i64>,
    /// Days after the first send an invitation expires (its user is then removed).
    #[arg(long, env = "INVITATION_EXPIRY_DAYS", default_value_t = defaults::INVITATION_EXPIRY_DAYS)]
    pub invitation_expiry_days: i64,
    /// Hours after an admin's last send before the invitation may be sent again.
    #[arg(
        long,
        env = "INVITATION_RESEND_COOLDOWN_HOURS",
        default_value_t = defaults::INVITATION_RESEND_COOLDOWN_HOURS
    )]
    pub invitation_resend_cooldown_hours: i64,
}

/// `jobs …`: server-wide jobs (those of no account).
#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List server-wide jobs in a state, newest first.
    List {
        /// Which state.
        #[arg(long, value_enum, default_value_t = JobState::Failed)]
        state: JobState,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Queue a failed server-wide job again with fresh attempts.
    Retry {
        /// The job id.
        id: String,
    },
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "BIND", default_value = defaults::BIND)]
    pub bind: SocketAddr,
    /// The externally visible base URL (e.g. https://scim.example.com), used in `Location` and `meta`.
    /// Required unless BIND is a loopback address (then http://BIND is used): responses never carry
    /// a host taken from a request.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The largest JSON request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = defaults::MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// How long a request body may take to arrive, in seconds; a slower one is answered 408.
    #[arg(long, env = "BODY_READ_TIMEOUT_SECS", default_value_t = defaults::BODY_READ_TIMEOUT_SECS)]
    pub body_read_timeout_secs: u64,
    /// The most paths `attributes`, and apart from it `excludedAttributes`, may name.
    #[arg(long, env = "MAX_PROJECTION_PATHS", default_value_t = defaults::MAX_PROJECTION_PATHS)]
    pub max_projection_paths: usize,
    /// The most operations one PATCH request may carry.
    #[arg(long, env = "MAX_PATCH_OPERATIONS", default_value_t = defaults::MAX_PATCH_OPERATIONS)]
    pub max_patch_operations: usize,
    /// The most elements of one multi-valued attribute (emails, phoneNumbers, stores, …) in a request.
    #[arg(long, env = "MAX_MULTI_VALUES", default_value_t = defaults::MAX_MULTI_VALUES)]
    pub max_multi_values: usize,
    /// The most member references in one group body or one PATCH operation.
    #[arg(long, env = "MAX_MEMBERS_PER_REQUEST", default_value_t = defaults::MAX_MEMBERS_PER_REQUEST)]
    pub max_members_per_request: usize,
    /// The most resources a list response returns.
    #[arg(long, env = "MAX_RESULTS", default_value_t = defaults::MAX_RESULTS)]
    pub max_results: u64,
    /// The most operations one Bulk request may carry (advertised as bulk.maxOperations).
    #[arg(long, env = "BULK_MAX_OPERATIONS", default_value_t = defaults::BULK_MAX_OPERATIONS)]
    pub bulk_max_operations: usize,
    /// The largest Bulk request body, in bytes (advertised as bulk.maxPayloadSize).
    #[arg(long, env = "BULK_MAX_PAYLOAD_BYTES", default_value_t = defaults::BULK_MAX_PAYLOAD_BYTES)]
    pub bulk_max_payload_bytes: usize,
    /// How long a paging cursor stays valid, in seconds (advertised as pagination.cursorTimeout).
    #[arg(long, env = "CURSOR_TIMEOUT_SECS", default_value_t = defaults::CURSOR_TIMEOUT_SECS)]
    pub cursor_timeout_secs: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long = "http-workers", visible_alias = "workers", env = "HTTP_WORKERS")]
    pub http_workers: Option<usize>,
    /// Origins whose browsers may call the app API and the invitation accept route (CORS),
    /// comma-separated (default: the origins of APP_URL and INVITE_URL).
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Option<Vec<String>>,
    /// Write the first start's SCIM token to this file (mode 0600) instead of stdout, which under
    /// systemd or a container is the log.
    #[arg(long, visible_alias = "token-file", env = "BOOTSTRAP_TOKEN_FILE")]
    pub bootstrap_token_file: Option<std::path::PathBuf>,
    /// The app's sign-in page: a signed-in user is sent there with `?code=…`.
    #[arg(long, env = "APP_URL", default_value = defaults::APP_URL)]
    pub app_url: String,
    /// How long an app session lasts, in hours.
    #[arg(long, env = "SESSION_LIFETIME_HOURS", default_value_t = defaults::SESSION_LIFETIME_HOURS)]
    pub session_lifetime_hours: i64,
    /// Reads per second per account (GET, searches), with a burst of ten seconds' worth; 0: no limit.
    #[arg(long, env = "RATE_LIMIT_READS", default_value_t = 200)]
    pub rate_limit_reads: u32,
    /// Writes per second per account (a Bulk request counts its operations); 0: no limit.
    #[arg(long, env = "RATE_LIMIT_WRITES", default_value_t = 100)]
    pub rate_limit_writes: u32,
    /// How long an OAuth access token lasts, in seconds (3600 to 21600).
    #[arg(long, env = "OAUTH_ACCESS_TOKEN_TTL_SECS", default_value_t = config::OAuthConfig::DEFAULT_TTL_SECS)]
    pub oauth_access_token_ttl_secs: i64,
    /// Background jobs and e-mail.
    #[command(flatten)]
    pub jobs: WorkerArgs,
    /// The CrewPlanner link.
    #[command(flatten)]
    pub crewplanner: CrewPlannerArgs,
}

/// Server-wide CrewPlanner settings: the platform keys tokens are verified with.
#[derive(Debug, Clone, Args)]
pub struct CrewPlannerArgs {
    /// CrewPlanner's JWKS document by URL (https; cached, re-fetched on key rotation).
    #[arg(long, env = "CREWPLANNER_JWKS_URL")]
    pub crewplanner_jwks_url: Option<String>,
    /// CrewPlanner's JWKS document from a file.
    #[arg(long, env = "CREWPLANNER_JWKS_FILE")]
    pub crewplanner_jwks_file: Option<std::path::PathBuf>,
    /// CrewPlanner's public key in PEM (RSA for RS256, P-256 for ES256).
    #[arg(long, env = "CREWPLANNER_PUBLIC_KEY_FILE")]
    pub crewplanner_public_key_file: Option<std::path::PathBuf>,
    /// The `kid` of the PEM key (a token naming another kid is not verified with it).
    #[arg(long, env = "CREWPLANNER_PUBLIC_KEY_ID")]
    pub crewplanner_public_key_id: Option<String>,
    /// The issuer of an account's tokens; `{slug}` stands for the account's CrewPlanner slug.
    #[arg(long, env = "CREWPLANNER_ISSUER_TEMPLATE", default_value = defaults::CREWPLANNER_ISSUER_TEMPLATE)]
    pub crewplanner_issuer_template: String,
}

/// `account …`.
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account; prints its id as the last line.
    Create {
        /// The account's name.
        #[arg(long)]
        name: String,
    },
    /// List accounts.
    List,
    /// Show one account.
    Show {
        /// The account id.
        id: String,
    },
    /// Show, or change, an account's name and settings.
    Settings {
        /// The account id.
        id: String,
        /// Rename the account (invitation e-mails and the CMS show its name).
        #[arg(long)]
        name: Option<String>,
        /// Refuse users without externalId (400) instead of warning.
        #[arg(long)]
        require_external_id: Option<bool>,
        /// Refuse SCIM users without an e-mail or a phone number with its country code (400)
        /// instead of warning.
        #[arg(long)]
        require_contact: Option<bool>,
        /// Invite users SCIM creates with an e-mail (turning it on needs --agreement-accepted).
        #[arg(long)]
        invite_on_provision: Option<bool>,
        /// The language of invitations when the user's own is not written in: en, nl, fr, de.
        #[arg(long)]
        default_language: Option<String>,
        /// Accept the user agreement for invitations sent on provisioning.
        #[arg(long)]
        agreement_accepted: bool,
    },
}

/// `token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token; prints it (once) as the last line.
    Issue {
        /// The account the token opens.
        #[arg(long)]
        account: String,
        /// A name for the token (shown in the provisioning log as the actor).
        #[arg(long)]
        label: String,
        /// Which API the token opens.
        #[arg(long, value_enum, default_value_t = Scope::Scim)]
        scope: Scope,
        /// Let the token expire this many days from now (1 to 3660); without it, it never expires.
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
    /// List an account's tokens (prefixes only).
    List {
        /// The account id.
        #[arg(long)]
        account: String,
    },
    /// Revoke a token by its id.
    Revoke {
        /// The token id (from `token list`).
        id: String,
    },
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let rust_log = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    // Colours only for a terminal: a log file or a collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let output = tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let output = match format {
        LogFormat::Text => output.boxed(),
        LogFormat::Json => output.json().boxed(),
    };
    // actix-http's malformed-request ERRORs reach only the layer that re-reports them as WARNs.
    let malformed = crate::http::telemetry::MalformedAsWarning.with_filter(
        tracing_subscriber::filter::Targets::new()
            .with_target("actix_http::h1::dispatcher", tracing::Level::ERROR),
    );
    tracing_subscriber::registry()
        .with(output.with_filter(crate::http::telemetry::quiet_malformed(filter(), &rust_log)))
        .with(malformed)
        .init();
}

/// The one configuration of this run, from the parsed command line (and so the environment),
/// validated. Sections a command does not read keep their defaults.
pub fn config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = Config::default();
    config.database = config::DatabaseConfig {
        url: cli.database.database_url.clone(),
        sqlite_synchronous: cli.database.sqlite_synchronous,
        pool_size: cli.database.db_pool_size,
        pool_timeout_secs: cli.database.db_pool_timeout_secs,
    };
    if cli.key.server_key_flag.is_some() {
        bail!(
            "--server-key is refused: a flag is visible to every user of this machine (ps). Set \
             SERVER_KEY in the environment, or put the key in a file named by SERVER_KEY_FILE"
        );
    }
    config.key = config::KeyConfig {
        server_key: secret_from_env("SERVER_KEY")?,
        server_key_file: cli.key.server_key_file.clone(),
    };
    match &cli.command {
        Command::Serve(args) => {
            config.http = config::HttpConfig {
                bind: args.bind,
                public_url: args.public_url.clone(),
                max_body_bytes: args.max_body_bytes,
                body_read_timeout_secs: args.body_read_timeout_secs,
                max_results: args.max_results,
                bulk_max_operations: args.bulk_max_operations,
                bulk_max_payload_bytes: args.bulk_max_payload_bytes,
                cursor_timeout_secs: args.cursor_timeout_secs,
                limits: config::LimitsConfig {
                    projection_paths: args.max_projection_paths,
                    patch_operations: args.max_patch_operations,
                    multi_values: args.max_multi_values,
                    members: args.max_members_per_request,
                },
                workers: args.http_workers,
            };
            config.app = config::AppConfig {
                app_url: args.app_url.clone(),
                session_lifetime_hours: args.session_lifetime_hours,
                cors_allowed_origins: args.cors_allowed_origins.clone(),
            };
            config.crewplanner = crewplanner_config(&args.crewplanner);
            worker_config(&mut config, &args.jobs)?;
            config.observability.rate_limit_reads = args.rate_limit_reads;
            config.observability.rate_limit_writes = args.rate_limit_writes;
            config.oauth.access_token_ttl_secs = args.oauth_access_token_ttl_secs;
        }
        Command::Worker(args) => {
            worker_config(&mut config, args)?;
            // A worker process without workers would do nothing.
            config.workers.threads = config.workers.threads.max(1);
        }
        Command::Crewplanner(CrewPlannerCommand::Enable { keys, .. }) => {
            config.crewplanner = crewplanner_config(keys);
        }
        _ => {}
    }
    config.validate()?;
    Ok(config)
}

fn crewplanner_config(cp: &CrewPlannerArgs) -> config::CrewPlannerConfig {
    config::CrewPlannerConfig {
        jwks_url: cp.crewplanner_jwks_url.clone(),
        jwks_file: cp.crewplanner_jwks_file.clone(),
        public_key_file: cp.crewplanner_public_key_file.clone(),
        public_key_id: cp.crewplanner_public_key_id.clone(),
        issuer_template: cp.crewplanner_issuer_template.clone(),
    }
}

/// A secret from the environment only (never a flag); empty counts as unset.
fn secret_from_env(name: &str) -> anyhow::Result<Option<Secret>> {
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Ok(None),
        Ok(value) => Ok(Some(Secret::new(value))),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => bail!("{name} is not valid UTF-8"),
    }
}

/// `SMTP_URL` from the environment, else the file `SMTP_URL_FILE` names (one line).
fn smtp_url(args: &WorkerArgs) -> anyhow::Result<Option<Secret>> {
    if args.smtp_url_flag.is_some() {
        bail!(
            "--smtp-url is refused: the URL holds the mail server's password, and a flag is \
             visible to every user of this machine (ps). Set SMTP_URL in the environment, or put \
             the URL in a file named by SMTP_URL_FILE"
        );
    }
    let from_env = secret_from_env("SMTP_URL")?;
    match (&from_env, &args.smtp_url_file) {
        (Some(_), Some(_)) => bail!("set SMTP_URL or SMTP_URL_FILE, not both"),
        (_, None) => Ok(from_env),
        (None, Some(file)) => {
            let text = config::read_key_file(file).context("SMTP_URL_FILE")?;
            let url = text.trim();
            Ok((!url.is_empty()).then(|| Secret::new(url)))
        }
    }
}

/// `TWILIO_AUTH_TOKEN` from the environment, else the file `TWILIO_AUTH_TOKEN_FILE` names.
fn twilio_auth_token(args: &WorkerArgs) -> anyhow::Result<Option<Secret>> {
    if args.twilio_auth_token_flag.is_some() {
        bail!(
            "--twilio-auth-token is refused: a flag is visible to every user of this machine (ps). \
             Set TWILIO_AUTH_TOKEN in the environment, or put the token in a file named by \
             TWILIO_AUTH_TOKEN_FILE"
        );
    }
    let from_env = secret_from_env("TWILIO_AUTH_TOKEN")?;
    match (&from_env, &args.twilio_auth_token_file) {
        (Some(_), Some(_)) => bail!("set TWILIO_AUTH_TOKEN or TWILIO_AUTH_TOKEN_FILE, not both"),
        (_, None) => Ok(from_env),
        (None, Some(file)) => {
            let text = config::read_key_file(file).context("TWILIO_AUTH_TOKEN_FILE")?;
            let token = text.trim();
            Ok((!token.is_empty()).then(|| Secret::new(token)))
        }
    }
}

fn worker_config(config: &mut Config, args: &WorkerArgs) -> anyhow::Result<()> {
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    config.text = config::TextConfig {
        api_url: args.twilio_api_url.clone(),
        account_sid: non_empty(&args.twilio_account_sid),
        auth_token: twilio_auth_token(args)?,
        from: non_empty(&args.twilio_from),
        messaging_service_sid: non_empty(&args.twilio_messaging_service_sid),
    };
    config.workers = config::WorkerConfig {
        threads: args.worker_threads,
        lease_secs: args.job_lease_secs,
        poll_ms: args.job_poll_ms,
    };
    config.audit = config::AuditConfig {
        refused_retention_days: args.refused_request_retention_days,
    };
    config.mail = config::MailConfig {
        smtp_url: smtp_url(args)?,
        from: args.mail_from.clone(),
        from_name: args.mail_from_name.clone(),
    };
    config.observability.metrics_bind = args.metrics_bind;
    let inv = &args.invitations;
    config.invitations = config::InvitationConfig {
        invite_url: inv.invite_url.clone(),
        reminder_days: inv.invitation_reminder_days.clone(),
        expiry_days: inv.invitation_expiry_days,
        resend_cooldown_hours: inv.invitation_resend_cooldown_hours,
    };
    Ok(())
}

/// Runs the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(cli.log_format);
    let config = config(&cli)?;
    let clock = SystemClock;
    // Every command but `serve` and `migrate` works on an existing database only.
    let existing = |config: &Config| -> anyhow::Result<DbConn> {
        start::prepare_database(&config.database, false)?;
        crate::app::open_migrated(&config.database)
    };
    match cli.command {
        Command::Serve(args) => serve(&config, &args),
        Command::Migrate => {
            start::prepare_database(&config.database, true)?;
            crate::app::open_migrated(&config.database)?;
            println!("database is up to date");
            Ok(())
        }
        Command::Account(cmd) => account(&mut existing(&config)?, cmd, &clock),
        Command::Token(cmd) => token(&mut existing(&config)?, cmd, &clock),
        Command::OauthClient(cmd) => oauth_client::run(&mut existing(&config)?, cmd, &clock),
        Command::Worker(_) => worker(&config),
        Command::Jobs(cmd) => jobs(&mut existing(&config)?, cmd, &clock),
        Command::Bench(args) => crate::bench::run(&config.database, args),
        Command::Crewplanner(cmd) => {
            start::prepare_database(&config.database, false)?;
            let (key, _) = crate::app::server_key(&config, false)?;
            let now = clock.now_naive();
            let (mut conn, ()) = crate::app::migrate(&config.database, |conn| {
                start::check_server_key(conn, &key, &config, now)
            })?;
            crewplanner(&mut conn, &key, &config, cmd, &clock)
        }
    }
}

/// Runs the job workers until SIGINT or SIGTERM, then stops them gracefully.
fn worker(config: &Config) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let metrics_listener = crate::app::metrics_listener(config)?;
    start::prepare_database(&config.database, false)?;
    let (key, _) = crate::app::server_key(config, false)?;
    let now = clock.now_naive();
    crate::app::migrate(&config.database, |conn| {
        start::check_server_key(conn, &key, config, now)
    })?;
    let server_key = Arc::new(key);
    let pool = crate::app::pool(&config.database)?;
    let metrics = crate::app::worker_metrics(config, &pool, &clock);
    let workers = crate::app::start_workers(config, &pool, clock, server_key, metrics.clone())?;
    println!("mobietrain-scim worker running; stop it with Ctrl-C or SIGTERM");
    actix_web::rt::System::new().block_on(async {
        if let Some(listener) = metrics_listener {
            crate::app::serve_metrics(listener, metrics)?;
        }
        let mut term = actix_web::rt::signal::unix::signal(
            actix_web::rt::signal::unix::SignalKind::terminate(),
        )?;
        first_of(actix_web::rt::signal::ctrl_c(), term.recv()).await;
        Ok::<_, anyhow::Error>(())
    })?;
    if let Some(w) = workers {
        w.shutdown();
    }
    Ok(())
}

/// Waits until the first of two futures is ready.
async fn first_of<A: std::future::Future, B: std::future::Future>(a: A, b: B) {
    let mut a = std::pin::pin!(a);
    let mut b = std::pin::pin!(b);
    std::future::poll_fn(|cx| {
        if a.as_mut().poll(cx).is_ready() || b.as_mut().poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

fn jobs(conn: &mut DbConn, cmd: JobsCommand, clock: &dyn Clock) -> anyhow::Result<()> {
    match cmd {
        JobsCommand::List { state, limit } => {
            println!(
                "{:<36}  {:<20}  {:<8}  {:<8}  {:<20}  LAST ERROR",
                "ID", "NAME", "STATE", "ATTEMPTS", "UPDATED"
            );
            for j in queue::list(conn, None, Some(state), limit)? {
                println!(
                    "{:<36}  {:<20}  {:<8}  {:<8}  {:<20}  {}",
                    j.id,
                    j.name,
                    j.state,
                    format!("{}/{}", j.attempts, j.max_attempts),
                    j.updated_at.format("%Y-%m-%d %H:%M:%S"),
                    j.last_error.as_deref().unwrap_or("-").replace('\n', " ")
                );
            }
        }
        JobsCommand::Retry { id } => {
            let j = queue::retry(conn, None, &id, clock.now_naive())?;
            println!("job {} ({}) queued again", j.id, j.name);
        }
    }
    Ok(())
}

fn account(conn: &mut DbConn, cmd: AccountCommand, clock: &dyn Clock) -> anyhow::Result<()> {
    match cmd {
        AccountCommand::Create { name } => {
            let account = accounts::create_account(conn, &name, clock.now_naive())?;
            println!("created account {:?}", account.name);
            println!("{}", account.id);
        }
        AccountCommand::List => {
            println!("{:<36}  {:<20}  NAME", "ID", "CREATED");
            for a in accounts::list_accounts(conn)? {
                println!(
                    "{:<36}  {:<20}  {}",
                    a.id,
                    a.created_at.format("%Y-%m-%d %H:%M:%S"),
                    a.name
                );
            }
        }
        AccountCommand::Show { id } => {
            let a = accounts::find_account(conn, &id).with_context(|| format!("account {id}"))?;
            let tokens = accounts::list_tokens(conn, &id)?;
            println!("id:                  {}", a.id);
            println!("name:                {}", a.name);
            println!(
                "created:             {}",
                crate::clock::rfc3339(a.created_at)
            );
            println!("require-external-id: {}", a.require_external_id);
            println!("require-contact:     {}", a.require_contact);
            println!("invite-on-provision: {}", a.invite_on_provision);
            println!("default-language:    {}", a.default_language);
            println!("users:               {}", crate::users::count(conn, &id)?);
            println!(
                "tokens:              {} live, {} revoked",
                tokens.iter().filter(|t| t.revoked_at.is_none()).count(),
                tokens.iter().filter(|t| t.revoked_at.is_some()).count()
            );
        }
        AccountCommand::Settings {
            id,
            name,
            require_external_id,
            require_contact,
            invite_on_provision,
            default_language,
            agreement_accepted,
        } => {
            let change = crate::invitations::SettingsChange {
                name,
                require_external_id,
                require_contact,
                invite_on_provision,
                default_language,
                agreement_accepted: agreement_accepted.then_some(true),
            };
            let a = crate::invitations::change_settings(conn, &id, &change, clock.now_naive())
                .with_context(|| format!("account {id}"))?;
            println!("name:                {}", a.name);
            println!("require-external-id: {}", a.require_external_id);
            println!("require-contact:     {}", a.require_contact);
            println!("invite-on-provision: {}", a.invite_on_provision);
            println!("default-language:    {}", a.default_language);
        }
    }
    Ok(())
}

fn crewplanner(
    conn: &mut DbConn,
    key: &crate::crypto::ServerKey,
    config: &Config,
    cmd: CrewPlannerCommand,
    clock: &dyn Clock,
) -> anyhow::Result<()> {
    use crate::crewplanner::link::{self, KeyChoice};
    let show = |row: &crate::db::models::CrewPlannerLinkRow, public: &PublicUrlArgs| {
        println!("account:  {}", row.account_id);
        println!("slug:     {}", row.slug);
        println!("enabled:  {}", row.enabled);
        println!(
            "keys:     {}",
            match row.key_kind.as_str() {
                "platform" => "the server's CrewPlanner keys",
                "jwks" => "the account's own JWKS document",
                "pem" => "the account's own public key (PEM)",
                "hs256" => "the account's own HS256 secret (stored encrypted)",
                other => other,
            }
        );
        println!("updated:  {}", crate::clock::rfc3339(row.updated_at));
        println!(
            "launch:   {}/crewplanner/{}/launch  (give CrewPlanner this URL; it adds ?jwt=…)",
            public.base(),
            row.account_id
        );
    };
    match cmd {
        CrewPlannerCommand::Enable {
            account,
            slug,
            jwks_file,
            public_key_file,
            hs256_secret_file,
            keys: _,
            public,
        } => {
            let choice = if let Some(f) = jwks_file {
                KeyChoice::Jwks(config::read_key_file(&f)?)
            } else if let Some(f) = public_key_file {
                KeyChoice::Pem(config::read_key_file(&f)?)
            } else if let Some(f) = hs256_secret_file {
                let secret = config::read_key_file(&f)?;
                KeyChoice::Hs256(secret.trim_end_matches(['\r', '\n']).as_bytes().to_vec())
            } else {
                refuse_without_platform_keys(&config.crewplanner)?;
                KeyChoice::Platform
            };
            let row = link::enable(conn, key, &account, &slug, &choice, clock.now_naive())
                .with_context(|| format!("account {account}"))?;
            println!("CrewPlanner link enabled");
            show(&row, &public);
        }
        CrewPlannerCommand::Disable { account, public } => {
            let row = link::disable(conn, &account, clock.now_naive())
                .with_context(|| format!("account {account}"))?;
            println!("CrewPlanner link disabled");
            show(&row, &public);
        }
        CrewPlannerCommand::Show { account, public } => match link::find(conn, &account)? {
            Some(row) => show(&row, &public),
            None => println!("account {account} has no CrewPlanner link"),
        },
    }
    Ok(())
}

/// Enabling with the server's CrewPlanner keys when this environment names none would leave
/// every employee at "try again in a minute": refused, saying what to set.
fn refuse_without_platform_keys(keys: &config::CrewPlannerConfig) -> anyhow::Result<()> {
    if keys.jwks_url().is_none() && keys.jwks_file.is_none() && keys.public_key_file.is_none() {
        bail!(
            "the server has no CrewPlanner keys in this environment: set CREWPLANNER_JWKS_URL, \
             CREWPLANNER_JWKS_FILE or CREWPLANNER_PUBLIC_KEY_FILE as the server has them (run \
             this with the server's environment), or give the account its own key with \
             --jwks-file, --public-key-file or --hs256-secret-file"
        );
    }
    // The files must hold keys, as `serve` will read them.
    crate::app::crewplanner(keys)?;
    Ok(())
}

fn token(conn: &mut DbConn, cmd: TokenCommand, clock: &dyn Clock) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Issue {
            account,
            label,
            scope,
            expires_in_days,
        } => {
            let now = clock.now_naive();
            let expires_at = expires_in_days
                .map(|days| accounts::expiry_in_days(days, now))
                .transpose()
                .context("--expires-in-days")?;
            let (row, token) =
                accounts::issue_token_until(conn, &account, &label, scope, expires_at, now)
                    .with_context(|| format!("account {account}"))?;
            let until = row
                .expires_at
                .map(|at| format!(", expires {}", crate::clock::rfc3339(at)))
                .unwrap_or_default();
            println!(
                "issued {} token {} ({:?}{until}); it is shown once, store it now:",
                row.scope, row.id, row.label
            );
            println!("{token}");
        }
        TokenCommand::List { account } => {
            println!(
                "{:<36}  {:<6}  {:<12}  {:<20}  {:<20}  LABEL",
                "ID", "SCOPE", "PREFIX", "LAST USED", "REVOKED"
            );
            let when = |t: Option<chrono::NaiveDateTime>| {
                t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                    .unwrap_or_else(|| "-".into())
            };
            for t in accounts::list_tokens(conn, &account)
                .with_context(|| format!("account {account}"))?
            {
                println!(
                    "{:<36}  {:<6}  {:<12}  {:<20}  {:<20}  {}",
                    t.id,
                    t.scope,
                    t.prefix,
                    when(t.last_used_at),
                    when(t.revoked_at),
                    t.label
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let (t, revoked) = accounts::revoke_token(conn, &id, clock.now_naive())
                .with_context(|| format!("token {id}"))?;
            if !revoked {
                bail!(
                    "token {} ({:?}) was revoked already, at {}; nothing changed",
                    t.id,
                    t.label,
                    t.revoked_at.map(crate::clock::rfc3339).unwrap_or_default()
                );
            }
            println!("revoked token {} ({:?})", t.id, t.label);
        }
    }
    Ok(())
}

/// Runs the HTTP server and the job workers until stopped (SIGINT/SIGTERM); then the workers finish
/// the jobs they hold.
///
/// The order is what makes a start safe: the configuration was validated ([`config`]) and the
/// CrewPlanner keys are read, the port is bound and (SQLite) the one-server lock taken before
/// anything is written; the database then accepts the server key or the start is refused; the
/// first start's account and token are created last, under the migration lock, and handed over
/// before that transaction commits, so a start that fails on the way creates no token nobody saw.
fn serve(config: &Config, args: &ServeArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let crewplanner = Arc::new(crate::app::crewplanner(&config.crewplanner)?);
    let bind = config.http.bind;
    let listener =
        std::net::TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr().unwrap_or(bind);
    let metrics_listener = crate::app::metrics_listener(config)?;
    let public_url = config.http.public_url_for(addr);
    let (key, new_key_file) = crate::app::server_key(config, true)?;
    let _lock = start::lock_instance(&config.database)?;
    start::prepare_database(&config.database, true)?;
    let now = clock.now_naive();
    let (mut conn, ()) = crate::app::migrate(&config.database, |conn| {
        start::check_server_key(conn, &key, config, now)?;
        // A new key's file is written once the database took its fingerprint (on SQLite inside
        // the same transaction, which a failed write rolls back).
        new_key_file
            .map(crate::crypto::NewKeyFile::write)
            .transpose()?;
        Ok(())
    })?;
    let server_key = Arc::new(key);
    let backend = config.database.backend()?;
    let pool = crate::app::pool(&config.database)?;
    let state = crate::app::state(
        config,
        crate::app::Parts {
            pool,
            clock: clock.clone(),
            server_key,
            http: crate::app::http_settings(config, public_url.clone()),
            crewplanner,
        },
    );
    let workers = crate::app::start_workers(
        config,
        &state.pool,
        state.clock.clone(),
        state.server_key.clone(),
        state.metrics.clone(),
    )?;
    let http_workers = config.http.workers;
    let token_target = match &args.bootstrap_token_file {
        Some(path) => start::TokenTarget::File(path.clone()),
        None => start::TokenTarget::Stdout,
    };
    let served = actix_web::rt::System::new().block_on(async move {
        let app_state = state.clone();
        let mut server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(actix_web::middleware::from_fn(
                    crate::http::access_log::access_log,
                ))
                .configure(crate::http::configure(app_state.clone()))
        });
        if let Some(workers) = http_workers {
            server = server.workers(workers);
        }
        let server = server
            .listen(listener)
            .with_context(|| format!("cannot listen on {addr}"))?;
        if let Some(listener) = metrics_listener {
            crate::app::serve_metrics(listener, state.metrics.clone())?;
        }
        let base = public_url.trim_end_matches('/');
        let now = clock.now_naive();
        let bootstrapped = crate::db::migrate_locked(&mut conn, |conn| {
            crate::db::write_transaction(conn, |conn| {
                let made = accounts::bootstrap(conn, now)?;
                if let Some((account, token)) = &made {
                    let handed = start::Bootstrapped {
                        account_id: &account.id,
                        token,
                        base,
                    };
                    start::deliver(&token_target, &handed)?;
                }
                Ok::<_, anyhow::Error>(made.is_some())
            })
        })?;
        if !bootstrapped {
            start::hint_for_accounts_without_token(&mut conn)?;
        }
        drop(conn);
        println!("mobietrain-scim listening on http://{addr} (SCIM base URL {base}/scim/v2)");
        tracing::info!(%addr, backend = ?backend, "listening");
        server
            .run()
            .await
            .context("the server stopped with an error")
    });
    // The HTTP server has stopped (SIGINT/SIGTERM), or never started: let the workers finish the
    // jobs they hold.
    if let Some(w) = workers {
        w.shutdown();
    }
    served
}
