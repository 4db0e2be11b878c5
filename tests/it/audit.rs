//! The provisioning log through `GET /admin/v1/audit`.

use serde_json::{Value, json};

use crate::harness::{TestApp, user};

#[actix_web::test]
async fn every_write_is_logged_with_actor_code_and_diff_and_deletion_redacts() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let mut changed = user("ann@example.com");
    changed["title"] = json!("Store manager");
    changed["password"] = json!("never-logged-5521");
    app.put(&format!("/scim/v2/Users/{id}"), &acct.scim, &changed)
        .await;

    let log = app
        .get(
            &format!("/admin/v1/audit?resourceType=User&resourceId={id}"),
            &acct.admin,
        )
        .await;
    assert_eq!(log.status, 200);
    let events = log.body["events"].as_array().unwrap();
    // Warnings (a new user in no group) are tested in rules.rs and group_rules.rs.
    let events: Vec<&serde_json::Value> = events.iter().filter(|e| e["action"] != "warn").collect();
    let codes: Vec<&str> = events.iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["user.replaced", "user.created"], "newest first");
    assert!(
        events.iter().all(|e| e["actor"] == "test scim"),
        "the actor is the token's label"
    );
    assert_eq!(
        events[0]["detail"],
        json!({"title": {"from": null, "to": "Store manager"}}),
        "only what changed"
    );
    assert_eq!(
        events[1]["detail"]["userName"],
        json!({"from": null, "to": "ann@example.com"})
    );
    assert!(!log.body.to_string().contains("never-logged-5521"));

    // Newest first: user.replaced, user.created (an ordinary create leaves no warning).
    let page = app
        .get("/admin/v1/audit?count=1&startIndex=2", &acct.admin)
        .await;
    assert_eq!(page.body["itemsPerPage"], 1);
    assert_eq!(page.body["events"][0]["code"], "user.created");
    let none = app
        .get("/admin/v1/audit?since=2999-01-01T00:00:00Z", &acct.admin)
        .await;
    assert_eq!(none.body["totalResults"], 0);
    let bad = app
        .get("/admin/v1/audit?since=yesterday", &acct.admin)
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(bad.body["detail"].as_str().unwrap().contains("since"));

    // Deleting keeps that things happened, not the person's data.
    app.delete(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await;
    let after = app
        .get(&format!("/admin/v1/audit?resourceId={id}"), &acct.admin)
        .await;
    let events = after.body["events"].as_array().unwrap();
    assert_eq!(events[0]["code"], "user.deleted");
    assert_eq!(events[0]["detail"], Value::Null);
    assert!(
        events[1..]
            .iter()
            .all(|e| e["detail"] == json!({"redacted": true}))
    );
    assert!(!after.body.to_string().contains("ann@example.com"));
}
