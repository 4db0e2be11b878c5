//! PATCH through the real app (RFC 7644 §3.5.2, Entra's and Okta's dialects of `shared/CLIENTS.md`),
//! atomicity, concurrency, ETags and projection. Every case reads the stored result back.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::harness::{Resp, TestAccount, TestApp, user};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// A PatchOp body with `list` as its operations.
pub fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

async fn patch(app: &TestApp, acct: &TestAccount, id: &str, body: &Value) -> Resp {
    app.call(
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        &acct.scim,
        Some(body),
    )
    .await
}

/// PATCHes and returns the user as stored (read back with a GET).
pub async fn patched(app: &TestApp, acct: &TestAccount, id: &str, body: Value) -> Value {
    let r = patch(app, acct, id, &body).await;
    assert_eq!(r.status, 200, "{body}: {}", r.body);
    let stored = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    assert_eq!(r.body, stored, "the PATCH response is the stored user");
    stored
}

async fn bjensen(app: &TestApp, acct: &TestAccount) -> String {
    let mut body = user("bjensen@example.com");
    body["name"] = json!({"givenName": "Barbara", "familyName": "Jensen", "formatted": "Ms. Barbara J Jensen"});
    body["emails"] = json!([{"value": "bjensen@example.com", "type": "work", "primary": true},
                            {"value": "babs@jensen.org", "type": "home"}]);
    body["addresses"] = json!([{"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood"}]);
    body["phoneNumbers"] = json!([{"value": "+1 555-555-5555", "type": "work"}]);
    let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn rfc_7644_patch_examples_on_users() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = bjensen(&app, &acct).await;

    // §3.5.2.1: add without a path: a multi-valued attribute gains a value; a single one is set.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "add", "value": {
        "emails": [{"value": "babs@jensen.net", "type": "other"}], "nickname": "Babs"}}])),
    )
    .await;
    assert_eq!(u["emails"].as_array().unwrap().len(), 3);
    assert_eq!(u["nickName"], "Babs");
    // §3.5.2.3: replace on a value path replaces the matching values.
    let u = patched(&app, &acct, &id, ops(json!([{"op": "replace", "path": "addresses[type eq \"work\"]",
        "value": {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": true}}]))).await;
    assert_eq!(
        u["addresses"],
        json!([{"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood", "primary": true}])
    );
    // §3.5.2.3: replace a sub-attribute of the matching values.
    let u = patched(&app, &acct, &id, ops(json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1010 Broadway Ave"}]))).await;
    assert_eq!(u["addresses"][0]["streetAddress"], "1010 Broadway Ave");
    // §3.5.2.3: replace without a path.
    let u = patched(&app, &acct, &id, ops(json!([{"op": "replace", "value": {"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}], "nickName": "Barb"}}]))).await;
    assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    assert_eq!(u["nickName"], "Barb");
    // §3.5.2.2: remove a value by filter, and a whole attribute.
    patched(&app, &acct, &id, ops(json!([{"op": "add", "path": "emails", "value": [{"value": "b@example.org", "type": "home"}]}]))).await;
    let u = patched(&app, &acct, &id, ops(json!([{"op": "remove", "path": "emails[type eq \"home\" and value ew \"example.org\"]"}]))).await;
    assert_eq!(u["emails"].as_array().unwrap().len(), 1);
    let u = patched(&app, &acct, &id, ops(json!([{"op": "remove", "path": "nickName"}, {"op": "remove", "path": "name.formatted"}]))).await;
    assert!(u.get("nickName").is_none());
    assert_eq!(
        u["name"],
        json!({"familyName": "Jensen", "givenName": "Barbara"})
    );
    // One primary per multi-valued attribute: adding a primary e-mail demotes the other.
    let u = patched(&app, &acct, &id, ops(json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "other", "primary": true}]}]))).await;
    assert_eq!(
        u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["primary"] == true)
            .count(),
        1
    );

    // Errors, each leaving the user as it was.
    let before = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    for (body, status, scim_type) in [
        (ops(json!([])), 400, "invalidValue"),
        (ops(json!([{"op": "remove"}])), 400, "noTarget"),
        (
            ops(json!([{"op": "replace", "path": "id", "value": "x"}])),
            400,
            "mutability",
        ),
        (
            ops(
                json!([{"op": "replace", "path": "meta.created", "value": "2020-01-01T00:00:00Z"}]),
            ),
            400,
            "mutability",
        ),
        (
            ops(json!([{"op": "add", "path": "emails[type eq", "value": "x"}])),
            400,
            "invalidPath",
        ),
        (
            ops(json!([{"op": "add", "path": "shoeSize", "value": 42}])),
            400,
            "invalidPath",
        ),
        (
            ops(json!([{"op": "replace", "path": "active", "value": "maybe"}])),
            400,
            "invalidValue",
        ),
        (
            ops(json!([{"op": "remove", "path": "name.givenName"}])),
            400,
            "invalidValue",
        ),
        (
            json!({"schemas": ["urn:nope"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            400,
            "invalidSyntax",
        ),
    ] {
        let r = patch(&app, &acct, &id, &body).await;
        r.assert_scim_error(status, Some(scim_type));
    }
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}"), &acct.scim)
            .await
            .body,
        before
    );
    let unknown = patch(
        &app,
        &acct,
        "01a20000-0000-7000-8000-000000000000",
        &ops(json!([{"op": "add", "path": "title", "value": "x"}])),
    )
    .await;
    unknown.assert_scim_error(404, None);
}

#[actix_web::test]
async fn entra_dialects_p1_to_p4_and_p8_to_p12() {
    let app = TestApp::new();
    let acct = app.account("contoso");
    let id = bjensen(&app, &acct).await;
    // P1: multi-valued and name, capitalised ops.
    let u = patched(&app, &acct, &id, ops(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}]))).await;
    assert_eq!(u["emails"][0]["value"], "updatedEmail@microsoft.com");
    assert_eq!(u["name"]["familyName"], "updatedFamilyName");
    // P2: single-valued.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"}])),
    )
    .await;
    assert_eq!(u["userName"], "5b50642d@testuser.com");
    // P3: disable, three ways.
    for value in [json!(false), json!("False"), json!("false")] {
        let u = patched(
            &app,
            &acct,
            &id,
            ops(json!([{"op": "Replace", "path": "active", "value": value}])),
        )
        .await;
        assert_eq!(u["active"], false);
        patched(
            &app,
            &acct,
            &id,
            ops(json!([{"op": "replace", "path": "active", "value": true}])),
        )
        .await;
    }
    // P4: several attributes, per operation and in one pathless value with path keys.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([
        {"op": "Replace", "path": "externalId", "value": "ext-p4"},
        {"op": "Replace", "path": format!("{ENT}:employeeNumber"), "value": "Aklq"}])),
    )
    .await;
    assert_eq!(
        (u["externalId"].clone(), u[ENT]["employeeNumber"].clone()),
        (json!("ext-p4"), json!("Aklq"))
    );
    let u = patched(&app, &acct, &id, ops(json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
                                    format!("{ENT}:employeeNumber"): "Bklq"}}]))).await;
    assert_eq!(u["displayName"], "Bjfe");
    assert_eq!(u["name"]["givenName"], "Kkom");
    assert_eq!(u[ENT]["employeeNumber"], "Bklq");
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "Add", "path": "nickName", "value": "Babs"}])),
    )
    .await;
    assert_eq!(u["nickName"], "Babs");
    // P8 and P9: a manager added as an array, then removed by value path; a string works too.
    let manager = bjensen_named(&app, &acct, "manager@example.com").await;
    let u = patched(&app, &acct, &id, ops(json!([{"op": "Add", "path": "manager",
        "value": [{"$ref": format!("http://localhost/scim/v2/Users/{manager}"), "value": manager}]}]))).await;
    assert_eq!(u[ENT]["manager"]["value"], json!(manager));
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "remove", "path": format!("manager[value eq \"{manager}\"]")}])),
    )
    .await;
    assert!(u[ENT].get("manager").is_none());
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": manager}])),
    )
    .await;
    assert_eq!(u[ENT]["manager"], json!({"value": manager}));
    let u = patched(&app, &acct, &id, ops(json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": {"value": manager, "$ref": null}}]))).await;
    assert_eq!(
        u[ENT]["manager"],
        json!({"value": manager}),
        "a null $ref is no value"
    );
    // P10: pathless add whose keys are paths, including a value path.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(
            json!([{"op": "add", "value": {"name.givenName": "Oswaldo", "name.familyName": "Rylan",
        "emails[type eq \"home\"].value": "x@y.z"}}]),
        ),
    )
    .await;
    assert_eq!(u["name"]["givenName"], "Oswaldo");
    assert!(
        u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["type"] == "home" && e["value"] == "x@y.z")
    );
    // P11: add on a value path with no element yet creates it.
    let u = patched(&app, &acct, &id, ops(json!([{"op": "Add", "path": "emails[type eq \"other\"].value", "value": "AdeleV2@example.com"},
        {"op": "Add", "path": "addresses[type eq \"home\"].country", "value": "country11"}]))).await;
    assert!(
        u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == &json!({"type": "other", "value": "AdeleV2@example.com"}))
    );
    assert!(
        u["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == &json!({"type": "home", "country": "country11"}))
    );
    // P12: the mixed request seen in production.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "p12@example.com"},
        {"op": "Replace", "path": "addresses[type eq \"work\"].formatted", "value": "18/2111"},
        {"op": "Add", "path": format!("{ENT}:department"), "value": "Retail"}])),
    )
    .await;
    assert_eq!(u[ENT]["department"], "Retail");
    assert!(
        u["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["formatted"] == "18/2111" && a["type"] == "work")
    );
    // Clearing by an empty value, and Entra's "True" booleans for primary.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "Replace", "path": "nickName", "value": ""},
        {"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"}])),
    )
    .await;
    assert!(u.get("nickName").is_none());
    assert_eq!(
        u["emails"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "work")
            .unwrap()["primary"],
        true
    );
}

async fn bjensen_named(app: &TestApp, acct: &TestAccount, name: &str) -> String {
    let r = app.post("/scim/v2/Users", &acct.scim, &user(name)).await;
    r.body["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn the_flat_store_attributes_write_the_primary_store() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = bjensen(&app, &acct).await;
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([
        {"op": "Add", "path": format!("{MT}:storeRefId"), "value": "S1"},
        {"op": "Add", "path": format!("{MT}:storeName"), "value": "Gent"},
        {"op": "Add", "path": format!("{MT}:storeCountryCallingCode"), "value": "32"}])),
    )
    .await;
    assert_eq!(
        u[MT]["stores"],
        json!([{"refId": "S1", "name": "Gent", "countryCallingCode": "32"}])
    );
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "Replace", "path": format!("{MT}:storeName"), "value": "Gent Zuid"}])),
    )
    .await;
    // A user write never renames a store (DESIGN §5): the store keeps its name, the log warns.
    assert_eq!(u[MT]["stores"][0]["name"], "Gent");
    let warned = app
        .get("/admin/v1/audit?code=store.name_differs", &acct.admin)
        .await;
    assert_eq!(warned.body["totalResults"], 1, "{}", warned.body);
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "replace", "path": format!("{MT}:stores"),
        "value": [{"refId": "S2", "countryCallingCode": "31"}]}])),
    )
    .await;
    assert_eq!(
        u[MT]["storeRefId"], "S2",
        "replacing stores is not undone by stale flat values"
    );
}

#[actix_web::test]
async fn okta_o5_to_o8() {
    let app = TestApp::new();
    let acct = app.account("okta");
    let o2 = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"}, "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7", "groups": [], "password": "1mz050nq", "active": true});
    let created = app.post("/scim/v2/Users", &acct.scim, &o2).await;
    assert_eq!(created.status, 201);
    assert!(created.body.get("password").is_none());
    let id = created.body["id"].as_str().unwrap().to_owned();
    // O5: GET, then PUT of the whole object returned plus the change (id, groups and meta echoed).
    let mut full = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    full["name"]["middleName"] = json!("Excited");
    full["groups"] = json!([]);
    let o5 = app
        .put(&format!("/scim/v2/Users/{id}"), &acct.scim, &full)
        .await;
    assert_eq!(o5.status, 200, "{}", o5.body);
    assert_eq!(o5.body["name"]["middleName"], "Excited");
    // O6, O7: deactivate and reactivate by pathless replace.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "replace", "value": {"active": false}}])),
    )
    .await;
    assert_eq!(u["active"], false);
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "replace", "value": {"active": true}}])),
    )
    .await;
    assert_eq!(u["active"], true);
    // O8: password sync: accepted, never stored or returned.
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "replace", "value": {"password": "n3w-Passw0rd"}}])),
    )
    .await;
    assert!(u.get("password").is_none());
    // Okta echoing the whole current state in a pathless value, read-only attributes included.
    let echo = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    let u = patched(
        &app,
        &acct,
        &id,
        ops(json!([{"op": "replace", "value": echo}])),
    )
    .await;
    assert_eq!(u["userName"], "test.user@okta.local");
}

#[actix_web::test]
async fn operations_apply_atomically() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = bjensen(&app, &acct).await;
    let before = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    let events = app.count_audit_changes();
    let r = patch(
        &app,
        &acct,
        &id,
        &ops(json!([
        {"op": "replace", "path": "title", "value": "First"},
        {"op": "replace", "path": "nickName", "value": "Second"},
        {"op": "replace", "path": "name.givenName", "value": ""}])),
    )
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}"), &acct.scim)
            .await
            .body,
        before
    );
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        title: Option<String>,
    }
    use diesel::RunQueryDsl;
    let row: Row = diesel::sql_query(format!("SELECT title FROM users WHERE id = '{id}'"))
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(
        row.title, None,
        "the first operation is not in the database"
    );
    assert_eq!(app.count_audit_changes(), events);
}

#[actix_web::test]
async fn etags_guard_writes_and_save_reads() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = bjensen(&app, &acct).await;
    let path = format!("/scim/v2/Users/{id}");
    let read = app.get(&path, &acct.scim).await;
    let tag = read.header("etag").unwrap();
    assert_eq!(tag, read.body["meta"]["version"].as_str().unwrap());

    let not_modified = app
        .send(
            TestRequest::get()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("If-None-Match", tag.clone())),
        )
        .await;
    assert_eq!(not_modified.status, 304);
    assert_eq!(not_modified.header("etag").as_deref(), Some(tag.as_str()));

    let body = ops(json!([{"op": "replace", "path": "title", "value": "Boss"}]));
    let with_tag = |t: &str| {
        TestRequest::default()
            .method(Method::PATCH)
            .uri(&path)
            .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
            .insert_header(("Content-Type", "application/scim+json"))
            .insert_header(("If-Match", t.to_owned()))
            .set_payload(body.to_string())
    };
    let ok = app.send(with_tag(&tag)).await;
    assert_eq!(ok.status, 200);
    let new_tag = ok.header("etag").unwrap();
    assert_ne!(new_tag, tag);
    let stale = app.send(with_tag(&tag)).await;
    stale.assert_scim_error(412, None);
    let before = app.get(&path, &acct.scim).await.body;
    let stale_put = app
        .send(
            TestRequest::put()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("Content-Type", "application/scim+json"))
                .insert_header(("If-Match", tag.clone()))
                .set_payload(user("changed@example.com").to_string()),
        )
        .await;
    stale_put.assert_scim_error(412, None);
    let stale_delete = app
        .send(
            TestRequest::delete()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("If-Match", "W/\"1\"")),
        )
        .await;
    stale_delete.assert_scim_error(412, None);
    assert_eq!(
        app.get(&path, &acct.scim).await.body,
        before,
        "nothing changed"
    );
    // A strong tag of the current version and `*` match (weak comparison).
    let strong = new_tag.trim_start_matches("W/").to_owned();
    assert_eq!(app.send(with_tag(&strong)).await.status, 200);
    assert_eq!(app.send(with_tag("*")).await.status, 200);
}

#[actix_web::test]
async fn projection_on_reads_lists_searches_and_writes() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = bjensen(&app, &acct).await;
    let only = app
        .get(
            &format!("/scim/v2/Users/{id}?attributes=userName,name.givenName,{MT}:origin"),
            &acct.scim,
        )
        .await
        .body;
    assert_eq!(
        only,
        json!({"schemas": only["schemas"], "id": id, "userName": "bjensen@example.com",
                            "name": {"givenName": "Barbara"}, MT: {"origin": "scim"}})
    );
    let without = app
        .get(
            &format!("/scim/v2/Users?excludedAttributes=emails,meta,{MT}"),
            &acct.scim,
        )
        .await
        .body;
    let u = &without["Resources"][0];
    assert!(u.get("emails").is_none() && u.get("meta").is_none() && u.get(MT).is_none());
    assert!(u.get("userName").is_some() && u.get("id").is_some());
    let searched = app.post("/scim/v2/Users/.search", &acct.scim, &json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "attributes": ["displayName", "userName"]})).await;
    assert_eq!(
        searched.body["Resources"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["schemas", "id", "userName"]
    );
    let written = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}?attributes=title"),
            &acct.scim,
            Some(&ops(
                json!([{"op": "add", "path": "title", "value": "Chief"}]),
            )),
        )
        .await;
    assert_eq!(
        written.body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["schemas", "id", "title"]
    );
    let created = app
        .post(
            "/scim/v2/Users?excludedAttributes=name",
            &acct.scim,
            &user("p@example.com"),
        )
        .await;
    assert!(created.body.get("name").is_none() && created.status == 201);
    app.get(
        &format!("/scim/v2/Users/{id}?attributes=shoeSize"),
        &acct.scim,
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
}

#[test]
fn concurrent_patches_of_one_user_lose_nothing() {
    let app = TestApp::with(HttpSettings::default(), 8);
    let acct = app.account("acme");
    let (base, server) = app.serve(4);
    let agent = crate::concurrency::client();
    let (_, created) = crate::concurrency::post(
        &agent,
        &format!("{base}/scim/v2/Users"),
        &acct.scim,
        &user("ann@example.com"),
    );
    let url = format!("{base}/scim/v2/Users/{}", created["id"].as_str().unwrap());
    let requests = (0..8)
        .map(|i| {
            let body = ops(json!([{"op": "add", "path": "emails", "value": [{"value": format!("extra{i}@example.com"), "type": "other"}]}]));
            ("PATCH", url.clone(), acct.scim.clone(), body)
        })
        .collect();
    let results = crate::concurrency::at_once(requests);
    actix_web::rt::System::new().block_on(server.stop(true));
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    assert_eq!(app.count("user_emails"), 9, "every added e-mail is there");
}
