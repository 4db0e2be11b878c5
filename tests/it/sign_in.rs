//! Signing in again with a one-time code (`/app/v1/sign-in/code`, `/app/v1/sign-in`): by e-mail
//! and by text the code opens a session; every case that must get nothing gets the same 202 and
//! nothing is queued; five wrong codes void a code; an expired code and a used one are refused;
//! the code is never logged nor stored in clear. Onboarding keeps the invitation's language and
//! reads regional tags; the CrewPlanner refusal page follows `Accept-Language`.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::Duration;
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, captured_logs};
use crate::invitations::{account_with_group, app_with_clock, form};

/// Creates a SCIM user with this e-mail and phone; returns its id.
pub async fn scim_user(app: &TestApp, account: &TestAccount, email: &str, phone: &str) -> String {
    let r = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email, "externalId": format!("x-{email}"),
                "name": {"givenName": "Zoë", "familyName": "Peeters"},
                "preferredLanguage": "nl-BE",
                "emails": [{"value": email, "primary": true}],
                "phoneNumbers": [{"value": phone, "type": "mobile"}],
            }),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn ask(app: &TestApp, body: Value) -> u16 {
    let r = app.post("/app/v1/sign-in/code", "", &body).await;
    if r.status.as_u16() == 202 {
        assert_eq!(r.body["status"], "accepted", "{}", r.body);
    }
    r.status.as_u16()
}

async fn sign_in(app: &TestApp, body: Value) -> crate::harness::Resp {
    app.post("/app/v1/sign-in", "", &body).await
}

/// The six consecutive digits in `text`.
pub fn six_digits(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .enumerate()
        .find(|(i, w)| {
            w.iter().all(char::is_ascii_digit)
                && (*i == 0 || !chars[i - 1].is_ascii_digit())
                && chars.get(i + 6).is_none_or(|c| !c.is_ascii_digit())
        })
        .map(|(_, w)| w.iter().collect())
        .unwrap_or_else(|| panic!("six digits in {text}"))
}

fn code_jobs(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use mobietrain_scim::db::schema::jobs;
    jobs::table
        .filter(jobs::name.eq("sign_in.send_code"))
        .count()
        .get_result(&mut app.conn())
        .unwrap()
}

#[actix_web::test]
async fn a_code_by_text_opens_a_session_once_and_is_never_stored_or_logged() {
    let app = TestApp::new();
    let account = app.account("Acme");
    let user = scim_user(&app, &account, "zoe@example.com", "+32 470 11 22 33").await;

    assert_eq!(ask(&app, json!({"phone": "+32470112233"})).await, 202);
    assert_eq!(code_jobs(&app), 1);
    app.run_due_jobs();
    let texts = app.texts.sent();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].to, "+32470112233");
    assert!(
        texts[0].body.contains("aanmeldcode"),
        "in the user's language: {}",
        texts[0].body
    );
    let code = six_digits(&texts[0].body);

    // Nothing stored or logged holds the code.
    let dump = crate::invitations_smtp::dump(&app, "jobs");
    assert!(!dump.contains(&code), "the jobs table holds the code");
    assert!(
        !passcode_rows(&app).contains(&code),
        "the passcode table holds the code"
    );
    assert!(!logged(&code), "the logs hold the code");
    assert!(
        !captured_logs().contains(&texts[0].body),
        "the logs hold the text"
    );

    let r = sign_in(&app, json!({"phone": "+32 470 11 22 33", "code": code})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user);
    let session = r.body["sessionToken"].as_str().unwrap().to_owned();
    assert!(r.body["expiresAt"].is_string());
    let me = app.get("/app/v1/me", &session).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(me.body["id"], user);

    // Single use.
    let again = sign_in(&app, json!({"phone": "+32470112233", "code": code})).await;
    assert_eq!(again.status.as_u16(), 401, "{}", again.body);
    assert_eq!(
        again.header("content-type").as_deref(),
        Some("application/problem+json")
    );
}

/// Whether a log line holds `code` as a word of its own (past the line's timestamp, whose
/// fraction of a second may be any six digits).
pub fn logged(code: &str) -> bool {
    captured_logs().lines().any(|line| {
        let rest = line.split_once(' ').map_or(line, |(_, r)| r);
        // Every run of digits standing as a word, except the fractional part of a number: the
        // access log's `duration_ms=1.234567` of a test running beside this one is not the code.
        let bytes = rest.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i].is_ascii_digit() {
                let start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                let before = start.checked_sub(1).map(|j| bytes[j]);
                let after = bytes.get(i).copied();
                // A whole word (not a piece of an id such as `1f7cac493781`) and not a fraction.
                let inside_word = before.is_some_and(|b| b.is_ascii_alphanumeric())
                    || after.is_some_and(|b| b.is_ascii_alphanumeric());
                let fraction = before == Some(b'.');
                if !inside_word && !fraction && &rest[start..i] == code {
                    return true;
                }
            } else {
                i += 1;
            }
        }
        false
    })
}

fn passcode_rows(app: &TestApp) -> String {
    use diesel::prelude::*;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    diesel::sql_query(
        "SELECT id || channel || contact_mac || nonce || CAST(failed_attempts AS TEXT) AS t \
         FROM sign_in_passcodes",
    )
    .load::<Row>(&mut app.conn())
    .unwrap()
    .into_iter()
    .map(|r| r.t)
    .collect::<Vec<_>>()
    .join("\n")
}

#[actix_web::test]
async fn a_code_by_e_mail_opens_a_session() {
    let app = TestApp::new();
    let account = app.account("Acme");
    let user = scim_user(&app, &account, "Zoe@Example.com", "+32 470 11 22 34").await;
    assert_eq!(
        ask(
            &app,
            json!({"email": "zoe@EXAMPLE.com", "accountId": account.id})
        )
        .await,
        202
    );
    app.run_due_jobs();
    let mails = app.mailer.sent();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, "Zoe@Example.com");
    assert_eq!(mails[0].subject, "Je aanmeldcode voor MobieTrain");
    let code = six_digits(&mails[0].text);
    let r = sign_in(
        &app,
        json!({"email": "zoe@example.com", "accountId": account.id, "code": code}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user);
}

#[actix_web::test]
async fn five_wrong_codes_void_the_code() {
    let app = TestApp::new();
    let account = app.account("Acme");
    scim_user(&app, &account, "zoe@example.com", "+32 470 11 22 35").await;
    assert_eq!(ask(&app, json!({"email": "zoe@example.com"})).await, 202);
    app.run_due_jobs();
    let code = six_digits(&app.mailer.sent()[0].text);
    let wrong = if code == "000000" { "000001" } else { "000000" };
    for _ in 0..5 {
        let r = sign_in(&app, json!({"email": "zoe@example.com", "code": wrong})).await;
        assert_eq!(r.status.as_u16(), 401, "{}", r.body);
    }
    assert_eq!(
        app.count("sign_in_passcodes"),
        0,
        "void after five wrong tries"
    );
    let r = sign_in(&app, json!({"email": "zoe@example.com", "code": code})).await;
    assert_eq!(
        r.status.as_u16(),
        401,
        "the right code no longer opens: {}",
        r.body
    );
    assert_eq!(app.count("sessions"), 0);

    // Malformed codes and bodies are 400s that name the field.
    let r = sign_in(&app, json!({"email": "zoe@example.com", "code": "12ab56"})).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    let r = sign_in(&app, json!({"email": "zoe@example.com"})).await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
    assert_eq!(ask(&app, json!({"phone": "0470 12 34 56"})).await, 400);
    assert_eq!(
        ask(&app, json!({"email": "a@b.c", "phone": "+32470123456"})).await,
        400
    );
}

/// Wrong codes against many contacts from one client address: after 20 attempts (the burst) the
/// address gets a 429 with `Retry-After`, and then even the right code of a real user is not
/// tried (nothing is used up: it opens a session once the address may try again).
#[actix_web::test]
async fn sign_in_attempts_are_limited_per_client_address_across_codes() {
    use mobietrain_scim::signin::limits::{SignInLimitSettings, SignInLimits};
    let (mut app, clock) = app_with_clock();
    // The limits on the test's clock (the app built them on real time).
    app.state.sign_in_limits = std::sync::Arc::new(SignInLimits::new(
        SignInLimitSettings::default(),
        clock.clone(),
    ));
    let account = app.account("Acme");
    scim_user(&app, &account, "zoe@example.com", "+32 470 11 22 37").await;
    assert_eq!(ask(&app, json!({"email": "zoe@example.com"})).await, 202);
    app.run_due_jobs();
    let code = six_digits(&app.mailer.sent()[0].text);
    for i in 0..20 {
        let r = sign_in(
            &app,
            json!({"email": format!("nobody{i}@example.com"), "code": "123456"}),
        )
        .await;
        assert_eq!(r.status.as_u16(), 401, "attempt {i}: {}", r.body);
    }
    let r = sign_in(&app, json!({"email": "zoe@example.com", "code": code})).await;
    assert_eq!(r.status.as_u16(), 429, "{}", r.body);
    assert_eq!(r.header("retry-after").as_deref(), Some("6"));
    assert_eq!(app.count("sessions"), 0);
    assert_eq!(app.count("sign_in_passcodes"), 1, "the code is untouched");
    clock.advance(Duration::seconds(6));
    let r = sign_in(&app, json!({"email": "zoe@example.com", "code": code})).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
}

#[actix_web::test]
async fn an_expired_code_is_refused() {
    let (app, clock) = app_with_clock();
    let account = app.account("Acme");
    scim_user(&app, &account, "zoe@example.com", "+32 470 11 22 36").await;
    assert_eq!(ask(&app, json!({"email": "zoe@example.com"})).await, 202);
    app.run_due_jobs();
    let code = six_digits(&app.mailer.sent()[0].text);
    clock.advance(Duration::minutes(10) + Duration::seconds(1));
    let r = sign_in(&app, json!({"email": "zoe@example.com", "code": code})).await;
    assert_eq!(r.status.as_u16(), 401, "{}", r.body);
    assert_eq!(app.count("sessions"), 0);
}

#[actix_web::test]
async fn who_may_not_sign_in_gets_the_same_202_and_nothing_is_queued() {
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "Acme").await;
    // Invited, not registered.
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &form("invited@example.com", &group),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    // CrewPlanner only.
    let cp = scim_user(&app, &account, "cp@example.com", "+32 470 11 22 40").await;
    {
        use diesel::prelude::*;
        use mobietrain_scim::db::schema::users;
        diesel::update(users::table.find(&cp))
            .set(users::sign_in.eq("crewplanner"))
            .execute(&mut app.conn())
            .unwrap();
    }
    // Deactivated.
    let gone = scim_user(&app, &account, "gone@example.com", "+32 470 11 22 41").await;
    let r = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{gone}"),
            &account.scim,
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}],
            })),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    // One contact in two accounts.
    let other = app.account("Other");
    scim_user(&app, &account, "both@example.com", "+32 470 11 22 42").await;
    scim_user(&app, &other, "both@example.com", "+32 470 11 22 43").await;

    for body in [
        json!({"email": "invited@example.com"}),
        json!({"email": "cp@example.com"}),
        json!({"phone": "+32470112240"}),
        json!({"email": "gone@example.com"}),
        json!({"email": "nobody@example.com"}),
        json!({"email": "both@example.com"}),
        json!({"email": "cp@example.com", "accountId": account.id}),
        json!({"email": "both@example.com", "accountId": "no-such-account"}),
    ] {
        assert_eq!(ask(&app, body.clone()).await, 202, "{body}");
        assert_eq!(code_jobs(&app), 0, "{body}");
    }
    assert_eq!(app.count("sign_in_passcodes"), 0);

    // The account id resolves the ambiguity.
    assert_eq!(
        ask(
            &app,
            json!({"email": "both@example.com", "accountId": other.id})
        )
        .await,
        202
    );
    assert_eq!(code_jobs(&app), 1);
    app.run_due_jobs();
    let codes: Vec<_> = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.subject.contains("aanmeldcode") || m.subject.contains("sign-in"))
        .collect();
    assert_eq!(codes.len(), 1);
}

#[actix_web::test]
async fn onboarding_reads_regional_tags_and_starts_in_the_invitation_language() {
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "Acme").await;
    let mut body = form("fr@example.com", &group);
    body["language"] = json!("fr");
    let r = app
        .post("/admin/v1/invitations", &account.admin, &body)
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    app.run_due_jobs();
    let token = app.mailer.sent()[0]
        .text
        .split_whitespace()
        .find_map(|w| w.split_once("?token=").map(|(_, t)| t.to_owned()))
        .unwrap();
    let accepted = app
        .post("/invitations/accept", "", &json!({"token": token}))
        .await;
    assert_eq!(accepted.status.as_u16(), 200, "{}", accepted.body);
    let session = accepted.body["sessionToken"].as_str().unwrap().to_owned();
    let me = app.get("/app/v1/me", &session).await;
    assert_eq!(me.body["onboarding"]["language"], "fr", "{}", me.body);
    assert_eq!(me.body["onboarding"]["required"], json!(["acceptTerms"]));

    let r = app
        .post(
            "/app/v1/me/onboarding",
            &session,
            &json!({"language": "nl-BE", "acceptTerms": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["onboarding"]["language"], "nl");
    let r = app
        .post(
            "/app/v1/me/onboarding",
            &session,
            &json!({"language": "es-ES", "acceptTerms": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.body);
}

#[actix_web::test]
async fn the_crewplanner_refusal_page_follows_accept_language() {
    let app = TestApp::new();
    let account = app.account("Acme");
    let r = app
        .send(
            TestRequest::get()
                .uri(&format!("/crewplanner/{}/launch?jwt=nope", account.id))
                .insert_header(("Accept-Language", "nl-BE,nl;q=0.9"))
                .insert_header(("Accept", "text/html")),
        )
        .await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert_eq!(r.header("content-language").as_deref(), Some("nl"));
    let page = r.body.as_str().unwrap();
    assert!(page.contains("<html lang=\"nl\">"), "{page}");
    assert!(page.contains("Je kon niet worden aangemeld"), "{page}");
    assert!(page.contains("Reden:"), "{page}");

    let r = app
        .send(
            TestRequest::get()
                .uri(&format!("/crewplanner/{}/launch?jwt=nope", account.id))
                .insert_header(("Accept-Language", "de;q=0.2, fr;q=0.8, es"))
                .insert_header(("Accept", "text/html")),
        )
        .await;
    assert!(
        r.body
            .as_str()
            .unwrap()
            .contains("Vous n'avez pas pu être connecté")
    );
}
