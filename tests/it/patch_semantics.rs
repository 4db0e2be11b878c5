//! The PATCH and filter semantics a model-based fuzzer found wrong (issue 26), through the real app
//! on the test's backend: setting `primary` moves it, an element already there is not added again,
//! a clear of nothing changes nothing, a PATCH that changes nothing keeps the version,
//! `lastModified` and the provisioning log, and date-time filters compare at the stored precision.

use actix_web::http::Method;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::harness::{Resp, TestAccount, TestApp, user};
use crate::patch::ops;
use crate::users_crud::urlencode;

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

async fn patch(app: &TestApp, acct: &TestAccount, path: &str, list: Value) -> Resp {
    app.call(Method::PATCH, path, &acct.scim, Some(&ops(list)))
        .await
}

/// PATCHes a user with the operations `list`, expects 200, and returns the user as stored.
async fn patched(app: &TestApp, acct: &TestAccount, id: &str, list: Value) -> Value {
    crate::patch::patched(app, acct, id, ops(list)).await
}

/// A user with e-mails A (work, primary) and B (home), two phone numbers and two stores.
async fn ann(app: &TestApp, acct: &TestAccount) -> String {
    let mut body = user("a@example.com");
    body["emails"] = json!([{"value": "a@example.com", "type": "work", "primary": true},
                            {"value": "b@example.com", "type": "home"}]);
    body["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "work", "primary": true},
                                  {"value": "+32 470 65 43 21", "type": "mobile"}]);
    body[MT] = json!({"stores": [{"refId": "S1", "countryCallingCode": "32", "primary": true},
                                 {"refId": "S2", "countryCallingCode": "32"}]});
    let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn primaries(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e[key].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn setting_primary_through_a_value_path_moves_it() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = ann(&app, &acct).await;

    let u = patched(
        &app,
        &acct,
        &id,
        json!([
        {"op": "replace", "path": "emails[value eq \"b@example.com\"].primary", "value": true},
        {"op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].primary", "value": "True"},
        {"op": "replace", "path": format!("{MT}:stores[refId eq \"S2\"].primary"), "value": true}]),
    )
    .await;
    assert_eq!(primaries(&u["emails"], "value"), ["b@example.com"]);
    assert_eq!(u["emails"].as_array().unwrap().len(), 2);
    assert_eq!(primaries(&u["phoneNumbers"], "value"), ["+32 470 65 43 21"]);
    assert_eq!(primaries(&u[MT]["stores"], "refId"), ["S2"]);
    assert_eq!(u[MT]["storeRefId"], "S2", "the flat view follows");

    // An add of a new primary element makes it the one primary.
    let u = patched(
        &app,
        &acct,
        &id,
        json!([{"op": "add", "path": "emails",
        "value": [{"value": "c@example.com", "type": "other", "primary": true}]}]),
    )
    .await;
    assert_eq!(primaries(&u["emails"], "value"), ["c@example.com"]);

    // A request that itself marks two elements primary is still refused, and changes nothing.
    let before = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    let r = patch(
        &app,
        &acct,
        &format!("/scim/v2/Users/{id}"),
        json!([{"op": "replace",
        "path": "emails", "value": [{"value": "p@example.com", "primary": true},
                                    {"value": "q@example.com", "primary": true}]}]),
    )
    .await;
    r.assert_scim_error(400, Some("invalidValue"));
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{id}"), &acct.scim)
            .await
            .body,
        before
    );
}

#[actix_web::test]
async fn adding_an_element_that_is_there_changes_nothing() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = ann(&app, &acct).await;
    let before = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;

    // The same value (e-mail values compare ignoring case) and type: stored once, not changed.
    let u = patched(
        &app,
        &acct,
        &id,
        json!([{"op": "add", "path": "emails",
        "value": [{"value": "A@Example.com", "type": "work"}]}]),
    )
    .await;
    assert_eq!(u, before.body);
    assert_eq!(app.count("user_emails"), 2);

    // The duplicate carries primary: the existing element becomes primary, still stored once.
    let u = patched(
        &app,
        &acct,
        &id,
        json!([{"op": "add", "value": {"emails":
        [{"value": "b@example.com", "type": "home", "primary": true}]}}]),
    )
    .await;
    assert_eq!(
        u["emails"],
        json!([{"value": "a@example.com", "type": "work"},
                                   {"value": "b@example.com", "type": "home", "primary": true}])
    );
    assert_eq!(app.count("user_emails"), 2);

    // A list holding the same element twice is stored once.
    let u = patched(
        &app,
        &acct,
        &id,
        json!([{"op": "replace", "path": "emails", "value": [
        {"value": "d@example.com", "type": "work"}, {"value": "d@example.com", "type": "work"}]}]),
    )
    .await;
    assert_eq!(
        u["emails"],
        json!([{"value": "d@example.com", "type": "work"}])
    );
    assert_eq!(app.count("user_emails"), 1);
}

#[actix_web::test]
async fn clearing_a_sub_attribute_of_nothing_is_a_no_op() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = ann(&app, &acct).await;
    let before = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    let events = app.count_audit_changes();
    for clear in [json!(""), json!(null)] {
        let u = patched(
            &app,
            &acct,
            &id,
            json!([
            {"op": "replace", "path": "emails[type eq \"other\"].display", "value": clear},
            {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": clear}]),
        )
        .await;
        assert_eq!(u, before.body, "{clear}");
    }
    assert_eq!(app.count_audit_changes(), events);
    // A value still creates the element (Entra's create on absent).
    let u = patched(
        &app,
        &acct,
        &id,
        json!([{"op": "replace",
        "path": "emails[type eq \"other\"].value", "value": "o@example.com"}]),
    )
    .await;
    assert_eq!(
        u["emails"][2],
        json!({"value": "o@example.com", "type": "other"})
    );
}

#[actix_web::test]
async fn a_patch_that_changes_nothing_keeps_the_version() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = ann(&app, &acct).await;
    let path = format!("/scim/v2/Users/{id}");
    let before = app.get(&path, &acct.scim).await;
    let tag = before.header("etag").unwrap();
    let events = app.count_audit_changes();
    for list in [
        json!([{"op": "add", "path": "active", "value": true}]),
        // Entra's periodic enable, in the default dialect.
        json!([{"op": "Replace", "path": "active", "value": "True"}]),
        json!([{"op": "add", "path": "name.givenName", "value": "Ann"}]),
        json!([{"op": "replace", "value": {"active": true, "userName": "a@example.com"}}]),
        json!([{"op": "add", "path": "emails[type eq \"work\"].primary", "value": true}]),
    ] {
        let r = patch(&app, &acct, &path, list.clone()).await;
        assert_eq!(r.status, 200, "{list}: {}", r.body);
        assert_eq!(r.header("etag").as_deref(), Some(tag.as_str()), "{list}");
        assert_eq!(r.body, before.body, "{list}: meta.lastModified stays");
    }
    assert_eq!(
        app.count_audit_changes(),
        events,
        "no provisioning-log entry"
    );
    // If-Match with the unchanged tag still holds.
    let r = app
        .send(
            actix_web::test::TestRequest::patch()
                .uri(&path)
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("If-Match", tag.clone()))
                .set_json(ops(
                    json!([{"op": "replace", "path": "title", "value": "Chef"}]),
                )),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(
        r.header("etag").as_deref(),
        Some(tag.as_str()),
        "a change moves it"
    );
    assert_eq!(app.count_audit_changes(), events + 1);
}

#[actix_web::test]
async fn a_group_patch_that_changes_nothing_keeps_the_version() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let member = ann(&app, &acct).await;
    let g = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": "Bakers", "externalId": "g1", "members": [{"value": member}]}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    let path = format!("/scim/v2/Groups/{}", g.body["id"].as_str().unwrap());
    let tag = g.header("etag").unwrap();
    let events = app.count_audit_changes();
    for list in [
        json!([{"op": "replace", "path": "displayName", "value": "Bakers"}]),
        json!([{"op": "add", "path": "members", "value": [{"value": member}]}]),
        json!([{"op": "replace", "value": {"id": g.body["id"], "displayName": "Bakers"}}]),
        json!([{"op": "remove", "path": "members[value eq \"not-a-member\"]"}]),
    ] {
        let r = patch(&app, &acct, &path, list.clone()).await;
        assert_eq!(r.status, 204, "{list}: {}", r.body);
        assert_eq!(r.header("etag").as_deref(), Some(tag.as_str()), "{list}");
    }
    assert_eq!(app.count_audit_changes(), events);
    assert_eq!(app.get(&path, &acct.scim).await.header("etag"), Some(tag));
}

#[actix_web::test]
async fn date_time_filters_compare_at_the_stored_precision() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = ann(&app, &acct).await;
    let u = app
        .get(&format!("/scim/v2/Users/{id}"), &acct.scim)
        .await
        .body;
    let created: DateTime<Utc> = u["meta"]["created"].as_str().unwrap().parse().unwrap();
    let text = |at: DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Nanos, true);
    let finds = |op: &'static str, at: DateTime<Utc>| {
        let filter = format!("id eq \"{id}\" and meta.created {op} \"{}\"", text(at));
        let app = &app;
        let acct = &acct;
        async move {
            let r = app
                .get(
                    &format!("/scim/v2/Users?filter={}", urlencode(&filter)),
                    &acct.scim,
                )
                .await;
            assert_eq!(r.status, 200, "{filter}: {}", r.body);
            r.body["totalResults"] == 1
        }
    };
    // The stored time, written with nine digits (trailing zeros), is the stored time.
    assert!(finds("eq", created).await);
    assert!(finds("ge", created).await && finds("le", created).await);
    assert!(!finds("gt", created).await && !finds("lt", created).await);
    // Half a microsecond later and earlier: between two storable times, equal to none of them.
    let later = created + Duration::nanoseconds(500);
    let earlier = created - Duration::nanoseconds(500);
    for (op, at_later, at_earlier) in [
        ("eq", false, false),
        ("ne", true, true),
        ("gt", false, true),
        ("ge", false, true),
        ("lt", true, false),
        ("le", true, false),
    ] {
        assert_eq!(finds(op, later).await, at_later, "{op} {}", text(later));
        assert_eq!(
            finds(op, earlier).await,
            at_earlier,
            "{op} {}",
            text(earlier)
        );
    }
    // The fuzzer's case: one digit more than stored.
    let seventh = format!(
        "{}5Z",
        created
            .to_rfc3339_opts(SecondsFormat::Micros, true)
            .trim_end_matches('Z')
    );
    let filter = format!("meta.created eq \"{seventh}\"");
    let r = app
        .get(
            &format!("/scim/v2/Users?filter={}", urlencode(&filter)),
            &acct.scim,
        )
        .await;
    assert_eq!(r.body["totalResults"], 0, "{filter}: {}", r.body);
}
