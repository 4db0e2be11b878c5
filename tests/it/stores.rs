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
        assert!(detail.contains("countryCallingCode"), "{bad}: {detail}");
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
