//! The server under test: `mobietrain-scim serve` started as a child process on a free port and a
//! given database, its memory read from `/proc/<pid>/status` (`VmRSS` now, `VmHWM` the peak, which
//! is reset between workloads through `/proc/<pid>/clear_refs`), and stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Launch {
    /// The `mobietrain-scim` binary.
    pub binary: PathBuf,
    /// `DATABASE_URL`.
    pub database_url: String,
    /// `SQLITE_SYNCHRONOUS` (`full` or `normal`).
    pub sqlite_synchronous: String,
    /// Where the server's log (stderr) goes.
    pub log: PathBuf,
    /// `SERVER_KEY`: one random key per run (a PostgreSQL server refuses to start without one, and
    /// a SQLite one would otherwise write a key file into the working directory).
    pub server_key: String,
    /// More environment: the rate limits are always off (`RATE_LIMIT_READS=0
    /// RATE_LIMIT_WRITES=0`); O1 sets `METRICS_BIND` and `RUST_LOG` here.
    pub env: Vec<(String, String)>,
}

/// A running server.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
}

impl Server {
    /// Starts the server and waits until it listens.
    pub fn start(launch: &Launch) -> anyhow::Result<Self> {
        let log = std::fs::File::create(&launch.log)
            .with_context(|| format!("cannot create {}", launch.log.display()))?;
        let mut child = Command::new(&launch.binary)
            .arg("serve")
            .env("DATABASE_URL", &launch.database_url)
            .env("SQLITE_SYNCHRONOUS", &launch.sqlite_synchronous)
            .env("SERVER_KEY", &launch.server_key)
            .env("BIND", "127.0.0.1:0")
            .env("RATE_LIMIT_READS", "0")
            .env("RATE_LIMIT_WRITES", "0")
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .with_context(|| format!("cannot start {}", launch.binary.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the server's stdout to the end (so it never blocks on a full pipe), reporting the
        // address it listens on.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1)
                    && let Some(addr) = rest.split_whitespace().next()
                    && let Ok(addr) = addr.parse::<SocketAddr>()
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the server did not start listening within a minute; see {}",
                    launch.log.display()
                );
            }
        };
        Ok(Self { child, addr })
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// CPU time the server has used so far (user and system, all threads), in seconds, from
    /// `/proc/<pid>/stat`.
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        // Fields after the command name (which may hold spaces): state is the 3rd field, utime
        // the 14th and stime the 15th.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / clock_ticks_per_second())
    }

    /// Resident memory now, in MiB.
    pub fn rss_mb(&self) -> Option<f64> {
        status_kb(self.pid(), "VmRSS:").map(|kb| kb as f64 / 1024.0)
    }

    /// Peak resident memory since the start or the last [`Server::reset_peak`], in MiB.
    pub fn peak_rss_mb(&self) -> Option<f64> {
        status_kb(self.pid(), "VmHWM:").map(|kb| kb as f64 / 1024.0)
    }

    /// Resets the peak (`VmHWM`) to the current RSS; false where the kernel does not allow it.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// Stops the server with SIGTERM (it finishes what it holds), killing it after 30 s.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The kernel's clock ticks per second (`getconf CLK_TCK`; 100 where it cannot be asked).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|t: &f64| *t > 0.0)
            .unwrap_or(100.0)
    })
}

fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// A fresh PostgreSQL database on the server of `base_url` (connected to as the maintenance
/// database), named after that database and `name` (`postgres` and `sync.db` make
/// `postgres_bench_sync`; an old one of that name is dropped), and its URL.
pub fn fresh_postgres(base_url: &str, name: &str) -> anyhow::Result<String> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    let (without_query, query) = match base_url.split_once('?') {
        Some((url, query)) => (url, format!("?{query}")),
        None => (base_url, String::new()),
    };
    let authority_end = without_query
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| without_query[start..].find('/').map(|i| start + i))
        .unwrap_or(without_query.len());
    let (server, path) = without_query.split_at(authority_end);
    let base_db = path.trim_start_matches('/');
    let stem: String = name
        .split('.')
        .next()
        .unwrap_or(name)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    let database = format!(
        "{}_bench_{stem}",
        if base_db.is_empty() {
            "postgres"
        } else {
            base_db
        }
    );
    let mut admin = diesel::PgConnection::establish(base_url)
        .with_context(|| format!("cannot connect to {server} to make {database}"))?;
    // Two statements: neither may run inside a transaction, even the implicit one of a batch.
    admin.batch_execute(&format!(
        "DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"
    ))?;
    admin.batch_execute(&format!("CREATE DATABASE \"{database}\""))?;
    Ok(format!("{server}/{database}{query}"))
}

/// A fresh SQLite database URL in `dir` named `name` (any old file of that name is removed).
pub fn fresh_sqlite(dir: &Path, name: &str) -> anyhow::Result<String> {
    for suffix in ["", "-wal", "-shm"] {
        let path = dir.join(format!("{name}{suffix}"));
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    Ok(format!("sqlite://{}", dir.join(name).display()))
}
