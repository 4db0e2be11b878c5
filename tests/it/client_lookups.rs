//! Entra ID's and Okta's lookups, replayed from fixtures written by hand from `shared/CLIENTS.md`
//! (E0, E2, E6, E18, E21; O1, O3), asserting status, content type and the RFC-correct body.

use serde_json::{Value, json};

use crate::harness::{Resp, TestApp};

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

fn assert_list(r: &Resp, total: u64, start: u64, per_page: u64) {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(r.body["schemas"], json!([LIST]));
    assert_eq!(r.body["totalResults"], Value::from(total));
    assert_eq!(r.body["startIndex"], Value::from(start));
    assert_eq!(
        r.body["itemsPerPage"],
        Value::from(per_page),
        "itemsPerPage counts what is returned"
    );
    assert_eq!(
        r.body["Resources"].as_array().map(Vec::len),
        Some(per_page as usize)
    );
}

#[actix_web::test]
async fn entra_lookups() {
    let app = TestApp::new();
    let acct = app.account("contoso");

    // E0: the credential check with a random GUID.
    let e0 = app
        .get(
            "/scim/v2/Users?filter=userName+eq+%2275f3a5b2-3f2c-4d2e-9a55-3b1ffb1f0d9e%22",
            &acct.scim,
        )
        .await;
    assert_list(&e0, 0, 1, 0);
    // E2: matching, not found.
    let e2 = app
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22non-existent%20user%22",
            &acct.scim,
        )
        .await;
    assert_list(&e2, 0, 1, 0);

    // E3 (create, as the tutorial sends it), then E6: matching, found.
    let e3 = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    });
    let created = app.post("/scim/v2/Users", &acct.scim, &e3).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let e6 = app
        .get("/scim/v2/Users?filter=userName%20eq%20%22Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee%22", &acct.scim)
        .await;
    assert_list(&e6, 1, 1, 1);
    assert_eq!(e6.body["Resources"][0]["id"], created.body["id"]);
    assert_eq!(e6.body["Resources"][0]["externalId"], e3["externalId"]);

    // E18: an unquoted comparison value (invalid ABNF, rewritten).
    let e19 = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "externalId": "jyoung", "userName": "jyoung@testuser.com", "active": true, "displayName": "Joy Young",
        "emails": [{"type": "work", "value": "jyoung@Contoso.com", "primary": true}],
        "name": {"familyName": "Young", "givenName": "Joy"},
        "addresses": null, "phoneNumbers": null, "preferredLanguage": null, "title": null, "department": null, "manager": null
    });
    let joy = app.post("/scim/v2/Users", &acct.scim, &e19).await;
    assert_eq!(
        joy.status, 201,
        "E19 with its schema typo and explicit nulls: {}",
        joy.body
    );
    let e18 = app
        .get("/scim/v2/Users?filter=externalId%20eq%20jyoung", &acct.scim)
        .await;
    assert_list(&e18, 1, 1, 1);
    assert_eq!(e18.body["Resources"][0]["userName"], "jyoung@testuser.com");

    // E21: before a manager update, `id eq … and manager eq …`.
    let e21 = format!(
        "/scim/v2/Users?filter=id%20eq%20%22{}%22%20and%20manager%20eq%20%22{}%22",
        joy.body["id"].as_str().unwrap(),
        created.body["id"].as_str().unwrap()
    );
    assert_list(&app.get(&e21, &acct.scim).await, 0, 1, 0);
}

#[actix_web::test]
async fn okta_lookups_and_import() {
    let app = TestApp::new();
    let acct = app.account("okta");

    // O1: does the user exist?
    let o1 = app
        .get("/scim/v2/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100", &acct.scim)
        .await;
    assert_eq!(
        o1.body,
        json!({"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );

    // O3: import in pages of 100, integers, a stable order.
    for i in 0..105 {
        let body = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{i:03}@okta.local"), "externalId": format!("00u{i:03}"),
            "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": true, "value": format!("user{i:03}@okta.local"), "type": "work"}],
            "displayName": "Test User", "locale": "en-US", "groups": [], "password": "1mz050nq", "active": true
        });
        assert_eq!(
            app.post("/scim/v2/Users", &acct.scim, &body).await.status,
            201
        );
    }
    let first = app
        .get("/scim/v2/Users?startIndex=1&count=100", &acct.scim)
        .await;
    assert_list(&first, 105, 1, 100);
    let second = app
        .get("/scim/v2/Users?startIndex=101&count=100", &acct.scim)
        .await;
    assert_list(&second, 105, 101, 5);
    let again = app
        .get("/scim/v2/Users?startIndex=1&count=100", &acct.scim)
        .await;
    assert_eq!(first.body, again.body, "the same ordering on every call");
    let mut seen: Vec<Value> = first.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    seen.extend(
        second.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].clone()),
    );
    seen.sort_by_key(|v| v.as_str().unwrap().to_owned());
    seen.dedup();
    assert_eq!(seen.len(), 105, "pages neither overlap nor skip");
}

#[actix_web::test]
async fn entra_user_sequence_e3_to_e10() {
    let app = TestApp::new();
    let acct = app.account("contoso");
    let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    // E3: create.
    let e3 = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": true, "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb@testuser.com"}],
        "meta": {"resourceType": "User"}, "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    });
    let created = app.post("/scim/v2/Users", &acct.scim, &e3).await;
    assert_eq!(created.status, 201);
    for key in ["id", "externalId", "userName", "name", "active", "emails"] {
        assert!(created.body.get(key).is_some(), "{key} echoed");
    }
    assert!(
        created.body["meta"]["created"].is_string()
            && created.body["meta"]["lastModified"].is_string()
    );
    let id = created.body["id"].as_str().unwrap();
    let path = format!("/scim/v2/Users/{id}");
    // E4: read; E5: read unknown.
    assert_eq!(app.get(&path, &acct.scim).await.body, created.body);
    let e5 = app
        .get("/scim/v2/Users/5171a35d82074e068ce2", &acct.scim)
        .await;
    e5.assert_scim_error(404, None);
    // E6 is in `entra_lookups`. E7: multi-valued and name; E8: userName; E9: disable with "False".
    let e7 = app.call(actix_web::http::Method::PATCH, &path, &acct.scim, Some(&patch(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}])))).await;
    assert_eq!(e7.status, 200);
    assert_eq!(e7.body["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(e7.body["name"]["familyName"], "updatedFamilyName");
    let e8 = app.call(actix_web::http::Method::PATCH, &path, &acct.scim, Some(&patch(json!([
        {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}])))).await;
    assert_eq!(
        e8.body["userName"],
        "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    );
    let e9 = app
        .call(
            actix_web::http::Method::PATCH,
            &path,
            &acct.scim,
            Some(&patch(json!([
        {"op": "Replace", "path": "active", "value": "False"}]))),
        )
        .await;
    assert_eq!(
        (e9.status.as_u16(), e9.body["active"].clone()),
        (200, json!(false))
    );
    // A soft-deleted user stays readable and findable.
    let found = app
        .get("/scim/v2/Users?filter=active%20eq%20false", &acct.scim)
        .await;
    assert_eq!(found.body["totalResults"], 1);
    // E10: delete.
    assert_eq!(app.delete(&path, &acct.scim).await.status, 204);
    app.get(&path, &acct.scim)
        .await
        .assert_scim_error(404, None);
}
