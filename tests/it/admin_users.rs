//! Users on the admin API: read by id, and deleted by hand only when no identity provider manages
//! them (the seed's "manually deleted in the CMS").

use serde_json::json;

use crate::harness::TestApp;
use crate::invitations::{account_with_group, assert_problem, footprint, invite};

#[actix_web::test]
async fn an_invited_user_is_read_and_deleted_with_their_invitation() {
    let app = TestApp::new();
    // About the admin API and what it queues; invitations_jobs runs such jobs.
    app.allow_unprocessed_jobs();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let user_id = inv["userId"].as_str().unwrap();
    let path = format!("/admin/v1/users/{user_id}");

    let r = app.get(&path, &account.admin).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["id"], user_id);
    assert_eq!(
        r.body["name"],
        json!({"givenName": "Ann", "familyName": "Lee"})
    );
    // The user is in the invitation's group: the tag covers it (README "PATCH, ETags and projection").
    let tag = r.header("etag").unwrap();
    assert!(tag.starts_with("W/\"1-"), "{tag}");
    assert_eq!(r.body["meta"]["version"], json!(tag));

    // Another account cannot see or delete them.
    let (other, _) = account_with_group(&app, "Other").await;
    assert_problem(&app.get(&path, &other.admin).await, 404, None);
    assert_problem(&app.delete(&path, &other.admin).await, 404, None);

    let r = app.delete(&path, &account.admin).await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    assert_eq!((app.count("users"), app.count("invitations")), (0, 0));
    assert_problem(&app.get(&path, &account.admin).await, 404, None);
    let log = app
        .get("/admin/v1/audit?code=user.deleted", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1);
}

#[actix_web::test]
async fn a_user_the_identity_provider_manages_is_not_deleted_by_hand() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let created = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &crate::harness::user("bob@example.com"),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let before = footprint(&app);
    let r = app
        .delete(&format!("/admin/v1/users/{id}"), &account.admin)
        .await;
    let problem = assert_problem(&r, 403, None);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("identity provider"),
        "{problem}"
    );
    assert_eq!(footprint(&app), before, "nothing deleted");
    // A SCIM token does not open the admin API.
    assert_problem(
        &app.get(&format!("/admin/v1/users/{id}"), &account.scim)
            .await,
        403,
        None,
    );
}
