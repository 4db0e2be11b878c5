//! Safe starts, run as the real binary on SQLite and PostgreSQL: a failed first start writes
//! nothing and the next good one prints the token; a database refuses a server key it was not
//! first used with; commands refuse a database that does not exist; files are private (0600);
//! one `serve` per SQLite file.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use diesel::prelude::*;
use mobietrain_scim::accounts::{self, Scope};
use mobietrain_scim::clock::{Clock, SystemClock};
use mobietrain_scim::db::schema::{accounts as accounts_table, server_key};
use mobietrain_scim::db::{ConnectionManager, DatabaseTarget, DbConn, SqliteSync};

use crate::cli::{enable as crewplanner_enable, outcome};
use crate::harness::TestDb;

const KEY_A: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const KEY_B: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

/// A database no server has started on yet, in a directory of its own (the working directory of
/// the commands): on SQLite a file that does not exist yet, on PostgreSQL a fresh migrated
/// database without accounts.
struct Fresh {
    dir: tempfile::TempDir,
    url: String,
    db: Option<TestDb>,
}

impl Fresh {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        if crate::harness::postgres_server().is_some() {
            let db = TestDb::new();
            Fresh {
                url: db.url.clone(),
                dir,
                db: Some(db),
            }
        } else {
            Fresh {
                url: format!("sqlite://{}", dir.path().join("scim.db").display()),
                dir,
                db: None,
            }
        }
    }

    fn is_postgres(&self) -> bool {
        self.db.is_some()
    }

    fn sqlite_file(&self) -> PathBuf {
        self.dir.path().join("scim.db")
    }

    fn key_file(&self) -> PathBuf {
        self.dir.path().join("server.key")
    }

    /// The binary, in this database's directory, with only the environment a test gives it.
    /// On SQLite the key comes from the key file (so its creation is tested); on PostgreSQL,
    /// which never creates one, from `SERVER_KEY`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env_remove("SERVER_KEY")
            .env_remove("SMTP_URL")
            .env_remove("PUBLIC_URL")
            .env("DATABASE_URL", &self.url)
            .env("SERVER_KEY_FILE", self.key_file())
            .env("RUST_LOG", "warn");
        if self.is_postgres() {
            cmd.env("SERVER_KEY", KEY_A);
        }
        cmd
    }

    /// Runs a command to its end: success, stdout, stderr.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        outcome(
            self.command(args)
                .envs(env.iter().copied())
                .output()
                .unwrap(),
        )
    }

    /// Starts `serve` on a free port (unless `args` names one).
    fn serve(&self, args: &[&str], env: &[(&str, &str)]) -> Start {
        let mut all = vec!["serve"];
        if !args.contains(&"--bind") {
            all.extend(["--bind", "127.0.0.1:0"]);
        }
        all.extend(args);
        let mut child = self
            .command(&all)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let errors = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let mut lines = Vec::new();
        loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    let done = line.contains("listening on");
                    lines.push(line);
                    if done {
                        return Start::Listening(Server { child, lines });
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = child.wait().unwrap();
                    return Start::Exited {
                        success: status.success(),
                        stdout: lines.join("\n"),
                        stderr: errors.join().unwrap(),
                    };
                }
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("serve neither listened nor exited"),
            }
        }
    }

    /// A connection of the test's own, to look at what the commands wrote.
    fn conn(&self) -> DbConn {
        ConnectionManager::new(
            DatabaseTarget::parse(&self.url).unwrap(),
            SqliteSync::Normal,
        )
        .open()
        .unwrap()
    }

    /// Whether no start left anything behind: no file at all in the directory (SQLite: no
    /// database, key or lock file), no account and no key fingerprint (PostgreSQL, whose
    /// database the test made).
    fn untouched(&self) -> bool {
        if self.is_postgres() {
            let mut conn = self.conn();
            let accounts: i64 = accounts_table::table.count().get_result(&mut conn).unwrap();
            let keys: i64 = server_key::table.count().get_result(&mut conn).unwrap();
            accounts == 0 && keys == 0
        } else {
            std::fs::read_dir(self.dir.path()).unwrap().count() == 0
        }
    }
}

/// What became of a `serve`.
enum Start {
    Listening(Server),
    Exited {
        success: bool,
        stdout: String,
        stderr: String,
    },
}

impl Start {
    #[track_caller]
    fn listening(self) -> Server {
        match self {
            Start::Listening(server) => server,
            Start::Exited { stdout, stderr, .. } => {
                panic!("serve exited: {stdout}\n{stderr}")
            }
        }
    }

    /// The refusal's stderr (and that it printed no token).
    #[track_caller]
    fn refused(self) -> String {
        match self {
            Start::Listening(server) => panic!("serve started: {:?}", server.lines),
            Start::Exited {
                success,
                stdout,
                stderr,
            } => {
                assert!(!success, "a refused start exits non-zero");
                assert!(!stdout.contains("SCIM token"), "{stdout}");
                assert!(
                    stderr
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .starts_with("error: "),
                    "the refusal is one human line, last: {stderr}"
                );
                stderr
            }
        }
    }
}

struct Server {
    child: Child,
    lines: Vec<String>,
}

impl Server {
    fn field(&self, label: &str) -> Option<String> {
        self.lines
            .iter()
            .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
    }

    /// Stops it as a crash would (SIGKILL): no clean-up of its own runs.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn token_works(fresh: &Fresh, token: &str) -> bool {
    let now = SystemClock.now_naive();
    accounts::authenticate(&mut fresh.conn(), token, Scope::Scim, now)
        .unwrap()
        .is_ok()
}

#[cfg(unix)]
#[track_caller]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "{} is mode {:o}: its owner's alone",
        path.display(),
        mode & 0o777
    );
}

#[test]
fn a_failed_first_start_writes_nothing_and_the_next_good_start_prints_the_token() {
    let fresh = Fresh::new();

    // The port is taken.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().to_string();
    let err = fresh.serve(&["--bind", &port], &[]).refused();
    assert!(err.contains("cannot listen on"), "{err}");
    assert!(
        fresh.untouched(),
        "a start that cannot listen writes nothing"
    );

    // A bad setting among good ones.
    let err = fresh
        .serve(&[], &[("INVITATION_EXPIRY_DAYS", "5")])
        .refused();
    assert!(
        err.contains("INVITATION_REMINDER_DAYS") && err.contains("INVITATION_EXPIRY_DAYS"),
        "{err}"
    );
    let err = fresh.serve(&[], &[("SMTP_URL", "http://x")]).refused();
    assert!(err.contains("SMTP_URL must start with smtp://"), "{err}");
    assert!(
        fresh.untouched(),
        "a start with a bad setting writes nothing"
    );

    // The first start that succeeds prints the token, which works.
    let server = fresh.serve(&[], &[]).listening();
    let token = server.field("SCIM token:").expect("the token is printed");
    assert!(token.starts_with("mts_"), "{:?}", server.lines);
    assert!(token_works(&fresh, &token));
    let account = server.field("account id:").unwrap();
    let banner = server.lines.join("\n");
    assert!(
        banner.find("SCIM token:") < banner.find("account id:"),
        "the identity provider's two values come first; the account id is CrewPlanner's: {banner}"
    );

    #[cfg(unix)]
    if !fresh.is_postgres() {
        let db = fresh.sqlite_file();
        assert_private(&db);
        assert_private(&PathBuf::from(format!("{}-wal", db.display())));
        assert_private(&PathBuf::from(format!("{}.lock", db.display())));
        assert_private(&fresh.key_file());
    }
    server.kill();

    // Later starts print no token; once the account has no live token, they say how to get one.
    let again = fresh.serve(&[], &[]).listening();
    assert!(again.field("SCIM token:").is_none(), "{:?}", again.lines);
    assert!(!again.lines.join("\n").contains("has no live token"));
    again.kill();
    let (_, tokens, _) = fresh.run(&["token", "list", "--account", &account], &[]);
    let token_id = tokens
        .lines()
        .find(|l| l.contains("bootstrap"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    let (ok, _, err) = fresh.run(&["token", "revoke", &token_id], &[]);
    assert!(ok, "{err}");
    let hinted = fresh.serve(&[], &[]).listening();
    let hint = hinted.lines.join("\n");
    assert!(
        hint.contains(&format!("Account {account}"))
            && hint.contains("has no live token")
            && hint.contains("token issue --account"),
        "{hint}"
    );
}

#[test]
fn the_first_token_can_go_to_a_private_file_instead_of_stdout() {
    let fresh = Fresh::new();
    let file = fresh.dir.path().join("first-token");
    let server = fresh
        .serve(&["--token-file", file.to_str().unwrap()], &[])
        .listening();
    let shown = server.field("SCIM token:").unwrap();
    assert!(
        shown.starts_with("written to") && !shown.contains("mts_"),
        "{shown}"
    );
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(token_works(&fresh, &token));
    #[cfg(unix)]
    assert_private(&file);
    server.kill();

    // A token file that cannot be written fails the start, and nothing is created.
    let other = Fresh::new();
    let nowhere = other.dir.path().join("no-such-dir").join("token");
    let err = other
        .serve(&[], &[("BOOTSTRAP_TOKEN_FILE", nowhere.to_str().unwrap())])
        .refused();
    assert!(err.contains("cannot write the token file"), "{err}");
    if other.is_postgres() {
        let mut conn = other.conn();
        let n: i64 = accounts_table::table.count().get_result(&mut conn).unwrap();
        assert_eq!(n, 0, "the account is not created without its token");
    }
    let server = other.serve(&[], &[]).listening();
    assert!(server.field("SCIM token:").unwrap().starts_with("mts_"));
}

#[test]
fn a_database_refuses_a_server_key_it_was_not_first_used_with() {
    let fresh = Fresh::new();
    let key_a = [("SERVER_KEY", KEY_A)];
    let key_b = [("SERVER_KEY", KEY_B)];
    let first = fresh.serve(&[], &key_a).listening();
    let account = first.field("account id:").unwrap();
    first.kill();

    let err = fresh.serve(&[], &key_b).refused();
    assert!(
        err.contains("first used with another server key") && err.contains("SERVER_KEY"),
        "{err}"
    );
    // The CLI commands that use the key refuse it too; those that do not still work.
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("hs256");
    std::fs::write(&secret, "a-secret-of-at-least-thirty-two-bytes-long").unwrap();
    let enable = crewplanner_enable(&account, "acme", secret.to_str());
    let (ok, _, err) = fresh.run(&enable, &key_b);
    assert!(!ok && err.contains("another server key"), "{err}");
    let (ok, _, err) = fresh.run(&["worker"], &key_b);
    assert!(!ok && err.contains("another server key"), "{err}");
    let (ok, list, _) = fresh.run(&["account", "list"], &key_b);
    assert!(ok && list.contains(&account));

    // Without SERVER_KEY, a missing key file is not made anew for a database that has a key.
    if !fresh.is_postgres() {
        let err = fresh.serve(&[], &[]).refused();
        assert!(err.contains("another server key"), "{err}");
        assert!(!fresh.key_file().exists(), "a refused key is not written");
    }
    let (ok, _, err) = fresh.run(&enable, &key_a);
    assert!(ok, "{err}");
    fresh.serve(&[], &key_a).listening().kill();
}

#[test]
fn commands_refuse_a_sqlite_database_that_does_not_exist_and_an_empty_path() {
    let dir = tempfile::tempdir().unwrap();
    let run = |url: &str, args: &[&str]| {
        let (ok, _, err) = outcome(
            Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
                .args(args)
                .current_dir(dir.path())
                .env("DATABASE_URL", url)
                .env("SERVER_KEY", KEY_A)
                .env("RUST_LOG", "warn")
                .output()
                .unwrap(),
        );
        (ok, err)
    };
    let expected = std::path::absolute(dir.path().join("elsewhere.db")).unwrap();
    for args in [
        &["account", "list"][..],
        &["account", "create", "--name", "Acme"],
        &["token", "list", "--account", "x"],
        &["jobs", "list"],
        &["worker"],
    ] {
        let (ok, err) = run("sqlite://elsewhere.db", args);
        assert!(!ok, "{args:?}");
        assert!(
            err.contains("there is no database at")
                && err.contains(&expected.display().to_string()),
            "{args:?} names the path it looked at: {err}"
        );
    }
    assert!(!expected.exists(), "nothing was created");

    let (ok, err) = run("sqlite://", &["serve", "--bind", "127.0.0.1:0"]);
    assert!(!ok && err.contains("names no SQLite file"), "{err}");
    let (ok, err) = run("sqlite://", &["account", "list"]);
    assert!(!ok && err.contains("names no SQLite file"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing was created"
    );

    // `migrate` creates it, private; then the other commands work on it.
    let (ok, err) = run("sqlite://elsewhere.db", &["migrate"]);
    assert!(ok, "{err}");
    #[cfg(unix)]
    assert_private(&expected);
    let (ok, err) = run("sqlite://elsewhere.db", &["account", "list"]);
    assert!(ok, "{err}");
}

#[test]
fn one_serve_per_sqlite_file_several_on_postgres_and_a_crashed_servers_lock_blocks_nothing() {
    let fresh = Fresh::new();
    let key = [("SERVER_KEY", KEY_A)];
    let first = fresh.serve(&[], &key).listening();
    if fresh.is_postgres() {
        let second = fresh.serve(&[], &key).listening();
        assert!(second.field("SCIM token:").is_none());
        return;
    }
    let err = fresh.serve(&[], &key).refused();
    assert!(
        err.contains("another `mobietrain-scim serve`")
            && err.contains("is running on")
            && err.contains("PostgreSQL"),
        "{err}"
    );
    // The CLI still works beside the running server.
    let (ok, _, err) = fresh.run(&["account", "list"], &key);
    assert!(ok, "{err}");
    first.kill();
    let lock = PathBuf::from(format!("{}.lock", fresh.sqlite_file().display()));
    assert!(
        lock.exists(),
        "the crashed server's lock file is left behind"
    );
    fresh.serve(&[], &key).listening().kill();
}
