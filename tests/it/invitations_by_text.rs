//! Invitations by text message (issue 22 item 2), against the loopback Twilio server of
//! [`crate::text_messages`]: a phone-only invitation is texted (`To` in E.164, basic auth, one
//! idempotency token per logical send, the link in the body) and its link registers the invitee
//! under their number in E.164; with an e-mail address too, only the e-mail goes; reminders and
//! resends go by text; a busy provider shows as `failing` on the invitation and is retried, an
//! invalid number as `failed` and is not; a number another user (or a pending invitation) holds
//! is a 409 naming the field; neither the link nor the number reaches the logs or a job payload.

use actix_web::http::Method;
use chrono::Duration;
use diesel::prelude::*;
use mobietrain_scim::db::schema::jobs;
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, captured_logs};
use crate::invitations::{account_with_group, app_with_clock, assert_problem, footprint, token_of};
use crate::text_messages::{FakeTwilio, assert_to_messages_api};

const MOBIETRAIN_USER: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// A valid form inviting, by phone only, the holder of `phone`.
fn phone_form(phone: &str, group: &str) -> Value {
    json!({
        "givenName": "Zoë", "familyName": "Peeters", "phoneNumber": phone,
        "groupIds": [group], "language": "nl", "agreementAccepted": true,
    })
}

/// Invites `phone` by phone only; asserts the 201 and returns the invitation.
async fn invite_by_phone(app: &TestApp, account: &TestAccount, phone: &str, group: &str) -> Value {
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &phone_form(phone, group),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body
}

async fn read(app: &TestApp, account: &TestAccount, id: &str) -> Value {
    let r = app
        .get(&format!("/admin/v1/invitations/{id}"), &account.admin)
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    r.body
}

fn run(app: &TestApp, twilio: &FakeTwilio) {
    app.run_due_jobs_sending(app.mailer.clone(), twilio.sender(), Vec::new());
}

fn tokens(twilio: &FakeTwilio) -> Vec<String> {
    twilio
        .received()
        .iter()
        .map(|r| r.headers["i-twilio-idempotency-token"].clone())
        .collect()
}

#[actix_web::test]
async fn a_phone_only_invitation_is_texted_and_its_link_registers_the_number() {
    let twilio = FakeTwilio::start();
    let (app, _clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Bakkerij Peeters").await;
    let inv = invite_by_phone(&app, &account, "+32 470 55 01 23", &group).await;
    let id = inv["id"].as_str().unwrap().to_owned();
    assert_eq!(inv["email"], Value::Null, "{inv}");
    assert_eq!(inv["phoneNumber"], "+32 470 55 01 23", "{inv}");
    assert_eq!(inv["delivery"]["status"], "queued");
    let user_id = inv["userId"].as_str().unwrap().to_owned();
    let user = app
        .get(&format!("/scim/v2/Users/{user_id}"), &account.scim)
        .await;
    assert_eq!(user.body["userName"], "+32470550123", "{}", user.body);
    assert_eq!(user.body["phoneNumbers"][0]["value"], "+32 470 55 01 23");
    assert_eq!(user.body[MOBIETRAIN_USER]["registration"], "invited");
    let link = format!(
        "https://app.mobietrain.com/invitation?token={}",
        token_of(&app, &id)
    );
    let mac = link.rsplit_once('.').unwrap().1.to_owned();

    run(&app, &twilio);
    assert!(app.mailer.sent().is_empty(), "no e-mail");
    let got = twilio.received();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_to_messages_api(r);
    assert_eq!(
        r.headers["i-twilio-idempotency-token"],
        format!("invitation:{id}:send:1")
    );
    assert_eq!(r.form["To"], "+32470550123");
    let body = &r.form["Body"];
    assert!(body.ends_with(&link), "the whole link: {body}");
    assert!(
        body.contains("uitgenodigd"),
        "in the invitation's language: {body}"
    );
    let inv = read(&app, &account, &id).await;
    assert_eq!(inv["delivery"]["status"], "sent", "{inv}");
    assert_eq!(inv["delivery"]["attempts"], 1);

    // The link was built when the job ran: no payload, no log line holds it or the number.
    let payloads: Vec<String> = jobs::table
        .select(jobs::payload)
        .load(&mut app.conn())
        .unwrap();
    assert!(
        payloads
            .iter()
            .all(|p| !p.contains(&mac) && !p.contains("47055"))
    );
    let logs = captured_logs();
    assert!(!logs.contains(&mac), "the link is never logged");
    assert!(!logs.contains("+32470550123") && !logs.contains("470 55 01 23"));

    let r = app
        .post(
            "/invitations/accept",
            "unused",
            &json!({"token": link.split_once("token=").unwrap().1}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user_id.as_str());
    let user = app
        .get(&format!("/scim/v2/Users/{user_id}"), &account.scim)
        .await;
    assert_eq!(user.body["userName"], "+32470550123");
    assert_eq!(user.body[MOBIETRAIN_USER]["registration"], "registered");
    assert_eq!(app.count("invitations"), 0);
}

#[actix_web::test]
async fn with_an_e_mail_address_too_only_the_e_mail_goes() {
    let twilio = FakeTwilio::start();
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let mut body = phone_form("+32 470 55 02 34", &group);
    body["email"] = json!("zoe.peeters@example.com");
    let r = app
        .post("/admin/v1/invitations", &account.admin, &body)
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    run(&app, &twilio);
    clock.advance(Duration::days(7));
    run(&app, &twilio);
    let sent = app.mailer.sent();
    assert_eq!(sent.len(), 2, "the invitation and a reminder, by e-mail");
    assert!(sent.iter().all(|m| m.to == "zoe.peeters@example.com"));
    assert!(twilio.received().is_empty(), "nothing by text");
    let user = app
        .get(
            &format!("/scim/v2/Users/{}", r.body["userId"].as_str().unwrap()),
            &account.scim,
        )
        .await;
    assert_eq!(user.body["userName"], "zoe.peeters@example.com");
}

#[actix_web::test]
async fn reminders_and_a_resend_after_the_cool_down_go_by_text() {
    let twilio = FakeTwilio::start();
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite_by_phone(&app, &account, "+32 470 55 03 45", &group).await;
    let id = inv["id"].as_str().unwrap().to_owned();
    run(&app, &twilio);
    let resend = format!("/admin/v1/invitations/{id}/resend");

    // Inside the cool-down: refused, nothing sent.
    clock.advance(Duration::hours(23));
    let r = app.call(Method::POST, &resend, &account.admin, None).await;
    assert_problem(&r, 429, None);
    clock.advance(Duration::hours(1));
    let r = app.call(Method::POST, &resend, &account.admin, None).await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    run(&app, &twilio);

    clock.advance(Duration::days(6));
    run(&app, &twilio);
    let got = twilio.received();
    assert_eq!(
        tokens(&twilio),
        [
            format!("invitation:{id}:send:1"),
            format!("invitation:{id}:send:2"),
            format!("invitation:{id}:reminder:1"),
        ]
    );
    assert!(got.iter().all(|r| r.form["To"] == "+32470550345"));
    let link = token_of(&app, &id);
    assert!(
        got.iter().all(|r| r.form["Body"].ends_with(&link)),
        "the same link"
    );
    assert!(
        got[2].form["Body"].starts_with("Herinnering"),
        "{}",
        got[2].form["Body"]
    );
    assert!(app.mailer.sent().is_empty());
    let inv = read(&app, &account, &id).await;
    assert_eq!(inv["remindersSent"], 1, "{inv}");
    assert_eq!(inv["delivery"]["status"], "sent");

    // Expiry and removal are unchanged: at 60 days the invitation and its user are gone.
    clock.advance(Duration::days(60));
    app.run_due_jobs_sending(app.mailer.clone(), twilio.sender(), Vec::new());
    assert_eq!(app.count("invitations"), 0);
    assert_eq!(
        app.count("users"),
        0,
        "the user the invitation made is removed"
    );
}

#[actix_web::test]
async fn a_busy_provider_is_failing_then_sent_an_invalid_number_failed_for_good() {
    let twilio = FakeTwilio::start();
    twilio.answer(
        429,
        json!({"code": 20429, "message": "Too Many Requests", "status": 429}),
    );
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let busy = invite_by_phone(&app, &account, "+32 470 55 04 56", &group).await;
    let busy = busy["id"].as_str().unwrap().to_owned();
    run(&app, &twilio);
    let inv = read(&app, &account, &busy).await;
    assert_eq!(inv["delivery"]["status"], "failing", "{inv}");
    let error = inv["delivery"]["lastError"].as_str().unwrap();
    assert!(error.contains("429") && error.contains("20429"), "{error}");
    clock.advance(Duration::minutes(2));
    run(&app, &twilio);
    let inv = read(&app, &account, &busy).await;
    assert_eq!(inv["delivery"]["status"], "sent", "{inv}");
    assert_eq!(inv["delivery"]["attempts"], 2);
    assert_eq!(inv["delivery"]["lastError"], Value::Null);
    assert_eq!(
        tokens(&twilio),
        [
            format!("invitation:{busy}:send:1"),
            format!("invitation:{busy}:send:1")
        ],
        "the retry carries the same token"
    );

    twilio.answer(
        400,
        json!({"code": 21211, "message": "The 'To' number +32470550567 is not a valid phone number.",
               "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}),
    );
    let invalid = invite_by_phone(&app, &account, "+32 470 55 05 67", &group).await;
    let invalid = invalid["id"].as_str().unwrap().to_owned();
    run(&app, &twilio);
    let inv = read(&app, &account, &invalid).await;
    assert_eq!(inv["delivery"]["status"], "failed", "{inv}");
    let error = inv["delivery"]["lastError"].as_str().unwrap();
    assert!(error.contains("21211"), "{error}");
    assert!(!error.contains("470550567"), "no personal data: {error}");
    clock.advance(Duration::hours(2));
    run(&app, &twilio);
    assert_eq!(twilio.received().len(), 3, "never retried");
    let failed = app
        .get("/admin/v1/invitations?delivery=failed", &account.admin)
        .await;
    assert_eq!(failed.body["totalResults"], 1, "{}", failed.body);
}

/// Posts `body` as the invitation form; asserts a refusal with `status` naming `field`, and that
/// nothing was written; returns the problem.
async fn refused(
    app: &TestApp,
    account: &TestAccount,
    body: &Value,
    (status, field): (u16, &str),
) -> Value {
    let before = footprint(app);
    let r = app
        .post("/admin/v1/invitations", &account.admin, body)
        .await;
    let problem = assert_problem(&r, status, Some(field));
    assert_eq!(footprint(app), before, "nothing written");
    problem
}

#[actix_web::test]
async fn a_number_another_user_or_invitation_holds_is_a_409_naming_the_field() {
    let (app, _clock) = app_with_clock();
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let mut jan = crate::harness::user("jan.scim");
    jan["phoneNumbers"] = json!([{"value": "+32 470 55 06 78", "type": "mobile"}]);
    let r = app.post("/scim/v2/Users", &account.scim, &jan).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let taken = (409, "phoneNumber");

    let problem = refused(&app, &account, &phone_form("+32470550678", &group), taken).await;
    assert_eq!(problem["userId"], r.body["id"], "{problem}");

    // A pending phone-only invitation holds its number: the 409 names it, to resend it.
    let inv = invite_by_phone(&app, &account, "+32 470 55 07 89", &group).await;
    let problem = refused(&app, &account, &phone_form("+32470550789", &group), taken).await;
    assert_eq!(problem["invitationId"], inv["id"], "{problem}");
    assert_eq!(problem["userName"], "+32470550789");
    // With an e-mail address, the number is still one person's.
    let mut both = phone_form("+32 470 55 07 89", &group);
    both["email"] = json!("someone.else@example.com");
    refused(&app, &account, &both, taken).await;

    // A number no text can reach, without an e-mail address: 400 on the field.
    let landline = phone_form("+32 2 555 01 00", &group);
    let problem = refused(&app, &account, &landline, (400, "phoneNumber")).await;
    assert!(problem.to_string().contains("landline"), "{problem}");
}

/// The console's invite form posts to the same domain function: its hint says how the two
/// contacts combine, and a phone-only invitation goes by text from there too.
#[actix_web::test]
async fn the_console_invites_by_phone_only() {
    use crate::console_pages::{Console, html};
    use actix_web::http::StatusCode;
    let twilio = FakeTwilio::start();
    let (app, _clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let mut c = Console::new(&app);
    let r = c.sign_in(&account.admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let csrf = c.csrf().await;
    let form = c.get("/console/invitations/new").await;
    let page = html(&form).replace("&#x2f;", "/");
    assert!(
        page.contains("E-mail and/or mobile phone; e-mail takes precedence"),
        "{page}"
    );
    let r = c
        .post(
            "/console/invitations/new",
            &[
                ("csrf", &csrf),
                ("givenName", "Zoë"),
                ("familyName", "Peeters"),
                ("email", ""),
                ("phoneNumber", "+32 470 55 08 90"),
                ("groupIds", &group),
                ("role", "user"),
                ("language", "fr"),
                ("agreementAccepted", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    run(&app, &twilio);
    let got = twilio.received();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].form["To"], "+32470550890");
    assert!(
        got[0].form["Body"].contains("invitation"),
        "{}",
        got[0].form["Body"]
    );
    assert!(app.mailer.sent().is_empty());
}
