//! Text messages through Twilio's Messages API, against a local HTTP server that speaks it
//! (127.0.0.1, a random port): it records each request (path, headers, form fields) and answers
//! what the test scripts: 201 with a message, or Twilio's error shapes (400 with code 21211, 429,
//! 500). A text sent through the job queue reaches it with the right form fields, basic auth and
//! idempotency token; 429 and 500 are retried after the backoff with the same token; 21211 fails
//! the job for good with the provider's code kept; a sign-in code goes out by text and opens a
//! session; a sign-in code by e-mail goes through a real SMTP exchange.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use base64::Engine;
use chrono::Duration;
use diesel::prelude::*;
use mobietrain_scim::app;
use mobietrain_scim::config::Secret;
use mobietrain_scim::config::TextConfig;
use mobietrain_scim::db::schema::jobs;
use mobietrain_scim::jobs::{EnqueueOptions, enqueue};
use mobietrain_scim::sms::TextSender;
use mobietrain_scim::sms::job::SendText;
use serde_json::json;

use crate::harness::{TestApp, captured_logs, wait_for};
use crate::invitations::app_with_clock;
use crate::sign_in::{logged, scim_user, six_digits};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const TOKEN: &str = "twilio-auth-token-for-tests";

/// One request the fake Twilio received.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// Its headers, names in lower case.
    pub headers: HashMap<String, String>,
    /// Its form fields.
    pub form: HashMap<String, String>,
}

/// A loopback server speaking Twilio's Messages API.
pub struct FakeTwilio {
    url: String,
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<(u16, String)>>>,
}

impl FakeTwilio {
    /// Starts it on a random port of 127.0.0.1.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let answers: Arc<Mutex<VecDeque<(u16, String)>>> = Arc::default();
        let (rec, ans) = (received.clone(), answers.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    continue;
                }
                let path = line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned();
                let mut headers = HashMap::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                    }
                }
                let len: usize = headers
                    .get("content-length")
                    .and_then(|l| l.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let form = url::form_urlencoded::parse(&body).into_owned().collect();
                rec.lock().unwrap().push(Received {
                    path,
                    headers,
                    form,
                });
                let (status, body) = ans.lock().unwrap().pop_front().unwrap_or((
                    201,
                    json!({"sid": "SM00000000000000000000000000000001", "status": "queued"})
                        .to_string(),
                ));
                let reason = match status {
                    201 => "Created",
                    400 => "Bad Request",
                    429 => "Too Many Requests",
                    _ => "Internal Server Error",
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self {
            url,
            received,
            answers,
        }
    }

    /// Scripts the next answer (after the scripted ones, 201).
    pub fn answer(&self, status: u16, body: serde_json::Value) {
        self.answers
            .lock()
            .unwrap()
            .push_back((status, body.to_string()));
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// A Twilio sender configured for this server, as `serve` builds it.
    pub fn sender(&self) -> Arc<dyn TextSender> {
        let config = TextConfig {
            api_url: self.url.clone(),
            account_sid: Some(SID.into()),
            auth_token: Some(Secret::new(TOKEN)),
            from: Some("+3225550100".into()),
            messaging_service_sid: None,
        };
        let full = mobietrain_scim::config::Config {
            text: config.clone(),
            ..mobietrain_scim::config::Config::default()
        };
        full.validate().expect("a loopback http:// URL is valid");
        app::text_sender(&config).unwrap()
    }
}

/// Asserts that `r` went to the account's Messages resource with the account's basic auth.
#[track_caller]
pub fn assert_to_messages_api(r: &Received) {
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(r.headers["authorization"], format!("Basic {basic}"));
}

fn job_row(app: &TestApp, name: &str) -> (String, i32, Option<String>) {
    jobs::table
        .filter(jobs::name.eq(name))
        .select((jobs::state, jobs::attempts, jobs::last_error))
        .first(&mut app.conn())
        .unwrap()
}

fn enqueue_text(app: &TestApp, key: &str) {
    let now = app.state.clock.now_naive();
    enqueue(
        &mut app.conn(),
        &SendText {
            to: "+32470123456".into(),
            body: "Hallo Zoë, tot morgen!".into(),
            idempotency_key: Some(key.into()),
            invitation_id: None,
        },
        EnqueueOptions::default(),
        now,
    )
    .unwrap();
}

#[actix_web::test]
async fn a_text_reaches_twilio_with_its_fields_auth_and_idempotency_token() {
    let twilio = FakeTwilio::start();
    let app = TestApp::new();
    enqueue_text(&app, "greeting:1");
    app.run_due_jobs_sending(app.mailer.clone(), twilio.sender(), Vec::new());
    let got = twilio.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_to_messages_api(r);
    assert_eq!(r.headers["i-twilio-idempotency-token"], "greeting:1");
    assert_eq!(
        r.headers["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(r.form["To"], "+32470123456");
    assert_eq!(r.form["From"], "+3225550100");
    assert_eq!(r.form["Body"], "Hallo Zoë, tot morgen!");
    assert!(!r.form.contains_key("MessagingServiceSid"));
    assert_eq!(job_row(&app, "text.send").0, "done");
    // Logged: the segments; never the number, the text or the token.
    let logs = captured_logs();
    assert!(!logs.contains("+32470123456"));
    assert!(!logs.contains("tot morgen"));
    assert!(!logs.contains(TOKEN));
}

#[actix_web::test]
async fn busy_and_failing_answers_are_retried_with_the_same_token() {
    let twilio = FakeTwilio::start();
    twilio.answer(
        429,
        json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
    );
    twilio.answer(
        500,
        json!({"code": 20500, "message": "Internal Server Error", "status": 500}),
    );
    let (app, clock) = app_with_clock();
    enqueue_text(&app, "greeting:2");
    let sender = twilio.sender();
    app.run_due_jobs_sending(app.mailer.clone(), sender.clone(), Vec::new());
    let (state, attempts, error) = job_row(&app, "text.send");
    assert_eq!((state.as_str(), attempts), ("queued", 1));
    assert!(error.unwrap().contains("429"));
    // Not before its backoff.
    app.run_due_jobs_sending(app.mailer.clone(), sender.clone(), Vec::new());
    assert_eq!(twilio.received().len(), 1);
    clock.advance(Duration::minutes(2));
    app.run_due_jobs_sending(app.mailer.clone(), sender.clone(), Vec::new());
    let (state, attempts, error) = job_row(&app, "text.send");
    assert_eq!((state.as_str(), attempts), ("queued", 2));
    assert!(error.unwrap().contains("500"));
    clock.advance(Duration::minutes(5));
    app.run_due_jobs_sending(app.mailer.clone(), sender, Vec::new());
    assert_eq!(job_row(&app, "text.send").0, "done");
    let tokens: Vec<_> = twilio
        .received()
        .iter()
        .map(|r| r.headers["i-twilio-idempotency-token"].clone())
        .collect();
    assert_eq!(tokens, ["greeting:2", "greeting:2", "greeting:2"]);
}

#[actix_web::test]
async fn an_invalid_number_fails_the_job_for_good_with_the_provider_code() {
    let twilio = FakeTwilio::start();
    twilio.answer(
        400,
        json!({"code": 21211, "message": "The 'To' number is not a valid phone number.",
               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
    );
    let (app, clock) = app_with_clock();
    enqueue_text(&app, "greeting:3");
    let sender = twilio.sender();
    app.run_due_jobs_sending(app.mailer.clone(), sender.clone(), Vec::new());
    let (state, attempts, error) = job_row(&app, "text.send");
    assert_eq!((state.as_str(), attempts), ("failed", 1));
    let error = error.unwrap();
    assert!(error.contains("21211"), "{error}");
    assert!(error.contains("not a valid phone number"), "{error}");
    clock.advance(Duration::hours(2));
    app.run_due_jobs_sending(app.mailer.clone(), sender, Vec::new());
    assert_eq!(twilio.received().len(), 1, "never retried");
}

#[actix_web::test]
async fn a_sign_in_code_by_text_through_twilio_opens_a_session() {
    let twilio = FakeTwilio::start();
    let app = TestApp::new();
    let account = app.account("Acme");
    let user = scim_user(&app, &account, "zoe@example.com", "+32 470 99 88 77").await;
    let r = app
        .post(
            "/app/v1/sign-in/code",
            "",
            &json!({"phone": "+32470998877"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    app.run_due_jobs_sending(app.mailer.clone(), twilio.sender(), Vec::new());
    let got = twilio.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].form["To"], "+32470998877");
    assert!(got[0].headers["i-twilio-idempotency-token"].starts_with("sign-in:"));
    let code = six_digits(&got[0].form["Body"]);
    assert!(!logged(&code));
    let r = app
        .post(
            "/app/v1/sign-in",
            "",
            &json!({"phone": "+32470998877", "code": code}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user);
}

#[actix_web::test]
async fn a_sign_in_code_by_e_mail_over_real_smtp_opens_a_session() {
    use mobietrain_scim::email::smtp::SmtpMailer;
    use mobietrain_scim::email::{Mailer, Sender};
    let smtp = crate::mailer::SmtpServer::start();
    let app = TestApp::new();
    let account = app.account("Boulangerie Dupont");
    let user = scim_user(&app, &account, "zoe@example.com", "+32 470 99 88 76").await;
    let r = app
        .post(
            "/app/v1/sign-in/code",
            "",
            &json!({"email": "ZOE@example.com", "accountId": account.id}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    let sender = Sender {
        address: "no-reply@mobietrain.example".into(),
        name: "MobieTrain".into(),
    };
    let mailer: Arc<dyn Mailer> =
        Arc::new(SmtpMailer::new(&format!("smtp://127.0.0.1:{}", smtp.port), &sender).unwrap());
    app.run_due_jobs_with(mailer, Vec::new());
    wait_for("the code to arrive", StdDuration::from_secs(60), || {
        !smtp.received().is_empty()
    });
    let m = crate::mailer::parse(&smtp.received()[0]);
    assert_eq!(m["rcpt"], "zoe@example.com", "{m}");
    assert_eq!(m["subject"], "Je aanmeldcode voor MobieTrain");
    let code = six_digits(m["text"].as_str().unwrap());
    assert!(m["html"].as_str().unwrap().contains(&code));
    assert!(!logged(&code));
    let r = app
        .post(
            "/app/v1/sign-in",
            "",
            &json!({"email": "zoe@example.com", "accountId": account.id, "code": code}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user);
}
