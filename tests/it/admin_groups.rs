//! Groups on the admin API: made, listed, searched, renamed and deleted by an admin; a group its
//! identity provider manages (made over SCIM) is read-only there; names are unique identity-folded;
//! a rename moves the version, and with it the members' ETags; every write reaches the
//! provisioning log with the admin token's label as the actor.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, user};
use crate::invitations::assert_problem;

/// `PATCH path` with a JSON body.
pub async fn patch(app: &TestApp, path: &str, token: &str, body: &Value) -> crate::harness::Resp {
    app.call(Method::PATCH, path, token, Some(body)).await
}

/// Makes a group through the admin API; returns it.
pub async fn admin_group(app: &TestApp, account: &TestAccount, body: Value) -> Value {
    let r = app.post("/admin/v1/groups", &account.admin, &body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body
}

/// Makes a group over SCIM (its identity provider's); returns its id.
async fn scim_group(app: &TestApp, account: &TestAccount, name: &str, members: &[&str]) -> String {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let r = app
        .post(
            "/scim/v2/Groups",
            &account.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": name, "externalId": format!("ext-{name}"), "members": members}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn names(page: &Value) -> Vec<&str> {
    page["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect()
}

#[actix_web::test]
async fn an_admin_makes_lists_and_searches_groups_and_a_taken_name_is_a_409() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let sales = admin_group(
        &app,
        &account,
        json!({"displayName": "Sales Gent", "groupType": "Department"}),
    )
    .await;
    assert!(sales["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(sales["groupType"], "Department");
    assert_eq!(sales["memberCount"], 0);
    assert_eq!(sales["managedByIdentityProvider"], false);
    admin_group(&app, &account, json!({"displayName": "Kitchen"})).await;
    let ann = app
        .post("/scim/v2/Users", &account.scim, &user("ann@example.com"))
        .await;
    let ann_id = ann.body["id"].as_str().unwrap().to_owned();
    scim_group(&app, &account, "Warehouse", &[&ann_id]).await;

    // Another spelling of a taken name (case and width folded, as SCIM compares) is a 409.
    let before = app.count("groups");
    let taken = app
        .post(
            "/admin/v1/groups",
            &account.admin,
            &json!({"displayName": "ＳＡＬＥＳ gent"}),
        )
        .await;
    let problem = assert_problem(&taken, 409, None);
    assert!(
        problem["detail"].as_str().unwrap().contains("already used"),
        "{problem}"
    );
    assert_eq!(app.count("groups"), before, "nothing written");
    // Unknown fields and a missing name are 400s.
    for bad in [
        json!({"displayName": "X", "members": []}),
        json!({"groupType": "Department"}),
        json!({"displayName": " "}),
    ] {
        let r = app.post("/admin/v1/groups", &account.admin, &bad).await;
        assert_problem(&r, 400, None);
    }
    assert_eq!(app.count("groups"), before);

    let all = app.get("/admin/v1/groups", &account.admin).await;
    assert_eq!(all.status.as_u16(), 200, "{}", all.body);
    assert_eq!(all.body["totalResults"], 3);
    assert_eq!(names(&all.body), ["Kitchen", "Sales Gent", "Warehouse"]);
    let warehouse = &all.body["groups"][2];
    assert_eq!(warehouse["managedByIdentityProvider"], true);
    assert_eq!(warehouse["externalId"], "ext-Warehouse");
    assert_eq!(warehouse["memberCount"], 1);

    let found = app
        .get("/admin/v1/groups?search=%EF%BC%B3ales", &account.admin)
        .await;
    assert_eq!(names(&found.body), ["Sales Gent"], "{}", found.body);
    assert_eq!(found.body["totalResults"], 1);
    let none = app
        .get("/admin/v1/groups?search=50%25", &account.admin)
        .await;
    assert_eq!(none.body["totalResults"], 0, "% is no wildcard");
    let page = app
        .get("/admin/v1/groups?startIndex=2&count=1", &account.admin)
        .await;
    assert_eq!(names(&page.body), ["Sales Gent"]);
    assert_eq!(
        (&page.body["totalResults"], &page.body["itemsPerPage"]),
        (&json!(3), &json!(1))
    );

    let one = app
        .get(
            &format!("/admin/v1/groups/{}", sales["id"].as_str().unwrap()),
            &account.admin,
        )
        .await;
    assert_eq!(one.body["displayName"], "Sales Gent");

    let log = app
        .get("/admin/v1/audit?code=group.created", &account.admin)
        .await;
    let actors: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["actor"].as_str().unwrap())
        .collect();
    assert_eq!(actors, ["test scim", "test admin", "test admin"]);
}

#[actix_web::test]
async fn a_rename_moves_the_members_etags_and_an_identity_providers_group_is_read_only() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let ann = app
        .post("/scim/v2/Users", &account.scim, &user("ann@example.com"))
        .await;
    let ann_id = ann.body["id"].as_str().unwrap().to_owned();
    let group = admin_group(&app, &account, json!({"displayName": "Sales"})).await;
    let id = group["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/groups/{id}");
    // The identity provider may still put its users in a group an admin made.
    let added = patch(
        &app,
        &format!("/scim/v2/Groups/{id}"),
        &account.scim,
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": ann_id}]}]}),
    )
    .await;
    assert_eq!(added.status.as_u16(), 204, "{}", added.body);
    let user_path = format!("/scim/v2/Users/{ann_id}");
    let before = app.get(&user_path, &account.scim).await;
    let old_tag = before.header("etag").unwrap();

    let renamed = patch(
        &app,
        &path,
        &account.admin,
        &json!({"displayName": "Sales Belgium", "groupType": "Region"}),
    )
    .await;
    assert_eq!(renamed.status.as_u16(), 200, "{}", renamed.body);
    assert_eq!(renamed.body["displayName"], "Sales Belgium");
    assert_eq!(renamed.body["groupType"], "Region");
    assert_eq!(renamed.body["memberCount"], 1);
    assert_ne!(renamed.body["version"], group["version"]);

    let mut req = actix_web::test::TestRequest::get()
        .uri(&user_path)
        .insert_header(("Authorization", format!("Bearer {}", account.scim)));
    req = req.insert_header(("If-None-Match", old_tag.clone()));
    let after = app.send(req).await;
    assert_eq!(after.status.as_u16(), 200, "the old tag is stale");
    assert_ne!(after.header("etag").unwrap(), old_tag);
    assert_eq!(after.body["groups"][0]["display"], "Sales Belgium");

    let cleared = patch(&app, &path, &account.admin, &json!({"groupType": null})).await;
    assert_eq!(cleared.status.as_u16(), 200, "{}", cleared.body);
    assert_eq!(cleared.body["groupType"], Value::Null);
    assert_eq!(cleared.body["displayName"], "Sales Belgium");
    assert_problem(
        &patch(&app, &path, &account.admin, &json!({"externalId": "x"})).await,
        400,
        None,
    );

    let log = app
        .get(
            &format!("/admin/v1/audit?code=group.updated&resourceId={id}"),
            &account.admin,
        )
        .await;
    assert_eq!(log.body["totalResults"], 2, "{}", log.body);
    assert_eq!(log.body["events"][0]["actor"], "test admin");

    // A group made over SCIM is its identity provider's: neither renamed nor deleted here.
    let warehouse = scim_group(&app, &account, "Warehouse", &[]).await;
    let wpath = format!("/admin/v1/groups/{warehouse}");
    let taken = patch(
        &app,
        &path,
        &account.admin,
        &json!({"displayName": "WAREHOUSE"}),
    )
    .await;
    assert_problem(&taken, 409, None);
    let audit_before = app.count("audit_events");
    for r in [
        patch(
            &app,
            &wpath,
            &account.admin,
            &json!({"displayName": "Depot"}),
        )
        .await,
        app.delete(&wpath, &account.admin).await,
    ] {
        let problem = assert_problem(&r, 409, None);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("identity provider"),
            "{problem}"
        );
    }
    assert_eq!(app.count("audit_events"), audit_before, "nothing logged");
    let still = app.get(&wpath, &account.admin).await;
    assert_eq!(still.body["displayName"], "Warehouse");

    let deleted = app.delete(&path, &account.admin).await;
    assert_eq!(deleted.status.as_u16(), 204, "{}", deleted.body);
    assert_problem(&app.get(&path, &account.admin).await, 404, None);
    assert_eq!(app.count("users"), 1, "the members stay");
    let log = app
        .get("/admin/v1/audit?code=group.deleted", &account.admin)
        .await;
    assert_eq!(log.body["events"][0]["actor"], "test admin");
}

#[actix_web::test]
async fn an_account_never_sees_another_accounts_groups_and_scim_tokens_get_403() {
    let app = TestApp::new();
    let a = app.account("A");
    let b = app.account("B");
    let group = admin_group(&app, &a, json!({"displayName": "Sales"})).await;
    let path = format!("/admin/v1/groups/{}", group["id"].as_str().unwrap());
    let list = app.get("/admin/v1/groups", &b.admin).await;
    assert_eq!(list.body["totalResults"], 0);
    assert_problem(&app.get(&path, &b.admin).await, 404, None);
    assert_problem(
        &patch(&app, &path, &b.admin, &json!({"displayName": "Mine"})).await,
        404,
        None,
    );
    assert_problem(&app.delete(&path, &b.admin).await, 404, None);
    // B may use the same name: names are unique per account.
    admin_group(&app, &b, json!({"displayName": "Sales"})).await;
    assert_problem(&app.get("/admin/v1/groups", &a.scim).await, 403, None);
    assert_problem(
        &app.post("/admin/v1/groups", &a.scim, &json!({"displayName": "X"}))
            .await,
        403,
        None,
    );
}
