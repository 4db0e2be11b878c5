//! Invitations that say how delivery went (issue 20) and the invitee's side (issue 22 item 5): the
//! delivery object through a real SMTP exchange (a mail server that is down, then one that
//! answers), the cool-down from the last send that went out, `failed` once retries are spent,
//! the marker, delivery and search filters, the 409 for a contact another user has, the job list
//! naming its invitation, the tombstone answers of used, withdrawn and expired links, and the
//! message as it arrives (the `href` is the link, `To:` has the full name, "valid until" the time).

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::http::Method;
use chrono::Duration;
use mobietrain_scim::clock::{Clock, rfc3339};
use mobietrain_scim::email::smtp::SmtpMailer;
use mobietrain_scim::email::{Mailer, Sender};
use serde_json::{Value, json};

use crate::harness::TestApp;
use crate::invitations::{
    account_with_group, app_with_clock, assert_problem, footprint, form, invite, token_of,
};
use crate::mailer::{SmtpServer, parse};

/// A mailer for the SMTP server on `port` of this host.
fn smtp_mailer(port: u16) -> Arc<dyn Mailer> {
    let sender = Sender {
        address: "no-reply@mobietrain.example".into(),
        name: "MobieTrain".into(),
    };
    Arc::new(SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), &sender).unwrap())
}

/// A port of this host nothing listens on: a mail server that is down.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    port
}

async fn read(app: &TestApp, token: &str, id: &str) -> Value {
    let r = app.get(&format!("/admin/v1/invitations/{id}"), token).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body
}

/// The `href` of the first link in `html`, HTML attribute escapes undone.
fn first_href(html: &str) -> String {
    let start = html.find("href=\"").expect("a link") + "href=\"".len();
    let end = start + html[start..].find('"').expect("a closing quote");
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[actix_web::test]
async fn smtp_down_is_failing_resend_at_once_then_sent_and_the_cool_down_counts_from_it() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Bakkerij Peeters").await;
    let mut body = form("zoe.peeters@example.com", &group);
    body["givenName"] = json!("Zoë");
    body["familyName"] = json!("Peeters");
    body["language"] = json!("en");
    let r = app
        .post("/admin/v1/invitations", &account.admin, &body)
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();
    let made = clock.now_naive();

    // The mail server is down: a real connection attempt, refused.
    app.run_due_jobs_with(smtp_mailer(closed_port()), Vec::new());
    let inv = read(&app, &account.admin, &id).await;
    let delivery = &inv["delivery"];
    assert_eq!(delivery["status"], "failing", "{inv}");
    assert_eq!(delivery["attempts"], 1);
    assert_eq!(delivery["sentAt"], Value::Null);
    let error = delivery["lastError"].as_str().unwrap();
    assert!(error.contains("could not be reached"), "{error}");
    assert!(!error.contains("zoe.peeters"), "no personal data: {error}");
    assert_eq!(inv["firstSentAt"], Value::Null);
    assert_eq!(inv["resendAvailableAt"], Value::Null);

    // The job list names the invitation each of its jobs is for.
    let jobs = app.get("/admin/v1/jobs", &account.admin).await;
    assert_eq!(jobs.status.as_u16(), 200, "{}", jobs.body);
    let items = jobs.body["jobs"].as_array().unwrap();
    let email_job = items
        .iter()
        .find(|j| j["name"] == "invitations.email" && j["lastError"].is_string())
        .unwrap_or_else(|| panic!("the failing send in {}", jobs.body));
    assert_eq!(email_job["invitationId"], id.as_str());
    assert_eq!(email_job["userId"], Value::Null);
    assert!(
        items
            .iter()
            .filter(|j| j["name"].as_str().unwrap().starts_with("invitations."))
            .all(|j| j["invitationId"] == id.as_str()),
        "{}",
        jobs.body
    );

    // A day later the server is still down; the resend is accepted at once (nothing went out),
    // and replaces the waiting retry of the first send.
    clock.advance(Duration::days(1));
    let resend = format!("/admin/v1/invitations/{id}/resend");
    let r = app.call(Method::POST, &resend, &account.admin, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(
        r.body["delivery"],
        json!({"status": "queued", "sentAt": null, "lastError": null, "attempts": 0})
    );

    // The server answers now.
    let smtp = SmtpServer::start();
    app.run_due_jobs_with(smtp_mailer(smtp.port), Vec::new());
    let files = smtp.received();
    assert_eq!(
        files.len(),
        1,
        "one message: the first send's retry was replaced"
    );
    let now = clock.now_naive();
    let inv = read(&app, &account.admin, &id).await;
    assert_eq!(inv["delivery"]["status"], "sent", "{inv}");
    assert_eq!(inv["delivery"]["sentAt"], rfc3339(now));
    assert_eq!(inv["delivery"]["lastError"], Value::Null);
    assert_eq!(inv["delivery"]["attempts"], 1);
    // The first send that went out starts the 60 days.
    assert_eq!(inv["firstSentAt"], rfc3339(now));
    assert_eq!(inv["expiresAt"], rfc3339(now + Duration::days(60)));
    assert_ne!(inv["expiresAt"], rfc3339(made + Duration::days(60)));
    assert_eq!(inv["resendAvailableAt"], rfc3339(now + Duration::hours(24)));

    // The message as it arrived.
    let m = parse(&files[0]);
    assert_eq!(m["to"], "Zoë Peeters <zoe.peeters@example.com>", "{m}");
    let raw = std::fs::read_to_string(&files[0]).unwrap();
    let to_line = raw
        .lines()
        .find(|l| l.starts_with("To:"))
        .unwrap_or_else(|| panic!("a To header in {raw}"));
    assert!(to_line.is_ascii(), "the name is encoded: {to_line}");
    let text = m["text"].as_str().unwrap();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with("https://app.mobietrain.com/invitation?token="))
        .unwrap_or_else(|| panic!("a link in {text}"))
        .to_owned();
    assert_eq!(
        link,
        format!(
            "https://app.mobietrain.com/invitation?token={}",
            token_of(&app, &id)
        )
    );
    let html = m["html"].as_str().unwrap();
    assert_eq!(first_href(html), link, "{html}");
    assert!(
        !html.contains("&#x2f;") && !html.contains("&#x3d;"),
        "{html}"
    );
    let until = (now + Duration::days(60))
        .format("%-d %B %Y at %H:%M UTC")
        .to_string();
    assert!(text.contains(&format!("valid until {until}")), "{text}");

    // Inside 24 hours of the send that went out: 429, until the second.
    clock.advance(Duration::hours(23));
    let before = footprint(&app);
    let r = app.call(Method::POST, &resend, &account.admin, None).await;
    assert_problem(&r, 429, None);
    assert_eq!(r.header("retry-after").as_deref(), Some("3600"));
    assert_eq!(footprint(&app), before);
    clock.advance(Duration::hours(1));
    let r = app.call(Method::POST, &resend, &account.admin, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    app.run_due_jobs_with(smtp_mailer(smtp.port), Vec::new());
    assert_eq!(smtp.received().len(), 2);
}

#[actix_web::test]
async fn a_send_whose_retries_are_spent_is_failed_and_can_be_resent_at_once() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let id = inv["id"].as_str().unwrap();
    let down = smtp_mailer(closed_port());
    let mut seen = Vec::new();
    for _ in 0..12 {
        app.run_due_jobs_with(down.clone(), Vec::new());
        let inv = read(&app, &account.admin, id).await;
        let status = inv["delivery"]["status"].as_str().unwrap().to_owned();
        seen.push(status.clone());
        if status == "failed" {
            assert_eq!(
                inv["delivery"]["attempts"], 8,
                "every attempt counted: {inv}"
            );
            assert!(inv["delivery"]["lastError"].is_string());
            break;
        }
        // Past the longest backoff, but before the first reminder.
        clock.advance(Duration::hours(2));
    }
    assert_eq!(seen.last().map(String::as_str), Some("failed"), "{seen:?}");
    assert!(
        seen[..seen.len() - 1].iter().all(|s| s == "failing"),
        "{seen:?}"
    );
    let failed = app
        .get("/admin/v1/invitations?delivery=failed", &account.admin)
        .await;
    assert_eq!(failed.body["totalResults"], 1, "{}", failed.body);
    let r = app
        .call(
            Method::POST,
            &format!("/admin/v1/invitations/{id}/resend"),
            &account.admin,
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(r.body["delivery"]["status"], "queued");
    app.run_due_jobs();
    let inv = read(&app, &account.admin, id).await;
    assert_eq!(inv["delivery"]["status"], "sent", "{inv}");
}

async fn accept(app: &TestApp, token: &str) -> crate::harness::Resp {
    app.post("/invitations/accept", "unused", &json!({ "token": token }))
        .await
}

async fn list(app: &TestApp, admin: &str, query: String) -> crate::harness::Resp {
    app.get(&format!("/admin/v1/invitations{query}"), admin)
        .await
}

fn ids(body: &Value) -> Vec<String> {
    body["invitations"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_list_filters_by_marker_and_delivery_and_searches_names_addresses_and_phones() {
    let (app, clock) = app_with_clock();
    // Reminders come due while the clock moves; this test is about the list.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let mut made = Vec::new();
    for (email, given, family, phone) in [
        ("ann.p@example.com", "Ann", "Peeters", "+32 470 11 11 11"),
        ("bram.j@example.com", "Bram", "Janssens", "+32 470 22 22 22"),
        ("chloe.d@example.com", "Chloé", "Dubois", "+32 470 33 33 33"),
    ] {
        let mut body = form(email, &group);
        body["givenName"] = json!(given);
        body["familyName"] = json!(family);
        body["phoneNumber"] = json!(phone);
        let r = app
            .post("/admin/v1/invitations", &account.admin, &body)
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        made.push(r.body["id"].as_str().unwrap().to_owned());
        if given != "Chloé" {
            // Ann's and Bram's invitations go out; Chloé's stays queued.
            app.run_due_jobs();
        }
        clock.advance(Duration::days(4));
    }
    // Day 58 after Ann's: Ann has 2 days left (red), Bram 6 (yellow), Chloé 10 (ok).
    clock.advance(Duration::days(58 - 12));
    let list = |q: &str| list(&app, &account.admin, q.to_owned());
    let all = list("").await;
    let markers: Vec<&str> = all.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["marker"].as_str().unwrap())
        .collect();
    assert_eq!(markers, ["red", "yellow", "ok"], "{}", all.body);
    for (q, expected) in [
        ("?marker=red", vec![&made[0]]),
        ("?marker=yellow", vec![&made[1]]),
        ("?marker=ok", vec![&made[2]]),
        ("?delivery=sent", vec![&made[0], &made[1]]),
        ("?delivery=queued", vec![&made[2]]),
        ("?state=queued", vec![&made[2]]),
        ("?delivery=failing", vec![]),
        ("?delivery=sent&marker=yellow", vec![&made[1]]),
        ("?search=peeters", vec![&made[0]]),
        ("?search=CHLO%C3%89", vec![&made[2]]),
        ("?search=ann%20peet", vec![&made[0]]),
        ("?search=BRAM.J%40EXAMPLE", vec![&made[1]]),
        ("?search=%2B32%20470%2033", vec![&made[2]]),
        ("?search=example.com&marker=ok", vec![&made[2]]),
        ("?search=nobody", vec![]),
        ("?search=%25", vec![]),
    ] {
        let r = list(q).await;
        assert_eq!(r.status.as_u16(), 200, "{q}: {}", r.body);
        assert_eq!(
            ids(&r.body).iter().collect::<Vec<_>>(),
            expected,
            "{q}: {}",
            r.body
        );
        assert_eq!(r.body["totalResults"], expected.len(), "{q}");
    }
    // Counted by the database, paged after filtering.
    let r = list("?delivery=sent&count=1&startIndex=2").await;
    assert_eq!(r.body["totalResults"], 2);
    assert_eq!(ids(&r.body), [made[1].clone()]);

    for (q, field) in [
        ("?marker=purple", "marker"),
        ("?delivery=done", "delivery"),
        ("?state=running", "state"),
        ("?colour=red", "colour"),
        ("?marker=red&marker=ok", "marker"),
        ("?delivery=sent&state=queued", "state"),
    ] {
        let r = list(q).await;
        let problem = assert_problem(&r, 400, Some(field));
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    let long = "x".repeat(101);
    assert_problem(&list(&format!("?search={long}")).await, 400, Some("search"));
}

#[actix_web::test]
async fn an_email_or_phone_another_user_has_is_a_409_naming_that_user() {
    let (app, _clock) = app_with_clock();
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let mut jan = crate::harness::user("jan.scim");
    jan["emails"] = json!([{"value": "Jan.Janssens@Example.com", "type": "work"}]);
    jan["phoneNumbers"] = json!([{"value": "+32 470 99 88 77", "type": "mobile"}]);
    let r = app.post("/scim/v2/Users", &account.scim, &jan).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let jan_id = r.body["id"].as_str().unwrap().to_owned();

    let before = footprint(&app);
    // Jan's e-mail value (not his userName), in another case.
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &form("jan.janssens@example.COM", &group),
        )
        .await;
    let problem = assert_problem(&r, 409, Some("email"));
    assert_eq!(problem["userId"], jan_id.as_str(), "{problem}");
    assert_eq!(problem["userName"], "jan.scim");
    assert!(problem["detail"].as_str().unwrap().contains(&jan_id));
    assert_eq!(footprint(&app), before, "nothing written");

    // Jan's phone number, written another way.
    let mut body = form("someone.else@example.com", &group);
    body["phoneNumber"] = json!("+32470998877");
    let r = app
        .post("/admin/v1/invitations", &account.admin, &body)
        .await;
    let problem = assert_problem(&r, 409, Some("phoneNumber"));
    assert_eq!(problem["userId"], jan_id.as_str(), "{problem}");
    assert_eq!(footprint(&app), before, "nothing written");

    // A person already invited: the 409 names their pending invitation, to resend it.
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &form("ann@example.com", &group),
        )
        .await;
    let problem = assert_problem(&r, 409, Some("email"));
    assert_eq!(problem["invitationId"], inv["id"], "{problem}");
    assert_eq!(problem["userId"], inv["userId"]);

    // Another account's users are not in the way.
    let (other, other_group) = account_with_group(&app, "Other Retail").await;
    let r = app
        .post(
            "/admin/v1/invitations",
            &other.admin,
            &form("jan.janssens@example.com", &other_group),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
}

#[actix_web::test]
async fn used_withdrawn_and_expired_links_say_so_until_their_tombstones_are_purged() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let accepted = invite(&app, &account, "ann@example.com", &group).await;
    let withdrawn = invite(&app, &account, "bram@example.com", &group).await;
    let expired = invite(&app, &account, "chloe@example.com", &group).await;
    let token = |inv: &Value| token_of(&app, inv["id"].as_str().unwrap());
    let (t_accepted, t_withdrawn, t_expired) =
        (token(&accepted), token(&withdrawn), token(&expired));
    app.run_due_jobs();

    assert_eq!(accept(&app, &t_accepted).await.status.as_u16(), 200);
    let r = app
        .delete(
            &format!(
                "/admin/v1/invitations/{}",
                withdrawn["id"].as_str().unwrap()
            ),
            &account.admin,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);

    let before = footprint(&app);
    let r = accept(&app, &t_accepted).await;
    let problem = assert_problem(&r, 409, None);
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("already accepted") && detail.contains("sign in with a code"),
        "{detail}"
    );
    assert_eq!(problem["outcome"], "accepted");
    let problem = assert_problem(&accept(&app, &t_withdrawn).await, 410, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("withdrawn"),
        "{problem}"
    );
    assert_eq!(footprint(&app), before, "nothing changed");

    // A forged MAC on an accepted invitation's id learns nothing: 404.
    let (id, _) = t_accepted.split_once('.').unwrap();
    assert_problem(&accept(&app, &format!("{id}.AAAA")).await, 404, None);

    // Expired and ended by its job: the link says it expired.
    clock.advance(Duration::days(60));
    app.run_due_jobs();
    assert_eq!(app.count("invitations"), 0);
    let problem = assert_problem(&accept(&app, &t_expired).await, 410, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("expired"),
        "{problem}"
    );
    assert_eq!(app.count("invitation_tombstones"), 3);
    let kept = crate::invitations_smtp::dump(&app, "invitation_tombstones");
    assert!(!kept.contains("example.com"), "no personal data: {kept}");

    // Past every tombstone's time, the hourly purge removes them; the links are unknown then.
    clock.advance(Duration::days(31));
    app.run_due_jobs_with(
        app.mailer.clone(),
        mobietrain_scim::invitations::jobs::schedules(),
    );
    assert_eq!(app.count("invitation_tombstones"), 0);
    for t in [&t_accepted, &t_withdrawn, &t_expired] {
        assert_problem(&accept(&app, t).await, 404, None);
    }
}
