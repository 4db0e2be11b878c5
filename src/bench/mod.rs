//! `mobietrain-scim bench`: the benchmark suite. It starts the server under test itself on fresh
//! databases (SQLite files under `--dir`, or PostgreSQL databases made on the server that
//! `--database-url` names), seeds them through the database layer, drives HTTP load over keep-alive
//! connections, measures the ceilings of this machine in the same run (HTTP on `/healthz`, database
//! writes and reads through the server's own pool, each at the concurrency of the workload it
//! judges), and prints one table (also written as JSON).
//!
//! Two databases: `sync` for Entra's initial sync (W1, which starts from an empty tenant; B1, the
//! same creates in Bulk requests of 1,000) and the write ceiling; `scale` for everything that
//! needs a large tenant (W3, W4 at two sizes, W7, W8, the read ceiling, and C1, a walk over the
//! whole large tenant by cursor, with the first and last pages by `startIndex` beside it). The servers run without rate limits (`RATE_LIMIT_READS=0
//! RATE_LIMIT_WRITES=0`). O1 measures what the access log and the metrics cost: the server CPU per
//! `GET /Users/{id}` with both on and with both off, two servers on one database, alternating.

mod ceiling;
mod client;
mod load;
pub mod payload;
mod report;
pub mod seed;
mod server;
mod storage;
mod workloads;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;

use crate::config::DatabaseConfig;
use crate::db::{self, Backend, SqliteSync};
use load::{Measurement, Stop, Target};
use report::{Check, Report, Row, Seeding};
use server::{Launch, Server};
use workloads::Lookup;
pub use workloads::encode;

/// The workloads `--workloads` can select.
const WORKLOADS: [&str; 9] = ["w1", "b1", "w3", "w4", "w7", "w8", "c1", "a1", "o1"];

/// The pages at each end of a C1 walk whose latencies are compared.
const C1_EDGE_PAGES: u64 = 20;

/// Options of `bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// Tiny sizes and short runs: checks that every workload works (CI runs this on the debug build).
    #[arg(long)]
    pub smoke: bool,
    /// Workloads to run, comma-separated (w1,b1,w3,w4,w7,w8,c1,a1,o1). Ceilings run when a
    /// workload needs them. B1 is W1's creates in Bulk requests of 1,000. C1 walks the large
    /// tenant by cursor (unsorted and by userName) and reads its first and last pages by
    /// startIndex. A1 is `/healthz` while two clients without a valid token flood
    /// `POST /.search`. O1 is the server CPU per `GET /Users/{id}` with the access log and metrics
    /// on, then off, in turns.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "w1,b1,w3,w4,w7,w8,c1,a1,o1"
    )]
    pub workloads: Vec<String>,
    /// Users created by W1 at each concurrency.
    #[arg(long)]
    pub sync_users: Option<u64>,
    /// Users created by B1 at each concurrency (in Bulk requests of --bulk-operations).
    #[arg(long)]
    pub bulk_users: Option<u64>,
    /// User creates per B1 Bulk request (at most the server's BULK_MAX_OPERATIONS).
    #[arg(long)]
    pub bulk_operations: Option<u64>,
    /// Users per page of C1's walks (at most the server's MAX_RESULTS).
    #[arg(long)]
    pub page_size: Option<u64>,
    /// The small tenant of W3/W4.
    #[arg(long)]
    pub small_users: Option<u64>,
    /// The large tenant of W3/W4/W7/W8.
    #[arg(long)]
    pub large_users: Option<u64>,
    /// Seconds each timed run (ceilings, reads, lookups) lasts.
    #[arg(long)]
    pub seconds: Option<f64>,
    /// Members added to each group by W7.
    #[arg(long)]
    pub w7_adds: Option<u64>,
    /// Concurrencies of W1 and of the write ceilings.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    pub sync_concurrency: Vec<usize>,
    /// Concurrency of the reads and lookups (W3, W4, W8) and of their ceilings.
    #[arg(long, default_value_t = 16)]
    pub read_concurrency: usize,
    /// Where the databases and the server's log go (made if missing; old databases are replaced).
    #[arg(long, default_value = "target/bench")]
    pub dir: PathBuf,
    /// The server binary (default: this executable).
    #[arg(long)]
    pub server_bin: Option<PathBuf>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Sizes and durations of one run.
#[derive(Debug, Clone)]
struct Plan {
    sync_users: u64,
    bulk_users: u64,
    bulk_operations: u64,
    page_size: u64,
    small_users: u64,
    large_users: u64,
    group_sizes: Vec<u64>,
    w7_adds: u64,
    timed: Duration,
}

impl Plan {
    fn of(args: &BenchArgs) -> anyhow::Result<Self> {
        let (sync, small, large, groups, adds, secs) = if args.smoke {
            (40, 200, 1_000, vec![0, 10, 50, 100], 10, 0.3)
        } else {
            (
                100_000,
                10_000,
                1_000_000,
                vec![0, 1_000, 10_000, 100_000],
                1_000,
                10.0,
            )
        };
        // Smoke: two Bulk requests of 20 and pages of 100 (the large tenant is 1,000 users).
        let (bulk_users, bulk_operations, page_size) = if args.smoke {
            (40, 20, 100)
        } else {
            (32_000, 1_000, 1_000)
        };
        let plan = Self {
            sync_users: args.sync_users.unwrap_or(sync),
            bulk_users: args.bulk_users.unwrap_or(bulk_users),
            bulk_operations: args.bulk_operations.unwrap_or(bulk_operations),
            page_size: args.page_size.unwrap_or(page_size),
            small_users: args.small_users.unwrap_or(small),
            large_users: args.large_users.unwrap_or(large),
            group_sizes: groups,
            w7_adds: args.w7_adds.unwrap_or(adds),
            timed: Duration::from_secs_f64(args.seconds.unwrap_or(secs)),
        };
        let biggest = plan.group_sizes.iter().copied().max().unwrap_or(0);
        if plan.bulk_operations == 0 || plan.page_size == 0 {
            bail!("--bulk-operations and --page-size must be at least 1");
        }
        if plan.small_users == 0 || plan.large_users < plan.small_users {
            bail!("--large-users must be at least --small-users, which must be at least 1");
        }
        let w7 = args.workloads.iter().any(|w| w.eq_ignore_ascii_case("w7"));
        if w7 && plan.large_users < biggest + plan.w7_adds {
            bail!(
                "W7 needs --large-users of at least {} (its largest group plus the members it adds)",
                biggest + plan.w7_adds
            );
        }
        Ok(plan)
    }
}

/// What the run keeps while it goes.
struct Run {
    args: BenchArgs,
    plan: Plan,
    backend: Backend,
    /// `--database-url`: for PostgreSQL, the server the fresh databases are made on.
    database_url: String,
    server_key: String,
    sync: SqliteSync,
    pool_size: u32,
    binary: PathBuf,
    report: Report,
}

fn git_revision() -> String {
    let out = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    match out(&["rev-parse", "--short", "HEAD"]) {
        Some(rev)
            if out(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty()) =>
        {
            format!("{rev}-dirty")
        }
        Some(rev) => rev,
        None => "unknown".into(),
    }
}

/// PostgreSQL's durability settings, as the report shows them.
fn postgres_durability(url: &str) -> anyhow::Result<String> {
    use diesel::Connection;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        setting: String,
    }
    let mut conn = diesel::PgConnection::establish(url)
        .with_context(|| "cannot connect to the PostgreSQL server of --database-url")?;
    let mut show = |name: &str| -> anyhow::Result<String> {
        let row: Setting = diesel::RunQueryDsl::get_result(
            diesel::sql_query(format!("SELECT current_setting('{name}') AS setting")),
            &mut conn,
        )?;
        Ok(format!("{name}={}", row.setting))
    };
    Ok(format!(
        "{} {}",
        show("synchronous_commit")?,
        show("fsync")?
    ))
}

/// The 1, 5 and 15 minute load averages.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn now() -> chrono::NaiveDateTime {
    chrono::Utc::now().naive_utc()
}

impl Run {
    fn wants(&self, workload: &str) -> bool {
        self.args
            .workloads
            .iter()
            .any(|w| w.eq_ignore_ascii_case(workload))
    }

    /// The server's own kind of pool (same manager, pragmas, durability and size) on `url`,
    /// through the composition root; the benchmark waits longer for a connection than a request.
    fn pool(&self, url: &str) -> anyhow::Result<db::Pool> {
        crate::app::pool(&DatabaseConfig {
            url: url.to_owned(),
            sqlite_synchronous: self.sync,
            pool_size: Some(self.pool_size),
            pool_timeout_secs: 30,
        })
    }

    /// A fresh database with one tenant, and the server started on it.
    fn fresh(&mut self, name: &str) -> anyhow::Result<(db::Pool, seed::Tenant, String)> {
        std::fs::create_dir_all(&self.args.dir)
            .with_context(|| format!("cannot create {}", self.args.dir.display()))?;
        let url = match self.backend {
            Backend::Sqlite => server::fresh_sqlite(&self.args.dir, name)?,
            Backend::Postgres => server::fresh_postgres(&self.database_url, name)?,
        };
        let pool = self.pool(&url)?;
        let mut conn = pool.get()?;
        db::migrate_locked(&mut conn, |_| Ok(()))?;
        let tenant = seed::tenant(&mut conn, &format!("bench {name}"), now())?;
        Ok((pool, tenant, url))
    }

    fn start(&mut self, url: &str, name: &str) -> anyhow::Result<Server> {
        self.start_with(url, name, Vec::new())
    }

    fn start_with(
        &mut self,
        url: &str,
        name: &str,
        env: Vec<(String, String)>,
    ) -> anyhow::Result<Server> {
        let launch = Launch {
            env,
            binary: self.binary.clone(),
            database_url: url.to_owned(),
            sqlite_synchronous: match self.sync {
                SqliteSync::Full => "full",
                SqliteSync::Normal => "normal",
            }
            .into(),
            log: self.args.dir.join(format!("{name}.server.log")),
            server_key: self.server_key.clone(),
        };
        let server = Server::start(&launch)?;
        println!("server pid {} on {} ({name})", server.pid(), server.addr);
        Ok(server)
    }

    fn target(server: &Server, tenant: &seed::Tenant) -> Target {
        Target {
            addr: server.addr,
            host: server.addr.to_string(),
            token: tenant.token.clone(),
        }
    }

    /// Measures one row with the server's peak RSS, prints it at once and keeps it.
    fn row(
        &mut self,
        server: Option<&Server>,
        id: &str,
        name: String,
        size: u64,
        concurrency: usize,
        measure: impl FnOnce() -> Measurement,
    ) -> usize {
        if let Some(s) = server {
            s.reset_peak();
        }
        let measurement = measure();
        let peak_rss_mb = server.and_then(Server::peak_rss_mb);
        println!(
            "  {id} {name} size {size} c{concurrency}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            measurement.requests_per_s,
            measurement.latency.p50_ms,
            measurement.latency.p99_ms,
            measurement.errors
        );
        self.report.rows.push(Row {
            id: id.to_owned(),
            name,
            size,
            concurrency,
            measurement,
            peak_rss_mb,
            checks: Vec::new(),
        });
        self.report.rows.len() - 1
    }

    fn check(&mut self, row: usize, check: Check) {
        self.report.rows[row].checks.push(check);
    }

    fn m(&self, row: usize) -> &Measurement {
        &self.report.rows[row].measurement
    }

    fn seeded(&mut self, what: String, count: u64, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        println!("  seeded {what}: {count} in {seconds:.1} s");
        self.report.seeding.push(Seeding {
            what,
            count,
            seconds,
        });
    }

    /// `sync.db`: HTTP and write ceilings at each concurrency, then W1 and B1 at each.
    fn sync_phase(&mut self) -> anyhow::Result<()> {
        println!("phase 1: Entra initial sync on an empty tenant (database \"sync\")");
        let (pool, tenant, url) = self.fresh("sync.db")?;
        let server = self.start(&url, "sync")?;
        std::thread::sleep(Duration::from_millis(500));
        self.report.idle_rss_mb = server.rss_mb();
        self.report.idle_rss_met = self.report.idle_rss_mb.map(|m| m < 30.0);
        let target = Self::target(&server, &tenant);
        ceiling::prepare(&pool)?;
        let timed = Stop::For(self.plan.timed);
        for c in self.args.sync_concurrency.clone() {
            self.row(
                Some(&server),
                "ceiling",
                "http GET /healthz".into(),
                0,
                c,
                || workloads::healthz(&target, c, timed),
            );
            let write = self.row(
                None,
                "ceiling",
                "db write (1-row insert tx)".into(),
                0,
                c,
                || ceiling::writes(&pool, c, timed),
            );
            let w1 = if self.wants("w1") {
                let tag = format!("w1c{c}");
                let users = self.plan.sync_users;
                let w1 = self.row(
                    Some(&server),
                    "W1",
                    "Entra sync: userName eq miss + POST".into(),
                    users,
                    c,
                    || workloads::entra_sync(&target, &tag, users, c),
                );
                let check = Check::at_least(
                    format!("db write c{c} ops/s"),
                    self.m(w1).steps_per_s,
                    self.m(write).steps_per_s,
                    0.5,
                );
                self.check(w1, check);
                Some(w1)
            } else {
                None
            };
            if self.wants("b1") {
                self.bulk_sync(&server, &target, c, w1);
            }
        }
        ceiling::clean_up(&pool)?;
        server.stop()
    }

    /// B1 at concurrency `c`: W1's creates in Bulk requests, its creates/s compared with W1's
    /// (row `w1`) at the same concurrency.
    fn bulk_sync(&mut self, server: &Server, target: &Target, c: usize, w1: Option<usize>) {
        let per_request = self.plan.bulk_operations;
        let requests = self.plan.bulk_users.div_ceil(per_request).max(1);
        let tag = format!("b1c{c}");
        let b1 = self.row(
            Some(server),
            "B1",
            format!("Bulk: {per_request} POST /Users per request (ops/s: users)"),
            requests * per_request,
            c,
            || workloads::bulk_sync(target, &tag, requests, per_request, c),
        );
        if let Some(w1) = w1 {
            let check = Check::at_least(
                format!("W1 c{c} users/s"),
                self.m(b1).steps_per_s,
                self.m(w1).steps_per_s,
                1.0,
            );
            self.check(b1, check);
        }
    }

    /// C1 over the whole tenant of `size` users: a walk by cursor, unsorted and by userName, each
    /// with its first and last pages' latencies compared (median against median); then the first
    /// and last pages by `startIndex`, whose end costs what it skips.
    fn cursor_walks(&mut self, server: &Server, target: &Target, size: u64) {
        let count = self.plan.page_size;
        for sort_by in [None, Some("userName")] {
            let label = sort_by.map_or("unsorted".to_owned(), |s| format!("sortBy={s}"));
            let walk = workloads::cursor_walk(target, sort_by, count, size);
            let pages = walk.latencies_us.len() as u64;
            println!(
                "  C1 cursor walk {label}: {pages} pages, {} users in {:.1} s",
                walk.resources, walk.seconds
            );
            let edge = C1_EDGE_PAGES.min(pages / 2).max(1) as usize;
            let whole = Measurement::of_sequence(&walk.latencies_us, walk.error.clone())
                .counting_operations(count);
            self.row(
                Some(server),
                "C1",
                format!("cursor walk {label}, count={count}, all {pages} pages (ops/s: users)"),
                size,
                1,
                || whole,
            );
            let n = walk.latencies_us.len();
            let first = self.row(
                None,
                "C1",
                format!("cursor walk {label}, first {edge} pages"),
                size,
                1,
                || Measurement::of_sequence(&walk.latencies_us[..edge.min(n)], None),
            );
            let last = self.row(
                None,
                "C1",
                format!("cursor walk {label}, last {edge} pages"),
                size,
                1,
                || Measurement::of_sequence(&walk.latencies_us[n.saturating_sub(edge)..], None),
            );
            let check = Check::at_most(
                format!("first {edge} pages p50 ms"),
                self.m(last).latency.p50_ms,
                self.m(first).latency.p50_ms,
                1.5,
            );
            self.check(last, check);
        }
        let edge = C1_EDGE_PAGES.min(size.div_ceil(count) / 2).max(1);
        let (first, last) = workloads::index_pages(target, None, count, size, edge);
        let first = self.row(
            None,
            "C1",
            format!("startIndex (contrast), first {edge} pages"),
            size,
            1,
            || Measurement::of_sequence(&first.latencies_us, first.error),
        );
        let last = self.row(
            None,
            "C1",
            format!("startIndex (contrast), last {edge} pages"),
            size,
            1,
            || Measurement::of_sequence(&last.latencies_us, last.error),
        );
        println!(
            "  C1 startIndex: the last pages' p50 is {:.2}x the first pages' (no target: an \
             offset's end costs what it skips)",
            self.m(last).latency.p50_ms / self.m(first).latency.p50_ms.max(1e-9)
        );
    }

    /// `abuse.db`: A1, `/healthz` alone and then beside two clients that send the 0.9 MB
    /// SearchRequest of the hardening issue with an invalid token; its p99 must stay under 100 ms.
    fn abuse_phase(&mut self) -> anyhow::Result<()> {
        println!("phase 3: unauthenticated flood (database \"abuse\")");
        let (_pool, tenant, url) = self.fresh("abuse.db")?;
        let server = self.start(&url, "abuse")?;
        let target = Self::target(&server, &tenant);
        let timed = Stop::For(self.plan.timed);
        self.row(
            Some(&server),
            "ceiling",
            "http GET /healthz".into(),
            0,
            1,
            || workloads::healthz(&target, 1, timed),
        );
        let mut flood = None;
        let probe = self.row(
            Some(&server),
            "A1",
            "GET /healthz beside 2 unauthenticated 0.9 MB searches".into(),
            0,
            1,
            || {
                let (probe, f) = workloads::healthz_under_flood(&target, 2, timed);
                flood = Some(f);
                probe
            },
        );
        let flood = flood.expect("measured above");
        self.row(
            None,
            "A1",
            "the flood: POST /.search, invalid token (401)".into(),
            0,
            2,
            || flood,
        );
        let check = Check::at_most(
            "p99 budget 100 ms".into(),
            self.m(probe).latency.p99_ms,
            100.0,
            1.0,
        );
        self.check(probe, check);
        server.stop()
    }

    /// `observe-on.db` and `observe-off.db`: O1, the cost of the access log and the metrics. Two
    /// servers, each on its own database seeded alike with the small tenant (SQLite serves one
    /// instance per file): one logs every request (`RUST_LOG=info`) and records metrics
    /// (`METRICS_BIND`), the other has the access log filtered out and no metrics listener; W3's
    /// reads go to each in turn, six rounds in ABBA order, and the server's CPU time per request is
    /// compared, round pair by round pair (the load generator's own CPU is not counted).
    fn observability_phase(&mut self) -> anyhow::Result<()> {
        println!(
            "phase 4: the cost of the access log and metrics (databases \"observe-on\", \"observe-off\")"
        );
        let env = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let mut sides = Vec::new();
        for (name, vars) in [
            (
                "observe-on",
                env(&[("RUST_LOG", "info"), ("METRICS_BIND", "127.0.0.1:0")]),
            ),
            (
                "observe-off",
                env(&[("RUST_LOG", "info,mobietrain_scim::access=off")]),
            ),
        ] {
            let (pool, tenant, url) = self.fresh(&format!("{name}.db"))?;
            let started = Instant::now();
            let ids = seed::users(
                &mut *pool.get()?,
                &tenant,
                "o",
                0..self.plan.small_users,
                now(),
            )?;
            self.seeded("users".into(), self.plan.small_users, started);
            let server = self.start_with(&url, name, vars)?;
            sides.push((server, tenant, ids));
        }
        let [on, off] = <[_; 2]>::try_from(sides)
            .map_err(|_| anyhow::anyhow!("O1 needs exactly two servers"))?;
        let c = self.args.read_concurrency;
        let timed = Stop::For(self.plan.timed);
        let size = self.plan.small_users;
        // Six rounds in ABBA order (on, off, off, on, on, off), so that drift in the machine's load
        // falls on both sides alike; each round pair (on and off next to each other) gives a ratio,
        // and the check is on their median, which one noisy round cannot move.
        let mut totals = [(0.0f64, 0u64); 2];
        let mut per_round = [Vec::new(), Vec::new()];
        let mut last_on = None;
        for round in 1..=6 {
            let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
            for i in order {
                let ((server, tenant, ids), label) = [(&on, "on"), (&off, "off")][i];
                let target = Self::target(server, tenant);
                let before = server
                    .cpu_seconds()
                    .context("cannot read the server's CPU time")?;
                let measurement = workloads::read_by_id(&target, ids, c, timed);
                let after = server
                    .cpu_seconds()
                    .context("cannot read the server's CPU time")?;
                let cpu = after - before;
                totals[i].0 += cpu;
                totals[i].1 += measurement.requests;
                let per_request = cpu * 1e6 / measurement.requests.max(1) as f64;
                per_round[i].push(per_request);
                let row = self.row(
                    Some(server),
                    "O1",
                    format!(
                        "GET /Users/{{id}}, access log + metrics {label}, round {round}: \
                         {per_request:.1} µs server CPU/request"
                    ),
                    size,
                    c,
                    || measurement,
                );
                if i == 0 {
                    last_on = Some(row);
                }
            }
        }
        let per = |(cpu, requests): (f64, u64)| cpu * 1e6 / requests.max(1) as f64;
        let (cpu_on, cpu_off) = (per(totals[0]), per(totals[1]));
        let mut ratios: Vec<f64> = per_round[0]
            .iter()
            .zip(&per_round[1])
            .map(|(on, off)| on / off)
            .collect();
        ratios.sort_by(f64::total_cmp);
        let median = (ratios[ratios.len() / 2 - 1] + ratios[ratios.len() / 2]) / 2.0;
        println!(
            "  O1 server CPU per request: {cpu_on:.1} µs on, {cpu_off:.1} µs off over all rounds \
             ({:+.1}%); median of the six round pairs {:+.1}% (pairs: {})",
            (cpu_on / cpu_off - 1.0) * 100.0,
            (median - 1.0) * 100.0,
            ratios
                .iter()
                .map(|r| format!("{:+.1}%", (r - 1.0) * 100.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if let Some(row) = last_on {
            self.check(
                row,
                Check::at_most(
                    "CPU/request off (median of six round pairs)".into(),
                    median * cpu_off,
                    cpu_off,
                    1.1,
                ),
            );
        }
        on.0.stop()?;
        off.0.stop()
    }

    /// `scale.db`: W3 and W4 at the small and the large size, the read ceiling, then W7 and W8.
    fn scale_phase(&mut self) -> anyhow::Result<()> {
        println!("phase 2: a large tenant (database \"scale\")");
        let (pool, tenant, url) = self.fresh("scale.db")?;
        let started = Instant::now();
        let mut ids = seed::users(
            &mut *pool.get()?,
            &tenant,
            "s",
            0..self.plan.small_users,
            now(),
        )?;
        self.seeded("users".into(), self.plan.small_users, started);
        let server = self.start(&url, "scale")?;
        if self.report.idle_rss_mb.is_none() {
            std::thread::sleep(Duration::from_millis(500));
            self.report.idle_rss_mb = server.rss_mb();
            self.report.idle_rss_met = self.report.idle_rss_mb.map(|m| m < 30.0);
        }
        let target = Self::target(&server, &tenant);
        let c = self.args.read_concurrency;
        let timed = Stop::For(self.plan.timed);
        let reads = self.wants("w3") || self.wants("w4");

        let mut w3 = std::collections::HashMap::new();
        let mut w4 = std::collections::HashMap::new();
        for size in [self.plan.small_users, self.plan.large_users] {
            if size > ids.len() as u64 {
                let started = Instant::now();
                let more = seed::users(
                    &mut *pool.get()?,
                    &tenant,
                    "s",
                    ids.len() as u64..size,
                    now(),
                )?;
                let count = more.len() as u64;
                ids.extend(more);
                self.seeded("users".into(), count, started);
            }
            if !reads {
                continue;
            }
            let http = self.row(
                Some(&server),
                "ceiling",
                "http GET /healthz".into(),
                size,
                c,
                || workloads::healthz(&target, c, timed),
            );
            let read = self.row(
                None,
                "ceiling",
                "db read (user row by pk)".into(),
                size,
                c,
                || ceiling::reads(&pool, &ids, c, timed),
            );
            let row = self.row(
                Some(&server),
                "W3",
                "GET /Users/{id}".into(),
                size,
                c,
                || workloads::read_by_id(&target, &ids, c, timed),
            );
            let (v, h, r) = (
                self.m(row).requests_per_s,
                self.m(http).requests_per_s,
                self.m(read).steps_per_s,
            );
            self.check(row, Check::at_least(format!("http c{c} req/s"), v, h, 0.3));
            self.check(
                row,
                Check::at_least(format!("db read c{c} ops/s"), v, r, 0.0),
            );
            w3.insert(size, row);
            if !self.wants("w4") {
                continue;
            }
            for kind in Lookup::ALL {
                let row = self.row(Some(&server), "W4", kind.name().into(), size, c, || {
                    workloads::find(&target, kind, "s", size, c, timed)
                });
                let p50 = self.m(row).latency.p50_ms;
                let base = self.m(w3[&size]).latency.p50_ms;
                self.check(row, Check::at_most("W3 p50 ms".into(), p50, base, 1.5));
                if let Some(&small) = w4.get(&(kind.name(), self.plan.small_users))
                    && size != self.plan.small_users
                {
                    let small_p50 = self.m(small).latency.p50_ms;
                    self.check(
                        row,
                        Check::at_most(
                            format!("same at {} p50 ms", self.plan.small_users),
                            p50,
                            small_p50,
                            1.2,
                        ),
                    );
                }
                w4.insert((kind.name(), size), row);
            }
        }
        if self.wants("c1") {
            self.cursor_walks(&server, &target, ids.len() as u64);
        }
        if self.wants("w7") || self.wants("w8") {
            self.group_workloads(&server, &pool, &tenant, &ids)?;
        }
        server.stop()
    }

    /// W7 (one member added to groups of each size) and W8 (reading the largest group without its
    /// members, against an empty one).
    fn group_workloads(
        &mut self,
        server: &Server,
        pool: &db::Pool,
        tenant: &seed::Tenant,
        ids: &[String],
    ) -> anyhow::Result<()> {
        let target = Self::target(server, tenant);
        let sizes = self.plan.group_sizes.clone();
        let biggest = sizes.iter().copied().max().unwrap_or(0);
        if biggest as usize > ids.len() {
            bail!("W7 and W8 need --large-users of at least {biggest}");
        }
        let mut groups = Vec::new();
        for &size in &sizes {
            let started = Instant::now();
            let id = seed::group(
                &mut *pool.get()?,
                tenant,
                &format!("bench group {size}"),
                &ids[..size as usize],
                now(),
            )?;
            self.seeded(format!("group of {size} members"), size, started);
            groups.push((size, id));
        }
        let adds = self.plan.w7_adds as usize;
        if self.wants("w7") {
            let mut empty = None;
            for (size, group) in &groups {
                let candidates = &ids[*size as usize..*size as usize + adds];
                let row = self.row(
                    Some(server),
                    "W7",
                    "PATCH add 1 member".into(),
                    *size,
                    1,
                    || workloads::add_member(&target, group, candidates, 1),
                );
                match empty {
                    None => empty = Some(row),
                    Some(e) => {
                        let (p50, base) = (self.m(row).latency.p50_ms, self.m(e).latency.p50_ms);
                        self.check(row, Check::at_most("W7 p50 ms at 0".into(), p50, base, 1.5));
                    }
                }
            }
        }
        if self.wants("w8") {
            let c = self.args.read_concurrency;
            let timed = Stop::For(self.plan.timed);
            let (small, large) = (&groups[0], &groups[groups.len() - 1]);
            let name = "GET group excludedAttributes=members";
            let empty = self.row(Some(server), "W8", name.into(), small.0, c, || {
                workloads::read_group(&target, &small.1, c, timed)
            });
            let row = self.row(Some(server), "W8", name.into(), large.0, c, || {
                workloads::read_group(&target, &large.1, c, timed)
            });
            let (p50, base) = (self.m(row).latency.p50_ms, self.m(empty).latency.p50_ms);
            self.check(
                row,
                Check::at_most("empty group p50 ms".into(), p50, base, 1.5),
            );
        }
        Ok(())
    }
}

/// Runs the benchmark; fails when any workload had an error or did nothing.
pub fn run(database: &DatabaseConfig, args: BenchArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    for w in &args.workloads {
        if !WORKLOADS.contains(&w.to_ascii_lowercase().as_str()) {
            bail!(
                "unknown workload {w:?}: choose among {}",
                WORKLOADS.join(",")
            );
        }
    }
    let backend = database.backend()?;
    let binary = match &args.server_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe().context("cannot find this executable")?,
    };
    if cfg!(debug_assertions) && !args.smoke && args.server_bin.is_none() {
        eprintln!(
            "warning: this is a debug build; run `cargo run --release -- bench` for real figures"
        );
    }
    let plan = Plan::of(&args)?;
    let durability = match backend {
        Backend::Sqlite => match database.sqlite_synchronous {
            SqliteSync::Full => "full".to_owned(),
            SqliteSync::Normal => "normal".to_owned(),
        },
        Backend::Postgres => postgres_durability(&database.url)?,
    };
    let mut run = Run {
        plan,
        backend,
        database_url: database.url.clone(),
        sync: database.sqlite_synchronous,
        pool_size: database.pool_settings(backend).max_size,
        server_key: crate::crypto::random_token(""),
        binary,
        report: Report {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            git_revision: git_revision(),
            backend: match backend {
                Backend::Sqlite => "sqlite",
                Backend::Postgres => "postgres",
            }
            .into(),
            durability: durability.clone(),
            smoke: args.smoke,
            idle_rss_mb: None,
            idle_rss_met: None,
            seeding: Vec::new(),
            rows: Vec::new(),
            errors: 0,
            wall_seconds: 0.0,
            load_average: [load_average(), String::new()],
        },
        args,
    };
    println!(
        "mobietrain-scim bench: {:?}, durability {durability}",
        run.plan
    );
    if run.wants("w1") || run.wants("b1") {
        run.sync_phase()?;
    }
    if ["w3", "w4", "w7", "w8", "c1"].iter().any(|w| run.wants(w)) {
        run.scale_phase()?;
    }
    if run.wants("a1") {
        run.abuse_phase()?;
    }
    if run.wants("o1") {
        run.observability_phase()?;
    }
    run.report.errors = run.report.rows.iter().map(|r| r.measurement.errors).sum();
    run.report.wall_seconds = started.elapsed().as_secs_f64();
    run.report.load_average[1] = load_average();
    println!();
    print!("{}", run.report.table());
    if let Some(path) = &run.args.json {
        std::fs::write(path, serde_json::to_string_pretty(&run.report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("JSON written to {}", path.display());
    }
    let broken = run.report.broken_rows();
    if !broken.is_empty() {
        bail!("errors or zero throughput in: {}", broken.join(", "));
    }
    Ok(())
}
