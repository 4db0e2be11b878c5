//! The mailer end to end: an invitation e-mail sent by the `send_email` job through a real SMTP
//! server process (aiosmtpd, from PyPI), then parsed as it arrived: envelope recipient, localised
//! subject, text and HTML parts, and the deterministic Message-ID.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use mobietrain_scim::clock::{Clock, SystemClock};
use mobietrain_scim::email::job::SendEmail;
use mobietrain_scim::email::smtp::SmtpMailer;
use mobietrain_scim::email::{self, Mailer, Sender};
use mobietrain_scim::jobs::{EnqueueOptions, Enqueued, enqueue};
use serde_json::{Value, json};

use crate::harness::{TestApp, wait_for};

const INSTALL: &str = "this test needs python3 with aiosmtpd: install it with \
                       `python3 -m pip install aiosmtpd` (.ci/run does)";

/// An aiosmtpd server storing what it receives in a maildir; killed when dropped.
pub struct SmtpServer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    maildir: tempfile::TempDir,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SmtpServer {
    /// Starts a server on a free port; fails the test, saying how to install it, without aiosmtpd.
    pub fn start() -> Self {
        let probe = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match probe {
            Ok(status) if status.success() => {}
            Ok(_) => panic!("aiosmtpd is missing; {INSTALL}"),
            Err(e) => panic!("python3 cannot be run ({e}); {INSTALL}"),
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let maildir = tempfile::tempdir().unwrap();
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start aiosmtpd ({e}); {INSTALL}"));
        let mut server = SmtpServer {
            child,
            port,
            maildir,
        };
        wait_for("aiosmtpd to listen", Duration::from_secs(30), || {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("aiosmtpd exited with {status}; {INSTALL}");
            }
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        // The listener is up; keep the struct's own fields coherent for Drop.
        server.port = port;
        server
    }

    /// The files of the messages received so far.
    pub fn received(&self) -> Vec<std::path::PathBuf> {
        std::fs::read_dir(self.maildir.path().join("mail").join("new"))
            .map(|dir| dir.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }
}

/// The parts of a stored message, parsed by Python's e-mail package.
pub fn parse(path: &Path) -> Value {
    const SCRIPT: &str = r#"
import email, json, sys
from email import policy
with open(sys.argv[1], 'rb') as f:
    msg = email.message_from_binary_file(f, policy=policy.default)
print(json.dumps({
    "rcpt": str(msg["X-RcptTo"]),
    "to": str(msg["To"]),
    "from": str(msg["From"]),
    "subject": str(msg["Subject"]),
    "message_id": str(msg["Message-ID"]),
    "content_type": msg.get_content_type(),
    "text": msg.get_body(("plain",)).get_content(),
    "html": msg.get_body(("html",)).get_content(),
}))
"#;
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[actix_web::test]
async fn an_invitation_goes_through_a_real_smtp_server_localised_with_both_parts() {
    let smtp = SmtpServer::start();
    let app = TestApp::new();
    let account = app.account("Boulangerie Dupont");
    let mut body = crate::harness::user("zoe@example.com");
    body["name"]["givenName"] = json!("Zoë");
    body["preferredLanguage"] = json!("fr-BE");
    let created = app.post("/scim/v2/Users", &account.scim, &body).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let user_id = created.body["id"].as_str().unwrap().to_owned();

    let job = SendEmail {
        template: "invitation".into(),
        language: None,
        user_id,
        params: json!({
            "accept_url": "https://app.mobietrain.com/invitations/accept?i=7&n=x",
            "expires_at": "2027-03-01T12:00:00Z",
        }),
        message_key: Some("invitation:7:send:1".into()),
    };
    let id = match enqueue(
        &mut app.conn(),
        &job,
        EnqueueOptions {
            account_id: Some(account.id.clone()),
            ..EnqueueOptions::default()
        },
        SystemClock.now_naive(),
    )
    .unwrap()
    {
        Enqueued::New(id) => id,
        Enqueued::Duplicate => unreachable!(),
    };

    let sender = Sender {
        address: "no-reply@mobietrain.example".into(),
        name: "MobieTrain".into(),
    };
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&format!("smtp://127.0.0.1:{}", smtp.port), &sender).unwrap());
    assert!(
        !format!("{mailer:?}").contains("smtp://"),
        "Debug shows no URL"
    );
    app.run_due_jobs_with(mailer, Vec::new());
    wait_for("the message to arrive", Duration::from_secs(60), || {
        !smtp.received().is_empty()
    });
    let state: String = {
        use diesel::prelude::*;
        use mobietrain_scim::db::schema::jobs;
        jobs::table
            .find(&id)
            .select(jobs::state)
            .first(&mut app.conn())
            .unwrap()
    };
    assert_eq!(state, "done");

    let files = smtp.received();
    assert_eq!(files.len(), 1);
    let m = parse(&files[0]);
    assert_eq!(m["rcpt"], "zoe@example.com", "{m}");
    assert!(m["to"].as_str().unwrap().contains("zoe@example.com"));
    assert!(
        m["from"]
            .as_str()
            .unwrap()
            .contains("no-reply@mobietrain.example")
    );
    assert_eq!(
        m["subject"],
        "Boulangerie Dupont vous invite à rejoindre MobieTrain"
    );
    assert_eq!(m["content_type"], "multipart/alternative");
    assert_eq!(
        m["message_id"],
        email::message_id("invitation:7:send:1", "invitation", "mobietrain.example")
    );
    let text = m["text"].as_str().unwrap();
    assert!(text.starts_with("Bonjour Zoë,"), "{text}");
    assert!(text.contains("jusqu’au 1er mars 2027"), "{text}");
    assert!(text.contains("https://app.mobietrain.com/invitations/accept?i=7&n=x"));
    assert!(text.contains("L’équipe MobieTrain, au nom de Boulangerie Dupont"));
    // minijinja escapes `/` as `&#x2f;` too; HTML decodes it in attributes.
    let html = m["html"].as_str().unwrap().replace("&#x2f;", "/");
    assert!(html.contains("<html lang=\"fr\">"), "{html}");
    assert!(html.contains("Accepter l’invitation"));
    assert!(html.contains("href=\"https://app.mobietrain.com/invitations/accept?i=7&amp;n=x\""));
}
