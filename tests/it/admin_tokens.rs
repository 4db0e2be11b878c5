//! API tokens on the admin API: listed without hashes, issued to a named person (shown once, with
//! an optional expiry), relabelled, revoked; an expired token opens nothing, answered like an
//! unknown one; the provisioning log's actor is the label of the admin token that wrote.

use diesel::prelude::*;
use mobietrain_scim::db::schema::api_tokens;
use serde_json::{Value, json};

use crate::admin_groups::patch;
use crate::harness::TestApp;
use crate::invitations::assert_problem;

fn labels(list: &Value) -> Vec<&str> {
    list["tokens"]
        .as_array()
        .unwrap_or_else(|| panic!("a token list: {list}"))
        .iter()
        .map(|t| t["label"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn a_token_is_issued_to_a_person_who_is_then_the_actor_and_may_be_relabelled() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let list = app.get("/admin/v1/tokens", &account.admin).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.body);
    assert_eq!(labels(&list.body), ["test scim", "test admin"]);
    let first = &list.body["tokens"][0];
    assert_eq!(first["scope"], "scim");
    assert!(first["prefix"].as_str().unwrap().starts_with("mts_"));
    assert!(
        !list.body.to_string().contains("Hash") && !list.body.to_string().contains("hash"),
        "no hash is shown: {}",
        list.body
    );

    let issued = app
        .post(
            "/admin/v1/tokens",
            &account.admin,
            &json!({"label": "Ann Peeters (HR)", "scope": "admin", "expiresInDays": 30}),
        )
        .await;
    assert_eq!(issued.status.as_u16(), 201, "{}", issued.body);
    let token = issued.body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with(issued.body["prefix"].as_str().unwrap()));
    assert!(issued.body["expiresAt"].as_str().is_some());
    let id = issued.body["id"].as_str().unwrap().to_owned();
    let listed = app.get("/admin/v1/tokens", &account.admin).await;
    assert_eq!(listed.body["totalResults"], 3);
    assert!(
        !listed.body.to_string().contains(&token),
        "the token is shown once"
    );

    // Ann's writes are Ann's in the provisioning log.
    let made = app
        .post("/admin/v1/groups", &token, &json!({"displayName": "Sales"}))
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.body);
    let relabelled = patch(
        &app,
        &format!("/admin/v1/tokens/{id}"),
        &account.admin,
        &json!({"label": "Ann Peeters"}),
    )
    .await;
    assert_eq!(relabelled.status.as_u16(), 200, "{}", relabelled.body);
    assert_eq!(relabelled.body["label"], "Ann Peeters");
    let group = made.body["id"].as_str().unwrap();
    let renamed = patch(
        &app,
        &format!("/admin/v1/groups/{group}"),
        &token,
        &json!({"displayName": "Sales BE"}),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.body);
    let log = app
        .get(
            &format!("/admin/v1/audit?resourceId={group}"),
            &account.admin,
        )
        .await;
    let actors: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["Ann Peeters", "Ann Peeters (HR)"]);

    // A SCIM token made here opens SCIM, not the admin API.
    let scim = app
        .post(
            "/admin/v1/tokens",
            &account.admin,
            &json!({"label": "Entra ID", "scope": "scim"}),
        )
        .await;
    assert_eq!(scim.status.as_u16(), 201, "{}", scim.body);
    assert_eq!(scim.body["expiresAt"], Value::Null);
    let scim = scim.body["token"].as_str().unwrap();
    assert_eq!(app.get("/scim/v2/Users", scim).await.status.as_u16(), 200);
    assert_problem(&app.get("/admin/v1/tokens", scim).await, 403, None);
}

#[actix_web::test]
async fn bad_requests_are_named_and_issue_nothing() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let before = app.count("api_tokens");
    for (body, field) in [
        (json!({"label": "x", "scope": "root"}), Some("scope")),
        (
            json!({"label": "x", "scope": "admin", "expiresInDays": 0}),
            Some("expiresInDays"),
        ),
        (
            json!({"label": "x", "scope": "admin", "expiresInDays": 99999999999i64}),
            Some("expiresInDays"),
        ),
        (
            json!({"label": "x", "scope": "admin", "expiresInDays": 1,
                   "expiresAt": "2030-01-01T00:00:00Z"}),
            Some("expiresInDays"),
        ),
        (
            json!({"label": "x", "scope": "admin", "expiresAt": "tomorrow"}),
            Some("expiresAt"),
        ),
        (
            json!({"label": "x", "scope": "admin", "expiresAt": "2001-01-01T00:00:00Z"}),
            None,
        ),
        (json!({"label": "", "scope": "admin"}), None),
        (json!({"label": "x", "scope": "admin", "owner": "me"}), None),
    ] {
        let r = app.post("/admin/v1/tokens", &account.admin, &body).await;
        assert_problem(&r, 400, field);
    }
    assert_eq!(app.count("api_tokens"), before);
}

#[actix_web::test]
async fn revoked_and_expired_tokens_open_nothing_and_the_own_token_needs_a_yes() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let issue = |label: &'static str| {
        let app = &app;
        let admin = account.admin.clone();
        async move {
            let r = app
                .post(
                    "/admin/v1/tokens",
                    &admin,
                    &json!({"label": label, "scope": "admin", "expiresInDays": 1}),
                )
                .await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.body);
            (
                r.body["id"].as_str().unwrap().to_owned(),
                r.body["token"].as_str().unwrap().to_owned(),
            )
        }
    };
    let unknown = app.get("/admin/v1/account", "mts_nosuchtoken").await;
    let unknown = assert_problem(&unknown, 401, None);

    // Expired: a minute ago.
    let (expired_id, expired) = issue("Temp").await;
    assert_eq!(
        app.get("/admin/v1/account", &expired).await.status.as_u16(),
        200
    );
    let past = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    diesel::update(api_tokens::table.find(&expired_id))
        .set(api_tokens::expires_at.eq(Some(past)))
        .execute(&mut app.conn())
        .unwrap();
    let refused = app.get("/admin/v1/account", &expired).await;
    let refused = assert_problem(&refused, 401, None);
    assert_eq!(
        refused["detail"], unknown["detail"],
        "told like an unknown token"
    );

    // Revoked by another admin.
    let (bob_id, bob) = issue("Bob").await;
    let revoked = app
        .delete(&format!("/admin/v1/tokens/{bob_id}"), &account.admin)
        .await;
    assert_eq!(revoked.status.as_u16(), 204, "{}", revoked.body);
    let refused = app.get("/admin/v1/account", &bob).await;
    assert_eq!(
        assert_problem(&refused, 401, None)["detail"],
        unknown["detail"]
    );
    let list = app.get("/admin/v1/tokens", &account.admin).await;
    let bob_row = list.body["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == bob_id.as_str())
        .unwrap();
    assert!(bob_row["revokedAt"].as_str().is_some());

    // One's own token only with an explicit yes.
    let (own_id, own) = issue("Carl").await;
    let own_path = format!("/admin/v1/tokens/{own_id}");
    let refused = app.delete(&own_path, &own).await;
    let problem = assert_problem(&refused, 409, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("revokeOwn=true"),
        "{problem}"
    );
    assert_eq!(
        app.get("/admin/v1/account", &own).await.status.as_u16(),
        200
    );
    let done = app
        .delete(&format!("{own_path}?revokeOwn=true"), &own)
        .await;
    assert_eq!(done.status.as_u16(), 204, "{}", done.body);
    assert_problem(&app.get("/admin/v1/account", &own).await, 401, None);

    // Another account's tokens are not there to relabel or revoke.
    let other = app.account("Other");
    let path = format!("/admin/v1/tokens/{bob_id}");
    assert_problem(&app.delete(&path, &other.admin).await, 404, None);
    assert_problem(
        &patch(&app, &path, &other.admin, &json!({"label": "Mine"})).await,
        404,
        None,
    );
    assert_eq!(
        labels(&app.get("/admin/v1/tokens", &other.admin).await.body),
        ["test scim", "test admin"]
    );
}
