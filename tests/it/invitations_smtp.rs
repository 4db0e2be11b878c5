//! The invitation end to end, over real HTTP and a real SMTP server process (aiosmtpd): an admin
//! invites, the worker mails the link, the link's token is read from the received message and
//! accepted, the session opens the app, and the old link fails afterwards.

use std::sync::Arc;
use std::time::Duration;

use mobietrain_scim::email::smtp::SmtpMailer;
use mobietrain_scim::email::{Mailer, Sender};
use serde_json::{Value, json};

use crate::concurrency::{client, post};
use crate::harness::{TestApp, wait_for};
use crate::invitations::{account_with_group, form};
use crate::mailer::{SmtpServer, parse};

fn get(agent: &ureq::Agent, url: &str, token: &str) -> (u16, Value) {
    let mut response = agent
        .get(url)
        .header("Authorization", format!("Bearer {token}"))
        .call()
        .expect("the server answers");
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[actix_web::test]
async fn invite_mail_link_accept_and_open_the_app_then_the_old_link_fails() {
    let smtp = SmtpServer::start();
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "Boulangerie Dupont").await;
    let (base, server) = app.serve(2);
    let agent = client();

    let mut body = form("zoe@example.com", &group);
    body["givenName"] = json!("Zoë");
    body["language"] = json!("fr");
    let (status, invitation) = post(
        &agent,
        &format!("{base}/admin/v1/invitations"),
        &account.admin,
        &body,
    );
    assert_eq!(status, 201, "{invitation}");
    let user_id = invitation["userId"].as_str().unwrap().to_owned();

    let sender = Sender {
        address: "no-reply@mobietrain.example".into(),
        name: "MobieTrain".into(),
    };
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&format!("smtp://127.0.0.1:{}", smtp.port), &sender).unwrap());
    app.run_due_jobs_with(mailer, Vec::new());
    wait_for("the invitation to arrive", Duration::from_secs(60), || {
        !smtp.received().is_empty()
    });
    let files = smtp.received();
    assert_eq!(files.len(), 1);
    let m = parse(&files[0]);
    assert_eq!(m["rcpt"], "zoe@example.com", "{m}");
    assert_eq!(
        m["subject"],
        "Boulangerie Dupont vous invite à rejoindre MobieTrain"
    );
    let text = m["text"].as_str().unwrap();
    assert!(text.starts_with("Bonjour Zoë,"), "{text}");

    // The link, as the recipient clicks it.
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("https://app.mobietrain.com/invitation?token="))
        .unwrap_or_else(|| panic!("a link in {text}"));
    let token = link.split_once("?token=").unwrap().1.to_owned();
    let html = m["html"].as_str().unwrap().replace("&#x2f;", "/");
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    // Nothing stored holds the token.
    let mac = token.split_once('.').unwrap().1;
    for table in ["invitations", "jobs", "audit_events"] {
        let dump = crate::invitations_smtp::dump(&app, table);
        assert!(!dump.contains(mac), "{table} holds the token");
    }

    let (status, accepted) = post(
        &agent,
        &format!("{base}/invitations/accept"),
        "",
        &json!({ "token": token }),
    );
    assert_eq!(status, 200, "{accepted}");
    assert_eq!(accepted["userId"], user_id);
    let session = accepted["sessionToken"].as_str().unwrap().to_owned();
    assert!(accepted["expiresAt"].is_string());

    // The session opens the app.
    let (status, me) = get(&agent, &format!("{base}/app/v1/me"), &session);
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["id"], user_id);

    let (status, again) = post(
        &agent,
        &format!("{base}/invitations/accept"),
        "",
        &json!({ "token": token }),
    );
    assert_eq!(status, 409, "{again}");
    assert!(
        again["detail"]
            .as_str()
            .unwrap()
            .contains("already accepted"),
        "{again}"
    );
    server.stop(true).await;
}

/// Every row of `table` as text, to search for what must not be stored.
pub fn dump(app: &TestApp, table: &str) -> String {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let sql = match table {
        "invitations" => "SELECT id || nonce AS t FROM invitations",
        "jobs" => "SELECT payload || coalesce(dedup_key, '') AS t FROM jobs",
        "invitation_tombstones" => "SELECT id || nonce || outcome AS t FROM invitation_tombstones",
        _ => "SELECT coalesce(detail, '') AS t FROM audit_events",
    };
    diesel::sql_query(sql)
        .load::<Row>(&mut app.conn())
        .unwrap()
        .into_iter()
        .map(|r| r.t)
        .collect::<Vec<_>>()
        .join("\n")
}
