//! Invitations over the admin API (DESIGN 6): the CMS form and every rule it is refused by (a
//! problem body naming each field, and row counts proving nothing was written), the invited-users
//! tab (paging, markers at 53 and 57 days on an injected clock), the resend cool-down to the
//! second, withdrawal, and accepting with the link's token.

use std::sync::Arc;

use actix_web::http::Method;
use chrono::{Duration, TimeZone, Utc};
use diesel::prelude::*;
use mobietrain_scim::clock::{Clock, ManualClock};
use mobietrain_scim::db::models::InvitationRow;
use mobietrain_scim::db::schema::{invitations, jobs, users};
use mobietrain_scim::invitations::link_token;
use serde_json::{Value, json};

use crate::harness::{Resp, TestAccount, TestApp};

/// An app whose clock is a [`ManualClock`] at 2026-11-22 10:00:00 UTC.
pub fn app_with_clock() -> (TestApp, Arc<ManualClock>) {
    let mut app = TestApp::new();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
    ));
    app.state.clock = clock.clone();
    (app, clock)
}

/// An account with one group (`Sales`); returns the account and the group's id.
pub async fn account_with_group(app: &TestApp, name: &str) -> (TestAccount, String) {
    let account = app.account(name);
    let group = app
        .post(
            "/scim/v2/Groups",
            &account.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales", "externalId": "g-sales"}),
        )
        .await;
    assert_eq!(group.status.as_u16(), 201, "{}", group.body);
    (account, group.body["id"].as_str().unwrap().to_owned())
}

/// A valid form inviting `email` into `group`, with a phone number of its own (one phone, one
/// person: two invitations may not share one).
pub fn form(email: &str, group: &str) -> Value {
    let digits: u32 = email
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
        % 1_000_000;
    json!({
        "givenName": "Ann", "familyName": "Lee", "email": email,
        "phoneNumber": format!("+32 470 {digits:06}"), "jobPosition": "Cashier", "companyId": "E-1",
        "stores": [{"refId": "GNT-01", "name": "Gent Zuid", "countryCallingCode": "32"}],
        "groupIds": [group], "role": "user", "language": "nl", "agreementAccepted": true,
    })
}

/// Invites `email`; asserts the 201 and returns the invitation.
pub async fn invite(app: &TestApp, account: &TestAccount, email: &str, group: &str) -> Value {
    let r = app
        .post("/admin/v1/invitations", &account.admin, &form(email, group))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body
}

/// The stored row of an invitation.
pub fn row(app: &TestApp, id: &str) -> Option<InvitationRow> {
    invitations::table
        .find(id)
        .select(InvitationRow::as_select())
        .first(&mut app.conn())
        .optional()
        .unwrap()
}

/// The link token of a pending invitation, as the e-mail carries it.
pub fn token_of(app: &TestApp, id: &str) -> String {
    link_token(
        &app.state.server_key,
        &row(app, id).expect("the invitation exists"),
    )
}

/// Rows of every table an invitation writes to.
pub fn footprint(app: &TestApp) -> Vec<(&'static str, i64)> {
    [
        "users",
        "user_emails",
        "user_phone_numbers",
        "user_stores",
        "stores",
        "group_members",
        "invitations",
        "jobs",
        "audit_events",
        "sessions",
    ]
    .into_iter()
    .map(|t| (t, app.count(t)))
    .collect()
}

/// Asserts a problem body with `status` whose `errors` name `field`; returns the body.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16, field: Option<&str>) -> Value {
    assert_eq!(r.status.as_u16(), status, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/problem+json"),
        "{}",
        r.body
    );
    assert_eq!(r.body["status"], status, "{}", r.body);
    assert!(r.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    if let Some(field) = field {
        let fields: Vec<&str> = r.body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("an errors list: {}", r.body))
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{field} in {}", r.body);
    }
    r.body.clone()
}

#[actix_web::test]
async fn an_invitation_creates_the_user_in_its_groups_and_schedules_its_mail() {
    let (app, clock) = app_with_clock();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let before = footprint(&app);
    let inv = invite(&app, &account, "ann.lee@example.com", &group).await;

    let now = clock.now();
    assert_eq!(inv["givenName"], "Ann");
    assert_eq!(inv["familyName"], "Lee");
    assert_eq!(inv["email"], "ann.lee@example.com");
    assert_eq!(inv["language"], "nl");
    assert_eq!(inv["marker"], "ok");
    assert_eq!(inv["remindersSent"], 0);
    // Nothing has gone out yet: no first send, and a resend is accepted at once.
    assert_eq!(inv["firstSentAt"], Value::Null);
    assert_eq!(
        inv["delivery"],
        json!({"status": "queued", "sentAt": null, "lastError": null, "attempts": 0})
    );
    assert_eq!(
        inv["lastSentAt"],
        mobietrain_scim::clock::rfc3339(now.naive_utc())
    );
    assert_eq!(
        inv["expiresAt"],
        mobietrain_scim::clock::rfc3339((now + Duration::days(60)).naive_utc())
    );
    assert_eq!(inv["resendAvailableAt"], Value::Null);
    let user_id = inv["userId"].as_str().unwrap();

    let user = app
        .get(&format!("/admin/v1/users/{user_id}"), &account.admin)
        .await;
    assert_eq!(user.status.as_u16(), 200, "{}", user.body);
    let mt = &user.body["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"];
    assert_eq!(user.body["userName"], "ann.lee@example.com");
    assert_eq!(mt["origin"], "invitation");
    assert_eq!(mt["registration"], "invited");
    assert_eq!(mt["storeRefId"], "GNT-01");
    assert_eq!(user.body["title"], "Cashier");
    assert_eq!(user.body["groups"][0]["value"], group);

    // One user, one invitation, and its jobs: the first mail, five reminders, the expiry.
    let after = footprint(&app);
    let grew = |t: &str| {
        after.iter().find(|x| x.0 == t).unwrap().1 - before.iter().find(|x| x.0 == t).unwrap().1
    };
    assert_eq!(
        (grew("users"), grew("invitations"), grew("jobs")),
        (1, 1, 7)
    );
    let payloads: Vec<(String, String, chrono::NaiveDateTime)> = jobs::table
        .select((jobs::name, jobs::payload, jobs::run_at))
        .order(jobs::run_at.asc())
        .load(&mut app.conn())
        .unwrap();
    let days: Vec<i64> = payloads
        .iter()
        .map(|(_, _, at)| (*at - now.naive_utc()).num_days())
        .collect();
    assert_eq!(days, [0, 7, 14, 30, 53, 57, 60]);
    // Payloads hold ids and numbers only: no address, no name, no usable token.
    let token = token_of(&app, inv["id"].as_str().unwrap());
    let mac = token.split_once('.').unwrap().1;
    for (_, payload, _) in &payloads {
        for secret in ["ann.lee", "Ann", "Lee", mac] {
            assert!(!payload.contains(secret), "{payload}");
        }
    }
    // The provisioning log says it happened, without personal data.
    let log = app
        .get(
            "/admin/v1/audit?resourceType=Invitation&code=invitation.created",
            &account.admin,
        )
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    assert!(!log.body.to_string().contains("ann.lee"));
    // No spurious warning: an invitation has no externalId.
    for code in ["user.external_id_missing"] {
        let w = app
            .get(&format!("/admin/v1/audit?code={code}"), &account.admin)
            .await;
        assert_eq!(w.body["totalResults"], 0, "{code}: {}", w.body);
    }
}

/// A refused form: what it shows, how the valid form is spoiled, the status, the field named.
type Case = (&'static str, Box<dyn Fn(&mut Value)>, u16, &'static str);

#[actix_web::test]
async fn every_rule_is_refused_with_a_problem_naming_the_field_and_nothing_written() {
    let app = TestApp::new();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let (other, other_group) = account_with_group(&app, "Other").await;
    invite(&app, &other, "taken-elsewhere@example.com", &other_group).await;
    // An e-mail already a userName here (a SCIM user).
    let scim = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &crate::harness::user("taken@example.com"),
        )
        .await;
    assert_eq!(scim.status.as_u16(), 201);

    let long = "x".repeat(256);
    let cases: Vec<Case> = vec![
        (
            "no first name",
            Box::new(|f| f["givenName"] = Value::Null),
            400,
            "givenName",
        ),
        (
            "a last name of 256 characters",
            Box::new(move |f| f["familyName"] = json!(long)),
            400,
            "familyName",
        ),
        (
            "neither an e-mail address nor a phone number",
            Box::new(|f| {
                f.as_object_mut().unwrap().remove("email");
                f.as_object_mut().unwrap().remove("phoneNumber");
            }),
            400,
            "email",
        ),
        (
            "a phone number only, not a valid one",
            Box::new(|f| {
                f.as_object_mut().unwrap().remove("email");
                f["phoneNumber"] = json!("+32 470 12");
            }),
            400,
            "phoneNumber",
        ),
        (
            "not an e-mail",
            Box::new(|f| f["email"] = json!("ann at example")),
            400,
            "email",
        ),
        (
            "a phone number without country code",
            Box::new(|f| f["phoneNumber"] = json!("0470 12 34 56")),
            400,
            "phoneNumber",
        ),
        (
            "a manager without a store",
            Box::new(|f| {
                f["role"] = json!("manager");
                f["stores"] = json!([]);
            }),
            400,
            "stores",
        ),
        (
            "an unknown role",
            Box::new(|f| f["role"] = json!("boss")),
            400,
            "role",
        ),
        (
            "a store without ref id",
            Box::new(|f| f["stores"] = json!([{"name": "X", "countryCallingCode": "32"}])),
            400,
            "stores[0].refId",
        ),
        (
            "a store with a calling code that does not exist",
            Box::new(|f| f["stores"][0]["countryCallingCode"] = json!("999")),
            400,
            "stores[0].countryCallingCode",
        ),
        (
            "a new store without calling code",
            Box::new(|f| f["stores"] = json!([{"refId": "NEW-1"}])),
            400,
            "stores[0].countryCallingCode",
        ),
        (
            "no group",
            Box::new(|f| f["groupIds"] = json!([])),
            400,
            "groupIds",
        ),
        (
            "an unknown group",
            Box::new(|f| f["groupIds"] = json!(["no-such-group"])),
            400,
            "groupIds[0]",
        ),
        (
            "another account's group",
            Box::new(move |f| f["groupIds"] = json!([other_group])),
            400,
            "groupIds[0]",
        ),
        (
            "the agreement not accepted",
            Box::new(|f| f["agreementAccepted"] = json!(false)),
            400,
            "agreementAccepted",
        ),
        (
            "a language without templates",
            Box::new(|f| f["language"] = json!("es")),
            400,
            "language",
        ),
        (
            "a field of the wrong type",
            Box::new(|f| f["agreementAccepted"] = json!("yes")),
            400,
            "agreementAccepted",
        ),
        (
            "an unknown field",
            Box::new(|f| f["password"] = json!("hunter2")),
            400,
            "password",
        ),
        (
            "too many groups",
            Box::new(|f| f["groupIds"] = json!(vec!["g"; 101])),
            400,
            "groupIds",
        ),
        (
            "an e-mail that is a userName already (case-insensitively)",
            Box::new(|f| f["email"] = json!("TAKEN@example.com")),
            409,
            "email",
        ),
    ];
    for (what, mutate, status, field) in cases {
        let before = footprint(&app);
        let mut body = form("new.person@example.com", &group);
        mutate(&mut body);
        let r = app
            .post("/admin/v1/invitations", &account.admin, &body)
            .await;
        let problem = assert_problem(&r, status, Some(field));
        assert_eq!(footprint(&app), before, "{what}: something was written");
        if what == "neither an e-mail address nor a phone number" {
            assert!(
                problem.to_string().contains("mobile phone number"),
                "{what}: {problem}"
            );
        }
        assert!(
            !problem.to_string().contains("hunter2"),
            "no echo of values"
        );
    }
    // Several broken rules are named together.
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &json!({"email": "x@example.com"}),
        )
        .await;
    let problem = assert_problem(&r, 400, Some("givenName"));
    assert!(
        problem["errors"].as_array().unwrap().len() >= 4,
        "{problem}"
    );
    // The same e-mail in another account is no conflict here.
    invite(&app, &account, "taken-elsewhere@example.com", &group).await;
    // An admin token is needed.
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.scim,
            &form("a@example.com", &group),
        )
        .await;
    assert_problem(&r, 403, None);
}

/// A rule only the user-data rules judge (a new store needs its calling code; a userName is taken)
/// comes back from `users` as an attribute path and a rule, and lands on the form field that holds
/// that attribute: the element's own index, one entry, the rule's sentence.
#[actix_web::test]
async fn a_user_rule_refusal_lands_on_the_form_field_holding_the_attribute() {
    let app = TestApp::new();
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let only_error = |r: &Resp, status: u16, field: &str| {
        let problem = assert_problem(r, status, Some(field));
        let errors = problem["errors"].as_array().unwrap().clone();
        assert_eq!(errors.len(), 1, "{problem}");
        errors[0]["detail"].as_str().unwrap().to_owned()
    };

    let before = footprint(&app);
    let mut body = form("new.person@example.com", &group);
    body["stores"] = json!([
        {"refId": "GNT-01", "name": "Gent Zuid", "countryCallingCode": "32"},
        {"refId": "BRU-03", "name": "Brussel"},
    ]);
    let r = app
        .post("/admin/v1/invitations", &account.admin, &body)
        .await;
    let detail = only_error(&r, 400, "stores[1].countryCallingCode");
    assert!(
        detail.contains(
            "\"urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:stores[1].countryCallingCode\" is required"
        ),
        "{detail}"
    );
    assert_eq!(footprint(&app), before, "nothing was written");

    let scim = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &crate::harness::user("ann.lee@example.com"),
        )
        .await;
    assert_eq!(scim.status.as_u16(), 201, "{}", scim.body);
    let before = footprint(&app);
    let r = app
        .post(
            "/admin/v1/invitations",
            &account.admin,
            &form("ANN.LEE@example.com", &group),
        )
        .await;
    let detail = only_error(&r, 409, "email");
    assert!(detail.contains("already belongs to user"), "{detail}");
    assert_eq!(footprint(&app), before, "nothing was written");
}

#[actix_web::test]
async fn the_invited_users_tab_pages_by_expiry_and_markers_turn_at_53_and_57_days() {
    let (app, clock) = app_with_clock();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let first = invite(&app, &account, "first@example.com", &group).await;
    clock.advance(Duration::days(1));
    let second = invite(&app, &account, "second@example.com", &group).await;
    clock.advance(Duration::days(1));
    let third = invite(&app, &account, "third@example.com", &group).await;

    let page = app
        .get("/admin/v1/invitations?startIndex=2&count=1", &account.admin)
        .await;
    assert_eq!(page.status.as_u16(), 200, "{}", page.body);
    assert_eq!(page.body["totalResults"], 3);
    assert_eq!(page.body["itemsPerPage"], 1);
    assert_eq!(page.body["invitations"][0]["id"], second["id"]);
    let all = app.get("/admin/v1/invitations", &account.admin).await;
    let ids: Vec<&Value> = all.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(ids, [&first["id"], &second["id"], &third["id"]]);

    // Another account sees none of them.
    let (other, _) = account_with_group(&app, "Other").await;
    let theirs = app.get("/admin/v1/invitations", &other.admin).await;
    assert_eq!(theirs.body["totalResults"], 0);
    let id = third["id"].as_str().unwrap();
    assert_problem(
        &app.get(&format!("/admin/v1/invitations/{id}"), &other.admin)
            .await,
        404,
        None,
    );

    // The markers of the third invitation, to the second.
    let sent = clock.now();
    let marker_at = |offset: Duration| {
        let target = sent + offset;
        let now = clock.now();
        clock.advance(target - now);
        let app = &app;
        let admin = account.admin.clone();
        let path = format!("/admin/v1/invitations/{id}");
        async move {
            let r = app.get(&path, &admin).await;
            assert_eq!(r.status.as_u16(), 200, "{}", r.body);
            r.body["marker"].as_str().unwrap().to_owned()
        }
    };
    let second_ = Duration::seconds(1);
    assert_eq!(marker_at(Duration::days(53) - second_).await, "ok");
    assert_eq!(marker_at(Duration::days(53)).await, "yellow");
    assert_eq!(marker_at(Duration::days(57) - second_).await, "yellow");
    assert_eq!(marker_at(Duration::days(57)).await, "red");
    assert_eq!(marker_at(Duration::days(60) - second_).await, "red");
    // Expired and not yet purged: gone from the tab and the API.
    clock.advance(Duration::seconds(1));
    let tab = app.get("/admin/v1/invitations", &account.admin).await;
    assert_eq!(tab.body["totalResults"], 0, "{}", tab.body);
    let r = app
        .get(&format!("/admin/v1/invitations/{id}"), &account.admin)
        .await;
    assert_problem(&r, 404, None);
}

#[actix_web::test]
async fn a_resend_waits_24_hours_from_the_last_send_that_went_out_to_the_second() {
    let (app, clock) = app_with_clock();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let id = inv["id"].as_str().unwrap();
    let path = format!("/admin/v1/invitations/{id}/resend");
    let resend = || app.call(Method::POST, &path, &account.admin, None);
    app.run_due_jobs();
    let sent = app
        .get(&format!("/admin/v1/invitations/{id}"), &account.admin)
        .await;
    assert_eq!(sent.body["delivery"]["status"], "sent", "{}", sent.body);
    assert_eq!(
        sent.body["resendAvailableAt"],
        mobietrain_scim::clock::rfc3339(clock.now_naive() + Duration::hours(24))
    );

    clock.advance(Duration::hours(24) - Duration::seconds(1));
    let before = footprint(&app);
    let r = resend().await;
    assert_problem(&r, 429, None);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(footprint(&app), before, "nothing sent, nothing written");

    clock.advance(Duration::seconds(1));
    let r = resend().await;
    assert_eq!(r.status.as_u16(), 202, "{}", r.body);
    assert_eq!(
        r.body["lastSentAt"],
        mobietrain_scim::clock::rfc3339(clock.now_naive())
    );
    assert_eq!(
        r.body["expiresAt"], inv["expiresAt"],
        "a resend does not extend"
    );
    assert_eq!(r.body["firstSentAt"], sent.body["firstSentAt"]);
    assert_eq!(r.body["delivery"]["status"], "queued");
    let sends: Vec<String> = jobs::table
        .filter(jobs::name.eq("invitations.email"))
        .filter(jobs::dedup_key.like(format!("invitation:{id}:send:%")))
        .select(jobs::dedup_key.assume_not_null())
        .order(jobs::dedup_key.asc())
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(
        sends,
        [
            format!("invitation:{id}:send:1"),
            format!("invitation:{id}:send:2")
        ]
    );

    // The cool-down now counts from this send, once it went out.
    app.run_due_jobs();
    clock.advance(Duration::minutes(30));
    let r = resend().await;
    assert_problem(&r, 429, None);
    assert_eq!(
        r.header("retry-after").as_deref(),
        Some((23 * 3600 + 30 * 60).to_string().as_str())
    );
    // Unknown invitations are a 404.
    let r = app
        .call(
            Method::POST,
            "/admin/v1/invitations/nope/resend",
            &account.admin,
            None,
        )
        .await;
    assert_problem(&r, 404, None);
}

#[actix_web::test]
async fn withdrawing_deletes_the_invitation_its_user_and_its_waiting_jobs() {
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let id = inv["id"].as_str().unwrap();
    let token = token_of(&app, id);
    let r = app
        .delete(&format!("/admin/v1/invitations/{id}"), &account.admin)
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    assert_eq!(
        (
            app.count("invitations"),
            app.count("users"),
            app.count("jobs")
        ),
        (0, 0, 0)
    );
    let log = app
        .get("/admin/v1/audit?code=invitation.withdrawn", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1);
    let all = app.get("/admin/v1/audit?count=100", &account.admin).await;
    assert!(
        !all.body.to_string().contains("ann@example.com"),
        "the user's data is redacted: {}",
        all.body
    );
    // Gone, and the link with it.
    assert_problem(
        &app.delete(&format!("/admin/v1/invitations/{id}"), &account.admin)
            .await,
        404,
        None,
    );
    let r = app
        .post("/invitations/accept", "unused", &json!({ "token": token }))
        .await;
    let problem = assert_problem(&r, 410, None);
    assert!(problem["detail"].as_str().unwrap().contains("withdrawn"));
}

#[actix_web::test]
async fn accepting_registers_the_user_begins_a_session_and_ends_every_link() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let id = inv["id"].as_str().unwrap();
    let user_id = inv["userId"].as_str().unwrap();
    let token = token_of(&app, id);

    // A forged MAC, a malformed token, a missing token: refused, nothing changed.
    let before = footprint(&app);
    let (prefix, _) = token.split_once('.').unwrap();
    for bad in [
        json!({"token": format!("{prefix}.AAAA")}),
        json!({"token": "no-dot"}),
        json!({"token": "x".repeat(500)}),
    ] {
        let r = app.post("/invitations/accept", "unused", &bad).await;
        assert!([400, 404].contains(&r.status.as_u16()), "{bad}: {}", r.body);
        assert_problem(&r, r.status.as_u16(), None);
    }
    assert_problem(
        &app.post("/invitations/accept", "unused", &json!({})).await,
        400,
        Some("token"),
    );
    assert_eq!(footprint(&app), before);

    clock.advance(Duration::days(10));
    let r = app
        .post("/invitations/accept", "unused", &json!({ "token": token }))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["userId"], user_id);
    assert!(r.body["sessionToken"].as_str().unwrap().starts_with("mta_"));
    assert_eq!(
        r.body["expiresAt"],
        mobietrain_scim::clock::rfc3339(clock.now_naive() + Duration::days(14))
    );
    assert_eq!(app.count("invitations"), 0);
    assert_eq!(app.count("sessions"), 1);
    let waiting: i64 = jobs::table
        .filter(jobs::state.eq("queued"))
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(waiting, 0, "the invitation's waiting jobs went with it");
    let registration: String = users::table
        .find(user_id)
        .select(users::registration)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(registration, "registered");
    let log = app
        .get("/admin/v1/audit?code=invitation.accepted", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1);

    // The same link again: the invitation is gone; its tombstone says it was accepted.
    let before = footprint(&app);
    let r = app
        .post("/invitations/accept", "unused", &json!({ "token": token }))
        .await;
    assert_problem(&r, 409, None);
    assert_eq!(r.body["outcome"], "accepted");
    assert_eq!(footprint(&app), before);
}

#[actix_web::test]
async fn expired_crewplanner_only_and_deactivated_users_cannot_accept() {
    let (app, clock) = app_with_clock();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let expired = invite(&app, &account, "late@example.com", &group).await;
    let crew = invite(&app, &account, "crew@example.com", &group).await;
    let inactive = invite(&app, &account, "gone@example.com", &group).await;
    diesel::update(users::table.find(crew["userId"].as_str().unwrap()))
        .set(users::sign_in.eq("crewplanner"))
        .execute(&mut app.conn())
        .unwrap();
    diesel::update(users::table.find(inactive["userId"].as_str().unwrap()))
        .set(users::active.eq(false))
        .execute(&mut app.conn())
        .unwrap();
    let tokens: Vec<String> = [&expired, &crew, &inactive]
        .iter()
        .map(|i| token_of(&app, i["id"].as_str().unwrap()))
        .collect();

    let before = footprint(&app);
    for (token, status) in tokens[1..].iter().zip([403, 403]) {
        let r = app
            .post("/invitations/accept", "unused", &json!({ "token": token }))
            .await;
        let problem = assert_problem(&r, status, None);
        assert_eq!(footprint(&app), before, "{problem}");
    }
    let r = app
        .post(
            "/invitations/accept",
            "unused",
            &json!({ "token": tokens[1] }),
        )
        .await;
    assert!(r.body["detail"].as_str().unwrap().contains("CrewPlanner"));

    // Expired (the purge job has not run yet): 410, nothing changed.
    clock.advance(Duration::days(60));
    let r = app
        .post(
            "/invitations/accept",
            "unused",
            &json!({ "token": tokens[0] }),
        )
        .await;
    assert_problem(&r, 410, None);
    assert_eq!(footprint(&app), before);
}

#[test]
fn of_concurrent_accepts_and_resends_exactly_one_wins() {
    let app = TestApp::new();
    let (account, group, inv) = actix_web::rt::System::new().block_on(async {
        let (account, group) = account_with_group(&app, "Acme Retail").await;
        let inv = invite(&app, &account, "ann@example.com", &group).await;
        (account, group, inv)
    });
    let id = inv["id"].as_str().unwrap().to_owned();
    let token = token_of(&app, &id);
    let (base, server) = app.serve(4);

    // Resends of an invitation whose cool-down is over (its send went out a day ago).
    let day_ago = row(&app, &id).unwrap().last_sent_at - Duration::days(1);
    diesel::update(invitations::table.find(&id))
        .set((
            invitations::last_sent_at.eq(day_ago),
            invitations::last_delivered_at.eq(Some(day_ago)),
            invitations::delivery_status.eq("sent"),
        ))
        .execute(&mut app.conn())
        .unwrap();
    let resend = format!("{base}/admin/v1/invitations/{id}/resend");
    let mut statuses: Vec<u16> = crate::concurrency::at_once(
        (0..6)
            .map(|_| ("POST", resend.clone(), account.admin.clone(), json!({})))
            .collect(),
    )
    .into_iter()
    .map(|(s, _)| s)
    .collect();
    statuses.sort();
    // One resend queues a send; the others find it queued and untried, and add nothing.
    assert_eq!(statuses, [202, 202, 202, 202, 202, 202]);
    assert_eq!(row(&app, &id).unwrap().sends, 2);

    let accept = format!("{base}/invitations/accept");
    let results = crate::concurrency::at_once(
        (0..6)
            .map(|_| {
                (
                    "POST",
                    accept.clone(),
                    String::new(),
                    json!({ "token": token }),
                )
            })
            .collect(),
    );
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    let refused = results
        .iter()
        .filter(|(s, _)| [404, 409, 410].contains(s))
        .count();
    assert_eq!((ok, refused), (1, 5), "{results:?}");
    assert_eq!(app.count("sessions"), 1);
    let _ = group;
    actix_web::rt::System::new().block_on(server.stop(true));
}
