//! `POST /scim/v2/Bulk` (RFC 7644 §3.7): bulkId references resolved by ordering, each operation
//! through the single-resource write path (Entra's PATCH dialect, `version` as `If-Match`),
//! `failOnErrors`, circular and unknown references, the limits refused before anything is
//! written, and the rate limit charged per operation.

use std::sync::Arc;

use actix_web::http::Method;
use chrono::{TimeZone, Utc};
use mobietrain_scim::clock::ManualClock;
use mobietrain_scim::config::ObservabilityConfig;
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::harness::{TestApp, TestDb, user};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn bulk(ops: Value) -> Value {
    json!({"schemas": [BULK], "Operations": ops})
}

fn create_user(bulk_id: &str, user_name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": user(user_name)})
}

#[actix_web::test]
async fn a_group_sent_before_the_users_it_lists_is_created_after_them() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let body = bulk(json!([
        {"method": "POST", "path": "/Groups", "bulkId": "team", "data": {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Team",
            "members": [{"value": "bulkId:ann"}, {"value": "bulkId:bob"}],
        }},
        create_user("ann", "ann@example.com"),
        create_user("bob", "bob@example.com"),
    ]));
    let r = app.post("/scim/v2/Bulk", &acct.scim, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    let results = r.body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    // Answered in the order sent, each with its bulkId, location and version.
    let bulk_ids: Vec<&str> = results
        .iter()
        .map(|o| o["bulkId"].as_str().unwrap())
        .collect();
    assert_eq!(bulk_ids, ["team", "ann", "bob"]);
    for result in results {
        assert_eq!(result["status"], "201", "{result}");
        assert_eq!(result["method"], "POST");
        assert!(result["version"].as_str().unwrap().starts_with("W/\""));
        assert!(result.get("response").is_none());
    }
    let location = |i: usize| results[i]["location"].as_str().unwrap().to_owned();
    let id_of = |i: usize| location(i).rsplit('/').next().unwrap().to_owned();
    assert!(location(1).ends_with(&format!("/scim/v2/Users/{}", id_of(1))));
    let group = app
        .get(&format!("/scim/v2/Groups/{}", id_of(0)), &acct.scim)
        .await;
    assert_eq!(group.status, 200);
    let mut members: Vec<String> = group.body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    members.sort();
    let mut expected = vec![id_of(1), id_of(2)];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(app.count("users"), 2);
    assert_eq!(app.count("group_members"), 2);
}

#[actix_web::test]
async fn a_patch_in_entras_dialect_runs_as_the_patch_endpoint_with_version_as_if_match() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let stale = created.header("etag").unwrap();
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "value": {"title": "Chef"}},
        ],
    });
    let r = app
        .post(
            "/scim/v2/Bulk",
            &acct.scim,
            &bulk(
                json!([{"method": "PATCH", "path": format!("/Users/{id}"), "version": stale,
                          "data": patch}]),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let result = &r.body["Operations"][0];
    assert_eq!(result["status"], "200", "{result}");
    let fresh = result["version"].as_str().unwrap();
    assert_ne!(fresh, stale);
    let read = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(read.body["active"], false);
    assert_eq!(read.body["title"], "Chef");
    assert_eq!(read.header("etag").as_deref(), Some(fresh));

    // The old version no longer matches: 412, as If-Match on PATCH /Users/{id} answers.
    let again = app
        .post(
            "/scim/v2/Bulk",
            &acct.scim,
            &bulk(
                json!([{"method": "PATCH", "path": format!("/Users/{id}"), "version": stale,
                          "data": patch}]),
            ),
        )
        .await;
    let result = &again.body["Operations"][0];
    assert_eq!(result["status"], "412", "{result}");
    assert_eq!(result["response"]["status"], "412");
}

#[actix_web::test]
async fn fail_on_errors_stops_after_that_many_failed_operations() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let first = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    assert_eq!(first.status, 201);
    let mut body = bulk(json!([
        create_user("dup", "ann@example.com"),
        create_user("carl", "carl@example.com"),
        create_user("dina", "dina@example.com"),
    ]));
    body["failOnErrors"] = json!(1);
    let r = app.post("/scim/v2/Bulk", &acct.scim, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.body["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{}", r.body);
    assert_eq!(results[0]["status"], "409");
    assert_eq!(results[0]["response"]["scimType"], "uniqueness");
    assert_eq!(app.count("users"), 1, "nothing after the first error ran");

    // failOnErrors=2 lets the run go on past one error.
    body["failOnErrors"] = json!(2);
    let r = app.post("/scim/v2/Bulk", &acct.scim, &body).await;
    let statuses: Vec<&str> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["409", "201", "201"]);
    assert_eq!(app.count("users"), 3);
}

#[actix_web::test]
async fn circular_and_unknown_references_are_refused_per_operation() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let with_manager = |bulk_id: &str, name: &str, manager: &str| {
        let mut data = user(name);
        data["schemas"]
            .as_array_mut()
            .unwrap()
            .push(json!(ENTERPRISE));
        data[ENTERPRISE] = json!({"manager": {"value": format!("bulkId:{manager}")}});
        json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": data})
    };
    let r = app
        .post(
            "/scim/v2/Bulk",
            &acct.scim,
            &bulk(json!([
                with_manager("a", "a@example.com", "b"),
                with_manager("b", "b@example.com", "a"),
                {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "G", "members": [{"value": "bulkId:nobody"}]}},
                {"method": "DELETE", "path": "/Users/bulkId:nobody"},
                with_manager("c", "c@example.com", "d"),
                create_user("d", "d@example.com"),
            ])),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let results = r.body["Operations"].as_array().unwrap();
    for refused in &results[..4] {
        assert_eq!(refused["status"], "409", "{refused}");
        assert_eq!(refused["response"]["scimType"], "invalidValue");
    }
    assert!(
        results[0]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("circle")
    );
    assert!(
        results[2]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:nobody")
    );
    // A manager created later in the same request is resolved.
    assert_eq!(results[4]["status"], "201", "{}", results[4]);
    assert_eq!(results[5]["status"], "201");
    assert_eq!(app.count("users"), 2);
    assert_eq!(app.count("groups"), 0);
}

#[actix_web::test]
async fn requests_over_the_limits_are_refused_before_anything_is_written() {
    let settings = HttpSettings {
        bulk_max_operations: 2,
        bulk_max_payload_bytes: 2000,
        ..Default::default()
    };
    let app = TestApp::with(settings, 2);
    let acct = app.account("acme");
    let spc = app.get("/scim/v2/ServiceProviderConfig", &acct.scim).await;
    assert_eq!(spc.body["bulk"]["maxOperations"], 2);
    assert_eq!(spc.body["bulk"]["maxPayloadSize"], 2000);

    let three = bulk(json!([
        create_user("a", "a@example.com"),
        create_user("b", "b@example.com"),
        create_user("c", "c@example.com"),
    ]));
    let r = app.post("/scim/v2/Bulk", &acct.scim, &three).await;
    let detail = r.assert_scim_error(413, Some("tooLarge"));
    assert!(detail.contains("maxOperations (2)"), "{detail}");

    let mut large = user("big@example.com");
    large["displayName"] = json!("x".repeat(2500));
    let r = app
        .post(
            "/scim/v2/Bulk",
            &acct.scim,
            &bulk(json!([{"method": "POST", "path": "/Users", "bulkId": "big", "data": large}])),
        )
        .await;
    let detail = r.assert_scim_error(413, Some("tooLarge"));
    assert!(detail.contains("maxPayloadSize (2000)"), "{detail}");
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count_audit_changes(), 0);

    // Within the limits, the same kind of request is served.
    let two = bulk(json!([
        create_user("a", "a@example.com"),
        create_user("b", "b@example.com")
    ]));
    let r = app.post("/scim/v2/Bulk", &acct.scim, &two).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(app.count("users"), 2);
}

#[actix_web::test]
async fn malformed_requests_and_methods() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let r = app
        .post("/scim/v2/Bulk", &acct.scim, &json!({"Operations": []}))
        .await;
    r.assert_scim_error(400, Some("invalidSyntax"));
    let r = app.get("/scim/v2/Bulk", &acct.scim).await;
    assert_eq!(r.status, 405);
    let r = app
        .call(
            Method::POST,
            "/scim/v2/Bulk",
            "mts_not_a_token",
            Some(&bulk(json!([]))),
        )
        .await;
    assert_eq!(r.status, 401);
    // A malformed operation is its own 400; the others run.
    let r = app
        .post(
            "/scim/v2/Bulk",
            &acct.scim,
            &bulk(json!([
                {"method": "POST", "path": "/Users/abc", "bulkId": "x", "data": {}},
                {"method": "DELETE", "path": "/Users/no-such-user"},
                create_user("ok", "ok@example.com"),
            ])),
        )
        .await;
    let statuses: Vec<&str> = r.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["400", "404", "201"], "{}", r.body);
}

#[actix_web::test]
async fn a_bulk_request_draws_its_operation_count_from_the_write_limit() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap(),
    ));
    let app = TestApp::observed(
        TestDb::new(),
        HttpSettings::default(),
        4,
        ObservabilityConfig {
            rate_limit_reads: 1,
            rate_limit_writes: 1,
            ..ObservabilityConfig::default()
        },
        clock,
    );
    let acct = app.account("acme");
    let four = bulk(json!([
        create_user("a", "a@example.com"),
        create_user("b", "b@example.com"),
        create_user("c", "c@example.com"),
        {"method": "DELETE", "path": "/Users/nobody"},
    ]));
    let r = app.post("/scim/v2/Bulk", &acct.scim, &four).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // A burst of 10 writes, 4 taken by the one request.
    assert_eq!(r.header("ratelimit-remaining").as_deref(), Some("6"));
    let seven = bulk(json!(
        (0..7)
            .map(|i| create_user(&format!("u{i}"), &format!("u{i}@example.com")))
            .collect::<Vec<_>>()
    ));
    let r = app.post("/scim/v2/Bulk", &acct.scim, &seven).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(app.count("users"), 3);
}

#[actix_web::test]
async fn a_bulk_request_without_a_valid_token_is_refused_before_its_body_is_read() {
    let app = TestApp::new();
    let acct = app.account("acme");
    // Nearly 1 MiB that opens a thousand operations and never closes them: no JSON at all.
    let mut body = String::from(r#"{"schemas": [""#);
    body.push_str(BULK);
    body.push_str(r#""], "Operations": ["#);
    while body.len() < 1_000_000 {
        body.push_str(r#"{"method": "POST", "path": "/Users", "data": {"userName": "x"}},"#);
    }
    let send = |token: Option<&str>| {
        let mut req = actix_web::test::TestRequest::post()
            .uri("/scim/v2/Bulk")
            .insert_header(("Content-Type", "application/scim+json"))
            .set_payload(body.clone());
        if let Some(token) = token {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        app.send(req)
    };
    // Without a token, or with a wrong one, the answer is 401: the body's syntax is never looked
    // at (a parse would make it 400).
    for token in [None, Some("mts_not-a-valid-token")] {
        let r = send(token).await;
        r.assert_scim_error(401, None);
    }
    // The account's own token gets the body read, and its broken syntax named.
    let r = send(Some(&acct.scim)).await;
    r.assert_scim_error(400, Some("invalidSyntax"));
    assert_eq!(app.count("users"), 0);
}

/// Bulk requests run a quarter of the pool at a time (one with the harness's four connections):
/// while the one slot is taken, a Bulk request waits, holding no connection and writing nothing,
/// and runs as soon as the slot is free.
#[actix_web::test]
async fn a_bulk_request_waits_for_a_free_slot_and_then_runs() {
    let app = TestApp::new();
    let acct = app.account("acme");
    assert_eq!(mobietrain_scim::state::bulk_slots(4), 1);
    let held = app
        .state
        .bulk_slots
        .clone()
        .try_acquire_owned()
        .expect("the test takes the one slot");
    let body = bulk(json!([create_user("ann", "ann@example.com")]));
    let mut request = std::pin::pin!(app.post("/scim/v2/Bulk", &acct.scim, &body));
    let early =
        actix_web::rt::time::timeout(std::time::Duration::from_millis(300), &mut request).await;
    assert!(
        early.is_err(),
        "a Bulk request ran while every slot was taken"
    );
    assert_eq!(app.count("users"), 0);
    // A single request is not held up by the waiting Bulk.
    let single = app
        .post("/scim/v2/Users", &acct.scim, &user("bob@example.com"))
        .await;
    assert_eq!(single.status, 201, "{}", single.body);
    drop(held);
    let r = request.await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.body);
    assert_eq!(app.count("users"), 2);
}

/// With every Bulk slot taken, a Bulk request waits `bulk_slot_wait` and is then refused with a
/// 429 telling when to retry and why, having written nothing; once a slot is free the same request
/// is served. (The slots are taken here through the app's own semaphore, as running Bulk requests
/// would hold them.)
#[actix_web::test]
async fn a_bulk_request_that_finds_no_free_slot_is_refused_with_retry_after() {
    let wait = std::time::Duration::from_millis(300);
    let settings = HttpSettings {
        bulk_slot_wait: wait,
        ..Default::default()
    };
    let app = TestApp::with(settings, 4);
    let acct = app.account("acme");
    let slots = mobietrain_scim::state::bulk_slots(4);
    let body = bulk(json!([create_user("a", "a@example.com")]));

    let taken = app
        .state
        .bulk_slots
        .clone()
        .acquire_many_owned(u32::try_from(slots).unwrap())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = app.post("/scim/v2/Bulk", &acct.scim, &body).await;
    let detail = r.assert_scim_error(429, None).to_owned();
    assert!(started.elapsed() >= wait, "refused only after waiting");
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    assert!(
        detail.contains(&format!("runs {slots} Bulk request(s) at once")),
        "{detail}"
    );
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.count_audit_changes(), 0);

    drop(taken);
    let r = app.post("/scim/v2/Bulk", &acct.scim, &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Operations"][0]["status"], "201", "{}", r.body);
    assert_eq!(app.count("users"), 1);
}
