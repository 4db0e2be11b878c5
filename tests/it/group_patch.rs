//! PATCH on Groups through the real app: every membership shape of `shared/CLIENTS.md` (Entra E14-E16
//! and P5-P7, Okta O12-O14), the 204/200 rule, ETags, and refusals that change nothing.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::harness::{Resp, TestAccount, TestApp, user};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

async fn patch(app: &TestApp, acct: &TestAccount, id: &str, body: &Value) -> Resp {
    app.call(
        Method::PATCH,
        &format!("/scim/v2/Groups/{id}"),
        &acct.scim,
        Some(body),
    )
    .await
}

async fn members(app: &TestApp, acct: &TestAccount, id: &str) -> Vec<String> {
    let g = app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim).await;
    let mut ids: Vec<String> = g.body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    ids.sort();
    ids
}

async fn setup(app: &TestApp, acct: &TestAccount) -> (String, Vec<String>) {
    let mut users = Vec::new();
    for i in 0..4 {
        let r = app
            .post(
                "/scim/v2/Users",
                &acct.scim,
                &user(&format!("m{i}@example.com")),
            )
            .await;
        users.push(r.body["id"].as_str().unwrap().to_owned());
    }
    // E11: Entra creates groups with its extra schema URN and no members.
    let g = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                    "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "displayName",
                    "meta": {"resourceType": "Group"}}),
        )
        .await;
    assert_eq!(g.status, 201, "{}", g.body);
    (g.body["id"].as_str().unwrap().to_owned(), users)
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[actix_web::test]
async fn entra_group_patches_e14_to_e16_and_p5_to_p7() {
    let app = TestApp::new();
    let acct = app.account("contoso");
    let (gid, u) = setup(&app, &acct).await;
    // E14 / P5: rename → 204 with an ETag.
    let r = patch(&app, &acct, &gid, &ops(json!([{"op": "Replace", "path": "displayName", "value": "1879db59-updatedDisplayName"}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert!(r.header("etag").is_some(), "a 204 carries the ETag too");
    assert_eq!(
        app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim)
            .await
            .body["displayName"],
        "1879db59-updatedDisplayName"
    );
    // E15 / P6: add members, several in one PATCH.
    let r = patch(&app, &acct, &gid, &ops(json!([{"op": "Add", "path": "members", "value": [
        {"$ref": null, "value": u[0]}, {"$ref": null, "value": u[1]}, {"$ref": null, "value": u[2]}]}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(members(&app, &acct, &gid).await, sorted(u[..3].to_vec()));
    // Adding an existing member is a harmless no-op.
    assert_eq!(
        patch(
            &app,
            &acct,
            &gid,
            &ops(json!([{"op": "Add", "path": "members", "value": [{"value": u[0]}]}]))
        )
        .await
        .status,
        204
    );
    // E16 / P7 default dialect: remove with a value list removes only those.
    let r = patch(
        &app,
        &acct,
        &gid,
        &ops(
            json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": u[0]}]}]),
        ),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(members(&app, &acct, &gid).await, sorted(u[1..3].to_vec()));
    // P7 with aadOptscim062020: the RFC filter path.
    let r = patch(
        &app,
        &acct,
        &gid,
        &ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[1])}])),
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(members(&app, &acct, &gid).await, vec![u[2].clone()]);
    // Removing an absent member is a harmless no-op.
    assert_eq!(
        patch(
            &app,
            &acct,
            &gid,
            &ops(json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", u[3])}]))
        )
        .await
        .status,
        204
    );
}

#[actix_web::test]
async fn okta_group_patches_o12_to_o14() {
    let app = TestApp::new();
    let acct = app.account("okta");
    let (gid, u) = setup(&app, &acct).await;
    // O12: a rename carrying the group's own id (and no "schemas"), also sent with membership changes.
    let r = patch(&app, &acct, &gid, &json!({"Operations": [{"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}}]})).await;
    assert_eq!(r.status, 204, "{}", r.body);
    // O13: remove by filter, then add.
    patch(
        &app,
        &acct,
        &gid,
        &ops(
            json!([{"op": "add", "path": "members", "value": [{"value": u[0]}, {"value": u[1]}]}]),
        ),
    )
    .await;
    let r = patch(&app, &acct, &gid, &ops(json!([
        {"op": "replace", "value": {"id": gid, "displayName": "Test SCIMv2"}},
        {"op": "remove", "path": format!("members[value eq \"{}\"]", u[0])},
        {"op": "add", "path": "members", "value": [{"value": u[2], "display": "m2@example.com"}]}]))).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(
        members(&app, &acct, &gid).await,
        sorted(vec![u[1].clone(), u[2].clone()])
    );
    // O14: replace the whole list.
    let r = patch(&app, &acct, &gid, &ops(json!([{"op": "replace", "path": "members", "value": [{"value": u[3]}, {"value": u[0]}]}]))).await;
    assert_eq!(r.status, 204);
    assert_eq!(
        members(&app, &acct, &gid).await,
        sorted(vec![u[3].clone(), u[0].clone()])
    );
    // With `attributes`, a 200 with the group.
    let r = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Groups/{gid}?attributes=displayName"),
            &acct.scim,
            Some(&ops(
                json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]),
            )),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["displayName"], "Renamed");
    assert!(r.body.get("members").is_none());
}

#[actix_web::test]
async fn refused_group_patches_change_nothing() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let other = app.account("other");
    let (gid, u) = setup(&app, &acct).await;
    patch(
        &app,
        &acct,
        &gid,
        &ops(json!([{"op": "add", "path": "members", "value": [{"value": u[0]}]}])),
    )
    .await;
    let foreign = app
        .post("/scim/v2/Users", &other.scim, &user("x@example.com"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = app
        .get(&format!("/scim/v2/Groups/{gid}"), &acct.scim)
        .await
        .body;
    let events = app.count_audit_changes();
    for (body, scim_type, needle) in [
        (ops(json!([])), "invalidValue", "Operations"),
        (
            ops(
                json!([{"op": "add", "path": "members", "value": [{"value": u[1]}, {"value": "no-such-user"}]}]),
            ),
            "invalidValue",
            "no-such-user",
        ),
        (
            ops(json!([{"op": "add", "path": "members", "value": [{"value": foreign}]}])),
            "invalidValue",
            foreign.as_str(),
        ),
        (
            ops(json!([{"op": "add", "path": "members", "value": [{"value": gid}]}])),
            "invalidValue",
            gid.as_str(),
        ),
        (
            ops(json!([{"op": "replace", "value": {"id": "another-id", "displayName": "x"}}])),
            "mutability",
            "id",
        ),
        (
            ops(
                json!([{"op": "replace", "path": "displayName", "value": "ok"}, {"op": "remove", "path": "displayName"}]),
            ),
            "invalidValue",
            "displayName",
        ),
    ] {
        let r = patch(&app, &acct, &gid, &body).await;
        let detail = r.assert_scim_error(400, Some(scim_type)).to_owned();
        assert!(detail.contains(needle), "{body}: {detail}");
    }
    assert_eq!(
        app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim)
            .await
            .body,
        before
    );
    assert_eq!(app.count_audit_changes(), events);
    // A stale If-Match is a 412 and changes nothing.
    let r = app
        .send(
            TestRequest::default()
                .method(Method::PATCH)
                .uri(&format!("/scim/v2/Groups/{gid}"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("Content-Type", "application/scim+json"))
                .insert_header(("If-Match", "W/\"999\""))
                .set_payload(
                    ops(json!([{"op": "replace", "path": "displayName", "value": "x"}]))
                        .to_string(),
                ),
        )
        .await;
    r.assert_scim_error(412, None);
    assert_eq!(
        app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim)
            .await
            .body,
        before
    );
}

#[actix_web::test]
async fn deleting_a_member_moves_the_groups_etag_on() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let (gid, u) = setup(&app, &acct).await;
    patch(
        &app,
        &acct,
        &gid,
        &ops(
            json!([{"op": "add", "path": "members", "value": [{"value": u[0]}, {"value": u[1]}]}]),
        ),
    )
    .await;
    let before = app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim).await;
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{}", u[0]), &acct.scim)
            .await
            .status,
        204
    );
    let after = app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim).await;
    assert_ne!(
        after.header("etag"),
        before.header("etag"),
        "a cached copy must not stay current"
    );
    assert_eq!(members(&app, &acct, &gid).await, vec![u[1].clone()]);
}

#[actix_web::test]
async fn one_patch_adds_ten_thousand_members_and_one_removes_them() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let (gid, _) = setup(&app, &acct).await;
    let ids = crate::groups::bulk_users(&mut app.conn(), &acct.id, 10_000);
    let value: Vec<Value> = ids.iter().map(|id| json!({"value": id})).collect();
    let add = ops(json!([{"op": "Add", "path": "members", "value": value}]));
    assert!(
        add.to_string().len() < 2 * 1024 * 1024,
        "within the default body limit"
    );
    let r = patch(&app, &acct, &gid, &add).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.count("group_members"), 10_000);
    let lean = app
        .get(
            &format!("/scim/v2/Groups/{gid}?excludedAttributes=members"),
            &acct.scim,
        )
        .await;
    assert!(lean.body.get("members").is_none());
    let remove = ops(json!([{"op": "Remove", "path": "members", "value": value}]));
    assert_eq!(patch(&app, &acct, &gid, &remove).await.status, 204);
    assert_eq!(app.count("group_members"), 0);
}
