//! The console end to end in a real browser: headless Chromium driven through chromedriver
//! (WebDriver, `fantoccini`) against the real server on 127.0.0.1, with a real SMTP server
//! (aiosmtpd) receiving the invitation. It signs in, creates a group, invites a user into it, sees
//! the e-mail arrive, watches the marker turn yellow and red as the test clock moves, is refused a
//! resend within 24 hours and accepted one after, withdraws, has a form without its CSRF token
//! refused and signs out. On the way it finds users (a SCIM-provisioned one by externalId, with
//! their group and store; the invited one by name) and renames a store. Screenshots at desktop width and at 390 px go to
//! `target/console-screenshots/`.
//!
//! Needs `/usr/bin/chromium` and `/usr/bin/chromedriver` (Debian: `apt-get install -y chromium
//! chromium-driver`; `.ci/run` installs them). Without them the test fails saying so.
//! `CONSOLE_BROWSER_TEST=skip` skips it (`.ci/run` does on its PostgreSQL run).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use mobietrain_scim::clock::{Clock, ManualClock};
use mobietrain_scim::config::ObservabilityConfig;
use mobietrain_scim::email::smtp::SmtpMailer;
use mobietrain_scim::email::{Mailer, Sender};
use mobietrain_scim::state::HttpSettings;
use serde_json::json;

use crate::harness::{TestApp, TestDb, wait_for};
use crate::mailer::{SmtpServer, parse};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free loopback port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether to run: `None` (skip) only when `CONSOLE_BROWSER_TEST=skip`; a missing browser fails.
fn browser_available() -> Option<()> {
    if std::env::var("CONSOLE_BROWSER_TEST").as_deref() == Ok("skip") {
        eprintln!("console browser test skipped (CONSOLE_BROWSER_TEST=skip)");
        return None;
    }
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|p| !Path::new(p).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "the console browser test needs {missing:?}: install them with \
         `apt-get update && apt-get install -y chromium chromium-driver` (Debian), \
         or set CONSOLE_BROWSER_TEST=skip to skip this test"
    );
    Some(())
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    wait_for("chromedriver to listen", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    }
}

async fn browser(driver: &Driver) -> Client {
    let profile = driver._profile.path().display().to_string();
    let caps = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars",
                format!("--user-data-dir={profile}"),
            ],
        }
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("chromedriver opens a Chromium session")
}

fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves the page at desktop width and at 390 px wide (a phone), as `NAME-desktop.png` and
/// `NAME-phone.png`; leaves the window at desktop width.
async fn screenshots(c: &Client, name: &str) {
    for (suffix, width, height) in [("desktop", 1280, 1000), ("phone", 390, 1400)] {
        c.set_window_size(width, height).await.unwrap();
        let png = c.screenshot().await.unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}-{suffix}.png")), png).unwrap();
    }
    c.set_window_size(1280, 1000).await.unwrap();
}

async fn text_of(c: &Client) -> String {
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn fill(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.unwrap();
    field.clear().await.unwrap();
    field.send_keys(value).await.unwrap();
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Clicks what submits a form or follows a link, and waits until the next page replaced this one
/// (a click returns before the navigation it starts has finished).
async fn submit(c: &Client, css: &str) {
    let old = c.find(Locator::Css("html")).await.unwrap();
    click(c, css).await;
    for _ in 0..2000 {
        if old.tag_name().await.is_err() {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("clicking {css} led to no new page");
}

/// The invitation row's marker (`ok`, `yellow`, `red`) and its text.
async fn marker(c: &Client) -> (String, String) {
    let m = c
        .find(Locator::Css("table.invitations .marker"))
        .await
        .unwrap();
    (
        m.attr("data-marker").await.unwrap().unwrap_or_default(),
        m.text().await.unwrap(),
    )
}

/// Signs in again (moving the test clock by hours or days ends the session: 30 minutes idle) and
/// opens `path`.
async fn sign_in_again(c: &Client, base: &str, token: &str, path: &str) {
    c.goto(&format!("{base}{path}")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/sign-in")
    );
    fill(c, "#token", token).await;
    submit(c, "form[action='/console/sign-in'] button").await;
    c.goto(&format!("{base}{path}")).await.unwrap();
}

async fn resend_disabled(c: &Client) -> bool {
    c.find(Locator::Css("button.resend"))
        .await
        .unwrap()
        .attr("disabled")
        .await
        .unwrap()
        .is_some()
}

#[actix_web::test]
async fn an_admin_runs_the_invited_users_tab_in_a_real_browser() {
    if browser_available().is_none() {
        return;
    }
    let smtp = SmtpServer::start();
    let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
    let app = TestApp::observed(
        TestDb::new(),
        HttpSettings::default(),
        4,
        ObservabilityConfig {
            rate_limit_reads: 0,
            rate_limit_writes: 0,
            ..ObservabilityConfig::default()
        },
        clock.clone(),
    );
    let account = app.account("Boulangerie Dupont");
    let (base, server) = app.serve(2);
    let sender = Sender {
        address: "no-reply@mobietrain.example".into(),
        name: "MobieTrain".into(),
    };
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&format!("smtp://127.0.0.1:{}", smtp.port), &sender).unwrap());
    let driver = start_driver();
    let c = browser(&driver).await;
    c.set_window_size(1280, 1000).await.unwrap();

    // Sign-in: an unauthenticated visit lands on the form.
    c.goto(&format!("{base}/console/invitations"))
        .await
        .unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/sign-in")
    );
    screenshots(&c, "01-sign-in").await;
    fill(&c, "#token", &account.scim).await;
    submit(&c, "form[action='/console/sign-in'] button").await;
    assert!(text_of(&c).await.contains("This is a SCIM token"));
    fill(&c, "#token", &account.admin).await;
    submit(&c, "form[action='/console/sign-in'] button").await;
    assert_eq!(c.current_url().await.unwrap().path(), "/console");
    assert!(text_of(&c).await.contains("Boulangerie Dupont"));
    screenshots(&c, "02-home").await;

    // A group with a type.
    c.goto(&format!("{base}/console/groups")).await.unwrap();
    fill(&c, "#displayName", "Bakers Gent").await;
    fill(&c, "#groupType", "Department").await;
    submit(&c, "#create-group").await;
    let page = text_of(&c).await;
    assert!(page.contains("The group was created."), "{page}");
    assert!(page.contains("Bakers Gent") && page.contains("Department"));
    screenshots(&c, "03-groups").await;

    // The invite form: first sent empty (every rule beside its field), then filled in.
    c.goto(&format!("{base}/console/invitations/new"))
        .await
        .unwrap();
    click(&c, "input[name=role][value=manager]").await;
    submit(&c, "#invite-submit").await;
    for field in [
        "givenName",
        "familyName",
        "email",
        "groupIds",
        "stores",
        "agreementAccepted",
    ] {
        c.find(Locator::Id(&format!("{field}-errors")))
            .await
            .unwrap_or_else(|_| panic!("an error beside {field}"));
    }
    screenshots(&c, "04-invite-errors").await;
    fill(&c, "#givenName", "Zoë").await;
    fill(&c, "#familyName", "Lambert").await;
    fill(&c, "#email", "zoe@example.com").await;
    fill(&c, "#jobPosition", "Baker").await;
    click(&c, "input[name=role][value=user]").await;
    click(&c, "input[name=groupIds]").await;
    c.find(Locator::Css("#language"))
        .await
        .unwrap()
        .select_by_value("fr")
        .await
        .unwrap();
    click(&c, "#agreementAccepted").await;
    submit(&c, "#invite-submit").await;
    let page = text_of(&c).await;
    assert!(page.contains("The invitation is on its way."), "{page}");
    assert!(
        page.contains("Zoë Lambert") && page.contains("Bakers Gent"),
        "{page}"
    );
    assert_eq!(marker(&c).await.0, "ok");
    assert!(marker(&c).await.1.contains("expires in 60 days"));
    // While nothing has gone out, a resend is allowed at once (DESIGN §6).
    assert!(!resend_disabled(&c).await);
    screenshots(&c, "05-invited").await;

    // Users: a user provisioned over SCIM, in the group and a store, found by their externalId
    // with both; the invited user found by name, with where they came from.
    let group_id = app
        .get("/admin/v1/groups?search=Bakers", &account.admin)
        .await
        .body["groups"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let jan = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "jan.devos@example.com", "externalId": "HR-4711",
                "name": {"givenName": "Jan", "familyName": "De Vos"},
                "emails": [{"value": "jan.devos@example.com", "primary": true}],
                "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User":
                    {"storeRefId": "GNT-01", "storeName": "Gent Zuid", "storeCountryCallingCode": "32"},
            }),
        )
        .await;
    assert_eq!(jan.status.as_u16(), 201, "{}", jan.body);
    let patched = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Groups/{group_id}"),
            &account.scim,
            Some(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": jan.body["id"]}]}]})),
        )
        .await;
    assert_eq!(patched.status.as_u16(), 204, "{}", patched.body);
    c.goto(&format!("{base}/console/users")).await.unwrap();
    fill(&c, "#q", "hr-4711").await;
    submit(&c, "#search-users").await;
    let page = text_of(&c).await;
    assert!(page.contains("1 of 1 users"), "{page}");
    assert!(
        page.contains("Jan De Vos") && page.contains("Bakers Gent") && page.contains("Gent Zuid"),
        "{page}"
    );
    assert!(page.contains("Identity provider (SCIM)"), "{page}");
    fill(&c, "#q", "Zoë").await;
    submit(&c, "#search-users").await;
    let page = text_of(&c).await;
    assert!(
        page.contains("Zoë Lambert") && page.contains("Invitation") && page.contains("invited"),
        "{page}"
    );
    fill(&c, "#q", "").await;
    submit(&c, "#search-users").await;
    assert!(text_of(&c).await.contains("2 of 2 users"));
    screenshots(&c, "12-users").await;
    c.goto(&format!("{base}/console/users?q=HR-4711"))
        .await
        .unwrap();
    submit(&c, "a.user-link").await;
    let page = text_of(&c).await;
    assert!(
        page.contains("HR-4711") && page.contains("Bakers Gent"),
        "{page}"
    );
    screenshots(&c, "13-user").await;

    // Stores: the store the SCIM user named, renamed in place; the user shows the new name.
    c.goto(&format!("{base}/console/stores")).await.unwrap();
    let page = text_of(&c).await;
    assert!(page.contains("GNT-01") && page.contains("1 user"), "{page}");
    fill(&c, "table.stores input[name=name]", "").await;
    submit(&c, "button.rename-store").await;
    let page = text_of(&c).await;
    assert!(page.contains("The store was not renamed"), "{page}");
    fill(&c, "table.stores input[name=name]", "Gent Centrum").await;
    submit(&c, "button.rename-store").await;
    let page = text_of(&c).await;
    assert!(
        page.contains("The store was renamed.") && page.contains("Gent Centrum"),
        "{page}"
    );
    screenshots(&c, "14-stores").await;
    let jan = app
        .get(
            &format!("/scim/v2/Users/{}", jan.body["id"].as_str().unwrap()),
            &account.scim,
        )
        .await;
    assert_eq!(
        jan.body["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"]["storeName"],
        "Gent Centrum"
    );

    // The worker sends the e-mail over SMTP.
    app.run_due_jobs_with(mailer.clone(), Vec::new());
    wait_for("the invitation e-mail", Duration::from_secs(60), || {
        smtp.received().len() == 1
    });
    let mail = parse(&smtp.received()[0]);
    assert_eq!(mail["rcpt"], "zoe@example.com");
    assert!(mail["text"].as_str().unwrap().starts_with("Bonjour Zoë,"));
    // Within 24 hours of a send that went out, resend is inactive and says when it is available.
    c.goto(&format!("{base}/console/invitations"))
        .await
        .unwrap();
    assert!(resend_disabled(&c).await);
    let page = text_of(&c).await;
    assert!(page.contains("available at"), "{page}");

    // A resend within 24 hours, forced past the inactive button: the server refuses it too.
    c.execute(
        "document.querySelector('button.resend').disabled = false;",
        vec![],
    )
    .await
    .unwrap();
    submit(&c, "button.resend").await;
    let page = text_of(&c).await;
    assert!(
        page.contains("Not sent: this invitation was sent less than 24 hours ago"),
        "{page}"
    );
    screenshots(&c, "06-resend-refused").await;

    // After 24 hours it is accepted, and a second e-mail goes out.
    clock.advance(chrono::Duration::hours(25));
    sign_in_again(&c, &base, &account.admin, "/console/invitations").await;
    assert!(!resend_disabled(&c).await);
    submit(&c, "button.resend").await;
    assert!(text_of(&c).await.contains("The invitation was sent again."));
    app.run_due_jobs_with(mailer.clone(), Vec::new());
    wait_for("the resent e-mail", Duration::from_secs(60), || {
        smtp.received().len() == 2
    });
    c.goto(&format!("{base}/console/invitations"))
        .await
        .unwrap();
    assert!(resend_disabled(&c).await);

    // The marker turns yellow 7 days before expiry, red 3 days before.
    let first_sent = clock.now() - chrono::Duration::hours(25);
    clock.advance(
        first_sent + chrono::Duration::days(53) + chrono::Duration::hours(1) - clock.now(),
    );
    app.run_due_jobs_with(mailer.clone(), Vec::new());
    sign_in_again(
        &c,
        &base,
        &account.admin,
        "/console/invitations?marker=yellow",
    )
    .await;
    let (colour, words) = marker(&c).await;
    assert_eq!(colour, "yellow");
    assert!(
        words.contains("Yellow") && words.contains("expires in 7 days"),
        "{words}"
    );
    screenshots(&c, "07-marker-yellow").await;
    clock.advance(chrono::Duration::days(4));
    app.run_due_jobs_with(mailer.clone(), Vec::new());
    sign_in_again(&c, &base, &account.admin, "/console/invitations").await;
    let (colour, words) = marker(&c).await;
    assert_eq!(colour, "red");
    assert!(
        words.contains("Red") && words.contains("expires in 3 days"),
        "{words}"
    );
    screenshots(&c, "08-marker-red").await;

    // Withdraw, through its confirmation page.
    submit(&c, "a.withdraw").await;
    assert!(text_of(&c).await.contains("Withdraw the invitation?"));
    screenshots(&c, "09-withdraw-confirm").await;
    submit(&c, "#confirm-withdraw").await;
    let page = text_of(&c).await;
    assert!(page.contains("The invitation was withdrawn"), "{page}");
    assert!(page.contains("No invited users match."));
    assert_eq!(app.count("invitations"), 0);

    // The provisioning log shows what happened, diffs as tables.
    c.goto(&format!("{base}/console/log")).await.unwrap();
    let page = text_of(&c).await;
    assert!(
        page.contains("invitation.withdrawn") && page.contains("group.created"),
        "{page}"
    );
    screenshots(&c, "10-log").await;

    // A form posted without its CSRF token is refused.
    c.goto(&format!("{base}/console/groups")).await.unwrap();
    c.execute(
        "document.querySelector('form[action=\"/console/groups\"] input[name=csrf]').remove();",
        vec![],
    )
    .await
    .unwrap();
    fill(&c, "#displayName", "Forged").await;
    submit(&c, "#create-group").await;
    assert!(text_of(&c).await.contains("did not come from this console"));
    let png = c.screenshot().await.unwrap();
    std::fs::write(screenshot_dir().join("11-csrf-refused-desktop.png"), png).unwrap();
    assert_eq!(app.count("groups"), 1);

    // Sign out; the console is closed again.
    c.goto(&format!("{base}/console")).await.unwrap();
    submit(&c, "#sign-out").await;
    assert!(text_of(&c).await.contains("You are signed out."));
    c.goto(&format!("{base}/console/invitations"))
        .await
        .unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/sign-in")
    );
    assert_eq!(app.count("console_sessions"), 0);

    c.close().await.unwrap();
    server.stop(true).await;
}
