//! The command line, run as the real binary against the test database.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mobietrain_scim::state::HttpSettings;

use crate::harness::{TestApp, TestDb, user};

/// The server key the CLI and servers of these tests share (instances of one database must).
const TEST_SERVER_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Runs the real binary on `db`; returns whether it succeeded, its stdout and its stderr.
pub fn cli(db: &TestDb, args: &[&str]) -> (bool, String, String) {
    cli_env(db, args, &[])
}

/// Whether a finished command succeeded, its stdout and its stderr.
pub fn outcome(out: std::process::Output) -> (bool, String, String) {
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `crewplanner enable` for `account` with `slug`, and the account's own HS256 secret file when
/// given (else the server's keys).
pub fn enable<'a>(account: &'a str, slug: &'a str, hs256_file: Option<&'a str>) -> Vec<&'a str> {
    let mut args = vec![
        "crewplanner",
        "enable",
        "--account",
        account,
        "--slug",
        slug,
    ];
    if let Some(file) = hs256_file {
        args.extend(["--hs256-secret-file", file]);
    }
    args
}

fn last_line(s: &str) -> String {
    s.lines().last().unwrap_or_default().trim().to_owned()
}

#[actix_web::test]
async fn accounts_tokens_scopes_settings_and_revocation() {
    let db = TestDb::new();
    let (ok, out, _) = cli(&db, &["account", "create", "--name", "Acme Retail"]);
    assert!(ok);
    let account = last_line(&out);
    assert!(
        uuid::Uuid::parse_str(&account).is_ok(),
        "the last line is the id: {out}"
    );
    let (_, list, _) = cli(&db, &["account", "list"]);
    assert!(list.contains(&account) && list.contains("Acme Retail"));

    let (ok, out, _) = cli(
        &db,
        &["token", "issue", "--account", &account, "--label", "entra"],
    );
    assert!(ok);
    let scim = last_line(&out);
    assert!(scim.starts_with("mts_") && scim.len() > 60);
    let (_, out, _) = cli(
        &db,
        &[
            "token",
            "issue",
            "--account",
            &account,
            "--label",
            "cms",
            "--scope",
            "admin",
        ],
    );
    let admin = last_line(&out);
    let (_, tokens, _) = cli(&db, &["token", "list", "--account", &account]);
    assert!(
        tokens.contains("entra") && tokens.contains(&scim[..12]),
        "{tokens}"
    );
    assert!(
        !tokens.contains(&scim) && !tokens.contains(&admin),
        "a token is shown once"
    );

    let (ok, _, err) = cli(
        &db,
        &[
            "token",
            "issue",
            "--account",
            "no-such-account",
            "--label",
            "x",
        ],
    );
    assert!(!ok && err.contains("account"), "{err}");
    let (ok, out, _) = cli(
        &db,
        &[
            "account",
            "settings",
            &account,
            "--require-external-id",
            "true",
            "--require-contact",
            "true",
        ],
    );
    assert!(ok && out.contains("require-external-id: true"));
    assert!(out.contains("require-contact:     true"), "{out}");
    let (_, show, _) = cli(&db, &["account", "show", &account]);
    assert!(
        show.contains("users:               0") && show.contains("2 live"),
        "{show}"
    );

    let app = TestApp::on(db, HttpSettings::default(), 2);
    assert_eq!(app.get("/scim/v2/Users", &scim).await.status, 200);
    assert_eq!(
        app.get("/scim/v2/Users", &admin).await.status,
        403,
        "scopes do not mix"
    );
    assert_eq!(app.get("/admin/v1/audit", &admin).await.status, 200);
    let mut no_external = user("a@example.com");
    no_external.as_object_mut().unwrap().remove("externalId");
    assert_eq!(
        app.post("/scim/v2/Users", &scim, &no_external).await.status,
        400,
        "the setting holds"
    );

    let token_id = tokens
        .lines()
        .find(|l| l.contains("entra"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (ok, _, _) = cli(&app.db, &["token", "revoke", &token_id]);
    assert!(ok);
    assert_eq!(app.get("/scim/v2/Users", &scim).await.status, 401);
    let (ok, out, err) = cli(&app.db, &["token", "revoke", &token_id]);
    assert!(
        !ok && out.is_empty() && err.contains("was revoked already"),
        "revoking a revoked token is not reported as done: {out} {err}"
    );

    // Errors are sentences for a terminal, not the protocol's vocabulary.
    let (ok, _, err) = cli(
        &app.db,
        &["account", "settings", &account, "--default-language", "xx"],
    );
    let last = err.lines().last().unwrap_or_default();
    assert!(
        !ok && last.starts_with("error: ") && !err.contains("invalidValue"),
        "{err}"
    );
    let (ok, _, err) = cli(&app.db, &["account", "show", "no-such-account"]);
    assert!(!ok && err.contains("there is no such account"), "{err}");
}

/// Runs the real binary on `db` with more environment.
fn cli_env(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
    outcome(
        Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
            .args(args)
            .env("DATABASE_URL", &db.url)
            .env("SERVER_KEY", TEST_SERVER_KEY)
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .output()
            .unwrap(),
    )
}

#[test]
fn secrets_are_refused_as_flags_and_read_from_the_environment_or_files() {
    let db = TestDb::new();
    let (ok, _, err) = cli(&db, &["--server-key", TEST_SERVER_KEY, "account", "list"]);
    assert!(
        !ok && err.contains("--server-key is refused") && err.contains("SERVER_KEY_FILE"),
        "{err}"
    );
    let (ok, _, err) = cli(&db, &["worker", "--smtp-url", "smtp://u:pw@localhost:2525"]);
    assert!(
        !ok && err.contains("--smtp-url is refused") && !err.contains("pw@"),
        "{err}"
    );
    let (ok, _, err) = cli_env(&db, &["account", "list"], &[("SERVER_KEY", "abc")]);
    assert!(
        !ok && err.contains("64 hex characters") && err.contains("has 3"),
        "{err}"
    );
    // SMTP_URL_FILE: read, checked, never shown.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("smtp");
    std::fs::write(&file, "http://user:hunter2@mail.example\n").unwrap();
    let (ok, _, err) = cli_env(
        &db,
        &["serve", "--bind", "127.0.0.1:0"],
        &[("SMTP_URL_FILE", file.to_str().unwrap())],
    );
    assert!(
        !ok && err.contains("SMTP_URL must start with smtp://") && !err.contains("hunter2"),
        "{err}"
    );
    let (ok, _, err) = cli_env(
        &db,
        &["serve", "--bind", "127.0.0.1:0"],
        &[
            ("SMTP_URL_FILE", file.to_str().unwrap()),
            ("SMTP_URL", "smtp://localhost:2525"),
        ],
    );
    assert!(!ok && err.contains("not both"), "{err}");
    // --workers and HTTP_WORKERS name one setting.
    let (ok, help, _) = cli(&db, &["serve", "--help"]);
    assert!(
        ok && help.contains("--http-workers") && help.contains("--workers"),
        "{help}"
    );
}

struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(db: &TestDb) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", &db.url)
            .env("SERVER_KEY", TEST_SERVER_KEY)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Server { child, lines }
    }

    /// Everything printed up to and including the "listening" line.
    fn until_listening(&self) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the server prints where it listens");
            let done = line.contains("listening on");
            seen.push(line);
            if done {
                return seen;
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn field(lines: &[String], label: &str) -> Option<String> {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
}

#[test]
fn first_start_creates_one_account_even_when_two_instances_start_together() {
    let db = TestDb::new();
    // SQLite serves one instance (a second refuses: `safe_start`); PostgreSQL several.
    let servers: Vec<Server> = match db.is_postgres() {
        true => vec![Server::start(&db), Server::start(&db)],
        false => vec![Server::start(&db)],
    };
    let outputs: Vec<Vec<String>> = servers.iter().map(Server::until_listening).collect();
    let printed: Vec<&Vec<String>> = outputs
        .iter()
        .filter(|o| field(o, "SCIM token:").is_some())
        .collect();
    assert_eq!(
        printed.len(),
        1,
        "exactly one instance bootstraps: {outputs:?}"
    );
    let token = field(printed[0], "SCIM token:").unwrap();
    let base = field(printed[0], "SCIM base URL:").unwrap();

    // The printed URL and token work over real HTTP.
    let agent = crate::concurrency::client();
    let (status, body) = crate::concurrency::post(
        &agent,
        &format!("{base}/Users"),
        &token,
        &user("a@example.com"),
    );
    assert_eq!(status, 201, "{body}");
    drop(servers);

    let again = Server::start(&db);
    assert!(
        field(&again.until_listening(), "SCIM token:").is_none(),
        "only the first start prints a token"
    );
    drop(again);
    let (_, list, _) = cli(&db, &["account", "list"]);
    assert_eq!(list.lines().count(), 2, "a header and one account: {list}");
}

#[test]
fn crewplanner_enable_show_disable_never_print_or_store_the_secret() {
    let db = TestDb::new();
    let (ok, out, _) = cli(&db, &["account", "create", "--name", "Acme"]);
    assert!(ok);
    let account = last_line(&out);
    let dir = tempfile::tempdir().unwrap();
    let secret = "cp-secret-7f3a9c1e5b2d4f6a8c0e1b3d5f7a9c1e";
    let file = dir.path().join("hs256.txt");
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    let (ok, out, err) = cli(&db, &enable(&account, "acme", file.to_str()));
    assert!(ok, "{err}");
    assert!(out.contains("enabled:  true") && out.contains("HS256 secret"));
    let (ok, shown, _) = cli(&db, &["crewplanner", "show", "--account", &account]);
    assert!(ok);
    assert!(shown.contains("slug:     acme"));
    for printed in [&out, &shown] {
        assert!(!printed.contains(secret), "the secret is never printed");
    }
    let app = TestApp::on(db, mobietrain_scim::state::HttpSettings::default(), 1);
    let stored: String = {
        use diesel::prelude::*;
        use mobietrain_scim::db::schema::crewplanner_links;
        crewplanner_links::table
            .select(crewplanner_links::key_material.assume_not_null())
            .first(&mut *app.conn())
            .unwrap()
    };
    assert!(!stored.contains(secret) && !stored.contains("7f3a9c1e"));
    let (ok, _, err) = cli(&app.db, &enable(&account, "Not A Slug", file.to_str()));
    assert!(!ok && err.contains("slug"), "{err}");
    let (ok, out, _) = cli(&app.db, &["crewplanner", "disable", "--account", &account]);
    assert!(ok && out.contains("enabled:  false"));

    // The server's keys: refused where this environment names none; the launch URL is shown.
    let platform = enable(&account, "acme", None);
    let (ok, _, err) = cli(&app.db, &platform);
    assert!(
        !ok && err.contains("no CrewPlanner keys") && err.contains("CREWPLANNER_JWKS_URL"),
        "{err}"
    );
    let (_, shown, _) = cli(&app.db, &["crewplanner", "show", "--account", &account]);
    assert!(
        shown.contains("enabled:  false"),
        "nothing changed: {shown}"
    );
    let (ok, out, err) = cli_env(
        &app.db,
        &platform,
        &[
            (
                "CREWPLANNER_JWKS_URL",
                "https://auth.crewplanner.example/jwks.json",
            ),
            ("PUBLIC_URL", "https://scim.example.com"),
        ],
    );
    assert!(ok && out.contains("the server's CrewPlanner keys"), "{err}");
    assert!(
        out.contains(&format!(
            "https://scim.example.com/crewplanner/{account}/launch"
        )),
        "{out}"
    );
}

#[test]
fn every_variable_the_command_line_reads_is_documented_in_env_sample() {
    let root = env!("CARGO_MANIFEST_DIR");
    let cli = std::fs::read_to_string(format!("{root}/src/cli.rs")).unwrap();
    let sample = std::fs::read_to_string(format!("{root}/.env.sample")).unwrap();
    let mut names: Vec<&str> = cli
        .split("env = \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    // The secrets, read from the environment only (never flags).
    names.extend(["SERVER_KEY", "SMTP_URL"]);
    assert!(names.len() > 30, "{names:?}");
    let missing: Vec<&str> = names
        .into_iter()
        .filter(|name| !sample.contains(&format!("{name}=")))
        .collect();
    assert!(missing.is_empty(), ".env.sample lacks {missing:?}");
}
