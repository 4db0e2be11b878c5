//! A user's ETag covers its stores and groups (DESIGN 5): a rename elsewhere moves it, so a cached
//! copy goes stale (`If-None-Match` gets 200) and a write from it is refused (`If-Match`, 412).

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, user};

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Creates a user; its id.
pub(crate) async fn create(app: &TestApp, acct: &TestAccount, body: &Value) -> String {
    let created = app.post("/scim/v2/Users", &acct.scim, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn read(app: &TestApp, acct: &TestAccount, id: &str, none_match: &str) -> (u16, String) {
    let r = app
        .send(
            TestRequest::get()
                .uri(&format!("/scim/v2/Users/{id}"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("If-None-Match", none_match.to_owned())),
        )
        .await;
    (r.status.as_u16(), r.header("etag").unwrap())
}

#[actix_web::test]
async fn a_group_rename_moves_its_members_etags() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = create(&app, &acct, &user("ann@example.com")).await;
    let group = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales", "members": [{"value": id}]}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.body);
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    let before = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    let tag = before.header("etag").unwrap();
    assert_eq!(
        before.body["meta"]["version"],
        json!(tag),
        "meta.version is the ETag"
    );
    assert!(tag.starts_with("W/\""), "a weak tag: {tag}");
    assert_eq!(before.body["groups"][0]["display"], "Sales");
    assert_eq!(read(&app, &acct, &id, &tag).await.0, 304, "unchanged: 304");

    let renamed = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Groups/{group_id}"),
            &acct.scim,
            Some(&json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "displayName", "value": "Sales EU"}]})),
        )
        .await;
    assert_eq!(renamed.status, 204, "{}", renamed.body);

    // The user's own row did not change, yet what it shows did: the stale tag gets the new copy.
    let (status, new_tag) = read(&app, &acct, &id, &tag).await;
    assert_eq!(status, 200, "a stale If-None-Match gets the representation");
    assert_ne!(new_tag, tag);
    let after = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(after.body["groups"][0]["display"], "Sales EU");
    assert_eq!(after.body["meta"]["version"], json!(new_tag));
    assert_eq!(
        after.body["meta"]["lastModified"], before.body["meta"]["lastModified"],
        "the rename wrote the group only"
    );
    assert_eq!(read(&app, &acct, &id, &new_tag).await.0, 304);

    // A list shows the same version as a single read.
    let list = app
        .get(
            "/scim/v2/Users?filter=userName%20eq%20%22ann%40example.com%22",
            &acct.scim,
        )
        .await;
    assert_eq!(list.body["Resources"][0]["meta"]["version"], json!(new_tag));

    // A write from the copy read before the rename is refused, and changes nothing.
    let mut changed = user("ann@example.com");
    changed["title"] = json!("Store manager");
    for method in [actix_web::http::Method::PUT, actix_web::http::Method::PATCH] {
        let body = if method == actix_web::http::Method::PUT {
            changed.clone()
        } else {
            json!({"schemas": [PATCH_OP], "Operations": [
                {"op": "replace", "path": "title", "value": "Store manager"}]})
        };
        let stale = app
            .send(
                TestRequest::default()
                    .method(method.clone())
                    .uri(&format!("/scim/v2/Users/{id}"))
                    .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                    .insert_header(("Content-Type", "application/scim+json"))
                    .insert_header(("If-Match", tag.clone()))
                    .set_payload(body.to_string()),
            )
            .await;
        stale.assert_scim_error(412, None);
    }
    let stale_delete = app
        .send(
            TestRequest::delete()
                .uri(&format!("/scim/v2/Users/{id}"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("If-Match", tag.clone())),
        )
        .await;
    stale_delete.assert_scim_error(412, None);
    let unchanged = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(unchanged.body, after.body, "nothing changed");

    // The current tag is accepted.
    let fresh = app
        .send(
            TestRequest::put()
                .uri(&format!("/scim/v2/Users/{id}"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("Content-Type", "application/scim+json"))
                .insert_header(("If-Match", new_tag.clone()))
                .set_payload(changed.to_string()),
        )
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
    assert_eq!(
        fresh.body["meta"]["version"],
        json!(fresh.header("etag").unwrap())
    );
}

#[actix_web::test]
async fn a_store_getting_its_name_moves_its_users_etags() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut first = user("ann@example.com");
    first[MT] = json!({"stores": [{"refId": "GNT-01", "countryCallingCode": "32"}]});
    let id = create(&app, &acct, &first).await;
    let before = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    let tag = before.header("etag").unwrap();
    assert!(before.body[MT]["stores"][0].get("name").is_none());

    // Another user's write names the store, which had no name: every user of it now shows it.
    let mut second = user("bob@example.com");
    second[MT] = json!({"stores": [{"refId": "GNT-01", "name": "Gent Centrum",
                                     "countryCallingCode": "32"}]});
    create(&app, &acct, &second).await;

    let (status, new_tag) = read(&app, &acct, &id, &tag).await;
    assert_eq!(status, 200, "the stale copy lacks the store's name");
    assert_ne!(new_tag, tag);
    let after = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(after.body[MT]["stores"][0]["name"], "Gent Centrum");
    assert_eq!(after.body["meta"]["version"], json!(new_tag));
    assert_eq!(
        after.body["meta"]["lastModified"],
        before.body["meta"]["lastModified"]
    );
}
