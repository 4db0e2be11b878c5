//! The command line: `serve`, `worker`, `migrate`, `account …`, `token …` and `jobs …`. Every option can also be set by
//! the environment variable named in its help (documented in `.env.sample`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::accounts::{self, Scope};
use crate::clock::{Clock, SystemClock};
use crate::db::{self, ConnectionManager, DatabaseTarget, DbConn, PoolSettings, SqliteSync};
use crate::email::{DisabledMailer, Mailer, Sender, smtp::SmtpMailer, templates::Templates};
use crate::jobs::worker::{WorkerSettings, Workers};
use crate::jobs::{JobState, Registry, Services, queue};
use crate::state::{AppState, HttpSettings};

/// The provisioning server of MobieTrain: SCIM 2.0 for identity providers.
#[derive(Debug, Parser)]
#[command(name = "mobietrain-scim", version, about)]
pub struct Cli {
    /// Database settings, shared by every command.
    #[command(flatten)]
    pub database: DatabaseArgs,
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
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://mobietrain-scim.db",
        global = true
    )]
    pub database_url: String,
    /// SQLite durability: `full` (an acknowledged write survives a power cut) or `normal`.
    #[arg(long, env = "SQLITE_SYNCHRONOUS", value_enum, default_value_t = SqliteSync::Full, global = true)]
    pub sqlite_synchronous: SqliteSync,
    /// Database connections at most (default: 8 for SQLite, 16 for PostgreSQL).
    #[arg(long, env = "DB_POOL_SIZE", global = true)]
    pub db_pool_size: Option<u32>,
    /// Seconds a request waits for a connection before it is answered 503.
    #[arg(long, env = "DB_POOL_TIMEOUT_SECS", default_value_t = 5, global = true)]
    pub db_pool_timeout_secs: u64,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (migrates first; on a database with no account, creates one).
    Serve(ServeArgs),
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
}

/// Options of the background workers and the mailer, for `serve` and `worker`.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Worker threads that run background jobs (0: none in this process).
    #[arg(long, env = "WORKER_THREADS", default_value_t = 2)]
    pub worker_threads: usize,
    /// Seconds a claimed job is held; a job whose worker died is run again after this.
    #[arg(long, env = "JOB_LEASE_SECS", default_value_t = 300)]
    pub job_lease_secs: i64,
    /// Milliseconds an idle worker waits before it looks for work again.
    #[arg(long, env = "JOB_POLL_MS", default_value_t = 1000)]
    pub job_poll_ms: u64,
    /// The mail server: smtp://host:2525, smtp://user:pass@host:587?tls=required or
    /// smtps://user:pass@host. Never logged. Without it, e-mail jobs fail and wait for a retry.
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender's address.
    #[arg(long, env = "MAIL_FROM", default_value = "no-reply@mobietrain.com")]
    pub mail_from: String,
    /// The sender's display name.
    #[arg(long, env = "MAIL_FROM_NAME", default_value = "MobieTrain")]
    pub mail_from_name: String,
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
    #[arg(long, env = "BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The externally visible base URL (e.g. https://scim.example.com), used in `Location` and `meta`.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The largest JSON request body accepted, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// The most resources a list response returns.
    #[arg(long, env = "MAX_RESULTS", default_value_t = 1000)]
    pub max_results: u64,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "HTTP_WORKERS")]
    pub workers: Option<usize>,
    /// Background jobs and e-mail.
    #[command(flatten)]
    pub jobs: WorkerArgs,
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
    /// Show, or change, an account's settings.
    Settings {
        /// The account id.
        id: String,
        /// Refuse users without externalId (400) instead of warning.
        #[arg(long)]
        require_external_id: Option<bool>,
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

impl DatabaseArgs {
    fn manager(&self) -> anyhow::Result<ConnectionManager> {
        let target = DatabaseTarget::parse(&self.database_url)?;
        Ok(ConnectionManager::new(target, self.sqlite_synchronous))
    }

    fn pool_settings(&self, backend: db::Backend) -> PoolSettings {
        let default = match backend {
            db::Backend::Sqlite => 8,
            db::Backend::Postgres => 16,
        };
        PoolSettings {
            max_size: self.db_pool_size.unwrap_or(default),
            connection_timeout: Duration::from_secs(self.db_pool_timeout_secs),
        }
    }

    /// Opens one connection and brings the schema up to date.
    fn open_migrated(&self) -> anyhow::Result<DbConn> {
        let mut conn = self.manager()?.open().context("cannot open the database")?;
        db::migrate_locked(&mut conn, |_| Ok(()))?;
        Ok(conn)
    }
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Runs the command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(cli.log_format);
    let clock = SystemClock;
    match cli.command {
        Command::Serve(args) => serve(&cli.database, args),
        Command::Migrate => {
            cli.database.open_migrated()?;
            println!("database is up to date");
            Ok(())
        }
        Command::Account(cmd) => account(&mut cli.database.open_migrated()?, cmd, &clock),
        Command::Token(cmd) => token(&mut cli.database.open_migrated()?, cmd, &clock),
        Command::Worker(args) => worker(&cli.database, &args),
        Command::Jobs(cmd) => jobs(&mut cli.database.open_migrated()?, cmd, &clock),
        Command::Bench(args) => crate::bench::run(&cli.database, args),
    }
}

impl WorkerArgs {
    fn mailer(&self) -> anyhow::Result<Arc<dyn Mailer>> {
        Ok(match &self.smtp_url {
            Some(url) if !url.is_empty() => {
                let sender = Sender {
                    address: self.mail_from.clone(),
                    name: self.mail_from_name.clone(),
                };
                Arc::new(SmtpMailer::new(url, &sender)?)
            }
            _ => {
                tracing::warn!("SMTP_URL is not set: e-mail jobs will fail until it is");
                Arc::new(DisabledMailer)
            }
        })
    }

    /// Starts the workers, unless there are to be none.
    fn start(&self, pool: &db::Pool, clock: Arc<dyn Clock>) -> anyhow::Result<Option<Workers>> {
        if self.worker_threads == 0 {
            return Ok(None);
        }
        let services = Services {
            pool: pool.clone(),
            clock,
            mailer: self.mailer()?,
            templates: Arc::new(Templates::embedded()),
        };
        let settings = WorkerSettings {
            threads: self.worker_threads,
            lease: chrono::Duration::seconds(self.job_lease_secs.max(1)),
            poll_interval: Duration::from_millis(self.job_poll_ms.max(10)),
            ..WorkerSettings::default()
        };
        tracing::info!(threads = self.worker_threads, "job workers started");
        Ok(Some(Workers::start(
            services,
            Registry::standard(),
            settings,
        )))
    }
}

/// Runs the job workers until SIGINT or SIGTERM, then stops them gracefully.
fn worker(database: &DatabaseArgs, args: &WorkerArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    database.open_migrated()?;
    let backend = DatabaseTarget::parse(&database.database_url)?.backend;
    let pool = db::build_pool(database.manager()?, &database.pool_settings(backend))?;
    let args = WorkerArgs {
        worker_threads: args.worker_threads.max(1),
        ..args.clone()
    };
    let workers = args.start(&pool, clock)?;
    println!("mobietrain-scim worker running; stop it with Ctrl-C or SIGTERM");
    actix_web::rt::System::new().block_on(async {
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
            for j in queue::list(conn, None, state, limit)? {
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
            let a = accounts::find_account(conn, &id)?;
            let tokens = accounts::list_tokens(conn, &id)?;
            println!("id:                  {}", a.id);
            println!("name:                {}", a.name);
            println!(
                "created:             {}",
                crate::clock::rfc3339(a.created_at)
            );
            println!("require-external-id: {}", a.require_external_id);
            println!("users:               {}", accounts::count_users(conn, &id)?);
            println!(
                "tokens:              {} live, {} revoked",
                tokens.iter().filter(|t| t.revoked_at.is_none()).count(),
                tokens.iter().filter(|t| t.revoked_at.is_some()).count()
            );
        }
        AccountCommand::Settings {
            id,
            require_external_id,
        } => {
            let a = accounts::update_settings(conn, &id, require_external_id, clock.now_naive())?;
            println!("require-external-id: {}", a.require_external_id);
        }
    }
    Ok(())
}

fn token(conn: &mut DbConn, cmd: TokenCommand, clock: &dyn Clock) -> anyhow::Result<()> {
    match cmd {
        TokenCommand::Issue {
            account,
            label,
            scope,
        } => {
            let (row, token) =
                accounts::issue_token(conn, &account, &label, scope, clock.now_naive())?;
            println!(
                "issued {} token {} ({:?}); it is shown once, store it now:",
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
            for t in accounts::list_tokens(conn, &account)? {
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
            let t = accounts::revoke_token(conn, &id, clock.now_naive())?;
            println!("revoked token {} ({:?})", t.id, t.label);
        }
    }
    Ok(())
}

/// Runs the HTTP server and the job workers until stopped (SIGINT/SIGTERM); then the workers finish
/// the jobs they hold.
fn serve(database: &DatabaseArgs, args: ServeArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let manager = database.manager()?;
    let mut conn = manager.open().context("cannot open the database")?;
    let now = clock.now_naive();
    let bootstrapped = db::migrate_locked(&mut conn, |conn| Ok(accounts::bootstrap(conn, now)?))?;
    drop(conn);
    let backend = DatabaseTarget::parse(&database.database_url)?.backend;
    let pool = db::build_pool(manager, &database.pool_settings(backend))?;
    let workers = args.jobs.start(&pool, clock.clone())?;
    let state = AppState {
        pool,
        registry: Arc::new(crate::scim::schema::Registry::embedded()),
        clock,
        settings: Arc::new(HttpSettings {
            public_url: args.public_url.clone(),
            max_body_bytes: args.max_body_bytes,
            max_results: args.max_results,
        }),
        dialects: Arc::default(),
    };
    let served = actix_web::rt::System::new().block_on(async move {
        let app_state = state.clone();
        let mut server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .wrap(tracing_actix_web::TracingLogger::<
                    crate::http::telemetry::PrivacyRootSpan,
                >::new())
                .configure(crate::http::configure(app_state.clone()))
        });
        if let Some(workers) = args.workers {
            server = server.workers(workers);
        }
        let server = server
            .bind(args.bind)
            .with_context(|| format!("cannot listen on {}", args.bind))?;
        let addr = server.addrs().first().copied().unwrap_or(args.bind);
        let base = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let base = base.trim_end_matches('/');
        if let Some((account, token)) = bootstrapped {
            println!("No account existed, so one was created. Give your identity provider:");
            println!("  account id:    {}", account.id);
            println!("  SCIM base URL: {base}/scim/v2");
            println!("  SCIM token:    {token}");
            println!("The token is shown once; store it now.");
        }
        println!("mobietrain-scim listening on http://{addr} (SCIM base URL {base}/scim/v2)");
        tracing::info!(%addr, backend = ?backend, "listening");
        server
            .run()
            .await
            .context("the server stopped with an error")
    });
    // The HTTP server has stopped (SIGINT/SIGTERM): let the workers finish the jobs they hold.
    if let Some(w) = workers {
        w.shutdown();
    }
    served
}
