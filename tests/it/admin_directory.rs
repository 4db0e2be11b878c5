//! The user directory and stores on the admin API: users searched by name, userName, e-mail and
//! phone, filtered by group, store, registration, "in no group" and active, paged, each with their
//! groups and stores by name; stores listed with user counts and renamed (the rename moves the
//! ETags of their users).

use serde_json::{Value, json};

use crate::admin_groups::patch;
use crate::harness::{TestAccount, TestApp, user};
use crate::invitations::{assert_problem, invite};

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// Percent-encodes a query value.
fn enc(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Makes a SCIM user; returns their id.
async fn scim_user(app: &TestApp, account: &TestAccount, body: Value) -> String {
    let r = app.post("/scim/v2/Users", &account.scim, &body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn user_names(page: &Value) -> Vec<&str> {
    page["users"]
        .as_array()
        .unwrap_or_else(|| panic!("a user page: {page}"))
        .iter()
        .map(|u| u["userName"].as_str().unwrap())
        .collect()
}

/// Ann (Gent store, phone), Bob (Antwerpen store), Carl (deactivated), all over SCIM; Ann and Bob
/// in the SCIM group `Sales`; and Dora, invited into it. Returns the account and the group's id.
async fn directory(app: &TestApp) -> (TestAccount, String) {
    let account = app.account("Acme Retail");
    let mut ann = user("ann@example.com");
    ann["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}]);
    ann[MT] =
        json!({"stores": [{"refId": "GNT-01", "name": "Gent Zuid", "countryCallingCode": "32"}]});
    let ann = scim_user(app, &account, ann).await;
    let mut bob = user("bob.maes@shop.example");
    bob["name"] = json!({"givenName": "Bob", "familyName": "Maes"});
    bob[MT] =
        json!({"stores": [{"refId": "ANT-02", "name": "Antwerpen", "countryCallingCode": "32"}]});
    let bob = scim_user(app, &account, bob).await;
    let mut carl = user("carl@example.com");
    carl["name"] = json!({"givenName": "Carl", "familyName": "Ölçer"});
    carl["active"] = json!(false);
    scim_user(app, &account, carl).await;
    let group = app
        .post(
            "/scim/v2/Groups",
            &account.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Sales", "externalId": "g-sales",
                    "members": [{"value": ann}, {"value": bob}]}),
        )
        .await;
    assert_eq!(group.status.as_u16(), 201, "{}", group.body);
    let group = group.body["id"].as_str().unwrap().to_owned();
    // The invitation form names Ann Lee too: a fourth user, invited, in Sales, in GNT-01.
    invite(app, &account, "dora@example.com", &group).await;
    (account, group)
}

#[actix_web::test]
async fn users_are_found_by_name_user_name_email_and_phone() {
    let app = TestApp::new();
    // About the directory; invitations_jobs runs the invitation's jobs.
    app.allow_unprocessed_jobs();
    let (account, _) = directory(&app).await;
    let search = |term: &str| {
        let path = format!("/admin/v1/users?search={}", enc(term));
        let term = term.to_owned();
        let app = &app;
        let token = account.admin.clone();
        async move {
            let r = app.get(&path, &token).await;
            assert_eq!(r.status.as_u16(), 200, "{term}: {}", r.body);
            r.body
        }
    };
    let all = search("").await;
    assert_eq!(all["totalResults"], 4, "{all}");
    assert_eq!(
        user_names(&all),
        [
            "ann@example.com",
            "bob.maes@shop.example",
            "carl@example.com",
            "dora@example.com"
        ]
    );
    for (term, expected) in [
        ("MAES", vec!["bob.maes@shop.example"]),
        ("bob maes", vec!["bob.maes@shop.example"]),
        ("@SHOP.example", vec!["bob.maes@shop.example"]),
        ("ölçer", vec!["carl@example.com"]),
        ("ÖLÇER", vec!["carl@example.com"]),
        ("0470 12 34 56", vec!["ann@example.com"]),
        ("+32 470", vec!["ann@example.com", "dora@example.com"]),
        ("dora@", vec!["dora@example.com"]),
        ("100%", vec![]),
        ("nobody", vec![]),
    ] {
        let page = search(term).await;
        assert_eq!(user_names(&page), expected, "{term}: {page}");
        assert_eq!(page["totalResults"], expected.len(), "{term}");
    }
    // Each user with their contact, groups and stores by name.
    let ann = &search("ann@").await["users"][0];
    assert_eq!(ann["email"], "ann@example.com");
    assert_eq!(ann["phoneNumber"], "+32 470 12 34 56");
    assert_eq!(ann["givenName"], "Ann");
    assert_eq!(ann["origin"], "scim");
    assert_eq!(ann["registration"], "registered");
    assert_eq!(ann["active"], true);
    assert_eq!(ann["groups"][0]["name"], "Sales");
    assert_eq!(ann["stores"][0]["refId"], "GNT-01");
    assert_eq!(ann["stores"][0]["name"], "Gent Zuid");
    let dora = &search("dora").await["users"][0];
    assert_eq!(
        (&dora["origin"], &dora["registration"]),
        (&json!("invitation"), &json!("invited"))
    );
}

#[actix_web::test]
async fn every_filter_holds_paging_is_stable_and_bad_values_are_named() {
    let app = TestApp::new();
    app.allow_unprocessed_jobs();
    let (account, group) = directory(&app).await;
    let get = |query: String| {
        let app = &app;
        let token = account.admin.clone();
        async move {
            let r = app.get(&format!("/admin/v1/users?{query}"), &token).await;
            assert_eq!(r.status.as_u16(), 200, "{query}: {}", r.body);
            r.body
        }
    };
    let stores = app.get("/admin/v1/stores", &account.admin).await;
    let gent = stores.body["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["refId"] == "GNT-01")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (query, expected) in [
        (
            format!("groupId={group}"),
            vec![
                "ann@example.com",
                "bob.maes@shop.example",
                "dora@example.com",
            ],
        ),
        (
            format!("storeId={gent}"),
            vec!["ann@example.com", "dora@example.com"],
        ),
        ("storeId=ANT-02".to_owned(), vec!["bob.maes@shop.example"]),
        ("registration=invited".to_owned(), vec!["dora@example.com"]),
        (
            "registration=registered&active=true".to_owned(),
            vec!["ann@example.com", "bob.maes@shop.example"],
        ),
        ("inNoGroup=true".to_owned(), vec!["carl@example.com"]),
        ("active=false".to_owned(), vec!["carl@example.com"]),
        (
            format!("groupId={group}&storeId=GNT-01&search=ann"),
            vec!["ann@example.com", "dora@example.com"],
        ),
        ("groupId=no-such-group".to_owned(), vec![]),
    ] {
        let page = get(query.clone()).await;
        assert_eq!(user_names(&page), expected, "{query}: {page}");
    }
    let second = get("startIndex=2&count=2".to_owned()).await;
    assert_eq!(
        user_names(&second),
        ["bob.maes@shop.example", "carl@example.com"]
    );
    assert_eq!(
        (
            &second["totalResults"],
            &second["startIndex"],
            &second["itemsPerPage"]
        ),
        (&json!(4), &json!(2), &json!(2))
    );

    let bad = app
        .get(
            "/admin/v1/users?registration=maybe&inNoGroup=yes",
            &account.admin,
        )
        .await;
    assert_problem(&bad, 400, Some("inNoGroup"));
    let bad = app
        .get("/admin/v1/users?registration=maybe", &account.admin)
        .await;
    assert_problem(&bad, 400, Some("registration"));
    assert_problem(
        &app.get("/admin/v1/users?count=lots", &account.admin).await,
        400,
        None,
    );

    // Another account sees none of them, whatever it filters by.
    let other = app.account("Other");
    let theirs = app
        .get(&format!("/admin/v1/users?groupId={group}"), &other.admin)
        .await;
    assert_eq!(theirs.body["totalResults"], 0);
    assert_eq!(
        app.get("/admin/v1/users", &other.admin).await.body["totalResults"],
        0
    );
    assert_eq!(
        app.get("/admin/v1/users", &account.scim)
            .await
            .status
            .as_u16(),
        403
    );
}

#[actix_web::test]
async fn a_store_rename_moves_its_users_etags_and_is_logged() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let mut ann = user("ann@example.com");
    ann[MT] = json!({"stores": [{"refId": "GNT-01", "name": "Gent", "countryCallingCode": "32"}]});
    let ann = scim_user(&app, &account, ann).await;
    let mut bob = user("bob@example.com");
    bob[MT] = json!({"storeRefId": "GNT-01"});
    scim_user(&app, &account, bob).await;
    let stores = app.get("/admin/v1/stores", &account.admin).await;
    let store = &stores.body["stores"][0];
    assert_eq!(store["userCount"], 2, "{}", stores.body);
    let path = format!("/admin/v1/stores/{}", store["id"].as_str().unwrap());
    let user_path = format!("/scim/v2/Users/{ann}");
    let old_tag = app
        .get(&user_path, &account.scim)
        .await
        .header("etag")
        .unwrap();

    let renamed = patch(&app, &path, &account.admin, &json!({"name": "Gent Zuid"})).await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Gent Zuid");
    assert_eq!(renamed.body["userCount"], 2);
    let req = actix_web::test::TestRequest::get()
        .uri(&user_path)
        .insert_header(("Authorization", format!("Bearer {}", account.scim)))
        .insert_header(("If-None-Match", old_tag.clone()));
    let after = app.send(req).await;
    assert_eq!(after.status.as_u16(), 200, "the old tag is stale");
    assert_eq!(after.body[MT]["stores"][0]["name"], "Gent Zuid");
    assert_ne!(after.header("etag").unwrap(), old_tag);

    let log = app
        .get("/admin/v1/audit?code=store.renamed", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1);
    let event = &log.body["events"][0];
    assert_eq!(event["actor"], "test admin");
    assert_eq!(
        event["detail"]["name"],
        json!({"from": "Gent", "to": "Gent Zuid"})
    );

    // Bad names and unknown fields are 400s, another account's store a 404; nothing changes.
    for bad in [
        json!({"name": ""}),
        json!({"name": "a\nb"}),
        json!({"name": "x".repeat(256)}),
        json!({"name": "X", "refId": "Y"}),
        json!({}),
    ] {
        assert_problem(&patch(&app, &path, &account.admin, &bad).await, 400, None);
    }
    let other = app.account("Other");
    assert_problem(
        &patch(&app, &path, &other.admin, &json!({"name": "Mine"})).await,
        404,
        None,
    );
    assert_eq!(
        app.get("/admin/v1/stores", &other.admin).await.body["totalResults"],
        0
    );
    let stores = app.get("/admin/v1/stores", &account.admin).await;
    assert_eq!(stores.body["stores"][0]["name"], "Gent Zuid");
}
