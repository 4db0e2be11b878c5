//! Safe starts: what the commands check and prepare before they touch the data, so a start that
//! fails leaves nothing behind and a start on the wrong database or with the wrong key is refused.
//!
//! - The SQLite file: created readable by its owner only (0600; SQLite gives its `-wal` and `-shm`
//!   files the same mode) by `serve` and `migrate`, refused when missing by every other command
//!   (naming the path looked at), so a command run from another directory never creates an empty
//!   database.
//! - One `serve` per SQLite file: an exclusive lock on `<file>.lock`, held while it runs. The lock
//!   is the kernel's (`flock`), released when the process ends however it ends, so a crashed
//!   server's leftover file blocks nothing.
//! - The server key's fingerprint, compared with the one the database stores (`db::server_key`).
//! - The first start's SCIM token, handed over (stdout, or a file) before the transaction that
//!   creates it commits: a start that fails creates no token nobody saw.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDateTime;

use crate::config::{Config, DatabaseConfig};
use crate::crypto::ServerKey;
use crate::db::DbConn;
use crate::db::server_key::{KeyCheck, check_or_store};

/// The path as an operator should read it: absolute (a relative path is the current directory's).
pub fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Makes sure the SQLite file of `database` exists before it is opened: creates it mode 0600 when
/// `may_create` (`serve`, `migrate`), else refuses, naming the path, so that `account list` run in
/// another directory does not quietly create and show an empty database. PostgreSQL: nothing.
pub fn prepare_database(database: &DatabaseConfig, may_create: bool) -> anyhow::Result<()> {
    let Some(path) = database.sqlite_file() else {
        return Ok(());
    };
    match std::fs::metadata(&path) {
        Ok(meta) => {
            warn_if_shared(&path, &meta);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && may_create => {
            match private_file(&path, true) {
                Ok(_) => Ok(()),
                // Another instance created it a moment ago: SQLite takes it from here.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                Err(e) => Err(e)
                    .with_context(|| format!("cannot create the database file {}", shown(&path))),
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "there is no database at {} (DATABASE_URL={}; a relative path is read from the current \
             directory). Run this command where the server runs, with the server's DATABASE_URL; \
             `serve` or `migrate` creates a new database",
            shown(&path),
            database.url
        ),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", shown(&path))),
    }
}

#[cfg(unix)]
fn warn_if_shared(path: &Path, meta: &std::fs::Metadata) {
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            file = %shown(path),
            "the database file is readable by other users of this machine; it holds personal \
             data: chmod 600 it (and its -wal and -shm files)"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_: &Path, _: &std::fs::Metadata) {}

/// Opens (`create_new`: creates, failing if it exists) a file readable by its owner only.
fn private_file(path: &Path, create_new: bool) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// The lock a running `serve` holds on its SQLite file; released when dropped or when the
/// process ends.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

/// Takes the one-server lock of a SQLite database (`<file>.lock`), or refuses: SQLite serves one
/// instance; several share a PostgreSQL database. `None` for PostgreSQL.
pub fn lock_instance(database: &DatabaseConfig) -> anyhow::Result<Option<InstanceLock>> {
    let Some(db) = database.sqlite_file() else {
        return Ok(None);
    };
    let mut name = db.clone().into_os_string();
    name.push(".lock");
    let path = PathBuf::from(name);
    let mut file = private_file(&path, false)
        .with_context(|| format!("cannot open the lock file {}", shown(&path)))?;
    match file.try_lock() {
        Ok(()) => {
            // Who holds it, for the refusal of the next one (informative only: the lock decides).
            let _ = file.set_len(0);
            let _ = writeln!(file, "{}", std::process::id());
            Ok(Some(InstanceLock { _file: file }))
        }
        Err(TryLockError::WouldBlock) => {
            let holder = std::fs::read_to_string(&path).unwrap_or_default();
            let holder = holder.trim();
            let pid = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            bail!(
                "another `mobietrain-scim serve`{pid} is running on {}: SQLite serves one instance \
                 at a time. Stop the other one, or use PostgreSQL (DATABASE_URL=postgres://…) to \
                 run several",
                shown(&db)
            )
        }
        Err(TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {}", shown(&path)))
        }
    }
}

/// Where the key came from, as an operator set it.
fn key_source(config: &Config) -> String {
    match &config.key.server_key {
        Some(k) if !k.expose().trim().is_empty() => "SERVER_KEY".to_owned(),
        _ => format!("the key file {}", shown(&config.key.server_key_file)),
    }
}

/// Compares the key with the fingerprint the database stores, storing it on first use. Run it
/// under the migration lock. Refuses a key the database was not first used with.
pub fn check_server_key(
    conn: &mut DbConn,
    key: &ServerKey,
    config: &Config,
    now: NaiveDateTime,
) -> anyhow::Result<()> {
    match check_or_store(conn, key.fingerprint(), now)? {
        KeyCheck::Stored => {
            tracing::info!("stored the server key's fingerprint in the database");
            Ok(())
        }
        KeyCheck::Matches => Ok(()),
        KeyCheck::Mismatch { stored } => bail!(
            "this database was first used with another server key (fingerprint {stored}); {} \
             holds a different one (fingerprint {}). Every instance sharing a database needs the \
             same key: give this one the SERVER_KEY or SERVER_KEY_FILE of the others. If the \
             first key is lost for good, see README \"Deploying\", \"A lost server key\"",
            key_source(config),
            key.fingerprint()
        ),
    }
}

/// Where the first start's SCIM token goes.
#[derive(Debug, Clone)]
pub enum TokenTarget {
    /// Printed on stdout, with the rest of the banner.
    Stdout,
    /// Written to this file (mode 0600); stdout says where.
    File(PathBuf),
}

/// What the first start hands over.
#[derive(Debug)]
pub struct Bootstrapped<'a> {
    /// The account created.
    pub account_id: &'a str,
    /// Its SCIM token, shown once.
    pub token: &'a str,
    /// The public base URL (without a trailing slash).
    pub base: &'a str,
}

/// Hands the first start's token over: to a file (written whole, mode 0600, then renamed into
/// place) or on stdout, flushed. Called before the transaction that created the token commits,
/// so a failure here leaves no account behind.
pub fn deliver(target: &TokenTarget, made: &Bootstrapped<'_>) -> anyhow::Result<()> {
    let token_line = match target {
        TokenTarget::Stdout => made.token.to_owned(),
        TokenTarget::File(path) => {
            write_token_file(path, made.token)?;
            format!("written to {} (readable by this user only)", shown(path))
        }
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "No account existed, so one was created.")?;
    writeln!(
        out,
        "Give your identity provider (Microsoft Entra ID, Okta, …) these two:"
    )?;
    writeln!(out, "  SCIM base URL: {}/scim/v2", made.base)?;
    writeln!(out, "  SCIM token:    {token_line}")?;
    writeln!(
        out,
        "The token is shown once; store it now (`token issue` makes more)."
    )?;
    writeln!(
        out,
        "The account's id, for CrewPlanner's integration page and the CLI's --account:"
    )?;
    writeln!(out, "  account id:    {}", made.account_id)?;
    out.flush()?;
    Ok(())
}

fn write_token_file(path: &Path, token: &str) -> anyhow::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    let temporary = PathBuf::from(name);
    let _ = std::fs::remove_file(&temporary);
    let written = private_file(&temporary, true).and_then(|mut f| {
        f.write_all(format!("{token}\n").as_bytes())?;
        f.sync_all()
    });
    written
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write the token file {}", shown(path)))
}

/// Says, on stdout, how to get a token for accounts that have none live (the first start's
/// token was revoked, or lost).
pub fn hint_for_accounts_without_token(conn: &mut DbConn) -> anyhow::Result<()> {
    const SHOWN: i64 = 5;
    let accounts =
        crate::accounts::without_live_token(conn, SHOWN, chrono::Utc::now().naive_utc())?;
    let mut out = std::io::stdout().lock();
    for account in &accounts {
        writeln!(
            out,
            "Account {} ({:?}) has no live token; issue one with: mobietrain-scim token issue \
             --account {} --label <name>",
            account.id, account.name, account.id
        )?;
    }
    out.flush()?;
    Ok(())
}
