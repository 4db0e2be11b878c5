//! Tenants: one account never reads, changes or detects another's data.

use serde_json::json;

use crate::harness::{TestApp, user};

#[actix_web::test]
async fn two_accounts_share_nothing() {
    let app = TestApp::new();
    let a = app.account("A");
    let b = app.account("B");
    let in_a = app
        .post("/scim/v2/Users", &a.scim, &user("same@example.com"))
        .await;
    let in_b = app
        .post("/scim/v2/Users", &b.scim, &user("same@example.com"))
        .await;
    assert_eq!(
        (in_a.status.as_u16(), in_b.status.as_u16()),
        (201, 201),
        "the same userName in both"
    );
    let a_path = format!("/scim/v2/Users/{}", in_a.body["id"].as_str().unwrap());

    // B cannot read, replace or delete A's user, and cannot tell it from a missing one.
    let missing = app
        .get(
            "/scim/v2/Users/01a20000-0000-7000-8000-000000000000",
            &b.scim,
        )
        .await;
    let foreign = app.get(&a_path, &b.scim).await;
    foreign.assert_scim_error(404, None);
    assert_eq!(
        foreign.body, missing.body,
        "a foreign id looks exactly like a missing one"
    );
    app.put(&a_path, &b.scim, &user("same@example.com"))
        .await
        .assert_scim_error(404, None);
    app.delete(&a_path, &b.scim)
        .await
        .assert_scim_error(404, None);

    // Listing and filtering see only the caller's users.
    let listed = app.get("/scim/v2/Users", &b.scim).await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(listed.body["Resources"][0]["id"], in_b.body["id"]);
    let by_id = app
        .get(
            &format!(
                "/scim/v2/Users?filter=id%20eq%20%22{}%22",
                in_a.body["id"].as_str().unwrap()
            ),
            &b.scim,
        )
        .await;
    assert_eq!(by_id.body["totalResults"], 0);

    // A's user is untouched, and A's provisioning log holds nothing of B's.
    let still = app.get(&a_path, &a.scim).await;
    assert_eq!(still.status, 200);
    assert_eq!(still.body, in_a.body);
    let log = app.get("/admin/v1/audit", &a.admin).await;
    assert!(
        log.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resourceId"] == in_a.body["id"])
    );

    // Stores with the same ref id are separate entities per account.
    let mut with_store = user("s@example.com");
    with_store["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"] =
        json!({"storeRefId": "S1", "storeName": "A's store", "storeCountryCallingCode": "32"});
    app.post("/scim/v2/Users", &a.scim, &with_store).await;
    with_store["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"]["storeName"] =
        json!("B's store");
    let b_store = app.post("/scim/v2/Users", &b.scim, &with_store).await;
    assert_eq!(
        b_store.body["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"]["storeName"],
        "B's store"
    );
    assert_eq!(app.count("stores"), 2);
}
