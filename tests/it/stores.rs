//! Stores as user writes name them (DESIGN §5): a country as the ITU calling code or the ISO 3166
//! code, stored as the calling code; an existing store's name and country never changed by a user
//! write (a warning instead), a missing name filled in.

use serde_json::json;

use crate::harness::{TestApp, user};

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

#[actix_web::test]
async fn a_country_may_be_written_as_its_iso_code_and_is_stored_as_the_calling_code() {
    let app = TestApp::new();
    let acct = app.account("acme");
    for (i, (sent, stored)) in [("BE", "32"), ("nl", "31"), ("+44", "44"), ("1", "1")]
        .into_iter()
        .enumerate()
    {
        let mut body = user(&format!("u{i}@example.com"));
        body[MT] = json!({"storeRefId": format!("S{i}"), "storeCountryCallingCode": sent});
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        assert_eq!(r.status, 201, "{sent}: {}", r.body);
        assert_eq!(r.body[MT]["storeCountryCallingCode"], stored, "{sent}");
        assert_eq!(
            r.body[MT]["stores"][0]["countryCallingCode"], stored,
            "{sent}"
        );
    }
    for bad in ["XX", "BEL", "999"] {
        let mut body = user("bad@example.com");
        body[MT] = json!({"storeRefId": "S9", "storeCountryCallingCode": bad});
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        let detail = r.assert_scim_error(400, Some("invalidValue"));
        assert!(
            detail.contains("storeCountryCallingCode"),
            "{bad}: {detail}"
        );
    }
    assert_eq!(app.count("stores"), 4);
}

#[actix_web::test]
async fn another_calling_code_for_an_existing_store_is_a_warning_and_changes_nothing() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut first = user("a@example.com");
    first[MT] = json!({"storeRefId": "S1", "storeName": "Gent", "storeCountryCallingCode": "32"});
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &first).await.status,
        201
    );
    let mut second = user("b@example.com");
    second[MT] = json!({"storeRefId": "S1", "storeName": "Gent", "storeCountryCallingCode": "NL"});
    let r = app.post("/scim/v2/Users", &acct.scim, &second).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body[MT]["storeCountryCallingCode"], "32");
    let log = app
        .get(
            "/admin/v1/audit?code=store.calling_code_differs",
            &acct.admin,
        )
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    assert_eq!(log.body["events"][0]["detail"]["countryCallingCode"], "32");
    assert_eq!(log.body["events"][0]["detail"]["sent"], "31");
    // The same name and code again is no news.
    let mut third = user("c@example.com");
    third[MT] = json!({"storeRefId": "S1", "storeName": "Gent", "storeCountryCallingCode": "BE"});
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &third).await.status,
        201
    );
    let all = app
        .get("/admin/v1/audit?resourceType=Store", &acct.admin)
        .await;
    let codes: Vec<&str> = all.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 2, "{codes:?}");
    assert!(codes.contains(&"store.created") && codes.contains(&"store.calling_code_differs"));
}

#[actix_web::test]
async fn a_store_without_a_name_gets_the_first_name_a_write_brings() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut first = user("a@example.com");
    first[MT] = json!({"stores": [{"refId": "S2", "countryCallingCode": "32"}]});
    let a = app.post("/scim/v2/Users", &acct.scim, &first).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert!(a.body[MT]["storeName"].is_null(), "{}", a.body);
    let mut second = user("b@example.com");
    second[MT] = json!({"stores": [{"refId": "S2", "name": "Antwerpen"}]});
    let b = app.post("/scim/v2/Users", &acct.scim, &second).await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(b.body[MT]["storeName"], "Antwerpen");
    let log = app
        .get("/admin/v1/audit?code=store.updated", &acct.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    assert_eq!(
        log.body["events"][0]["detail"]["name"],
        json!({"from": null, "to": "Antwerpen"})
    );
    let differs = app
        .get("/admin/v1/audit?code=store.name_differs", &acct.admin)
        .await;
    assert_eq!(differs.body["totalResults"], 0);
}

/// Entra's incremental PATCH moves a user to a new store of the same country with only what
/// changed: the new store takes the calling code of the store the user is leaving.
#[actix_web::test]
async fn a_flat_store_change_without_a_country_takes_the_current_stores_country() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("moving@example.com");
    body[MT] =
        json!({"storeRefId": "GNT-01", "storeName": "Gent", "storeCountryCallingCode": "BE"});
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": format!("{MT}:storeRefId"), "value": "BRU-03"},
            {"op": "Replace", "path": format!("{MT}:storeName"), "value": "Brussel Centrum"}]});
    let r = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            &acct.scim,
            Some(&patch),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body[MT]["storeRefId"], "BRU-03");
    assert_eq!(r.body[MT]["storeCountryCallingCode"], "32");
    assert_eq!(r.body[MT]["stores"].as_array().unwrap().len(), 1);
    assert_eq!(app.count("stores"), 2, "GNT-01 stays, BRU-03 is made");

    // A new user naming a new store with neither a calling code nor a store to leave: the error
    // names the flat attribute the client mapped, not an element of `stores`.
    let mut fresh = user("fresh@example.com");
    fresh[MT] = json!({"storeRefId": "ANT-02"});
    let r = app.post("/scim/v2/Users", &acct.scim, &fresh).await;
    let detail = r.assert_scim_error(400, Some("invalidValue"));
    assert!(
        detail.contains(&format!("{MT}:storeCountryCallingCode")),
        "{detail}"
    );
    assert!(!detail.contains("stores[0]"), "{detail}");

    // A bad calling code sent flat is named flat too.
    let mut bad = user("bad@example.com");
    bad[MT] = json!({"storeRefId": "ANT-02", "storeCountryCallingCode": "XY"});
    let r = app.post("/scim/v2/Users", &acct.scim, &bad).await;
    let detail = r.assert_scim_error(400, Some("invalidValue"));
    assert!(detail.contains("storeCountryCallingCode"), "{detail}");
    assert!(!detail.contains("stores[0]"), "{detail}");
}
