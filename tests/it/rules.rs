//! DESIGN 5's rules for user data, row by row: every hard rule is a 400 `invalidValue` whose detail
//! names the attribute and the rule, and leaves nothing in the database; every soft rule lets the
//! write through and leaves a warning in the provisioning log.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::{TestApp, user};

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

fn with(mut body: Value, pointer: &str, value: Value) -> Value {
    *body
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("{pointer} exists in the base body")) = value;
    body
}

fn without(mut body: Value, key: &str) -> Value {
    body.as_object_mut().unwrap().remove(key);
    body
}

fn tables_written(app: &TestApp) -> i64 {
    [
        "users",
        "user_emails",
        "user_phone_numbers",
        "user_addresses",
        "user_roles",
        "stores",
        "user_stores",
    ]
    .iter()
    .map(|t| app.count(t))
    .sum::<i64>()
        // A refusal is recorded (`request.refused`) by design; nothing else may be.
        + app.count_audit_changes()
}

#[actix_web::test]
async fn each_hard_rule_is_a_400_naming_attribute_and_rule_and_writes_nothing() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let base = user("ann@example.com");
    let long = "x".repeat(256);
    let store = |s: Value| {
        let mut b = base.clone();
        b[MT] = json!({"stores": [s]});
        b
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "first name missing",
            with(base.clone(), "/name", json!({"familyName": "Lee"})),
            "name.givenName",
        ),
        (
            "last name missing",
            with(base.clone(), "/name", json!({"givenName": "Ann"})),
            "name.familyName",
        ),
        (
            "blank first name",
            with(base.clone(), "/name/givenName", json!("  ")),
            "name.givenName",
        ),
        (
            "no name at all",
            without(base.clone(), "name"),
            "name.givenName",
        ),
        (
            "first name of 256 characters",
            with(base.clone(), "/name/givenName", json!(long)),
            "at most 255",
        ),
        (
            "last name of 256 characters",
            with(base.clone(), "/name/familyName", json!(long)),
            "name.familyName",
        ),
        (
            "job position of 256 characters",
            with(base.clone(), "", {
                let mut b = base.clone();
                b["title"] = json!(long);
                b
            }),
            "\"title\"",
        ),
        (
            "store without ref id",
            store(json!({"name": "Gent", "countryCallingCode": "32"})),
            "refId",
        ),
        (
            "store with a calling code that is no ITU code",
            store(json!({"refId": "S1", "countryCallingCode": "999"})),
            "countryCallingCode",
        ),
        (
            "store with letters that are no ISO 3166 country code",
            store(json!({"refId": "S1", "countryCallingCode": "XY"})),
            "countryCallingCode",
        ),
        (
            "new store without calling code",
            store(json!({"refId": "S1", "name": "Gent"})),
            "countryCallingCode",
        ),
        (
            "store name of 256 characters",
            store(json!({"refId": "S1", "name": long, "countryCallingCode": "32"})),
            "name",
        ),
        (
            "manager without store",
            {
                let mut b = base.clone();
                b["roles"] = json!([{"value": "manager"}]);
                b
            },
            "manager",
        ),
        (
            "company id of 256 characters",
            {
                let mut b = base.clone();
                b[MT] = json!({"companyId": long});
                b
            },
            "companyId",
        ),
        (
            "unknown role",
            {
                let mut b = base.clone();
                b["roles"] = json!([{"value": "owner"}]);
                b
            },
            "roles[0].value",
        ),
        (
            "two primary e-mails",
            with(
                base.clone(),
                "/emails",
                json!([
            {"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}]),
            ),
            "primary",
        ),
        (
            "userName missing",
            without(base.clone(), "userName"),
            "userName",
        ),
        (
            "boolean that is not one",
            with(base.clone(), "", {
                let mut b = base.clone();
                b["active"] = json!("yes");
                b
            }),
            "active",
        ),
    ];
    for (case, body, expected) in cases {
        let response = app.post("/scim/v2/Users", &acct.scim, &body).await;
        let detail = response.assert_scim_error(400, Some("invalidValue"));
        assert!(
            detail.contains(expected),
            "{case}: detail {detail:?} does not name {expected:?}"
        );
        assert_eq!(tables_written(&app), 0, "{case}: something was written");
    }

    // A 400 names every broken rule, not only the first.
    let mut many = with(base.clone(), "/name", json!({"familyName": "Lee"}));
    many["roles"] = json!([{"value": "owner"}]);
    many["title"] = json!(long);
    let refused = app.post("/scim/v2/Users", &acct.scim, &many).await;
    let detail = refused.assert_scim_error(400, Some("invalidValue"));
    for expected in [
        "3 rules are broken",
        "name.givenName",
        "\"title\"",
        "roles[0].value",
    ] {
        assert!(detail.contains(expected), "{detail} names no {expected}");
    }
    assert_eq!(tables_written(&app), 0);

    // The same rules hold for PUT, which then leaves the stored user as it was.
    let created = app.post("/scim/v2/Users", &acct.scim, &base).await;
    let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
    let before = app.get(&path, &acct.scim).await.body;
    let events = app.count_audit_changes();
    let refused = app
        .put(&path, &acct.scim, &without(base.clone(), "name"))
        .await;
    refused.assert_scim_error(400, Some("invalidValue"));
    assert_eq!(app.get(&path, &acct.scim).await.body, before);
    assert_eq!(app.count_audit_changes(), events);
}

#[actix_web::test]
async fn malformed_bodies_are_invalid_syntax_or_unsupported() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let raw = |payload: &'static str, content_type: &'static str| {
        actix_web::test::TestRequest::default()
            .method(Method::POST)
            .uri("/scim/v2/Users")
            .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
            .insert_header(("Content-Type", content_type))
            .set_payload(payload)
    };
    let r = app
        .send(raw("{\"userName\": ", "application/scim+json"))
        .await;
    assert!(
        r.assert_scim_error(400, Some("invalidSyntax"))
            .contains("not valid JSON")
    );
    let r = app
        .send(raw("[1, 2]", "application/json; charset=utf-8"))
        .await;
    r.assert_scim_error(400, Some("invalidSyntax"));
    let r = app.send(raw("{}", "text/plain")).await;
    r.assert_scim_error(415, None);
    let r = app
        .send(raw(
            "{\"schemas\": \"x\", \"name\": \"Ann\"}",
            "application/scim+json",
        ))
        .await;
    assert!(
        r.assert_scim_error(400, Some("invalidValue"))
            .contains("\"name\"")
    );
    assert_eq!(app.count("users"), 0);
}

#[actix_web::test]
async fn bodies_over_the_limit_are_413() {
    let settings = mobietrain_scim::state::HttpSettings {
        max_body_bytes: 1024,
        ..Default::default()
    };
    let app = TestApp::with(settings, 2);
    let acct = app.account("acme");
    let mut big = user("ann@example.com");
    big["nickName"] = json!("n".repeat(2000));
    let r = app.post("/scim/v2/Users", &acct.scim, &big).await;
    assert!(r.assert_scim_error(413, None).contains("1024 bytes"));
    assert_eq!(app.count("users"), 0);
}

async fn warnings_of(app: &TestApp, admin: &str, user_id: &str) -> Vec<String> {
    let log = app
        .get(&format!("/admin/v1/audit?resourceId={user_id}"), admin)
        .await;
    assert_eq!(log.status, 200, "{}", log.body);
    log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "warn")
        .map(|e| e["code"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn soft_rules_let_the_write_through_and_warn_in_the_provisioning_log() {
    let app = TestApp::new();
    let acct = app.account("acme");

    let clean = app
        .post("/scim/v2/Users", &acct.scim, &user("clean@example.com"))
        .await;
    assert_eq!(clean.status, 201);
    assert!(
        warnings_of(&app, &acct.admin, clean.body["id"].as_str().unwrap())
            .await
            .is_empty()
    );

    let mut no_external = without(user("noext@example.com"), "externalId");
    no_external["phoneNumbers"] = json!([{"value": "0470 12 34 56"}]);
    let r = app.post("/scim/v2/Users", &acct.scim, &no_external).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut got = warnings_of(&app, &acct.admin, r.body["id"].as_str().unwrap()).await;
    got.sort();
    assert_eq!(
        got,
        [
            "user.external_id_missing",
            "user.phone_without_country_code"
        ]
    );

    let mut phone_only = without(user("phone@example.com"), "emails");
    phone_only["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}]);
    let r = app.post("/scim/v2/Users", &acct.scim, &phone_only).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        warnings_of(&app, &acct.admin, r.body["id"].as_str().unwrap()).await,
        ["user.email_missing"]
    );
}

/// DESIGN 5: a contact is advice. Without an e-mail and a phone, or with only a phone lacking its
/// country code, a SCIM write goes through with `user.no_contact`; the account setting
/// `requireContact` makes both a 400 naming the attribute, writing nothing.
#[actix_web::test]
async fn a_missing_contact_is_a_warning_unless_the_account_requires_one() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let no_contact = without(user("none@example.com"), "emails");
    let mut local_phone = without(user("local@example.com"), "emails");
    local_phone["phoneNumbers"] = json!([{"value": "0470 12 34 56", "type": "mobile"}]);

    let r = app.post("/scim/v2/Users", &acct.scim, &no_contact).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut got = warnings_of(&app, &acct.admin, r.body["id"].as_str().unwrap()).await;
    got.sort();
    assert_eq!(got, ["user.email_missing", "user.no_contact"]);
    let r = app.post("/scim/v2/Users", &acct.scim, &local_phone).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let mut got = warnings_of(&app, &acct.admin, r.body["id"].as_str().unwrap()).await;
    got.sort();
    assert_eq!(
        got,
        [
            "user.email_missing",
            "user.no_contact",
            "user.phone_without_country_code"
        ]
    );

    let on = app
        .call(
            Method::PATCH,
            "/admin/v1/account",
            &acct.admin,
            Some(&json!({"requireContact": true})),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(on.body["requireContact"], true);
    let users = app.count("users");
    let events = app.count_audit_changes();
    for (body, expected) in [
        (
            without(user("none2@example.com"), "emails"),
            "at least an e-mail address",
        ),
        (
            {
                let mut b = without(user("local2@example.com"), "emails");
                b["phoneNumbers"] = local_phone["phoneNumbers"].clone();
                b
            },
            "\"phoneNumbers[0].value\" must carry its country code",
        ),
    ] {
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        let detail = r.assert_scim_error(400, Some("invalidValue"));
        assert!(detail.contains(expected), "{detail}");
    }
    assert_eq!(
        (app.count("users"), app.count_audit_changes()),
        (users, events)
    );
    // A phone with its country code is a contact, also under the setting.
    let mut phone = without(user("intl@example.com"), "emails");
    phone["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}]);
    let r = app.post("/scim/v2/Users", &acct.scim, &phone).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[actix_web::test]
async fn an_account_can_require_external_id() {
    let app = TestApp::new();
    let acct = app.account("acme");
    mobietrain_scim::accounts::update_settings(
        &mut app.conn(),
        &acct.id,
        Some(true),
        chrono::Utc::now().naive_utc(),
    )
    .unwrap();
    let r = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &without(user("a@example.com"), "externalId"),
        )
        .await;
    assert!(
        r.assert_scim_error(400, Some("invalidValue"))
            .contains("externalId")
    );
    assert_eq!(tables_written(&app), 0);
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &user("a@example.com"))
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn stores_are_shared_by_ref_id_and_a_user_write_never_renames_one() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut first = user("a@example.com");
    first[MT] = json!({"storeRefId": "S1", "storeName": "Gent", "storeCountryCallingCode": "32"});
    let a = app.post("/scim/v2/Users", &acct.scim, &first).await;
    assert_eq!(a.status, 201, "{}", a.body);

    // A second user names the store by ref id alone: it shows the store's name and code.
    let mut second = user("b@example.com");
    second[MT] = json!({"stores": [{"refId": "S1"}]});
    let b = app.post("/scim/v2/Users", &acct.scim, &second).await;
    assert_eq!(b.status, 201, "{}", b.body);
    assert_eq!(
        b.body[MT]["stores"],
        json!([{"refId": "S1", "name": "Gent", "countryCallingCode": "32"}])
    );

    // A third brings another name: the store keeps its name for everybody (a user write never
    // renames a store), and the log warns with both names.
    let mut third = user("c@example.com");
    third[MT] =
        json!({"stores": [{"refId": "S1", "name": "Gent Zuid", "countryCallingCode": "+32"}]});
    let c = app.post("/scim/v2/Users", &acct.scim, &third).await;
    assert_eq!(c.status, 201, "{}", c.body);
    assert_eq!(c.body[MT]["storeName"], "Gent");
    let a_again = app
        .get(
            &format!("/scim/v2/Users/{}", a.body["id"].as_str().unwrap()),
            &acct.scim,
        )
        .await;
    assert_eq!(a_again.body[MT]["storeName"], "Gent");
    assert_eq!(a_again.body["meta"]["version"], a.body["meta"]["version"]);
    assert_eq!(app.count("stores"), 1);
    let renamed = app
        .get("/admin/v1/audit?code=store.updated", &acct.admin)
        .await;
    assert_eq!(renamed.body["totalResults"], 0, "{}", renamed.body);
    let log = app
        .get("/admin/v1/audit?code=store.name_differs", &acct.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    assert_eq!(log.body["events"][0]["detail"]["name"], "Gent");
    assert_eq!(log.body["events"][0]["detail"]["sent"], "Gent Zuid");
}

/// DESIGN 5: attributes no schema names are ignored on create and replace, with the warning
/// `user.attribute_ignored` naming them; the common `id`, `meta` and `schemas` are not counted.
#[actix_web::test]
async fn attributes_no_schema_names_are_ignored_with_a_warning_naming_them() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["favouriteColour"] = json!("blue");
    body[MT] = json!({"shoeSize": 42});
    body["meta"] = json!({"resourceType": "User"});
    let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.body.get("favouriteColour").is_none());
    let id = r.body["id"].as_str().unwrap().to_owned();
    let log = app
        .get("/admin/v1/audit?code=user.attribute_ignored", &acct.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    let detail = &log.body["events"][0]["detail"];
    assert_eq!(
        detail["attributes"],
        json!(["favouriteColour", format!("{MT}:shoeSize")]),
        "{detail}"
    );
    assert_eq!(detail["count"], 2);

    // A replacement too, its names bounded.
    let mut replacement = user("ann@example.com");
    for i in 0..25 {
        replacement[format!("extra{i}")] = json!(i);
    }
    let r = app
        .put(&format!("/scim/v2/Users/{id}"), &acct.scim, &replacement)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let log = app
        .get("/admin/v1/audit?code=user.attribute_ignored", &acct.admin)
        .await;
    assert_eq!(log.body["totalResults"], 2, "{}", log.body);
    let detail = &log.body["events"][0]["detail"];
    assert_eq!(detail["count"], 25, "{detail}");
    assert_eq!(detail["attributes"].as_array().unwrap().len(), 10);
    // An ordinary write warns of nothing.
    let r = app
        .post("/scim/v2/Users", &acct.scim, &user("bob@example.com"))
        .await;
    assert!(
        warnings_of(&app, &acct.admin, r.body["id"].as_str().unwrap())
            .await
            .is_empty()
    );
}
