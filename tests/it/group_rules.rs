//! Group rules through the admin API and their effect on user writes; users in no group found by
//! filter, without a warning; stores through the admin API and the SCIM stores filter.

use serde_json::{Value, json};

use crate::groups::new_user;
use crate::harness::{TestApp, user};
use crate::users_crud::urlencode;

const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";

fn in_department(user_name: &str, department: &str) -> Value {
    let mut body = user(user_name);
    body["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": department});
    body
}

fn group_names(user: &Value) -> Vec<String> {
    let mut names: Vec<String> = user["groups"]
        .as_array()
        .map(|g| {
            g.iter()
                .map(|g| g["display"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[actix_web::test]
async fn rules_are_managed_through_the_admin_api() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post(
            "/admin/v1/group-rules",
            &acct.admin,
            &json!({"attribute": DEPARTMENT, "groupType": "Department"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["attribute"], DEPARTMENT);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let duplicate = app
        .post(
            "/admin/v1/group-rules",
            &acct.admin,
            &json!({"attribute": DEPARTMENT.to_uppercase().replace("URN:", "urn:"), "groupType": "Department"}),
        )
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.body);
    for bad in ["emails", "nonsense", "active", "name", "meta.created"] {
        let refused = app
            .post(
                "/admin/v1/group-rules",
                &acct.admin,
                &json!({"attribute": bad, "groupType": "T"}),
            )
            .await;
        assert_eq!(refused.status, 400, "{bad}: {}", refused.body);
        assert_eq!(
            refused.header("content-type").as_deref(),
            Some("application/problem+json")
        );
    }
    let title = app
        .post(
            "/admin/v1/group-rules",
            &acct.admin,
            &json!({"attribute": "title", "groupType": "Job position"}),
        )
        .await;
    assert_eq!(title.status, 201, "{}", title.body);
    let list = app.get("/admin/v1/group-rules", &acct.admin).await;
    assert_eq!(list.body["totalResults"], 2);
    // The SCIM token does not open the admin API.
    assert_eq!(
        app.get("/admin/v1/group-rules", &acct.scim).await.status,
        403
    );
    assert_eq!(
        app.delete(&format!("/admin/v1/group-rules/{id}"), &acct.admin)
            .await
            .status,
        204
    );
    let again = app
        .delete(&format!("/admin/v1/group-rules/{id}"), &acct.admin)
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body["status"], 404);
}

#[actix_web::test]
async fn a_department_change_moves_the_user_and_leaves_scim_memberships_alone() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let rule = app
        .post(
            "/admin/v1/group-rules",
            &acct.admin,
            &json!({"attribute": DEPARTMENT, "groupType": "Department"}),
        )
        .await;
    assert_eq!(rule.status, 201);

    let created = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &in_department("ann@example.com", "Sales"),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let ann = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(group_names(&created.body), ["Sales"]);
    let sales = app
        .get(
            &format!(
                "/scim/v2/Groups?filter={}",
                urlencode("displayName eq \"Sales\"")
            ),
            &acct.scim,
        )
        .await;
    let sales = &sales.body["Resources"][0];
    assert_eq!(
        sales["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"]["groupType"],
        "Department"
    );

    // A SCIM-made membership of another group, and of the department group the rule will leave.
    let team = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"displayName": "Team", "externalId": "t", "members": [{"value": ann}]}),
        )
        .await;
    assert_eq!(team.status, 201);

    let mut moved = in_department("ann@example.com", "Marketing");
    moved["id"] = json!(ann);
    let replaced = app
        .put(&format!("/scim/v2/Users/{ann}"), &acct.scim, &moved)
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_eq!(group_names(&replaced.body), ["Marketing", "Team"]);
    let sales_now = app
        .get(
            &format!("/scim/v2/Groups/{}", sales["id"].as_str().unwrap()),
            &acct.scim,
        )
        .await;
    assert_eq!(
        sales_now.body["members"],
        json!([]),
        "the rule took it away"
    );

    // A membership the rule would make but SCIM made first stays when the attribute changes.
    let marketing_id = replaced.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["display"] == "Marketing")
        .unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = new_user(&app, &acct, "bob@example.com").await;
    let put_marketing = app
        .put(
            &format!("/scim/v2/Groups/{marketing_id}"),
            &acct.scim,
            &json!({"displayName": "Marketing", "members": [{"value": ann}, {"value": bob}]}),
        )
        .await;
    assert_eq!(put_marketing.status, 200, "{}", put_marketing.body);
    let mut bob_body = in_department("bob@example.com", "Marketing");
    bob_body["id"] = json!(bob);
    app.put(&format!("/scim/v2/Users/{bob}"), &acct.scim, &bob_body)
        .await;
    bob_body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Support"});
    let bob_moved = app
        .put(&format!("/scim/v2/Users/{bob}"), &acct.scim, &bob_body)
        .await;
    assert_eq!(
        group_names(&bob_moved.body),
        ["Marketing", "Support"],
        "the SCIM-made Marketing membership is not the rule's to remove"
    );

    // No department: the rule-made membership goes (ann's Marketing membership was the rule's; the
    // group PUT that listed her kept it as it was); the SCIM-made ones stay.
    let mut no_department = user("ann@example.com");
    no_department["id"] = json!(ann);
    let cleared = app
        .put(&format!("/scim/v2/Users/{ann}"), &acct.scim, &no_department)
        .await;
    assert_eq!(group_names(&cleared.body), ["Team"]);
    let mut bob_cleared = user("bob@example.com");
    bob_cleared["id"] = json!(bob);
    let bob_cleared = app
        .put(&format!("/scim/v2/Users/{bob}"), &acct.scim, &bob_cleared)
        .await;
    assert_eq!(group_names(&bob_cleared.body), ["Marketing"]);
}

#[actix_web::test]
async fn a_user_in_no_group_is_findable_and_not_warned_about() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    // Groups arrive after users over SCIM: an ordinary create leaves no warning.
    let log = app
        .get(&format!("/admin/v1/audit?resourceId={ann}"), &acct.admin)
        .await;
    let codes: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["user.created"], "{}", log.body);
    let ungrouped = app
        .get(
            &format!("/scim/v2/Users?filter={}", urlencode("not (groups pr)")),
            &acct.scim,
        )
        .await;
    assert_eq!(ungrouped.body["totalResults"], 1);
    assert_eq!(ungrouped.body["Resources"][0]["id"], ann.as_str());

    // A user a rule placed is not in that list.
    app.post(
        "/admin/v1/group-rules",
        &acct.admin,
        &json!({"attribute": DEPARTMENT, "groupType": "Department"}),
    )
    .await;
    let placed = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &in_department("bob@example.com", "Ops"),
        )
        .await;
    assert_eq!(placed.status, 201);
    let ungrouped = app
        .get(
            &format!("/scim/v2/Users?filter={}", urlencode("not (groups pr)")),
            &acct.scim,
        )
        .await;
    assert_eq!(ungrouped.body["totalResults"], 1);
}

#[actix_web::test]
async fn stores_are_listed_with_user_counts_and_their_users_found_by_filter() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let with_store = |name: &str, ref_id: &str| {
        let mut body = user(name);
        body["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"] = json!({
            "stores": [{"refId": ref_id, "name": format!("Store {ref_id}"), "countryCallingCode": "32"}]
        });
        body
    };
    for (name, store) in [("a@x.be", "S1"), ("b@x.be", "S1"), ("c@x.be", "S2")] {
        let created = app
            .post("/scim/v2/Users", &acct.scim, &with_store(name, store))
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let stores = app.get("/admin/v1/stores", &acct.admin).await;
    assert_eq!(stores.status, 200);
    assert_eq!(stores.body["totalResults"], 2);
    assert_eq!(
        stores.body["stores"][0],
        json!({"id": stores.body["stores"][0]["id"], "refId": "S1", "name": "Store S1",
               "countryCallingCode": "32", "userCount": 2})
    );
    assert_eq!(stores.body["stores"][1]["userCount"], 1);
    let paged = app
        .get("/admin/v1/stores?startIndex=2&count=1", &acct.admin)
        .await;
    assert_eq!(paged.body["itemsPerPage"], 1);
    assert_eq!(paged.body["stores"][0]["refId"], "S2");
    let bad = app.get("/admin/v1/stores?count=many", &acct.admin).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(app.get("/admin/v1/stores", &acct.scim).await.status, 403);

    let in_s1 = app
        .get(
            &format!(
                "/scim/v2/Users?filter={}",
                urlencode(
                    "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:stores.refId eq \"S1\""
                )
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(in_s1.body["totalResults"], 2, "{}", in_s1.body);
}

/// Whether an account has rules is kept with the account (its user writes skip the rules' read
/// when it has none): deleting one of two rules leaves the other working, deleting the last
/// leaves users where they are.
#[actix_web::test]
async fn rules_apply_while_one_remains_and_not_after_the_last_is_deleted() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut rules = Vec::new();
    for (attribute, group_type) in [(DEPARTMENT, "Department"), ("title", "Job position")] {
        let rule = app
            .post(
                "/admin/v1/group-rules",
                &acct.admin,
                &json!({"attribute": attribute, "groupType": group_type}),
            )
            .await;
        assert_eq!(rule.status, 201, "{}", rule.body);
        rules.push(rule.body["id"].as_str().unwrap().to_owned());
    }
    let delete = |id: String| {
        let app = &app;
        let token = acct.admin.clone();
        async move {
            let r = app
                .delete(&format!("/admin/v1/group-rules/{id}"), &token)
                .await;
            assert_eq!(r.status, 204, "{}", r.body);
        }
    };
    delete(rules.remove(1)).await;
    let mut body = in_department("ann@example.com", "Sales");
    body["title"] = json!("Cashier");
    let ann = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(ann.status, 201, "{}", ann.body);
    assert_eq!(group_names(&ann.body), ["Sales"]);

    delete(rules.remove(0)).await;
    let bob = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &in_department("bob@example.com", "Sales"),
        )
        .await;
    assert_eq!(bob.status, 201, "{}", bob.body);
    assert_eq!(group_names(&bob.body), Vec::<String>::new());
}
