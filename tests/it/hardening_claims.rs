//! The hardening issue's findings 3 and 4 and what goes with them, through the real HTTP app on the
//! backend under test: CrewPlanner time claims that overflowed, control characters in single-line
//! attributes (refused alike on SQLite and PostgreSQL), names with CR/LF from before that made the
//! invitation e-mail job panic, and `manager.value` that must be a user of the caller's account.

use std::sync::Arc;

use actix_web::http::Method;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mobietrain_scim::crewplanner::refusal::Reason;
use mobietrain_scim::db::schema::{accounts, jobs, used_jtis, user_emails, users};
use mobietrain_scim::email::Mailer;
use mobietrain_scim::email::memory::MemoryMailer;
use serde_json::{Value, json};

use crate::crewplanner::{
    app_with, assert_refused, assert_signed_in, claims, launch, rs256, rsa_platform, written,
};
use crate::harness::{Resp, TestAccount, TestApp, captured_logs, user};
use crate::invitations::{
    account_with_group, app_with_clock, assert_problem, footprint, form, invite,
};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// The characters a single-line attribute refuses: CR, LF, NUL, TAB, ESC, DEL, a C1 control (NEL)
/// and the Unicode line separator.
const FORBIDDEN: &[char] = &[
    '\r', '\n', '\0', '\t', '\u{1b}', '\u{7f}', '\u{85}', '\u{2028}',
];

async fn patch(app: &TestApp, path: &str, token: &str, operations: Value) -> Resp {
    app.call(
        Method::PATCH,
        path,
        token,
        Some(&json!({"schemas": [PATCH_OP], "Operations": operations})),
    )
    .await
}

/// Asserts a 400 `invalidValue` whose detail names `attribute`.
#[track_caller]
fn assert_invalid_naming(resp: &Resp, attribute: &str) {
    let detail = resp.assert_scim_error(400, Some("invalidValue"));
    assert!(
        detail.contains(attribute),
        "the detail names {attribute}: {detail}"
    );
}

// ---- Finding 3: CrewPlanner time checks --------------------------------------------------------

#[actix_web::test]
async fn the_reported_overflowing_token_is_refused_every_time_and_writes_nothing() {
    let (app, account) = app_with(rsa_platform());
    let mut c = claims(&account.id, "emp-overflow");
    c["iat"] = json!(-9_223_372_036_854_775_708_i64);
    c["exp"] = json!(9_223_372_036_854_775_747_u64);
    let jwt = rs256(&c);
    let before = written(&app);
    // It used to sign in three times in a row: its jti was remembered until "now" only.
    for attempt in 1..=3 {
        let resp = launch(&app, &account.id, &jwt).await;
        assert_refused(&resp, Reason::InvalidTime);
        assert!(
            resp.body["detail"].as_str().unwrap().contains("iat"),
            "attempt {attempt}: {}",
            resp.body
        );
        assert_eq!(written(&app), before, "attempt {attempt} writes nothing");
    }
    assert_eq!(app.state.crewplanner.refusals.get(Reason::InvalidTime), 3);
    assert_signed_in(&launch(&app, &account.id, &rs256(&claims(&account.id, "emp-ok"))).await);
}

#[actix_web::test]
async fn a_ten_year_token_and_absurd_times_are_refused() {
    let (app, account) = app_with(rsa_platform());
    let now = Utc::now().timestamp();
    let ten_years = 10 * 365 * 86_400;
    // (what, the claims changed, the refusal)
    let cases = [
        (
            "a 10-year exp",
            json!({"iat": now, "exp": now + ten_years}),
            Reason::LifetimeTooLong,
        ),
        (
            "a 10-year exp over an iat near i64::MIN",
            json!({"iat": -9_223_372_036_854_775_708_i64, "exp": now + ten_years}),
            Reason::InvalidTime,
        ),
        (
            "exp beyond what any integer holds",
            json!({"exp": 1e300}),
            Reason::InvalidTime,
        ),
        (
            "exp at u64::MAX",
            json!({"exp": u64::MAX}),
            Reason::InvalidTime,
        ),
        (
            "a negative nbf",
            json!({"nbf": i64::MIN}),
            Reason::InvalidTime,
        ),
        (
            "exp before iat",
            json!({"iat": now, "exp": now - 1}),
            Reason::InvalidTime,
        ),
    ];
    let before = written(&app);
    for (what, change, reason) in &cases {
        let mut c = claims(&account.id, "emp-1");
        for (claim, value) in change.as_object().unwrap() {
            c[claim] = value.clone();
        }
        let resp = launch(&app, &account.id, &rs256(&c)).await;
        assert_eq!(resp.body["reason"], reason.code(), "{what}: {}", resp.body);
        assert_refused(&resp, *reason);
        assert_eq!(written(&app), before, "{what}: nothing written");
    }
}

#[actix_web::test]
async fn the_jti_is_remembered_until_exp_plus_the_leeway_and_a_replay_is_refused() {
    let (app, account) = app_with(rsa_platform());
    let c = claims(&account.id, "emp-jti");
    let exp = c["exp"].as_i64().unwrap();
    let jwt = rs256(&c);
    assert_signed_in(&launch(&app, &account.id, &jwt).await);
    let remembered: chrono::NaiveDateTime = used_jtis::table
        .filter(used_jtis::account_id.eq(&account.id))
        .filter(used_jtis::jti.eq(c["jti"].as_str().unwrap()))
        .select(used_jtis::expires_at)
        .first(&mut app.conn())
        .unwrap();
    let leeway = app.state.crewplanner.leeway_secs;
    assert_eq!(
        remembered,
        DateTime::from_timestamp(exp + leeway, 0)
            .unwrap()
            .naive_utc(),
        "computed from exp and the leeway, never \"now\""
    );
    let before = written(&app);
    assert_refused(&launch(&app, &account.id, &jwt).await, Reason::Replayed);
    assert_eq!(written(&app), before);
}

#[actix_web::test]
async fn control_characters_in_claims_are_refusals_naming_the_claim_not_errors() {
    let (app, account) = app_with(rsa_platform());
    let before = written(&app);
    for claim in [
        "sub",
        "given_name",
        "family_name",
        "email",
        "phone_number",
        "locale",
        "job_title",
        "department",
    ] {
        for bad in ["Ann\r\nLee", "Ann\u{0}Lee", "Ann\tLee"] {
            let mut c = claims(&account.id, "emp-cc");
            c[claim] = json!(bad);
            let resp = launch(&app, &account.id, &rs256(&c)).await;
            assert_refused(&resp, Reason::InvalidClaim);
            let detail = resp.body["detail"].as_str().unwrap();
            assert!(detail.contains(claim), "{claim} = {bad:?}: {detail}");
            assert!(!detail.contains("Ann"), "no value in the detail: {detail}");
            assert_eq!(written(&app), before, "{claim} = {bad:?}: nothing written");
        }
    }
    // A user CrewPlanner made takes updates from later tokens: a bad one changes nothing.
    let code =
        assert_signed_in(&launch(&app, &account.id, &rs256(&claims(&account.id, "emp-cc"))).await);
    assert!(!code.is_empty());
    let mut c = claims(&account.id, "emp-cc");
    c["job_title"] = json!("Cashier\u{0}");
    assert_refused(
        &launch(&app, &account.id, &rs256(&c)).await,
        Reason::InvalidClaim,
    );
    let title: Option<String> = users::table
        .filter(users::external_id.eq("emp-cc"))
        .select(users::title)
        .first(&mut app.conn())
        .unwrap();
    assert_eq!(title.as_deref(), Some("Cashier"));
}

// ---- Control characters in single-line attributes ---------------------------------------------

/// Sets the attribute at `path` of a valid user body to `value`.
fn with_value(path: &str, value: &str) -> Value {
    let mut body = user("ann@example.com");
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT, MT]);
    match path {
        "name.givenName" => body["name"]["givenName"] = json!(value),
        "name.familyName" => body["name"]["familyName"] = json!(value),
        "name.middleName" => body["name"]["middleName"] = json!(value),
        "name.formatted" => body["name"]["formatted"] = json!(value),
        "emails[0].value" => body["emails"][0]["value"] = json!(format!("ann{value}@example.com")),
        "phoneNumbers[0].value" => {
            body["phoneNumbers"] = json!([{"value": format!("+32 470{value}12 34 56")}])
        }
        "addresses[0].locality" => body["addresses"] = json!([{"locality": value}]),
        "addresses[0].streetAddress" => body["addresses"] = json!([{"streetAddress": value}]),
        "department" => body[ENT] = json!({"department": value}),
        "companyId" => body[MT] = json!({"companyId": value}),
        "storeName" => {
            body[MT] =
                json!({"storeRefId": "GNT-01", "storeName": value, "storeCountryCallingCode": "32"})
        }
        other => body[other] = json!(value),
    }
    body
}

#[actix_web::test]
async fn control_characters_in_single_line_user_attributes_are_invalid_values_on_every_write() {
    let app = TestApp::new();
    let acct = app.account("Acme");
    // (the attribute set, the path the detail names)
    let attributes = [
        ("userName", "userName"),
        ("externalId", "externalId"),
        ("name.givenName", "name.givenName"),
        ("name.familyName", "name.familyName"),
        ("name.middleName", "name.middleName"),
        ("name.formatted", "name.formatted"),
        ("displayName", "displayName"),
        ("nickName", "nickName"),
        ("title", "title"),
        ("emails[0].value", "emails[0].value"),
        ("phoneNumbers[0].value", "phoneNumbers[0].value"),
        ("addresses[0].locality", "addresses[0].locality"),
        ("department", "department"),
        ("companyId", "companyId"),
        // The flat primary-store attribute writes stores[0]; its errors name the flat attribute
        // the client mapped.
        ("storeName", "storeName"),
    ];
    let before = (app.count("users"), app.count("stores"));
    for (attribute, named) in attributes {
        for c in FORBIDDEN {
            let value = format!("Ann{c}Lee");
            let resp = app
                .post("/scim/v2/Users", &acct.scim, &with_value(attribute, &value))
                .await;
            // A NUL is refused by the request's intake, which names the attribute as sent.
            let named = if *c == '\0' { attribute } else { named };
            assert_invalid_naming(&resp, named);
            assert!(
                resp.body["detail"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("U+{:04X}", u32::from(*c))),
                "{}",
                resp.body
            );
        }
    }
    assert_eq!(
        (app.count("users"), app.count("stores")),
        (before.0, before.1),
        "nothing written"
    );

    // Replace and PATCH are held to the same rule.
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("bob@example.com"))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/scim/v2/Users/{id}");
    let resp = app
        .put(
            &path,
            &acct.scim,
            &with_value("name.givenName", "Bob\r\nLee"),
        )
        .await;
    assert_invalid_naming(&resp, "name.givenName");
    for (op_path, value) in [
        ("displayName", json!("Bob\u{1}")),
        ("name.familyName", json!("Lee\n")),
        ("title", json!("Cashier\tNight")),
        (
            "emails[type eq \"work\"].value",
            json!("bob\r\n@example.com"),
        ),
    ] {
        let resp = patch(
            &app,
            &path,
            &acct.scim,
            json!([{"op": "replace", "path": op_path, "value": value}]),
        )
        .await;
        let named = op_path.split('[').next().unwrap();
        assert_invalid_naming(&resp, named);
    }
    let stored = app.get(&path, &acct.scim).await;
    assert_eq!(stored.body["name"]["givenName"], "Ann");
    assert_eq!(
        stored.body["meta"]["version"],
        created.body["meta"]["version"]
    );
}

#[actix_web::test]
async fn an_address_may_span_lines_but_holds_no_other_control_character() {
    let app = TestApp::new();
    let acct = app.account("Acme");
    let ok = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &with_value("addresses[0].streetAddress", "Main St 1\r\nFloor 2\tB"),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.body);
    assert_eq!(
        ok.body["addresses"][0]["streetAddress"], "Main St 1\r\nFloor 2\tB",
        "stored as sent"
    );
    for c in ['\0', '\u{1b}', '\u{7f}'] {
        let mut body = with_value("addresses[0].streetAddress", &format!("Main St{c}1"));
        body["userName"] = json!("other@example.com");
        body["externalId"] = json!("ext-other");
        let resp = app.post("/scim/v2/Users", &acct.scim, &body).await;
        assert_invalid_naming(&resp, "addresses[0].streetAddress");
    }
    assert_eq!(app.count("users"), 1);
}

#[actix_web::test]
async fn control_characters_in_group_text_and_member_ids_are_invalid_values() {
    let app = TestApp::new();
    let acct = app.account("Acme");
    let group = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name});
    for c in FORBIDDEN {
        let resp = app
            .post(
                "/scim/v2/Groups",
                &acct.scim,
                &group(&format!("Sales{c}North")),
            )
            .await;
        assert_invalid_naming(&resp, "displayName");
    }
    let mut with_external = group("Sales");
    with_external["externalId"] = json!("g\u{0}1");
    assert_invalid_naming(
        &app.post("/scim/v2/Groups", &acct.scim, &with_external)
            .await,
        "externalId",
    );
    let mut with_type = group("Sales");
    with_type["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"] =
        json!({"groupType": "Dept\n"});
    assert_invalid_naming(
        &app.post("/scim/v2/Groups", &acct.scim, &with_type).await,
        "groupType",
    );
    // A member id holding NUL is no user here: the same 400 on both backends, never a 500.
    let mut with_member = group("Sales");
    with_member["members"] = json!([{"value": "u\u{0}1"}]);
    assert_invalid_naming(
        &app.post("/scim/v2/Groups", &acct.scim, &with_member).await,
        "members",
    );
    assert_eq!(app.count("groups"), 0, "nothing written");

    let created = app
        .post("/scim/v2/Groups", &acct.scim, &group("Sales"))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let path = format!("/scim/v2/Groups/{}", created.body["id"].as_str().unwrap());
    let resp = patch(
        &app,
        &path,
        &acct.scim,
        json!([{"op": "replace", "path": "displayName", "value": "Sales\r\nSouth"}]),
    )
    .await;
    assert_invalid_naming(&resp, "displayName");
    let resp = patch(
        &app,
        &path,
        &acct.scim,
        json!([{"op": "add", "path": "members", "value": [{"value": "u\u{1}1"}]}]),
    )
    .await;
    assert_invalid_naming(&resp, "members");
    let resp = app.put(&path, &acct.scim, &group("Sales\u{0}")).await;
    assert_invalid_naming(&resp, "displayName");
    let stored = app.get(&path, &acct.scim).await;
    assert_eq!(stored.body["displayName"], "Sales");
    assert_eq!(
        stored.body["meta"]["version"],
        created.body["meta"]["version"]
    );
}

#[actix_web::test]
async fn control_characters_in_the_invitation_form_are_named_per_field() {
    let app = TestApp::new();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let before = footprint(&app);
    for (field, change) in [
        ("givenName", json!({"givenName": "Ann\nLee"})),
        ("familyName", json!({"familyName": "Lee\u{0}"})),
        ("jobPosition", json!({"jobPosition": "Cashier\tNight"})),
        ("companyId", json!({"companyId": "E\r1"})),
        ("email", json!({"email": "ann\r\n@example.com"})),
        ("email", json!({"email": "ann\u{0}@example.com"})),
        (
            "phoneNumber",
            json!({"phoneNumber": "+32 470\u{0}12 34 56"}),
        ),
        (
            "stores[0].name",
            json!({"stores": [{"refId": "GNT-01", "name": "Gent\nZuid", "countryCallingCode": "32"}]}),
        ),
        (
            "stores[0].refId",
            json!({"stores": [{"refId": "GNT\u{0}01", "name": "Gent", "countryCallingCode": "32"}]}),
        ),
        ("groupIds[0]", json!({"groupIds": ["g\u{0}1"]})),
    ] {
        let mut body = form("ann@example.com", &group);
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let resp = app
            .post("/admin/v1/invitations", &account.admin, &body)
            .await;
        assert_problem(&resp, 400, Some(field));
        assert_eq!(footprint(&app), before, "{field}: nothing written");
    }
    invite(&app, &account, "ann@example.com", &group).await;
}

// ---- Finding 4: the invitation e-mail with CR/LF in a name -----------------------------------

/// Runs the jobs due at the clock's time until none is due (failures included).
fn run_due_jobs(app: &TestApp, mailer: Arc<MemoryMailer>) {
    app.run_due_jobs_with(mailer as Arc<dyn Mailer>, Vec::new());
}

/// The state, attempts and last error of the invitation's first e-mail job.
fn email_job(app: &TestApp) -> (String, i32, Option<String>) {
    jobs::table
        .filter(jobs::name.eq("invitations.email"))
        .filter(jobs::dedup_key.like("%:send:1"))
        .select((jobs::state, jobs::attempts, jobs::last_error))
        .first(&mut app.conn())
        .unwrap()
}

#[actix_web::test]
async fn a_name_with_cr_lf_from_before_is_mailed_once_with_clean_headers() {
    let (app, _clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let user_id = inv["userId"].as_str().unwrap().to_owned();
    // Rows written before the input rules refused control characters: the job must cope.
    let name = if app.db.is_postgres() {
        "Ann\r\nBcc: victim@evil.example"
    } else {
        // SQLite stored NUL too, before; PostgreSQL never could.
        "Ann\r\nBcc: victim@evil.example\u{0}"
    };
    diesel::update(users::table.filter(users::id.eq(&user_id)))
        .set(users::given_name.eq(name))
        .execute(&mut app.conn())
        .unwrap();
    diesel::update(accounts::table.filter(accounts::id.eq(&account.id)))
        .set(accounts::name.eq("Acme\r\nX-Injected: yes"))
        .execute(&mut app.conn())
        .unwrap();

    let mailer = Arc::new(MemoryMailer::new());
    run_due_jobs(&app, mailer.clone());
    let sent = mailer.sent();
    assert_eq!(sent.len(), 1, "delivered once");
    let mail = &sent[0];
    let to_name = mail.to_name.as_deref().unwrap();
    // The full name (given, family) stands in `To:`, cleaned like the greeting.
    assert_eq!(to_name, "Ann Bcc: victim@evil.example Lee");
    for header in [to_name, mail.subject.as_str()] {
        assert!(
            !header.chars().any(char::is_control),
            "no control character in a header: {header:?}"
        );
    }
    assert!(
        mail.subject.contains("Acme X-Injected: yes"),
        "{}",
        mail.subject
    );
    assert!(!mail.text.contains('\0'), "nor in the greeting");
    let (state, attempts, _) = email_job(&app);
    assert_eq!((state.as_str(), attempts), ("done", 1));
    assert!(!captured_logs().contains("victim@evil.example"));
}

#[actix_web::test]
async fn a_message_that_cannot_be_built_fails_for_good_at_once_without_a_panic() {
    let (app, _clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let user_id = inv["userId"].as_str().unwrap().to_owned();
    // An address from before the rules refused control characters: no message can be built.
    diesel::update(user_emails::table.filter(user_emails::user_id.eq(&user_id)))
        .set(user_emails::value.eq("ann\r\n@example.com"))
        .execute(&mut app.conn())
        .unwrap();

    let mailer = Arc::new(MemoryMailer::new());
    run_due_jobs(&app, mailer.clone());
    assert!(mailer.sent().is_empty());
    let (state, attempts, last_error) = email_job(&app);
    let last_error = last_error.unwrap_or_default();
    assert_eq!(
        (state.as_str(), attempts),
        ("failed", 1),
        "failed for good on the first attempt, not retried: {last_error}"
    );
    assert!(last_error.contains("cannot be built"), "{last_error}");
    assert!(!last_error.contains("panicked"), "{last_error}");
}

// ---- manager.value -----------------------------------------------------------------------------

async fn new_user(app: &TestApp, acct: &TestAccount, user_name: &str) -> String {
    let r = app
        .post("/scim/v2/Users", &acct.scim, &user(user_name))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn managed_by(user_name: &str, manager: &str) -> Value {
    let mut body = user(user_name);
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENT]);
    body[ENT] = json!({"manager": {"value": manager}});
    body
}

#[actix_web::test]
async fn manager_value_must_be_a_user_of_the_callers_account() {
    let app = TestApp::new();
    let acme = app.account("Acme");
    let globex = app.account("Globex");
    let boss = new_user(&app, &acme, "boss@acme.example").await;
    let foreign = new_user(&app, &globex, "boss@globex.example").await;
    let group = app
        .post(
            "/scim/v2/Groups",
            &acme.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Sales"}),
        )
        .await;
    let group = group.body["id"].as_str().unwrap().to_owned();
    let unknown = "0190aaaa-0000-7000-8000-000000000000".to_owned();
    let users_before = app.count("users");

    // Create: another account's user answers exactly as an id that exists nowhere.
    let mut details = Vec::new();
    for manager in [&foreign, &unknown, &group, &"x\u{0}".to_owned()] {
        let resp = app
            .post(
                "/scim/v2/Users",
                &acme.scim,
                &managed_by("ann@acme.example", manager),
            )
            .await;
        assert_invalid_naming(&resp, "manager.value");
        details.push(
            resp.body["detail"]
                .as_str()
                .unwrap()
                .replace(manager.as_str(), "ID"),
        );
    }
    assert_eq!(
        details[0], details[1],
        "another account's user is just unknown"
    );
    assert_eq!(app.count("users"), users_before, "nothing written");

    let ok = app
        .post(
            "/scim/v2/Users",
            &acme.scim,
            &managed_by("ann@acme.example", &boss),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 201, "{}", ok.body);
    assert_eq!(ok.body[ENT]["manager"]["value"], json!(boss));
    let path = format!("/scim/v2/Users/{}", ok.body["id"].as_str().unwrap());

    // Replace and PATCH (every form Entra and Okta send) are held to the same rule.
    let resp = app
        .put(&path, &acme.scim, &managed_by("ann@acme.example", &foreign))
        .await;
    assert_invalid_naming(&resp, "manager.value");
    for operation in [
        json!({"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": foreign}}),
        json!({"op": "Replace", "path": format!("{ENT}:manager"), "value": foreign}),
        json!({"op": "add", "path": "manager", "value": [{"value": unknown}]}),
        json!({"op": "replace", "path": format!("{ENT}:manager.value"), "value": group}),
    ] {
        let resp = patch(&app, &path, &acme.scim, json!([operation])).await;
        assert_invalid_naming(&resp, "manager.value");
    }
    let stored = app.get(&path, &acme.scim).await;
    assert_eq!(stored.body[ENT]["manager"]["value"], json!(boss));
    assert_eq!(stored.body["meta"]["version"], ok.body["meta"]["version"]);

    // Filters on manager see the reference as stored.
    let filter = format!("/scim/v2/Users?filter={ENT}:manager%20eq%20%22{boss}%22");
    assert_eq!(app.get(&filter, &acme.scim).await.body["totalResults"], 1);

    // A manager deleted since leaves a stale value: a client resending the user as read, or
    // patching something else, is not refused for it.
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{boss}"), &acme.scim)
            .await
            .status
            .as_u16(),
        204
    );
    let resp = patch(
        &app,
        &path,
        &acme.scim,
        json!([{"op": "replace", "path": "title", "value": "Cashier"}]),
    )
    .await;
    assert_eq!(resp.status.as_u16(), 200, "{}", resp.body);
    let resent = app
        .put(&path, &acme.scim, &managed_by("ann@acme.example", &boss))
        .await;
    assert_eq!(resent.status.as_u16(), 200, "{}", resent.body);
    let resp = patch(
        &app,
        &path,
        &acme.scim,
        json!([{"op": "remove", "path": format!("{ENT}:manager")}]),
    )
    .await;
    assert_eq!(resp.status.as_u16(), 200, "{}", resp.body);
    assert!(resp.body[ENT].get("manager").is_none(), "{}", resp.body);
}
