//! Authentication: the bearer token decides the tenant and must carry the API's scope.

use actix_web::test::TestRequest;
use chrono::Utc;
use mobietrain_scim::accounts;

use crate::harness::{TestApp, user};

#[actix_web::test]
async fn missing_and_revoked_tokens_are_401_and_wrong_scope_tokens_403_with_a_scim_body() {
    let app = TestApp::new();
    let acct = app.account("acme");

    let none = app.send(TestRequest::get().uri("/scim/v2/Users")).await;
    assert!(none.assert_scim_error(401, None).contains("Bearer"));
    assert_eq!(none.header("www-authenticate").as_deref(), Some("Bearer"));
    let basic = app
        .send(
            TestRequest::get()
                .uri("/scim/v2/Users")
                .insert_header(("Authorization", "Basic YTpi")),
        )
        .await;
    basic.assert_scim_error(401, None);
    app.get("/scim/v2/Users", "mts_not-a-token")
        .await
        .assert_scim_error(401, None);
    app.get("/scim/v2/Users", &"x".repeat(5000))
        .await
        .assert_scim_error(401, None);
    let admin_on_scim = app.get("/scim/v2/Users", &acct.admin).await;
    // A valid token of the other scope: the caller is known and may not call this API.
    assert!(
        admin_on_scim
            .assert_scim_error(403, None)
            .contains("not a SCIM token")
    );
    assert!(admin_on_scim.header("www-authenticate").is_none());
    app.get("/scim/v2/Schemas", &acct.admin)
        .await
        .assert_scim_error(403, None);

    // The admin API answers problem+json, and a SCIM token does not open it.
    let scim_on_admin = app.get("/admin/v1/audit", &acct.scim).await;
    assert_eq!(scim_on_admin.status, 403);
    assert_eq!(
        scim_on_admin.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(scim_on_admin.body["status"], 403);
    assert!(
        scim_on_admin.body["detail"]
            .as_str()
            .unwrap()
            .contains("not an admin token")
    );

    // Several live tokens per account; revoking one leaves the others working.
    let mut conn = app.conn();
    let (second, second_token) = accounts::issue_token(
        &mut conn,
        &acct.id,
        "second",
        accounts::Scope::Scim,
        Utc::now().naive_utc(),
    )
    .unwrap();
    assert_eq!(app.get("/scim/v2/Users", &second_token).await.status, 200);
    accounts::revoke_token(&mut conn, &second.id, Utc::now().naive_utc()).unwrap();
    let revoked = app
        .post("/scim/v2/Users", &second_token, &user("a@example.com"))
        .await;
    assert!(revoked.assert_scim_error(401, None).contains("revoked"));
    assert_eq!(app.count("users"), 0);
    assert_eq!(app.get("/scim/v2/Users", &acct.scim).await.status, 200);
}

#[actix_web::test]
async fn the_token_is_stored_hashed_and_its_last_use_is_recorded_at_most_once_a_minute() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let tokens = accounts::list_tokens(&mut app.conn(), &acct.id).unwrap();
    let scim = tokens.iter().find(|t| t.scope == "scim").unwrap();
    assert_eq!(scim.token_hash, accounts::hash_token(&acct.scim));
    assert!(acct.scim.starts_with(&scim.prefix) && scim.prefix.len() < 16);
    assert!(scim.last_used_at.is_none());
    app.get("/scim/v2/Users", &acct.scim).await;
    let first_use = accounts::list_tokens(&mut app.conn(), &acct.id)
        .unwrap()
        .into_iter()
        .find(|t| t.id == scim.id)
        .unwrap();
    assert!(first_use.last_used_at.is_some());
    app.get("/scim/v2/Users", &acct.scim).await;
    let second_use = accounts::list_tokens(&mut app.conn(), &acct.id)
        .unwrap()
        .into_iter()
        .find(|t| t.id == scim.id)
        .unwrap();
    assert_eq!(
        first_use.last_used_at, second_use.last_used_at,
        "a read within the minute writes nothing"
    );
}
