//! Groups through the real HTTP app and the storage functions the PATCH engine calls: CRUD, the
//! Entra and Okta group sequences of CLIENTS.md, membership at any size (O(change), proven by the
//! statements issued), members that are not users of the account, and uniqueness under concurrency.

use std::sync::{Arc, Barrier, Mutex};

use chrono::Utc;
use diesel::connection::{Connection, InstrumentationEvent};
use diesel::prelude::*;
use mobietrain_scim::context::Actor;
use mobietrain_scim::context::WriteContext;
use mobietrain_scim::db::DbConn;
use mobietrain_scim::db::models::{Account, UserRow};
use mobietrain_scim::db::schema::{accounts, users};
use mobietrain_scim::groups;
use mobietrain_scim::scim::schema::Registry;
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::concurrency::{client, post};
use crate::harness::{TestAccount, TestApp, user};
use crate::users_crud::urlencode;

/// Creates a user over SCIM and returns its id.
pub async fn new_user(app: &TestApp, acct: &TestAccount, user_name: &str) -> String {
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user(user_name))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

fn group(name: &str, members: &[&str]) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "externalId": format!("ext-{name}"),
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    })
}

/// The member ids of a group representation, sorted.
pub fn member_ids(body: &Value) -> Vec<String> {
    let mut ids: Vec<String> = body["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

/// Inserts `n` minimal users straight into the database (fast set-up for large groups).
pub fn bulk_users(conn: &mut DbConn, account_id: &str, n: usize) -> Vec<String> {
    let now = Utc::now().naive_utc();
    let rows: Vec<UserRow> = (0..n)
        .map(|i| UserRow {
            id: mobietrain_scim::accounts::new_id(),
            account_id: account_id.to_owned(),
            user_name: format!("bulk{i}"),
            user_name_ci: format!("bulk{i}"),
            active: true,
            origin: "scim".into(),
            sign_in: "any".into(),
            registration: "registered".into(),
            version: 1,
            created_at: now,
            updated_at: now,
            ..Default::default()
        })
        .collect();
    // One transaction of single-row inserts: the shared connection type has no multi-row insert
    // (that stays inside the crate, behind its storage modules).
    conn.transaction::<_, diesel::result::Error, _>(|conn| {
        for row in &rows {
            diesel::insert_into(users::table)
                .values(row)
                .execute(conn)?;
        }
        Ok(())
    })
    .unwrap();
    rows.into_iter().map(|r| r.id).collect()
}

fn account_row(conn: &mut DbConn, id: &str) -> Account {
    accounts::table
        .find(id)
        .select(Account::as_select())
        .first(conn)
        .unwrap()
}

/// Records every statement the connection runs, without its binds.
fn record_statements(conn: &mut DbConn) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let text = query.to_string();
            let sql = text
                .split(" -- binds")
                .next()
                .unwrap_or_default()
                .to_owned();
            sink.lock().unwrap().push(sql);
        }
    });
    seen
}

fn stop_recording(conn: &mut DbConn) {
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
}

#[actix_web::test]
async fn group_crud_with_members_etags_and_the_users_view() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    let bob = new_user(&app, &acct, "bob@example.com").await;

    let created = app
        .post("/scim/v2/Groups", &acct.scim, &group("Sales", &[&ann]))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.header("etag").as_deref(), Some("W/\"1\""));
    assert!(
        created
            .header("location")
            .unwrap()
            .ends_with(&format!("/scim/v2/Groups/{id}"))
    );
    assert_eq!(created.body["meta"]["resourceType"], "Group");
    let member = &created.body["members"][0];
    assert_eq!(member["value"], ann.as_str());
    assert_eq!(member["display"], "ann@example.com", "userName stands in");
    assert_eq!(member["type"], "User");
    assert!(
        member["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/scim/v2/Users/{ann}"))
    );

    let read = app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["displayName"], "Sales");
    assert_eq!(read.header("etag").as_deref(), Some("W/\"1\""));

    // The user shows the group, read-only and derived.
    let ann_read = app.get(&format!("/scim/v2/Users/{ann}"), &acct.scim).await;
    assert_eq!(
        ann_read.body["groups"],
        json!([{"value": id, "display": "Sales", "type": "direct",
                "$ref": format!("{}", ann_read.body["groups"][0]["$ref"].as_str().unwrap())}])
    );
    assert!(
        ann_read.body["groups"][0]["$ref"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Groups/{id}"))
    );

    // PUT is a true replace, members included.
    let mut replacement = group("Sales EMEA", &[&bob]);
    replacement["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"] =
        json!({"groupType": "Department"});
    let replaced = app
        .put(&format!("/scim/v2/Groups/{id}"), &acct.scim, &replacement)
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(replaced.body["displayName"], "Sales EMEA");
    assert_eq!(member_ids(&replaced.body), [bob.as_str()]);
    assert_eq!(
        replaced.body["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"]["groupType"],
        "Department"
    );
    assert_eq!(
        replaced.header("etag").as_deref(),
        Some("W/\"2\""),
        "one replace, one version"
    );
    let ann_read = app.get(&format!("/scim/v2/Users/{ann}"), &acct.scim).await;
    assert!(ann_read.body.get("groups").is_none(), "{}", ann_read.body);

    // Filters on the users' groups.
    let by_group = app
        .get(
            &format!(
                "/scim/v2/Users?filter={}",
                urlencode(&format!("groups.value eq \"{id}\""))
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(by_group.body["totalResults"], 1);
    assert_eq!(by_group.body["Resources"][0]["id"], bob.as_str());
    let by_name = app
        .get(
            &format!(
                "/scim/v2/Users?filter={}",
                urlencode("groups.display eq \"sales emea\"")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(by_name.body["totalResults"], 1, "{}", by_name.body);
    let ungrouped = app
        .get(
            &format!("/scim/v2/Users?filter={}", urlencode("not (groups pr)")),
            &acct.scim,
        )
        .await;
    assert_eq!(ungrouped.body["totalResults"], 1);
    assert_eq!(ungrouped.body["Resources"][0]["id"], ann.as_str());

    // PUT on an unknown group is a 404, never a create.
    app.put("/scim/v2/Groups/nope", &acct.scim, &group("X", &[]))
        .await
        .assert_scim_error(404, None);

    // Deleting a group keeps its users; deleting a user removes their memberships.
    let other = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &group("Other", &[&bob, &ann]),
        )
        .await;
    let other_id = other.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&format!("/scim/v2/Groups/{id}"), &acct.scim)
            .await
            .status,
        204
    );
    app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim)
        .await
        .assert_scim_error(404, None);
    assert_eq!(app.count("users"), 2);
    assert_eq!(app.count("group_members"), 2);
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{bob}"), &acct.scim)
            .await
            .status,
        204
    );
    assert_eq!(app.count("group_members"), 1);
    let other = app
        .get(&format!("/scim/v2/Groups/{other_id}"), &acct.scim)
        .await;
    assert_eq!(member_ids(&other.body), [ann.as_str()]);
}

#[actix_web::test]
async fn listing_filtering_sorting_searching_and_the_root_search() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    for name in ["Zeta", "alpha", "Mid"] {
        let created = app
            .post("/scim/v2/Groups", &acct.scim, &group(name, &[&ann]))
            .await;
        assert_eq!(created.status, 201);
    }
    let sorted = app
        .get("/scim/v2/Groups?sortBy=displayName&count=2", &acct.scim)
        .await;
    assert_eq!(sorted.body["totalResults"], 3);
    assert_eq!(sorted.body["itemsPerPage"], 2);
    let names: Vec<&str> = sorted.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "Mid"]);
    let found = app
        .get(
            &format!(
                "/scim/v2/Groups?filter={}",
                urlencode("displayName eq \"ZETA\"")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(found.body["totalResults"], 1, "case-insensitive");
    assert_eq!(member_ids(&found.body["Resources"][0]), [ann.as_str()]);
    let by_member = app
        .post(
            "/scim/v2/Groups/.search",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": format!("members.value eq \"{ann}\""),
                    "excludedAttributes": ["members"]}),
        )
        .await;
    assert_eq!(by_member.body["totalResults"], 3, "{}", by_member.body);
    assert!(by_member.body["Resources"][0].get("members").is_none());
    app.get(
        &format!("/scim/v2/Groups?filter={}", urlencode("userName eq \"x\"")),
        &acct.scim,
    )
    .await
    .assert_scim_error(400, Some("invalidFilter"));

    // Root search: users then groups, totals summed, paged across the two.
    let search = |start: u64, count: u64, filter: Option<&str>| {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                              "startIndex": start, "count": count});
        if let Some(f) = filter {
            body["filter"] = json!(f);
        }
        body
    };
    let all = app
        .post("/scim/v2/.search", &acct.scim, &search(1, 10, None))
        .await;
    assert_eq!(all.body["totalResults"], 4, "{}", all.body);
    let types: Vec<&str> = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "Group", "Group", "Group"]);
    let second_page = app
        .post("/scim/v2/.search", &acct.scim, &search(2, 2, None))
        .await;
    assert_eq!(second_page.body["totalResults"], 4);
    assert_eq!(second_page.body["itemsPerPage"], 2);
    assert_eq!(
        second_page.body["Resources"][0]["meta"]["resourceType"],
        "Group"
    );
    let only_groups = app
        .post(
            "/scim/v2/.search",
            &acct.scim,
            &search(1, 10, Some("displayName eq \"mid\"")),
        )
        .await;
    // displayName exists on both types: the user has none.
    assert_eq!(only_groups.body["totalResults"], 1, "{}", only_groups.body);
    let only_users = app
        .post(
            "/scim/v2/.search",
            &acct.scim,
            &search(1, 10, Some("userName eq \"ann@example.com\"")),
        )
        .await;
    assert_eq!(only_users.body["totalResults"], 1, "{}", only_users.body);
    app.post(
        "/scim/v2/.search",
        &acct.scim,
        &search(1, 10, Some("nothing eq \"x\"")),
    )
    .await
    .assert_scim_error(400, Some("invalidFilter"));
}

#[actix_web::test]
async fn validation_uniqueness_and_the_missing_external_id_warning() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Groups", &acct.scim, &group("Émile", &[]))
        .await;
    assert_eq!(created.status, 201);
    let detail = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": "ÉMILE"}),
        )
        .await
        .assert_scim_error(409, Some("uniqueness"))
        .to_owned();
    assert!(detail.contains("displayName"), "{detail}");
    let detail = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": "Other", "externalId": "ext-Émile"}),
        )
        .await
        .assert_scim_error(409, Some("uniqueness"))
        .to_owned();
    assert!(detail.contains("externalId"), "{detail}");
    app.post("/scim/v2/Groups", &acct.scim, &json!({"members": []}))
        .await
        .assert_scim_error(400, Some("invalidValue"));
    app.post(
        "/scim/v2/Groups",
        &acct.scim,
        &json!({"displayName": "x".repeat(256)}),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    app.post(
        "/scim/v2/Groups",
        &acct.scim,
        &json!({"displayName": "T", "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group":
                {"groupType": "y".repeat(256)}}),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    assert_eq!(app.count("groups"), 1);

    // A group without externalId is created, with a warning in the provisioning log.
    let plain = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": "No id"}),
        )
        .await;
    assert_eq!(plain.status, 201);
    let log = app
        .get(
            "/admin/v1/audit?code=group.external_id_missing",
            &acct.admin,
        )
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    assert_eq!(log.body["events"][0]["resourceId"], plain.body["id"]);
}

#[actix_web::test]
async fn members_that_are_not_users_of_the_account_are_refused_naming_them() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let other = app.account("other");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    let foreign = new_user(&app, &other, "zed@example.com").await;
    let existing = app
        .post("/scim/v2/Groups", &acct.scim, &group("Existing", &[&ann]))
        .await;
    let group_id = existing.body["id"].as_str().unwrap().to_owned();
    let (groups_before, members_before) = (app.count("groups"), app.count("group_members"));
    for (bad, why) in [
        ("no-such-user", "not the id of a user"),
        (foreign.as_str(), "not the id of a user"),
        (group_id.as_str(), "is a group"),
    ] {
        let detail = app
            .post("/scim/v2/Groups", &acct.scim, &group("New", &[&ann, bad]))
            .await
            .assert_scim_error(400, Some("invalidValue"))
            .to_owned();
        assert!(detail.contains(bad) && detail.contains(why), "{detail}");
        let detail = app
            .put(
                &format!("/scim/v2/Groups/{group_id}"),
                &acct.scim,
                &group("Renamed", &[bad]),
            )
            .await
            .assert_scim_error(400, Some("invalidValue"))
            .to_owned();
        assert!(detail.contains(bad), "{detail}");
    }
    app.post(
        "/scim/v2/Groups",
        &acct.scim,
        &json!({"displayName": "G", "members": [{"value": ann, "type": "Group"}]}),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    assert_eq!(
        (app.count("groups"), app.count("group_members")),
        (groups_before, members_before),
        "nothing was written"
    );
    let kept = app
        .get(&format!("/scim/v2/Groups/{group_id}"), &acct.scim)
        .await;
    assert_eq!(kept.body["displayName"], "Existing");
    // The other account cannot see or change this group.
    app.get(&format!("/scim/v2/Groups/{group_id}"), &other.scim)
        .await
        .assert_scim_error(404, None);
}

#[actix_web::test]
async fn entra_group_sequence_e11_to_e13_and_e17() {
    let app = TestApp::new();
    let acct = app.account("acme");
    // E0: the probe for groups is an empty ListResponse, not an error.
    let probe = app
        .get(
            &format!(
                "/scim/v2/Groups?filter={}",
                urlencode("displayName eq \"d5c4f3b2-0000-4000-8000-000000000000\"")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(probe.status, 200);
    assert_eq!(probe.body["totalResults"], 0);
    // E11
    let e11 = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "displayName",
                "meta": {"resourceType": "Group"}
            }),
        )
        .await;
    assert_eq!(e11.status, 201, "{}", e11.body);
    assert_eq!(e11.body["members"], json!([]));
    assert_eq!(
        e11.body["externalId"],
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    );
    let id = e11.body["id"].as_str().unwrap();
    // E12
    let e12 = app
        .get(
            &format!("/scim/v2/Groups/{id}?excludedAttributes=members"),
            &acct.scim,
        )
        .await;
    assert_eq!(e12.status, 200);
    assert!(e12.body.get("members").is_none(), "{}", e12.body);
    assert_eq!(e12.body["id"], id);
    // E13
    let e13 = app
        .get(
            &format!(
                "/scim/v2/Groups?excludedAttributes=members&filter={}",
                urlencode("displayName eq \"displayName\"")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(e13.status, 200);
    assert_eq!(e13.body["totalResults"], 1);
    assert!(e13.body["Resources"][0].get("members").is_none());
    // E17
    let e17 = app
        .delete(&format!("/scim/v2/Groups/{id}"), &acct.scim)
        .await;
    assert_eq!(e17.status, 204);
    assert_eq!(app.count("groups"), 0);
}

#[actix_web::test]
async fn okta_group_sequence_o9_to_o11_and_o15() {
    let app = TestApp::new();
    let acct = app.account("acme");
    // O9
    let o9 = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Test SCIMv2", "members": []}),
        )
        .await;
    assert_eq!(o9.status, 201, "{}", o9.body);
    let id = o9.body["id"].as_str().unwrap();
    // O10
    let o10 = app
        .get("/scim/v2/Groups?startIndex=1&count=100", &acct.scim)
        .await;
    assert_eq!(o10.status, 200);
    assert_eq!(o10.body["totalResults"], 1);
    assert_eq!(o10.body["startIndex"], 1);
    assert_eq!(o10.body["itemsPerPage"], 1);
    assert_eq!(o10.body["Resources"][0]["displayName"], "Test SCIMv2");
    // O11
    let o11 = app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim).await;
    assert_eq!(o11.status, 200);
    assert_eq!(o11.body["displayName"], "Test SCIMv2");
    // O15
    assert_eq!(
        app.delete(&format!("/scim/v2/Groups/{id}"), &acct.scim)
            .await
            .status,
        204
    );
    app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim)
        .await
        .assert_scim_error(404, None);
}

#[actix_web::test]
async fn adding_a_member_costs_the_same_statements_for_ten_and_ten_thousand_members() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut conn = app.conn();
    let conn = &mut *conn;
    let ids = bulk_users(conn, &acct.id, 10_012);
    let account = account_row(conn, &acct.id);
    let registry = Registry::embedded();
    let actor = Actor {
        label: "test".into(),
        token_id: None,
    };
    let ctx = WriteContext {
        account: &account,
        actor: &actor,
        registry: &registry,
        now: Utc::now().naive_utc(),
    };
    // One request may carry 10,000 members.
    let small = groups::create(
        conn,
        &ctx,
        &json!({"displayName": "small", "members": ids[..10].iter().map(|i| json!({"value": i})).collect::<Vec<_>>()}),
    )
    .unwrap();
    let large = groups::create(
        conn,
        &ctx,
        &json!({"displayName": "large", "members": ids[10..10_010].iter().map(|i| json!({"value": i})).collect::<Vec<_>>()}),
    )
    .unwrap();
    assert_eq!(large.members.as_ref().unwrap().len(), 10_000);

    let mut statements = Vec::new();
    for (group, newcomer) in [(&small, &ids[10_010]), (&large, &ids[10_011])] {
        let seen = record_statements(conn);
        let change =
            groups::add_members(conn, &ctx, &group.row.id, std::slice::from_ref(newcomer)).unwrap();
        stop_recording(conn);
        assert_eq!((change.added, change.group.version), (1, 2));
        statements.push(seen.lock().unwrap().clone());
    }
    assert!(!statements[0].is_empty());
    assert_eq!(
        statements[0], statements[1],
        "adding one member issues the same statements whatever the group's size"
    );
    // Adding an existing member and removing an absent one are harmless no-ops.
    let again = groups::add_members(conn, &ctx, &small.row.id, &ids[..1]).unwrap();
    assert_eq!((again.added, again.group.version), (0, 2));
    let absent = groups::remove_members(conn, &ctx, &small.row.id, &ids[20..21]).unwrap();
    assert_eq!(absent.removed, 0);
    let removed = groups::remove_members(conn, &ctx, &small.row.id, &ids[..2]).unwrap();
    assert_eq!((removed.removed, removed.group.version), (2, 3));
    let replaced = groups::replace_members(conn, &ctx, &small.row.id, &ids[5..7]).unwrap();
    assert_eq!((replaced.added, replaced.removed), (0, 7));
    let renamed = groups::set_attributes(
        conn,
        &ctx,
        &small.row.id,
        &groups::AttributeChanges {
            display_name: Some("Small".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(renamed.group.display_name, "Small");
    let clash = groups::set_attributes(
        conn,
        &ctx,
        &small.row.id,
        &groups::AttributeChanges {
            display_name: Some("LARGE".into()),
            ..Default::default()
        },
    );
    assert!(matches!(
        clash,
        Err(mobietrain_scim::error::ServiceError::Uniqueness(_))
    ));
    let unknown = groups::add_members(conn, &ctx, &small.row.id, &["nobody".to_owned()]);
    assert!(matches!(
        unknown,
        Err(mobietrain_scim::error::ServiceError::Input(_))
    ));
    let reread = groups::get(conn, &acct.id, &small.row.id, true).unwrap();
    assert_eq!(reread.members.unwrap().len(), 2);
}

#[actix_web::test]
async fn reads_without_members_touch_no_member_row() {
    let app = TestApp::with(HttpSettings::default(), 1);
    let acct = app.account("acme");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    let created = app
        .post("/scim/v2/Groups", &acct.scim, &group("Readers", &[&ann]))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let seen = record_statements(&mut app.conn());
    let one = app
        .get(
            &format!("/scim/v2/Groups/{id}?excludedAttributes=members"),
            &acct.scim,
        )
        .await;
    let list = app
        .get(
            &format!(
                "/scim/v2/Groups?excludedAttributes=members&filter={}",
                urlencode("displayName eq \"Readers\"")
            ),
            &acct.scim,
        )
        .await;
    let projected = app
        .get(
            &format!("/scim/v2/Groups/{id}?attributes=displayName"),
            &acct.scim,
        )
        .await;
    stop_recording(&mut app.conn());
    assert_eq!(
        (
            one.status.as_u16(),
            list.status.as_u16(),
            projected.status.as_u16()
        ),
        (200, 200, 200)
    );
    assert_eq!(list.body["totalResults"], 1);
    let statements = seen.lock().unwrap().clone();
    assert!(
        statements.iter().any(|s| s.contains("groups")),
        "the recorder saw the reads: {statements:?}"
    );
    assert!(
        statements.iter().all(|s| !s.contains("group_members")),
        "{statements:?}"
    );
    // With members asked for, the member rows are read.
    let seen = record_statements(&mut app.conn());
    let full = app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim).await;
    stop_recording(&mut app.conn());
    assert_eq!(member_ids(&full.body), [ann]);
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|s| s.contains("group_members"))
    );
}

#[test]
fn eight_threads_adding_different_members_to_one_group_lose_none() {
    let app = TestApp::with(HttpSettings::default(), 8);
    let acct = app.account("acme");
    let ids = bulk_users(&mut app.conn(), &acct.id, 8 * 25);
    let account = account_row(&mut app.conn(), &acct.id);
    let registry = Arc::new(Registry::embedded());
    let group_id = {
        let actor = Actor {
            label: "test".into(),
            token_id: None,
        };
        let ctx = WriteContext {
            account: &account,
            actor: &actor,
            registry: &registry,
            now: Utc::now().naive_utc(),
        };
        groups::create(&mut app.conn(), &ctx, &json!({"displayName": "busy"}))
            .unwrap()
            .row
            .id
    };
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = ids
        .chunks(25)
        .map(|chunk| {
            let (pool, barrier, registry, account, group_id, chunk) = (
                app.state.pool.clone(),
                barrier.clone(),
                registry.clone(),
                account.clone(),
                group_id.clone(),
                chunk.to_vec(),
            );
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                let actor = Actor {
                    label: "test".into(),
                    token_id: None,
                };
                barrier.wait();
                for id in &chunk {
                    let ctx = WriteContext {
                        account: &account,
                        actor: &actor,
                        registry: &registry,
                        now: Utc::now().naive_utc(),
                    };
                    groups::add_members(&mut conn, &ctx, &group_id, std::slice::from_ref(id))
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let group = groups::get(&mut app.conn(), &acct.id, &group_id, true).unwrap();
    assert_eq!(group.members.unwrap().len(), 200, "no addition was lost");
    assert_eq!(group.row.version, 201, "each addition is its own version");
}

#[test]
fn sixteen_concurrent_creates_of_one_display_name_give_one_201_and_fifteen_409s() {
    let app = TestApp::with(HttpSettings::default(), 16);
    let acct = app.account("acme");
    let (base, server) = app.serve(4);
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (barrier, url, token) = (
                barrier.clone(),
                format!("{base}/scim/v2/Groups"),
                acct.scim.clone(),
            );
            std::thread::spawn(move || {
                let agent = client();
                // Different case and externalIds: only the folded displayName collides.
                let name = if i % 2 == 0 {
                    "Night Shift"
                } else {
                    "NIGHT SHIFT"
                };
                let body = json!({"displayName": name, "externalId": format!("ext-{i}")});
                barrier.wait();
                post(&agent, &url, &token, &body)
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    actix_web::rt::System::new().block_on(server.stop(true));
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((created, conflicts.len()), (1, 15), "{results:?}");
    for body in conflicts {
        assert_eq!(body["scimType"], "uniqueness");
        assert!(body["detail"].as_str().unwrap().contains("displayName"));
    }
    assert_eq!(app.count("groups"), 1);
}
