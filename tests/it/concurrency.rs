//! Uniqueness under concurrency, through the real HTTP server: the database, not a check in Rust,
//! decides who wins.

use std::sync::{Arc, Barrier};

use chrono::Utc;
use mobietrain_scim::state::HttpSettings;
use mobietrain_scim::users::{self, storage};
use serde_json::Value;

use crate::harness::{TestApp, user};

/// A blocking HTTP client that reports every status instead of failing on 4xx.
pub fn client() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::config::Config::builder()
            .http_status_as_error(false)
            .build(),
    )
}

/// Sends a JSON body with `method` and returns the status and the parsed body.
pub fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    let request = ureq::http::Request::builder()
        .method(method)
        .uri(url)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/scim+json")
        .body(body.to_string())
        .expect("a valid request");
    let mut response = agent.run(request).expect("the server answers");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// POSTs a body and returns the status and the parsed body.
pub fn post(agent: &ureq::Agent, url: &str, token: &str, body: &Value) -> (u16, Value) {
    send(agent, "POST", url, token, body)
}

/// Runs `requests` from threads of their own, all released at once by a barrier; returns each
/// request's status and body in order.
pub fn at_once(requests: Vec<(&'static str, String, String, Value)>) -> Vec<(u16, Value)> {
    let barrier = Arc::new(Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|(method, url, token, body)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let agent = client();
                barrier.wait();
                send(&agent, method, &url, &token, &body)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn race(app: &TestApp, token: &str, bodies: Vec<Value>) -> Vec<(u16, Value)> {
    let (base, server) = app.serve(4);
    let url = format!("{base}/scim/v2/Users");
    let results = at_once(
        bodies
            .into_iter()
            .map(|b| ("POST", url.clone(), token.to_owned(), b))
            .collect(),
    );
    actix_web::rt::System::new().block_on(server.stop(true));
    results
}

#[test]
fn sixteen_concurrent_creates_of_one_user_give_one_201_and_fifteen_409s() {
    let app = TestApp::with(HttpSettings::default(), 16);
    let acct = app.account("acme");
    let results = race(&app, &acct.scim, vec![user("same@example.com"); 16]);
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let conflicts: Vec<&Value> = results
        .iter()
        .filter(|(s, _)| *s == 409)
        .map(|(_, b)| b)
        .collect();
    assert_eq!((created, conflicts.len()), (1, 15), "{results:?}");
    for body in conflicts {
        assert_eq!(body["scimType"], "uniqueness");
        let detail = body["detail"].as_str().unwrap();
        // Both userName and externalId collide; the database names whichever index it checked first.
        assert!(
            detail.contains("userName") || detail.contains("externalId"),
            "{detail}"
        );
    }
    assert_eq!(app.count("users"), 1);
    assert_eq!(app.count("user_emails"), 1);
}

#[test]
fn sixteen_concurrent_creates_of_different_users_all_land() {
    let app = TestApp::with(HttpSettings::default(), 16);
    let acct = app.account("acme");
    let bodies = (0..16)
        .map(|i| user(&format!("u{i}@example.com")))
        .collect();
    let results = race(&app, &acct.scim, bodies);
    assert!(results.iter().all(|(s, _)| *s == 201), "{results:?}");
    assert_eq!(app.count("users"), 16, "nothing acknowledged is lost");
}

#[actix_web::test]
async fn the_unique_index_refuses_a_duplicate_that_bypasses_the_domain() {
    // There is no check-then-insert in the domain: the index is the check. Writing straight through
    // the storage layer, as a buggy caller would, still cannot create a duplicate.
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    let id = created.body["id"].as_str().unwrap();
    let mut twin = users::get(&mut app.conn(), &acct.id, id).unwrap();
    twin.row.id = mobietrain_scim::accounts::new_id();
    twin.row.external_id = Some("another".into());
    twin.row.user_name = "ANN@EXAMPLE.COM".into();
    twin.row.user_name_ci = mobietrain_scim::text::fold_identity("ANN@EXAMPLE.COM");
    twin.emails
        .iter_mut()
        .for_each(|e| e.user_id = twin.row.id.clone());
    twin.row.updated_at = Utc::now().naive_utc();
    let err = storage::insert(&mut app.conn(), &twin).unwrap_err();
    assert!(
        mobietrain_scim::db::unique_violation(&err).is_some(),
        "{err:?}"
    );

    // And over HTTP the same violation is a 409 `uniqueness`, whatever case the userName is in.
    let mut shouting = user("ANN@EXAMPLE.COM");
    shouting["externalId"] = "yet-another".into();
    let conflict = app.post("/scim/v2/Users", &acct.scim, &shouting).await;
    assert!(
        conflict
            .assert_scim_error(409, Some("uniqueness"))
            .contains("userName")
    );
    let mut same_external = user("bob@example.com");
    same_external["externalId"] = created.body["externalId"].clone();
    let conflict = app.post("/scim/v2/Users", &acct.scim, &same_external).await;
    assert!(
        conflict
            .assert_scim_error(409, Some("uniqueness"))
            .contains("externalId")
    );
    assert_eq!(app.count("users"), 1);
}

#[test]
fn eight_concurrent_replaces_of_one_user_each_land_as_their_own_version() {
    let app = TestApp::with(HttpSettings::default(), 8);
    let acct = app.account("acme");
    let (base, server) = app.serve(4);
    let (_, created) = post(
        &client(),
        &format!("{base}/scim/v2/Users"),
        &acct.scim,
        &user("ann@example.com"),
    );
    let url = format!("{base}/scim/v2/Users/{}", created["id"].as_str().unwrap());
    let requests = (0..8)
        .map(|i| {
            let mut body = user("ann@example.com");
            body["title"] = format!("title {i}").into();
            ("PUT", url.clone(), acct.scim.clone(), body)
        })
        .collect();
    let results: Vec<(u16, Value)> = at_once(requests);
    actix_web::rt::System::new().block_on(server.stop(true));
    assert!(results.iter().all(|(s, _)| *s == 200), "{results:?}");
    let mut versions: Vec<String> = results
        .iter()
        .map(|(_, b)| b["meta"]["version"].as_str().unwrap().to_owned())
        .collect();
    versions.sort();
    versions.dedup();
    assert_eq!(
        versions.len(),
        8,
        "each write is its own version: {versions:?}"
    );
    let log = mobietrain_scim::audit::list(
        &mut app.conn(),
        &acct.id,
        &mobietrain_scim::audit::Query {
            code: Some("user.replaced".into()),
            limit: 100,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        log.0, 8,
        "every acknowledged write is in the provisioning log"
    );
}
