//! The query surface beyond equality: filters on every kind of attribute, sorting, and the
//! SearchRequest endpoints, through the real app.

use mobietrain_scim::scim::dialect::Rewrite;
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, user};
use crate::users_crud::urlencode;

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

async fn seed(app: &TestApp, acct: &TestAccount) -> Vec<String> {
    let people = [
        (
            "zoë@example.com",
            "Zoë",
            "Ärger",
            Some("Cashier"),
            "work",
            Some(("S1", "Gent")),
        ),
        ("adam@example.com", "Adam", "bakker", None, "home", None),
        (
            "Émile@example.org",
            "Émile",
            "Zola",
            Some("50%_off manager"),
            "work",
            Some(("S2", "Brussel")),
        ),
        (
            "bea@example.com",
            "bea",
            "Claes",
            Some("cashier"),
            "other",
            Some(("S1", "Gent")),
        ),
    ];
    let mut ids = Vec::new();
    for (name, given, family, title, kind, store) in people {
        let mut body = user(name);
        body["name"] = json!({"givenName": given, "familyName": family});
        body["emails"] = json!([{"value": name, "type": kind, "primary": true}, {"value": format!("alt.{name}"), "type": "other"}]);
        if let Some(title) = title {
            body["title"] = json!(title);
        }
        if let Some((ref_id, store_name)) = store {
            body[MT] = json!({"stores": [{"refId": ref_id, "name": store_name, "countryCallingCode": "32"}]});
            body["roles"] = json!([{"value": "manager"}]);
        }
        let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(r.body["id"].as_str().unwrap().to_owned());
    }
    ids
}

async fn ids_for(app: &TestApp, acct: &TestAccount, query: &str) -> Vec<String> {
    let r = app
        .get(&format!("/scim/v2/Users?{query}"), &acct.scim)
        .await;
    assert_eq!(r.status, 200, "{query}: {}", r.body);
    r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect()
}

fn filter(f: &str) -> String {
    format!("filter={}", urlencode(f))
}

#[actix_web::test]
async fn the_whole_grammar_on_every_kind_of_attribute() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ids = seed(&app, &acct).await;
    let (zoe, adam, emile, bea) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (r#"title eq "CASHIER""#.to_owned(), vec![zoe, bea]),
        (r#"title co "%_off""#.to_owned(), vec![emile]),
        (r#"title co "_""#.to_owned(), vec![emile]),
        (r#"title sw "cash""#.to_owned(), vec![zoe, bea]),
        (r#"title ew "MANAGER""#.to_owned(), vec![emile]),
        (r#"title pr"#.to_owned(), vec![zoe, emile, bea]),
        (r#"not (title pr)"#.to_owned(), vec![adam]),
        (r#"title ne "cashier""#.to_owned(), vec![adam, emile]),
        (r#"name.familyName eq "ÄRGER""#.to_owned(), vec![zoe]),
        (r#"name.givenName eq "ÉMILE""#.to_owned(), vec![emile]),
        (r#"name.givenName gt "b""#.to_owned(), vec![zoe, emile, bea]),
        (r#"name.familyName lt "c""#.to_owned(), vec![adam]),
        (r#"emails.value ew "@example.org""#.to_owned(), vec![emile]),
        (r#"emails co "alt.adam""#.to_owned(), vec![adam]),
        (
            r#"emails[type eq "work" and value co "example.com"]"#.to_owned(),
            vec![zoe],
        ),
        (
            r#"emails[type eq "home"] or emails[type eq "work" and value sw "é"]"#.to_owned(),
            vec![adam, emile],
        ),
        (
            r#"emails[not (type eq "other")]"#.to_owned(),
            vec![zoe, adam, emile],
        ),
        (
            r#"emails.primary eq true and emails.type eq "other""#.to_owned(),
            vec![zoe, adam, emile, bea],
        ),
        (
            r#"emails[primary eq true and type eq "other"]"#.to_owned(),
            vec![bea],
        ),
        (r#"active eq true"#.to_owned(), vec![zoe, adam, emile, bea]),
        (r#"active eq "False""#.to_owned(), vec![]),
        (
            r#"roles.value eq "manager""#.to_owned(),
            vec![zoe, emile, bea],
        ),
        (format!(r#"{MT}:stores.refId eq "S1""#), vec![zoe, bea]),
        (format!(r#"{MT}:storeName eq "brussel""#), vec![emile]),
        (
            format!(r#"{MT}:stores[refId eq "S2" and name sw "Bru"]"#),
            vec![emile],
        ),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z" and meta.resourceType eq "User""#.to_owned(),
            vec![zoe, adam, emile, bea],
        ),
        (
            r#"meta.lastModified lt "2000-01-01T00:00:00Z""#.to_owned(),
            vec![],
        ),
        (
            r#"name pr and not (phoneNumbers pr)"#.to_owned(),
            vec![zoe, adam, emile, bea],
        ),
        (
            r#"(title eq "cashier" or title eq "nobody") and not (emails.value sw "bea")"#
                .to_owned(),
            vec![zoe],
        ),
        (
            r#"userName eq "ZOË@EXAMPLE.COM" or externalId eq "ext-adam@example.com""#.to_owned(),
            vec![zoe, adam],
        ),
        (r#"title eq null"#.to_owned(), vec![adam]),
    ];
    for (f, expected) in cases {
        let got = ids_for(&app, &acct, &filter(&f)).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(got, expected, "{f}");
    }
    for (bad, needle) in [
        (r#"active gt true"#, "boolean"),
        (r#"meta.created eq "yesterday""#, "RFC 3339"),
        (r#"name eq "x""#, "complex"),
        (r#"emails[nope eq "x"]"#, "nope"),
        (r#"meta.version eq "W/\"1\"""#, "If-Match"),
        (r#"title gt null"#, "null"),
    ] {
        let r = app
            .get(&format!("/scim/v2/Users?{}", filter(bad)), &acct.scim)
            .await;
        let detail = r.assert_scim_error(400, Some("invalidFilter"));
        assert!(detail.contains(needle), "{bad}: {detail}");
    }
}

#[actix_web::test]
async fn sorting_is_by_attribute_type_with_missing_values_last_and_id_breaking_ties() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ids = seed(&app, &acct).await;
    let [zoe, adam, emile, bea] = [
        ids[0].clone(),
        ids[1].clone(),
        ids[2].clone(),
        ids[3].clone(),
    ];
    let by = |q: &str| {
        let q = q.to_owned();
        let (app, acct) = (&app, &acct);
        async move { ids_for(app, acct, &q).await }
    };
    // Case-insensitive: folded values, compared in Unicode code point order (no locale), so "ärger"
    // sorts after "zola" and "50%_off" before "cashier".
    assert_eq!(
        by("sortBy=name.familyName").await,
        [adam.clone(), bea.clone(), emile.clone(), zoe.clone()]
    );
    assert_eq!(
        by("sortBy=name.familyName&sortOrder=descending").await,
        [zoe.clone(), emile.clone(), bea.clone(), adam.clone()]
    );
    assert_eq!(
        by("sortBy=title").await,
        [emile.clone(), zoe.clone(), bea.clone(), adam.clone()],
        "ties by id, missing last"
    );
    assert_eq!(
        by("sortBy=title&sortOrder=DESCENDING").await,
        [zoe.clone(), bea.clone(), emile.clone(), adam.clone()],
        "missing last either way"
    );
    assert_eq!(
        by(&format!("sortBy=title&{}", filter("title pr"))).await,
        [emile.clone(), zoe.clone(), bea.clone()]
    );
    assert_eq!(
        by("sortBy=meta.created&startIndex=2&count=2").await,
        [adam, emile]
    );
    for bad in [
        "sortBy=emails",
        "sortBy=password",
        "sortBy=nope",
        "sortBy=title&sortOrder=sideways",
    ] {
        let r = app.get(&format!("/scim/v2/Users?{bad}"), &acct.scim).await;
        r.assert_scim_error(400, Some("invalidValue"));
    }
}

#[actix_web::test]
async fn search_requests_on_users_and_the_root() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ids = seed(&app, &acct).await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "title sw \"cash\"", "sortBy": "userName", "sortOrder": "descending",
        "startIndex": 1, "count": 10
    });
    for path in ["/scim/v2/Users/.search", "/scim/v2/.search"] {
        let r = app.post(path, &acct.scim, &body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(
            r.body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        let got: Vec<&str> = r.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        assert_eq!(got, [ids[0].as_str(), ids[3].as_str()], "{path}");
    }
    let wrong = app
        .post(
            "/scim/v2/Users/.search",
            &acct.scim,
            &json!({"schemas": ["urn:nope"], "filter": "title pr"}),
        )
        .await;
    wrong.assert_scim_error(400, Some("invalidSyntax"));
    let bad = app
        .post(
            "/scim/v2/.search",
            &acct.scim,
            &json!({"filter": "title eq"}),
        )
        .await;
    bad.assert_scim_error(400, Some("invalidFilter"));
    app.get("/scim/v2/Users/.search", &acct.scim)
        .await
        .assert_scim_error(405, None);
}

#[actix_web::test]
async fn entra_dialects_are_rewritten_and_counted() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ids = seed(&app, &acct).await;
    let before: Vec<u64> = Rewrite::ALL
        .iter()
        .map(|r| app.state.dialects.count(*r))
        .collect();
    assert_eq!(
        ids_for(&app, &acct, &filter("externalId eq ext-adam@example.com")).await,
        [ids[1].clone()]
    );
    assert_eq!(
        ids_for(
            &app,
            &acct,
            &filter(r#"emails[type eq "work"].value eq "zoë@example.com""#)
        )
        .await,
        [ids[0].clone()]
    );
    assert_eq!(
        ids_for(&app, &acct, &filter(r#"active eq "True""#))
            .await
            .len(),
        4
    );
    let manager = format!(
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "{}""#,
        ids[0]
    );
    assert!(ids_for(&app, &acct, &filter(&manager)).await.is_empty());
    let after: Vec<u64> = Rewrite::ALL
        .iter()
        .map(|r| app.state.dialects.count(*r))
        .collect();
    let grew: Vec<u64> = after.iter().zip(&before).map(|(a, b)| a - b).collect();
    assert_eq!(
        grew[..4],
        [1, 1, 1, 1],
        "each filter dialect counted once, in Rewrite::ALL order"
    );
}

#[actix_web::test]
async fn filters_never_cross_accounts() {
    let app = TestApp::new();
    let a = app.account("A");
    let b = app.account("B");
    seed(&app, &a).await;
    for f in [
        r#"emails.value co "example""#,
        &format!(r#"{MT}:stores.refId eq "S1""#),
        "roles pr",
        "title pr",
    ] {
        let r = app
            .get(&format!("/scim/v2/Users?{}", filter(f)), &b.scim)
            .await;
        assert_eq!(r.body["totalResults"], Value::from(0), "{f}");
    }
}

/// A lookup (`attr eq "text"`) is read whole in the page's own statement when its page is exactly
/// what the statement selects, and as ids first when a smaller page is asked for: both give the
/// same resources as a read by id, the first ones in order, and the whole count.
#[actix_web::test]
async fn lookups_read_resources_whole_whatever_the_page_size() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ids = seed(&app, &acct).await;
    let (zoe, bea) = (&ids[0], &ids[3]);
    let cashiers = filter(r#"title eq "CASHIER""#);
    for (query, expect, total) in [
        (cashiers.clone(), vec![zoe, bea], 2),
        (format!("{cashiers}&count=100"), vec![zoe, bea], 2),
        (format!("{cashiers}&count=1"), vec![zoe], 2),
        (format!("{cashiers}&count=1&startIndex=2"), vec![bea], 2),
        (format!("{cashiers}&count=2&startIndex=2"), vec![bea], 2),
        (format!("{cashiers}&count=0"), vec![], 2),
    ] {
        let r = app
            .get(&format!("/scim/v2/Users?{query}"), &acct.scim)
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.body);
        assert_eq!(r.body["totalResults"], total, "{query}: {}", r.body);
        let found = r.body["Resources"].as_array().unwrap();
        let found_ids: Vec<&str> = found.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(found_ids, expect, "{query}");
        for listed in found {
            let id = listed["id"].as_str().unwrap();
            let read = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
            assert_eq!(
                listed, &read.body,
                "{query}: the listed user is the user read by id"
            );
        }
    }
}
