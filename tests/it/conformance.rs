//! What third-party conformance suites (scim2-tester, scim-sanity, Microsoft's and Entra's
//! validators) check and the rest of the suite does not: 405 on discovery writes, filter errors and
//! case rules, `canonicalValues`, value filters in `attributes`, clearing a filtered element, and
//! group rules that meet a group of another type. The suites themselves run in `.ci/conformance`.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::groups::new_user;
use crate::harness::{TestApp, user};
use crate::users_crud::urlencode;

#[actix_web::test]
async fn writes_to_discovery_endpoints_are_405_with_a_scim_error() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]});
    for path in [
        "/scim/v2/ServiceProviderConfig",
        "/scim/v2/ResourceTypes",
        "/scim/v2/ResourceTypes/User",
        "/scim/v2/Schemas",
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
    ] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let with_body = (method != Method::DELETE).then_some(&body);
            app.call(method.clone(), path, &acct.scim, with_body)
                .await
                .assert_scim_error(405, None);
        }
        // Reading is still served.
        assert_eq!(app.get(path, &acct.scim).await.status, 200, "{path}");
    }
}

/// `GET /Users?filter=…`, the filter URL-encoded.
async fn filtered(app: &TestApp, token: &str, filter: &str) -> crate::harness::Resp {
    app.get(
        &format!("/scim/v2/Users?filter={}", urlencode(filter)),
        token,
    )
    .await
}

fn ids(r: &crate::harness::Resp) -> Vec<String> {
    let mut ids: Vec<String> = r.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", r.body))
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[actix_web::test]
async fn filter_syntax_errors_are_invalid_filter_and_say_what_and_where() {
    let app = TestApp::new();
    let acct = app.account("acme");
    // Each broken filter, and what its detail must name: the token or the position.
    for (filter, names) in [
        ("userName eq", "\"eq\" at character 10 needs a value"),
        (
            "userName bogus \"x\"",
            "unexpected \"bogus\" at character 10",
        ),
        ("(userName eq \"x\"", "a closing \")\""),
        (
            "userName eq \"x",
            "the string that opens at character 13 has no closing quote",
        ),
        ("emails[type eq \"work\"", "a closing \"]\""),
        ("userName eq \"x\" )", "unexpected \")\" at character 17"),
        ("title pr and %", "unexpected character '%' at character 14"),
        ("name.givenName.x eq \"a\"", "at most one sub-attribute"),
        ("}{", "character 1"),
    ] {
        let r = filtered(&app, &acct.scim, filter).await;
        let detail = r.assert_scim_error(400, Some("invalidFilter"));
        assert!(detail.contains(names), "{filter}: {detail}");
        for internal in ["Expected one of", "Unrecognized", "Tok", "StringLit", "r#"] {
            assert!(!detail.contains(internal), "{filter}: {detail}");
        }
    }
    // The same in a SearchRequest body.
    let r = app
        .post(
            "/scim/v2/Users/.search",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq"}),
        )
        .await;
    r.assert_scim_error(400, Some("invalidFilter"));
}

#[actix_web::test]
async fn not_without_a_space_parses_and_case_exact_attributes_compare_exactly() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ann = new_user(&app, &acct, "ann@example.com").await;
    let mut titled = user("bob@example.com");
    titled["title"] = json!("Chef");
    let bob = app.post("/scim/v2/Users", &acct.scim, &titled).await;
    let bob = bob.body["id"].as_str().unwrap().to_owned();

    for f in [
        "not(title pr)",
        "NOT(title pr)",
        "not (title pr)",
        "(not(title pr))",
    ] {
        let r = filtered(&app, &acct.scim, f).await;
        assert_eq!(r.status, 200, "{f}: {}", r.body);
        assert_eq!(ids(&r), std::slice::from_ref(&ann), "{f}");
    }
    let r = filtered(
        &app,
        &acct.scim,
        "emails[not(type eq \"home\")] and not(title pr)",
    )
    .await;
    assert_eq!(ids(&r), std::slice::from_ref(&ann));

    // meta.resourceType is caseExact ("User"); id too; title is not.
    let mut both = vec![ann.clone(), bob.clone()];
    both.sort();
    for (f, expected) in [
        ("meta.resourceType eq \"User\"", both.clone()),
        ("meta.resourceType eq \"user\"", vec![]),
        ("meta.resourceType ne \"user\"", both.clone()),
        (&format!("id eq \"{}\"", ann.to_uppercase()), vec![]),
        (&format!("id eq \"{ann}\""), vec![ann.clone()]),
        ("title eq \"CHEF\"", vec![bob.clone()]),
    ] {
        let r = filtered(&app, &acct.scim, f).await;
        assert_eq!(r.status, 200, "{f}: {}", r.body);
        assert_eq!(ids(&r), expected, "{f}");
    }
    // Groups too, and the root search.
    let r = app
        .get(
            &format!(
                "/scim/v2/Groups?filter={}",
                urlencode("meta.resourceType eq \"group\"")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);
}

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// The `canonicalValues` `/Schemas` publishes for `schema`'s attribute `name` (or its `sub`).
fn canonical_values(schemas: &Value, schema: &str, name: &str, sub: Option<&str>) -> Vec<String> {
    let find = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} is published"))
            .clone()
    };
    let doc = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == schema)
        .unwrap();
    let mut attr = find(&doc["attributes"], name);
    if let Some(sub) = sub {
        attr = find(&attr["subAttributes"], sub);
    }
    attr["canonicalValues"]
        .as_array()
        .unwrap_or_else(|| panic!("{name} has canonicalValues: {attr}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn every_published_canonical_value_is_accepted_and_others_are_not() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let schemas = app.get("/scim/v2/Schemas", &acct.scim).await.body;
    let roles = canonical_values(
        &schemas,
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "roles",
        Some("value"),
    );
    let codes = canonical_values(&schemas, MT, "stores", Some("countryCallingCode"));
    let flat = canonical_values(&schemas, MT, "storeCountryCallingCode", None);
    assert_eq!(codes, flat, "both calling-code attributes publish one set");
    assert!(codes.len() > 200, "the ITU calling codes: {codes:?}");
    let one = app
        .get(&format!("/scim/v2/Schemas/{MT}"), &acct.scim)
        .await
        .body;
    assert_eq!(
        canonical_values(
            &json!({"Resources": [one]}),
            MT,
            "storeCountryCallingCode",
            None
        ),
        codes,
        "/Schemas/{{id}} publishes the same"
    );

    // A user with a store in every published calling code, and with every published role.
    for (i, code) in codes.iter().enumerate() {
        let mut body = user(&format!("u{i}@example.com"));
        body["roles"] = json!([{"value": roles[i % roles.len()]}]);
        body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", MT]);
        body[MT] = if i % 2 == 0 {
            json!({"stores": [{"refId": format!("S-{code}"), "name": "Shop", "countryCallingCode": code}]})
        } else {
            json!({"storeRefId": format!("S-{code}"), "storeName": "Shop", "storeCountryCallingCode": code})
        };
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        assert_eq!(r.status, 201, "{code}: {}", r.body);
    }
    // What is not published is refused.
    for (role, code) in [("admin", "32"), ("user", "999")] {
        let mut body = user("other@example.com");
        body["roles"] = json!([{"value": role}]);
        body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", MT]);
        body[MT] =
            json!({"storeRefId": "X-1", "storeName": "Shop", "storeCountryCallingCode": code});
        assert!(!roles.contains(&role.to_owned()) || !codes.contains(&code.to_owned()));
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        r.assert_scim_error(400, Some("invalidValue"));
    }
}

#[actix_web::test]
async fn a_value_filter_in_attributes_shows_only_the_matching_elements() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["emails"] = json!([
        {"value": "ann@work.example", "type": "work", "primary": true},
        {"value": "ann@home.example", "type": "home"},
        {"value": "ann2@work.example", "type": "Work", "display": "Ann, second"}
    ]);
    body["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}]);
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let work = json!([
        {"value": "ann@work.example", "type": "work", "primary": true},
        {"value": "ann2@work.example", "type": "Work", "display": "Ann, second"}
    ]);
    let query = |q: &str| format!("/scim/v2/Users/{id}?{q}");

    // Microsoft's reference suite: `attributes=emails[type eq "work"]`, on a read and a list.
    let r = app
        .get(
            &query(&format!(
                "attributes={}",
                urlencode("emails[type eq \"work\"]")
            )),
            &acct.scim,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["emails"], work);
    assert!(r.body.get("userName").is_none() && r.body.get("phoneNumbers").is_none());
    let list = app
        .get(
            &format!(
                "/scim/v2/Users?attributes={}",
                urlencode("emails[type eq \"work\"],userName")
            ),
            &acct.scim,
        )
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["Resources"][0]["emails"], work);
    assert_eq!(list.body["Resources"][0]["userName"], "ann@example.com");

    // A sub-attribute after the filter; a comma inside the filter's string.
    let r = app
        .get(
            &query(&format!(
                "attributes={}",
                urlencode("emails[type eq \"work\" and display co \"ann, s\"].value")
            )),
            &acct.scim,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["emails"], json!([{"value": "ann2@work.example"}]));
    // Nothing matches: the attribute is not shown.
    let r = app
        .get(
            &query(&format!(
                "attributes={}",
                urlencode("emails[type eq \"other\"]")
            )),
            &acct.scim,
        )
        .await;
    assert!(r.body.get("emails").is_none(), "{}", r.body);
    // excludedAttributes hides the matching elements.
    let r = app
        .get(
            &query(&format!(
                "excludedAttributes={}",
                urlencode("emails[type eq \"work\"]")
            )),
            &acct.scim,
        )
        .await;
    assert_eq!(
        r.body["emails"],
        json!([{"value": "ann@home.example", "type": "home"}])
    );
    assert_eq!(r.body["userName"], "ann@example.com");

    // What the filter cannot mean is a 400 naming it.
    for bad in [
        "emails[nope eq \"x\"]",
        "userName[type eq \"x\"]",
        "emails[type eq \"x\"",
        "emails[type eq \"x\"].nope",
    ] {
        let r = app
            .get(
                &query(&format!("attributes={}", urlencode(bad))),
                &acct.scim,
            )
            .await;
        let detail = r.assert_scim_error(400, Some("invalidValue"));
        assert!(!detail.contains("Expected one of"), "{bad}: {detail}");
    }
}

/// PATCHes user `id` and returns the stored user.
async fn patched(app: &TestApp, token: &str, id: &str, operations: Value) -> Value {
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": operations});
    let r = app
        .call(
            Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            token,
            Some(&body),
        )
        .await;
    assert_eq!(r.status, 200, "{operations}: {}", r.body);
    let stored = app.get(&format!("/scim/v2/Users/{id}"), token).await;
    assert_eq!(r.body, stored.body, "the answer is the stored user");
    stored.body
}

#[actix_web::test]
async fn clearing_a_filtered_value_removes_the_element() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    let phones = json!([
        {"value": "+32 470 12 34 56", "type": "mobile"},
        {"value": "+32 9 123 45 67", "type": "work"}
    ]);
    body["phoneNumbers"] = phones.clone();
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let mobile = r#"phoneNumbers[type eq "mobile"].value"#;
    // Entra's mandatory null update, with "" and with null.
    for value in [json!(""), json!(null)] {
        let u = patched(
            &app,
            &acct.scim,
            &id,
            json!([{"op": "Replace", "path": mobile, "value": value}]),
        )
        .await;
        assert_eq!(u["phoneNumbers"], json!([phones[1]]), "{value}");
        patched(
            &app,
            &acct.scim,
            &id,
            json!([{"op": "add", "path": "phoneNumbers", "value": [phones[0]]}]),
        )
        .await;
    }
    // remove of the filtered value.
    let u = patched(
        &app,
        &acct.scim,
        &id,
        json!([{"op": "remove", "path": r#"phoneNumbers[type eq "work"].value"#}]),
    )
    .await;
    assert_eq!(u["phoneNumbers"], json!([phones[0]]));
    // The last element takes the attribute with it; e-mails the same.
    let u = patched(&app, &acct.scim, &id, json!([
        {"op": "replace", "path": mobile, "value": ""},
        {"op": "add", "path": "emails", "value": [{"value": "ann@home.example", "type": "home"}]},
        {"op": "replace", "path": r#"emails[type eq "home"].value"#, "value": null}
    ])).await;
    assert!(u.get("phoneNumbers").is_none(), "{u}");
    assert_eq!(
        u["emails"],
        json!([{"value": "ann@example.com", "type": "work", "primary": true}])
    );
}

#[actix_web::test]
async fn a_group_rule_never_places_a_user_in_a_group_of_another_type() {
    let app = TestApp::new();
    let acct = app.account("acme");
    const DEPARTMENT: &str =
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
    for (attribute, group_type) in [(DEPARTMENT, "Department"), ("title", "Job position")] {
        let r = app
            .post(
                "/admin/v1/group-rules",
                &acct.admin,
                &json!({"attribute": attribute, "groupType": group_type}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // Bob's department makes the Department group "Sales".
    let mut bob = user("bob@example.com");
    bob["schemas"] = json!([
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    ]);
    bob["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] =
        json!({"department": "Sales"});
    let bob = app.post("/scim/v2/Users", &acct.scim, &bob).await;
    assert_eq!(bob.status, 201, "{}", bob.body);
    let sales = bob.body["groups"][0]["value"].as_str().unwrap().to_owned();

    // Ann's job title is "sales": the title rule meets the Department group, and places her nowhere.
    let mut ann = user("ann@example.com");
    ann["title"] = json!("sales");
    let ann = app.post("/scim/v2/Users", &acct.scim, &ann).await;
    assert_eq!(ann.status, 201, "{}", ann.body);
    let ann_id = ann.body["id"].as_str().unwrap().to_owned();
    assert!(
        ann.body.get("groups").is_none_or(|g| g == &json!([])),
        "{}",
        ann.body
    );
    let group = app
        .get(&format!("/scim/v2/Groups/{sales}"), &acct.scim)
        .await;
    assert_eq!(
        group.body["members"].as_array().unwrap().len(),
        1,
        "{}",
        group.body
    );
    let log = app
        .get("/admin/v1/audit?code=group_rule.type_conflict", &acct.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);
    let event = &log.body["events"][0];
    assert_eq!(event["resourceId"], ann_id.as_str());
    assert_eq!(event["detail"]["group"]["id"], sales.as_str());
    assert_eq!(event["detail"]["group"]["groupType"], "Department");
    assert!(
        event["detail"]["detail"]
            .as_str()
            .unwrap()
            .contains("Job position")
    );

    // A job title with a group of its own type is placed as before.
    let mut cat = user("cat@example.com");
    cat["title"] = json!("Cashier");
    let cat = app.post("/scim/v2/Users", &acct.scim, &cat).await;
    assert_eq!(cat.body["groups"][0]["display"], "Cashier", "{}", cat.body);
}

#[actix_web::test]
async fn a_patch_path_may_name_a_whole_extension() {
    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let app = TestApp::new();
    let acct = app.account("acme");
    let id = new_user(&app, &acct, "ann@example.com").await;
    let u = patched(
        &app,
        &acct.scim,
        &id,
        json!([{"op": "add", "path": ENT, "value": {"department": "Sales", "costCenter": "C1"}}]),
    )
    .await;
    assert_eq!(u[ENT], json!({"department": "Sales", "costCenter": "C1"}));
    let u = patched(
        &app,
        &acct.scim,
        &id,
        json!([{"op": "replace", "path": ENT, "value": {"costCenter": "C2"}}]),
    )
    .await;
    assert_eq!(u[ENT], json!({"department": "Sales", "costCenter": "C2"}));
    let u = patched(
        &app,
        &acct.scim,
        &id,
        json!([{"op": "remove", "path": ENT}]),
    )
    .await;
    assert!(u.get(ENT).is_none(), "{u}");
}
