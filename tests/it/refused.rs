//! Refused provisioning requests in the provisioning log (`request.refused`): what was refused,
//! why, and who the resource was as sent; kept a number of days, then purged.

use std::sync::Arc;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use chrono::Duration;
use mobietrain_scim::audit::{self, Event, refused};
use mobietrain_scim::clock::{Clock, SystemClock};
use mobietrain_scim::context::Actor;
use mobietrain_scim::email::Mailer;
use serde_json::{Value, json};

use crate::etags::create;
use crate::harness::{TestAccount, TestApp, user};

async fn refusals(app: &TestApp, acct: &TestAccount) -> Vec<Value> {
    let log = app
        .get("/admin/v1/audit?code=request.refused", &acct.admin)
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    log.body["events"].as_array().unwrap().clone()
}

#[actix_web::test]
async fn a_refused_create_is_in_the_log_with_why_and_who() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["externalId"] = json!("E-1001");
    body["name"] = json!({"givenName": "Ann"});
    let refused = app.post("/scim/v2/Users", &acct.scim, &body).await;
    refused.assert_scim_error(400, Some("invalidValue"));
    assert_eq!(app.count("users"), 0, "nothing was written");

    let events = refusals(&app, &acct).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let event = &events[0];
    assert_eq!(event["action"], "refuse");
    assert_eq!(event["resourceType"], "User");
    assert_eq!(event["actor"], "test scim");
    let detail = &event["detail"];
    assert_eq!(detail["method"], "POST");
    assert_eq!(detail["status"], 400);
    assert_eq!(detail["scimType"], "invalidValue");
    assert_eq!(detail["detail"], refused.body["detail"]);
    assert_eq!(detail["externalId"], "E-1001");
    assert_eq!(detail["userName"], "ann@example.com");
}

#[actix_web::test]
async fn control_characters_are_escaped_and_long_values_cut() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("bob@example.com");
    body["externalId"] = json!("E-7\n\u{1b}[2Jforged line");
    body["userName"] = json!("x".repeat(5000));
    body["name"] = json!({});
    let refused = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let events = refusals(&app, &acct).await;
    let detail = &events[0]["detail"];
    assert_eq!(detail["externalId"], "E-7\\u{000a}\\u{001b}[2Jforged line");
    let user_name = detail["userName"].as_str().unwrap();
    assert_eq!(user_name.chars().count(), refused::MAX_SENT_CHARS + 1);
    assert!(user_name.ends_with('…'));
}

#[actix_web::test]
async fn conflicts_preconditions_and_group_writes_count_and_reads_and_strangers_do_not() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = create(&app, &acct, &user("ann@example.com")).await;

    // 409: the userName is taken.
    let mut twin = user("ann@example.com");
    twin["externalId"] = json!("ext-twin");
    let taken = app.post("/scim/v2/Users", &acct.scim, &twin).await;
    taken.assert_scim_error(409, Some("uniqueness"));
    // 412: a stale If-Match on a PATCH.
    let stale = app
        .send(
            TestRequest::patch()
                .uri(&format!("/scim/v2/Users/{id}"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("Content-Type", "application/scim+json"))
                .insert_header(("If-Match", "W/\"999\""))
                .set_payload(
                    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                           "Operations": [{"op": "replace", "path": "userName",
                                           "value": "ann.lee@example.com"}]})
                    .to_string(),
                ),
        )
        .await;
    stale.assert_scim_error(412, None);
    // A group create without a displayName.
    let group = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "externalId": "G-1"}),
        )
        .await;
    assert_eq!(group.status, 400, "{}", group.body);
    // Not recorded: a read of an unknown user, and a write without a valid token.
    assert_eq!(
        app.get("/scim/v2/Users/nobody", &acct.scim).await.status,
        404
    );
    let stranger = app
        .call(Method::POST, "/scim/v2/Users", "not-a-token", Some(&twin))
        .await;
    assert_eq!(stranger.status, 401);

    let events = refusals(&app, &acct).await;
    let seen: Vec<(Value, Value, Value)> = events
        .iter()
        .map(|e| {
            (
                e["resourceType"].clone(),
                e["detail"]["method"].clone(),
                e["detail"]["status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (json!("Group"), json!("POST"), json!(400)),
            (json!("User"), json!("PATCH"), json!(412)),
            (json!("User"), json!("POST"), json!(409)),
        ],
        "newest first"
    );
    assert_eq!(events[0]["detail"]["externalId"], "G-1");
    assert_eq!(events[1]["resourceId"], json!(id));
    assert_eq!(
        events[1]["detail"]["userName"], "ann.lee@example.com",
        "the userName the PATCH sent"
    );
    assert_eq!(events[2]["detail"]["externalId"], "ext-twin");
    assert_eq!(app.count("users"), 1);
}

#[actix_web::test]
async fn the_purge_removes_old_refusals_only() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let now = SystemClock.now_naive();
    let actor = Actor {
        label: "test scim".into(),
        token_id: None,
    };
    let refusal = |detail: &'static str| refused::Refusal {
        method: "POST",
        resource_type: "User",
        resource_id: None,
        status: 400,
        scim_type: Some("invalidValue"),
        detail,
        sent: vec![("externalId", "E-1")],
    };
    let mut conn = app.conn();
    refused::record(
        &mut conn,
        &acct.id,
        &actor,
        &refusal("old"),
        now - Duration::days(31),
    )
    .unwrap();
    refused::record(
        &mut conn,
        &acct.id,
        &actor,
        &refusal("recent"),
        now - Duration::days(29),
    )
    .unwrap();
    audit::record(
        &mut conn,
        &acct.id,
        &actor,
        Event {
            action: "create",
            resource_type: "User",
            resource_id: Some("u1"),
            code: "user.created",
            detail: None,
        },
        now - Duration::days(400),
    )
    .unwrap();
    drop(conn);

    let mailer: Arc<dyn Mailer> = app.mailer.clone();
    app.run_due_jobs_with(mailer, vec![refused::schedule(30)]);

    let kept = refusals(&app, &acct).await;
    let details: Vec<&Value> = kept.iter().map(|e| &e["detail"]["detail"]).collect();
    assert_eq!(details, [&json!("recent")]);
    let other = app
        .get("/admin/v1/audit?code=user.created", &acct.admin)
        .await;
    assert_eq!(other.body["totalResults"], 1, "other entries are kept");
}
