//! A PATCH that adds or removes one member and does nothing else, through the real app: it is made
//! in one statement on PostgreSQL (`groups::storage::change_one_member`; the same steps in a
//! transaction on SQLite), and must answer, version and log exactly as the general path does: the
//! version moves on once, one `group.members_changed` event, and every refusal or no-op as before.
//! A PATCH with `If-Match` takes the general path and honours the precondition.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use mobietrain_scim::db::models::AuditEventRow;
use mobietrain_scim::db::schema::{audit_events, group_members, groups};
use serde_json::{Value, json};

use crate::concurrency::{at_once, client, post};
use crate::groups::{member_ids, new_user};
use crate::harness::{Resp, TestAccount, TestApp, user};

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn ops(list: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": list})
}

fn add(id: &str) -> Value {
    ops(json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}]}]))
}

/// Entra's removal: `Remove` of `members` with a value list.
fn remove(id: &str) -> Value {
    ops(json!([{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": id}]}]))
}

/// Okta's removal: by filter.
fn remove_by_filter(id: &str) -> Value {
    ops(json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]))
}

async fn patch(app: &TestApp, acct: &TestAccount, gid: &str, body: &Value) -> Resp {
    patch_if_match(app, acct, gid, body, None).await
}

async fn patch_if_match(
    app: &TestApp,
    acct: &TestAccount,
    gid: &str,
    body: &Value,
    if_match: Option<&str>,
) -> Resp {
    let mut req = TestRequest::default()
        .method(Method::PATCH)
        .uri(&format!("/scim/v2/Groups/{gid}"))
        .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
        .insert_header(("Content-Type", "application/scim+json"))
        .set_payload(body.to_string());
    if let Some(tag) = if_match {
        req = req.insert_header(("If-Match", tag));
    }
    app.send(req).await
}

async fn new_group(app: &TestApp, acct: &TestAccount, name: &str) -> String {
    let r = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": name, "externalId": format!("ext-{name}")}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

/// The group's ETag and member ids (sorted), as a client reads them.
async fn read(app: &TestApp, acct: &TestAccount, gid: &str) -> (String, Vec<String>) {
    let g = app.get(&format!("/scim/v2/Groups/{gid}"), &acct.scim).await;
    assert_eq!(g.status, 200, "{}", g.body);
    (g.header("etag").unwrap(), member_ids(&g.body))
}

/// The `group.members_changed` events of group `gid`, oldest first.
fn members_changed(app: &TestApp, gid: &str) -> Vec<AuditEventRow> {
    audit_events::table
        .filter(audit_events::resource_id.eq(gid))
        .filter(audit_events::code.eq("group.members_changed"))
        .order((audit_events::occurred_at, audit_events::id))
        .select(AuditEventRow::as_select())
        .load(&mut *app.conn())
        .unwrap()
}

fn detail(row: &AuditEventRow) -> Value {
    serde_json::from_str(row.detail.as_deref().unwrap()).unwrap()
}

fn added(id: &str) -> Value {
    json!({"members": {"added": [id], "addedCount": 1, "removed": [], "removedCount": 0}})
}

fn removed(id: &str) -> Value {
    json!({"members": {"added": [], "addedCount": 0, "removed": [id], "removedCount": 1}})
}

#[actix_web::test]
async fn one_member_added_or_removed_moves_the_version_once_and_logs_one_event() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let gid = new_group(&app, &acct, "Retail").await;
    let ann = new_user(&app, &acct, "ann@example.com").await;
    let bob = new_user(&app, &acct, "bob@example.com").await;
    assert_eq!(read(&app, &acct, &gid).await.0, "W/\"1\"");

    let r = patch(&app, &acct, &gid, &add(&ann)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"2\""));
    assert_eq!(
        read(&app, &acct, &gid).await,
        ("W/\"2\"".into(), vec![ann.clone()])
    );

    // The same change through the general path (If-Match), for the log rows to compare.
    let r = patch_if_match(&app, &acct, &gid, &add(&bob), Some("W/\"2\"")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"3\""));

    let events = members_changed(&app, &gid);
    assert_eq!(events.len(), 2, "one event per change");
    let (fast, general) = (&events[0], &events[1]);
    assert_eq!(detail(fast), added(&ann));
    assert_eq!(detail(general), added(&bob));
    assert_eq!(fast.actor, "test scim", "the actor is the token's label");
    assert!(fast.token_id.is_some(), "the token is named");
    let who = |e: &AuditEventRow| {
        (
            e.account_id.clone(),
            e.actor.clone(),
            e.token_id.clone(),
            e.action.clone(),
            e.resource_type.clone(),
        )
    };
    assert_eq!(who(fast), who(general), "both paths log alike");
    assert_eq!(
        (fast.action.as_str(), fast.resource_type.as_str()),
        ("update", "Group")
    );
    assert_eq!(fast.account_id, acct.id);

    // Removing, as Entra sends it and as Okta does: once each, one event each.
    let r = patch(&app, &acct, &gid, &remove(&ann)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"4\""));
    let r = patch(&app, &acct, &gid, &remove_by_filter(&bob)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"5\""));
    assert_eq!(read(&app, &acct, &gid).await, ("W/\"5\"".into(), vec![]));
    let events = members_changed(&app, &gid);
    assert_eq!(events.len(), 4);
    assert_eq!(detail(&events[2]), removed(&ann));
    assert_eq!(detail(&events[3]), removed(&bob));

    // Asked for the group, the answer is the group as written.
    let r = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Groups/{gid}?attributes=displayName,members"),
            &acct.scim,
            Some(&add(&ann)),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("etag").as_deref(), Some("W/\"6\""));
    assert_eq!(r.body["displayName"], "Retail");
    assert_eq!(r.body["members"][0]["value"], ann.as_str());
}

#[actix_web::test]
async fn one_member_changes_that_change_nothing_answer_as_before() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let gid = new_group(&app, &acct, "Retail").await;
    let (ann, bob) = (
        new_user(&app, &acct, "ann@example.com").await,
        new_user(&app, &acct, "bob@example.com").await,
    );
    assert_eq!(patch(&app, &acct, &gid, &add(&ann)).await.status, 204);
    let other = app.account("other");
    let (foreign, foreign_group) = (
        new_user(&app, &other, "zed@example.com").await,
        new_group(&app, &other, "Theirs").await,
    );
    let before = read(&app, &acct, &gid).await;
    let theirs = read(&app, &other, &foreign_group).await;
    let events = app.count_audit_changes();

    // A member already, or no member: a no-op 204 with the same ETag.
    for body in [add(&ann), remove(&bob), remove_by_filter(&bob)] {
        let r = patch(&app, &acct, &gid, &body).await;
        assert_eq!(r.status, 204, "{body}: {}", r.body);
        assert_eq!(r.header("etag"), Some(before.0.clone()), "{body}");
    }
    // Not a user of this account: 400 naming the id.
    for (id, why) in [
        (foreign.as_str(), "is not the id of a user in this account"),
        ("no-such-user", "is not the id of a user in this account"),
        (gid.as_str(), "is a group"),
    ] {
        let detail = patch(&app, &acct, &gid, &add(id))
            .await
            .assert_scim_error(400, Some("invalidValue"))
            .to_owned();
        assert!(detail.contains(id) && detail.contains(why), "{detail}");
    }
    // Removing another account's user is no member's removal: a no-op.
    assert_eq!(
        patch(&app, &acct, &gid, &remove(&foreign)).await.status,
        204
    );
    // No such group here: 404, the other account's group untouched.
    for group in ["no-such-group", foreign_group.as_str()] {
        for body in [add(&ann), add(&foreign), remove(&foreign)] {
            patch(&app, &acct, group, &body)
                .await
                .assert_scim_error(404, None);
        }
    }
    assert_eq!(read(&app, &acct, &gid).await, before);
    assert_eq!(read(&app, &other, &foreign_group).await, theirs);
    assert_eq!(app.count_audit_changes(), events, "nothing was logged");
}

#[actix_web::test]
async fn one_member_change_with_if_match_honours_the_precondition() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let gid = new_group(&app, &acct, "Retail").await;
    let ann = new_user(&app, &acct, "ann@example.com").await;
    for body in [add(&ann), remove(&ann), remove_by_filter(&ann)] {
        patch_if_match(&app, &acct, &gid, &body, Some("W/\"9\""))
            .await
            .assert_scim_error(412, None);
    }
    assert_eq!(read(&app, &acct, &gid).await, ("W/\"1\"".into(), vec![]));
    assert!(members_changed(&app, &gid).is_empty());
    let r = patch_if_match(&app, &acct, &gid, &add(&ann), Some("W/\"1\"")).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(read(&app, &acct, &gid).await, ("W/\"2\"".into(), vec![ann]));
}

/// Creates a user and a group over HTTP (`base` is the served app); returns their ids.
fn user_and_group(base: &str, acct: &TestAccount, n: usize) -> (String, String) {
    let agent = client();
    let id = |(status, body): (u16, Value)| {
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    };
    let user_id = id(post(
        &agent,
        &format!("{base}/scim/v2/Users"),
        &acct.scim,
        &user(&format!("ann{n}@example.com")),
    ));
    let group_id = id(post(
        &agent,
        &format!("{base}/scim/v2/Groups"),
        &acct.scim,
        &json!({"displayName": format!("Group {n}")}),
    ));
    (user_id, group_id)
}

/// Group `gid`'s version and member ids, read in the database.
fn stored(app: &TestApp, gid: &str) -> (Option<i64>, Vec<String>) {
    let conn = &mut *app.conn();
    let version = groups::table
        .filter(groups::id.eq(gid))
        .select(groups::version)
        .load::<i64>(conn)
        .unwrap()
        .pop();
    let members = group_members::table
        .filter(group_members::group_id.eq(gid))
        .select(group_members::user_id)
        .load(conn)
        .unwrap();
    (version, members)
}

/// What one round of a race left: each request's status and body, the group's stored version and
/// members, its `group.members_changed` events, and the user the round added.
type Round = (Vec<(u16, Value)>, (Option<i64>, Vec<String>), usize, String);

/// Four rounds, each on a new user and group: the bodies `race(user id)` makes are sent at once to
/// the served app, as PATCHes of the group (a null body as its DELETE).
fn race_rounds(race: impl Fn(&str) -> Vec<Value>) -> Vec<Round> {
    let app = TestApp::new();
    let acct = app.account("acme");
    let (base, server) = app.serve(4);
    let rounds = (0..4)
        .map(|round| {
            let (ann, gid) = user_and_group(&base, &acct, round);
            let url = format!("{base}/scim/v2/Groups/{gid}");
            let requests = race(&ann)
                .into_iter()
                .map(|body| {
                    let method = if body.is_null() { "DELETE" } else { "PATCH" };
                    (method, url.clone(), acct.scim.clone(), body)
                })
                .collect();
            let results = at_once(requests);
            let logged = members_changed(&app, &gid).len();
            (results, stored(&app, &gid), logged, ann)
        })
        .collect();
    actix_web::rt::System::new().block_on(server.stop(true));
    rounds
}

#[test]
fn two_clients_adding_one_member_at_once_add_it_once() {
    for (results, stored, logged, ann) in race_rounds(|ann| vec![add(ann); 4]) {
        assert!(results.iter().all(|(s, _)| *s == 204), "{results:?}");
        assert_eq!(stored, (Some(2), vec![ann]), "added once: one version on");
        assert_eq!(logged, 1, "logged once");
    }
}

#[test]
fn a_member_added_while_the_group_is_deleted_leaves_no_membership_behind() {
    for (results, stored, _, _) in race_rounds(|ann| vec![add(ann), Value::Null]) {
        assert!(
            [204, 404].contains(&results[0].0),
            "the add came before the delete, or found no group: {results:?}"
        );
        assert_eq!(results[1].0, 204, "{results:?}");
        assert_eq!(stored, (None, vec![]), "no membership of a deleted group");
    }
}
