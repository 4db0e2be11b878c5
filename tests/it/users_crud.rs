//! Users through the real HTTP app: the full round trip driven by `/Schemas`, replace, delete,
//! lookups and paging.

use serde_json::{Map, Value, json};

use crate::harness::{TestApp, user};

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Flat attributes that are a view of `stores`: checked against the primary store, not sent.
const FLAT_STORE: &[&str] = &["storeRefId", "storeName", "storeCountryCallingCode"];

/// The User resource type's schemas, as discovery serves them.
async fn user_schemas(app: &TestApp, token: &str) -> Vec<Value> {
    let rt = app.get("/scim/v2/ResourceTypes/User", token).await;
    assert_eq!(rt.status, 200);
    let mut urns = vec![rt.body["schema"].as_str().unwrap().to_owned()];
    for ext in rt.body["schemaExtensions"].as_array().unwrap() {
        urns.push(ext["schema"].as_str().unwrap().to_owned());
    }
    let mut out = Vec::new();
    for urn in urns {
        let s = app.get(&format!("/scim/v2/Schemas/{urn}"), token).await;
        assert_eq!(s.status, 200, "{urn}");
        out.push(s.body);
    }
    out
}

fn writable(attr: &Value) -> bool {
    attr["mutability"] != "readOnly"
}

/// A value for one attribute, made from its definition; `variant` makes PUT values differ.
fn sample(path: &str, attr: &Value, variant: usize, index: usize) -> Value {
    let name = attr["name"].as_str().unwrap();
    if attr["multiValued"] == true {
        let one = attr.clone();
        return Value::Array(
            (0..2)
                .map(|i| {
                    let mut single = one.clone();
                    single["multiValued"] = json!(false);
                    sample(path, &single, variant, i)
                })
                .collect(),
        );
    }
    match attr["type"].as_str().unwrap() {
        "complex" => {
            let mut obj = Map::new();
            for sub in attr["subAttributes"].as_array().unwrap() {
                if writable(sub) {
                    let sub_name = sub["name"].as_str().unwrap();
                    obj.insert(
                        sub_name.to_owned(),
                        sample(&format!("{path}.{sub_name}"), sub, variant, index),
                    );
                }
            }
            Value::Object(obj)
        }
        "boolean" if name == "primary" => json!(index == 0),
        "boolean" => json!(variant % 2 == 1),
        "reference" => json!(format!("https://example.com/{path}/{variant}/{index}")),
        _ => match path {
            "emails.value" => json!(format!("user{variant}.{index}@example.com")),
            "phoneNumbers.value" => json!(format!("+32 470 12 3{variant} 5{index}")),
            "roles.value" => json!(["manager", "user"][index]),
            "stores.countryCallingCode" => json!(["32", "31"][(variant + index) % 2]),
            "stores.refId" => json!(format!("store-{variant}-{index}")),
            _ => match attr["canonicalValues"].as_array() {
                Some(values) if !values.is_empty() => values[index % values.len()].clone(),
                _ => json!(format!("{path} v{variant}.{index} ü")),
            },
        },
    }
}

/// A user with every writable attribute of every User schema set.
fn full_user(schemas: &[Value], variant: usize) -> Value {
    let mut body = Map::new();
    body.insert(
        "schemas".into(),
        json!(schemas.iter().map(|s| s["id"].clone()).collect::<Vec<_>>()),
    );
    body.insert("externalId".into(), json!(format!("external-{variant}")));
    for (i, schema) in schemas.iter().enumerate() {
        let mut target = Map::new();
        for attr in schema["attributes"].as_array().unwrap() {
            let name = attr["name"].as_str().unwrap();
            if writable(attr) && !FLAT_STORE.contains(&name) {
                target.insert(name.to_owned(), sample(name, attr, variant, 0));
            }
        }
        if i == 0 {
            body.extend(target);
        } else {
            body.insert(
                schema["id"].as_str().unwrap().to_owned(),
                Value::Object(target),
            );
        }
    }
    Value::Object(body)
}

/// Every writable attribute comes back as sent, nothing comes back that the schemas do not list,
/// and `returned: never` attributes never appear.
fn assert_round_trip(schemas: &[Value], sent: &Value, got: &Value) {
    assert_eq!(got["externalId"], sent["externalId"]);
    for (i, schema) in schemas.iter().enumerate() {
        let urn = schema["id"].as_str().unwrap();
        let (sent_obj, got_obj) = if i == 0 {
            (sent, got)
        } else {
            (&sent[urn], &got[urn])
        };
        let attrs = schema["attributes"].as_array().unwrap();
        for attr in attrs {
            let name = attr["name"].as_str().unwrap();
            if attr["returned"] == "never" {
                assert!(
                    got_obj.get(name).is_none(),
                    "{urn}:{name} is returned: never, yet came back"
                );
            } else if writable(attr) && !FLAT_STORE.contains(&name) {
                assert_eq!(
                    got_obj[name], sent_obj[name],
                    "{urn}:{name} did not round-trip"
                );
            }
        }
        // Nothing the schema does not list (common attributes aside).
        if let Value::Object(fields) = got_obj {
            for (key, value) in fields {
                if i == 0
                    && (["id", "externalId", "meta", "schemas"].contains(&key.as_str())
                        || key.starts_with("urn:"))
                {
                    continue;
                }
                let attr = attrs
                    .iter()
                    .find(|a| a["name"] == json!(key))
                    .unwrap_or_else(|| {
                        panic!("{urn}:{key} came back but /Schemas does not list it")
                    });
                let elements: Vec<&Value> = match value {
                    Value::Array(items) => items.iter().collect(),
                    other => vec![other],
                };
                for element in elements {
                    if let Value::Object(subs) = element {
                        for sub in subs.keys() {
                            assert!(
                                attr["subAttributes"]
                                    .as_array()
                                    .unwrap()
                                    .iter()
                                    .any(|s| s["name"] == json!(sub)),
                                "{urn}:{key}.{sub} came back but /Schemas does not list it"
                            );
                        }
                    }
                }
            }
        }
    }
    // Extension URNs in the response are served schemas.
    for key in got
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("urn:"))
    {
        assert!(
            schemas.iter().any(|s| s["id"] == json!(key)),
            "unknown extension {key} in the response"
        );
    }
    // The flat store attributes are a view of the primary store.
    let stores = got[MT]["stores"].as_array().unwrap();
    let primary = stores
        .iter()
        .find(|s| s["primary"] == true)
        .unwrap_or(&stores[0]);
    assert_eq!(got[MT]["storeRefId"], primary["refId"]);
    assert_eq!(got[MT]["storeName"], primary["name"]);
    assert_eq!(
        got[MT]["storeCountryCallingCode"],
        primary["countryCallingCode"]
    );
}

#[actix_web::test]
async fn fully_populated_user_round_trips_through_post_get_put_get() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let schemas = user_schemas(&app, &acct.scim).await;

    // manager.value references a user of the account: one for the create, another for the PUT.
    let mut managers = Vec::new();
    for name in ["manager1@example.com", "manager2@example.com"] {
        let m = app.post("/scim/v2/Users", &acct.scim, &user(name)).await;
        assert_eq!(m.status, 201, "{}", m.body);
        managers.push(m.body["id"].clone());
    }
    let mut sent = full_user(&schemas, 1);
    sent[ENT]["manager"]["value"] = managers[0].clone();
    assert!(
        sent.get("password").is_some(),
        "the generator sends the returned:never password too"
    );
    let created = app.post("/scim/v2/Users", &acct.scim, &sent).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_round_trip(&schemas, &sent, &created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location").unwrap(),
        created.body["meta"]["location"].as_str().unwrap()
    );
    assert_eq!(
        created.header("etag").unwrap(),
        created.body["meta"]["version"].as_str().unwrap()
    );
    assert_eq!(
        created.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert_eq!(
        created.body[MT]["origin"], "scim",
        "SCIM-created users have origin scim"
    );

    let read = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(read.status, 200);
    assert_round_trip(&schemas, &sent, &read.body);
    assert_eq!(
        read.body, created.body,
        "a read shows exactly what the create returned"
    );

    let mut replacement = full_user(&schemas, 2);
    replacement[ENT]["manager"]["value"] = managers[1].clone();
    let replaced = app
        .put(&format!("/scim/v2/Users/{id}"), &acct.scim, &replacement)
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.body);
    assert_round_trip(&schemas, &replacement, &replaced.body);
    assert_eq!(replaced.body["id"], json!(id));
    assert_ne!(
        replaced.body["meta"]["version"],
        created.body["meta"]["version"]
    );
    assert_eq!(
        replaced.body["meta"]["created"],
        created.body["meta"]["created"]
    );

    let reread = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_round_trip(&schemas, &replacement, &reread.body);
    assert_eq!(app.count("users"), 3, "the user and its two managers");
    // The stores of both writes exist once each, as account-level entities.
    assert_eq!(app.count("stores"), 4);
}

#[actix_web::test]
async fn put_is_a_true_replace_and_never_creates() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["title"] = json!("Cashier");
    body["phoneNumbers"] = json!([{"value": "+32 470 12 34 56", "type": "mobile"}]);
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_str().unwrap();

    let replaced = app
        .put(
            &format!("/scim/v2/Users/{id}"),
            &acct.scim,
            &user("ann@example.com"),
        )
        .await;
    assert_eq!(replaced.status, 200);
    assert!(
        replaced.body.get("title").is_none(),
        "attributes not sent are cleared"
    );
    assert!(replaced.body.get("phoneNumbers").is_none());
    assert_eq!(app.count("user_phone_numbers"), 0);

    // Okta echoes id, meta and groups back in a PUT: read-only input, ignored.
    let mut echoed = replaced.body.clone();
    echoed["displayName"] = json!("Ann L.");
    echoed["groups"] = json!([]);
    let again = app
        .put(&format!("/scim/v2/Users/{id}"), &acct.scim, &echoed)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["displayName"], "Ann L.");

    let unknown = app
        .put(
            "/scim/v2/Users/01a20000-0000-7000-8000-000000000000",
            &acct.scim,
            &user("x@example.com"),
        )
        .await;
    unknown.assert_scim_error(404, None);
    assert_eq!(app.count("users"), 1, "PUT never creates");
}

#[actix_web::test]
async fn put_without_active_keeps_a_deactivated_user_deactivated() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["active"] = json!(false);
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    let id = created.body["id"].as_str().unwrap();
    let replaced = app
        .put(
            &format!("/scim/v2/Users/{id}"),
            &acct.scim,
            &user("ann@example.com"),
        )
        .await;
    assert_eq!(replaced.body["active"], false);
    body["active"] = json!("True");
    let reactivated = app
        .put(&format!("/scim/v2/Users/{id}"), &acct.scim, &body)
        .await;
    assert_eq!(
        reactivated.body["active"], true,
        "Entra's string booleans are read"
    );
}

#[actix_web::test]
async fn delete_is_204_then_404() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    let path = format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap());
    let deleted = app.delete(&path, &acct.scim).await;
    assert_eq!(deleted.status, 204);
    assert_eq!(deleted.body, Value::Null);
    app.get(&path, &acct.scim)
        .await
        .assert_scim_error(404, None);
    app.delete(&path, &acct.scim)
        .await
        .assert_scim_error(404, None);
    assert_eq!(app.count("users") + app.count("user_emails"), 0);
    // The userName is free again.
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
            .await
            .status,
        201
    );
}

#[actix_web::test]
async fn lookups_by_user_name_and_external_id() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post(
            "/scim/v2/Users",
            &acct.scim,
            &user("Émile.Zola@Example.com"),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = created.body["id"].clone();
    app.post("/scim/v2/Users", &acct.scim, &user("other@example.com"))
        .await;

    let q = |f: &str| format!("/scim/v2/Users?filter={}", urlencode(f));
    for filter in [
        r#"userName eq "émile.zola@example.COM""#,
        r#"USERNAME Eq "ÉMILE.ZOLA@EXAMPLE.COM""#,
        r#"externalId eq "ext-Émile.Zola@Example.com""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "émile.zola@example.com""#,
    ] {
        let found = app.get(&q(filter), &acct.scim).await;
        assert_eq!(found.status, 200, "{filter}: {}", found.body);
        assert_eq!(found.body["totalResults"], 1, "{filter}");
        assert_eq!(found.body["Resources"][0]["id"], id, "{filter}");
    }
    // externalId is case-exact (RFC 7643 §3.1).
    let miss = app
        .get(
            &q(r#"externalId eq "EXT-émile.zola@example.com""#),
            &acct.scim,
        )
        .await;
    assert_eq!(miss.body["totalResults"], 0);

    // Entra's credential check: a random GUID that matches nothing is an empty 200 ListResponse.
    let empty = app
        .get(
            &q(r#"userName eq "3c9e0a4e-9a9e-4b7e-8f55-6a0bd1f6c2b1""#),
            &acct.scim,
        )
        .await;
    assert_eq!(empty.status, 200);
    assert_eq!(
        empty.body,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );

    let bad = app.get(&q("userName eq"), &acct.scim).await;
    assert!(
        bad.assert_scim_error(400, Some("invalidFilter"))
            .contains("does not parse")
    );
    let unknown = app.get(&q(r#"favouriteColour eq "x""#), &acct.scim).await;
    assert!(
        unknown
            .assert_scim_error(400, Some("invalidFilter"))
            .contains("favouriteColour")
    );
    let secret = app.get(&q(r#"password eq "x""#), &acct.scim).await;
    assert!(
        secret
            .assert_scim_error(400, Some("invalidFilter"))
            .contains("never stored")
    );
}

#[actix_web::test]
async fn paging_is_one_based_stable_and_counts_what_it_returns() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut ids = Vec::new();
    for i in 0..5 {
        let r = app
            .post(
                "/scim/v2/Users",
                &acct.scim,
                &user(&format!("u{i}@example.com")),
            )
            .await;
        ids.push(r.body["id"].clone());
    }
    let page = app
        .get("/scim/v2/Users?startIndex=2&count=2", &acct.scim)
        .await;
    assert_eq!(page.body["totalResults"], 5);
    assert_eq!(page.body["startIndex"], 2);
    assert_eq!(page.body["itemsPerPage"], 2);
    let got: Vec<Value> = page.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].clone())
        .collect();
    assert_eq!(
        got,
        ids[1..3].to_vec(),
        "creation order, the same on every call"
    );

    let only_total = app.get("/scim/v2/Users?count=0", &acct.scim).await;
    assert_eq!(only_total.body["totalResults"], 5);
    assert_eq!(only_total.body["itemsPerPage"], 0);
    let beyond = app.get("/scim/v2/Users?startIndex=50", &acct.scim).await;
    assert_eq!(beyond.body["itemsPerPage"], 0);
    let lenient = app
        .get("/scim/v2/Users?startIndex=0&count=-3", &acct.scim)
        .await;
    assert_eq!(
        (
            lenient.body["startIndex"].clone(),
            lenient.body["itemsPerPage"].clone()
        ),
        (json!(1), json!(0))
    );
    app.get("/scim/v2/Users?count=many", &acct.scim)
        .await
        .assert_scim_error(400, Some("invalidValue"));
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
