//! OAuth 2.0 for provisioning clients, with client secrets: clients on the admin API and the CLI,
//! `POST /oauth/token` with `client_secret_basic` and `client_secret_post`, the access tokens on
//! `/scim/v2` (scope, expiry, revocation, tenancy, the provisioning log's actor), the RFC 8414
//! metadata, the failed-authentication limit, and `/metrics`. Signed assertions are in
//! `oauth_assertions`.

use std::sync::Arc;

use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use mobietrain_scim::clock::ManualClock;
use mobietrain_scim::config::ObservabilityConfig;
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::harness::{Resp, TestApp, TestDb, user};

/// The public URL of these tests' server (the issuer).
pub const PUBLIC_URL: &str = "https://scim.example.com";

/// An app at `PUBLIC_URL` whose clock (the throttle's too) is a [`ManualClock`], metrics on.
pub fn oauth_app() -> (TestApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap(),
    ));
    let app = TestApp::observed(
        TestDb::new(),
        HttpSettings {
            public_url: PUBLIC_URL.to_owned(),
            ..HttpSettings::default()
        },
        4,
        ObservabilityConfig {
            metrics_bind: Some("127.0.0.1:0".parse().unwrap()),
            rate_limit_reads: 0,
            rate_limit_writes: 0,
        },
        clock.clone(),
    );
    (app, clock)
}

/// `POST /oauth/token` with a form body and, if given, HTTP Basic credentials.
pub async fn token_request(app: &TestApp, form: &str, basic: Option<(&str, &str)>) -> Resp {
    let mut req = TestRequest::post()
        .uri("/oauth/token")
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(form.to_owned());
    if let Some((id, secret)) = basic {
        req = req.insert_header((
            "Authorization",
            format!("Basic {}", STANDARD.encode(format!("{id}:{secret}"))),
        ));
    }
    app.send(req).await
}

/// Rows the token endpoint may write: access tokens and used assertion ids.
pub fn written(app: &TestApp) -> [i64; 2] {
    [
        app.count("oauth_access_tokens"),
        app.count("oauth_used_jtis"),
    ]
}

/// Asserts an RFC 6749 §5.2 error of `status` and `code`, with no-store; returns the description.
pub fn assert_oauth_error(resp: &Resp, status: u16, code: &str) -> String {
    assert_eq!(resp.status.as_u16(), status, "{}", resp.body);
    assert_eq!(resp.body["error"], code, "{}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    resp.body["error_description"]
        .as_str()
        .expect("a description")
        .to_owned()
}

/// Asserts a token answer of `scope`; returns the access token.
pub fn assert_issued(resp: &Resp, scope: &str) -> String {
    assert_eq!(resp.status.as_u16(), 200, "{}", resp.body);
    assert_eq!(resp.body["token_type"], "Bearer");
    assert_eq!(resp.body["scope"], scope);
    assert_eq!(resp.body["expires_in"], 3600);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(resp.header("pragma").as_deref(), Some("no-cache"));
    let token = resp.body["access_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("mtsa_"), "an access token's own prefix");
    token
}

/// A secret client made on the admin API: its id and secret.
pub async fn secret_client(app: &TestApp, admin: &str, label: &str) -> (String, String) {
    let r = app
        .post("/admin/v1/oauth-clients", admin, &json!({"label": label}))
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let secret = r.body["secrets"][0]["clientSecret"].as_str().unwrap();
    (
        r.body["clientId"].as_str().unwrap().to_owned(),
        secret.to_owned(),
    )
}

#[actix_web::test]
async fn secret_basic_and_post_issue_tokens_that_provision_with_the_client_as_actor() {
    let (app, _) = oauth_app();
    let acme = app.account("Acme");
    let (id, secret) = secret_client(&app, &acme.admin, "Entra gallery").await;

    let basic = token_request(&app, "grant_type=client_credentials", Some((&id, &secret))).await;
    let token = assert_issued(&basic, "scim");
    let post = token_request(
        &app,
        &format!("grant_type=client_credentials&client_id={id}&client_secret={secret}&scope=scim"),
        None,
    )
    .await;
    assert_issued(&post, "scim");
    assert_eq!(written(&app), [2, 0]);

    let created = app.post("/scim/v2/Users", &token, &user("ada")).await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let log = app.get("/admin/v1/audit", &acme.admin).await;
    let actors: Vec<&str> = log.body["events"]
        .as_array()
        .or(log.body["Resources"].as_array())
        .expect("the log's events")
        .iter()
        .filter_map(|e| e["actor"].as_str())
        .collect();
    assert!(
        actors.contains(&"Entra gallery (oauth client)"),
        "{actors:?}"
    );
    let logs = crate::harness::captured_logs();
    assert!(
        !logs.contains(&secret) && !logs.contains(&token),
        "never logged"
    );
}

#[actix_web::test]
async fn a_read_only_token_reads_and_is_refused_on_every_write() {
    let (app, _) = oauth_app();
    let acme = app.account("Acme");
    let existing = app.post("/scim/v2/Users", &acme.scim, &user("ada")).await;
    let user_id = existing.body["id"].as_str().unwrap().to_owned();
    let (id, secret) = secret_client(&app, &acme.admin, "auditor").await;
    let token = assert_issued(
        &token_request(
            &app,
            "grant_type=client_credentials&scope=scim.read",
            Some((&id, &secret)),
        )
        .await,
        "scim.read",
    );
    assert_eq!(app.get("/scim/v2/Users", &token).await.status.as_u16(), 200);
    assert_eq!(
        app.get(&format!("/scim/v2/Users/{user_id}"), &token)
            .await
            .status
            .as_u16(),
        200
    );
    let search = app
        .post(
            "/scim/v2/.search",
            &token,
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
        )
        .await;
    assert_eq!(search.status.as_u16(), 200, "{}", search.body);
    let before = app.count("users");
    for resp in [
        app.post("/scim/v2/Users", &token, &user("bob")).await,
        app.delete(&format!("/scim/v2/Users/{user_id}"), &token)
            .await,
        app.put(&format!("/scim/v2/Users/{user_id}"), &token, &user("ada"))
            .await,
    ] {
        let detail = resp.assert_scim_error(403, None);
        assert!(detail.contains("scim.read"), "{detail}");
    }
    assert_eq!(app.count("users"), before, "nothing written");
}

#[actix_web::test]
async fn an_access_token_expires_and_ends_with_its_secret_or_client() {
    let (app, clock) = oauth_app();
    let acme = app.account("Acme");
    let (id, secret) = secret_client(&app, &acme.admin, "entra").await;
    let issue = || token_request(&app, "grant_type=client_credentials", Some((&id, &secret)));
    let token = assert_issued(&issue().await, "scim");
    assert_eq!(app.get("/scim/v2/Users", &token).await.status.as_u16(), 200);
    clock.advance(chrono::Duration::seconds(3601));
    app.get("/scim/v2/Users", &token)
        .await
        .assert_scim_error(401, None);

    // Revoking the secret ends the tokens issued against it; a second secret keeps working.
    let token = assert_issued(&issue().await, "scim");
    let second = app
        .post(
            &format!("/admin/v1/oauth-clients/{id}/secrets"),
            &acme.admin,
            &json!({"expiresInDays": 365}),
        )
        .await;
    assert_eq!(second.status.as_u16(), 201, "{}", second.body);
    let second_secret = second.body["clientSecret"].as_str().unwrap().to_owned();
    let list = app.get("/admin/v1/oauth-clients", &acme.admin).await;
    let first_secret_id = list.body["clients"][0]["secrets"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .delete(
            &format!("/admin/v1/oauth-clients/{id}/secrets/{first_secret_id}"),
            &acme.admin,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    app.get("/scim/v2/Users", &token)
        .await
        .assert_scim_error(401, None);
    assert_oauth_error(&issue().await, 401, "invalid_client");
    let token = assert_issued(
        &token_request(
            &app,
            "grant_type=client_credentials",
            Some((&id, &second_secret)),
        )
        .await,
        "scim",
    );

    // Revoking the client ends every token it holds.
    let r = app
        .delete(&format!("/admin/v1/oauth-clients/{id}"), &acme.admin)
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    app.get("/scim/v2/Users", &token)
        .await
        .assert_scim_error(401, None);
}

#[actix_web::test]
async fn every_secret_refusal_answers_invalid_client_and_writes_nothing() {
    let (app, clock) = oauth_app();
    let acme = app.account("Acme");
    let (id, secret) = secret_client(&app, &acme.admin, "entra").await;
    let other = app.account("Other");
    let (other_id, other_secret) = secret_client(&app, &other.admin, "entra").await;

    let mut descriptions = Vec::new();
    for (who, creds) in [
        ("wrong secret", (id.as_str(), "mtcs_wrong")),
        ("unknown client", ("no-such-client", secret.as_str())),
        (
            "another client's secret",
            (id.as_str(), other_secret.as_str()),
        ),
        (
            "another account's client",
            (other_id.as_str(), secret.as_str()),
        ),
    ] {
        let basic = token_request(&app, "grant_type=client_credentials", Some(creds)).await;
        descriptions.push(assert_oauth_error(&basic, 401, "invalid_client"));
        assert!(
            basic
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic realm=")),
            "{who}"
        );
        let post = token_request(
            &app,
            &format!(
                "grant_type=client_credentials&client_id={}&client_secret={}",
                creds.0, creds.1
            ),
            None,
        )
        .await;
        descriptions.push(assert_oauth_error(&post, 401, "invalid_client"));
        assert_eq!(post.header("www-authenticate"), None, "{who}");
    }
    assert!(
        descriptions.windows(2).all(|w| w[0] == w[1]),
        "never says which part was wrong: {descriptions:?}"
    );
    let broader = token_request(
        &app,
        "grant_type=client_credentials&scope=scim%20admin",
        Some((&id, &secret)),
    )
    .await;
    assert_oauth_error(&broader, 400, "invalid_scope");
    let grant = token_request(&app, "grant_type=password", Some((&id, &secret))).await;
    assert_oauth_error(&grant, 400, "unsupported_grant_type");
    let twice = token_request(
        &app,
        "grant_type=client_credentials&scope=scim&scope=scim",
        Some((&id, &secret)),
    )
    .await;
    assert_oauth_error(&twice, 400, "invalid_request");
    let json = app
        .send(
            TestRequest::post()
                .uri("/oauth/token")
                .insert_header(("Content-Type", "application/json"))
                .set_payload(r#"{"grant_type":"client_credentials"}"#),
        )
        .await;
    assert_oauth_error(&json, 400, "invalid_request");
    let huge = token_request(&app, &"a".repeat(20_000), None).await;
    assert_oauth_error(&huge, 400, "invalid_request");

    // An expired secret, then a revoked client.
    clock.advance(chrono::Duration::days(731));
    let expired = token_request(&app, "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_oauth_error(&expired, 401, "invalid_client");
    let (id2, secret2) = secret_client(&app, &acme.admin, "second").await;
    app.delete(&format!("/admin/v1/oauth-clients/{id2}"), &acme.admin)
        .await;
    let revoked = token_request(
        &app,
        "grant_type=client_credentials",
        Some((&id2, &secret2)),
    )
    .await;
    assert_oauth_error(&revoked, 401, "invalid_client");
    assert_eq!(written(&app), [0, 0], "no refusal wrote a row");
}

#[actix_web::test]
async fn failed_authentication_is_limited_per_client_and_lifts_with_time() {
    let (app, clock) = oauth_app();
    let acme = app.account("Acme");
    let (id, secret) = secret_client(&app, &acme.admin, "entra").await;
    let wrong = || token_request(&app, "grant_type=client_credentials", Some((&id, "mtcs_x")));
    let mut limited = None;
    for _ in 0..12 {
        let r = wrong().await;
        if r.status.as_u16() == 429 {
            limited = Some(r);
            break;
        }
        assert_oauth_error(&r, 401, "invalid_client");
    }
    let limited = limited.expect("the failures are limited");
    assert!(limited.header("retry-after").is_some());
    // Even the right secret waits: the attempt is refused before it is looked at.
    let right = token_request(&app, "grant_type=client_credentials", Some((&id, &secret))).await;
    assert_eq!(right.status.as_u16(), 429, "{}", right.body);
    clock.advance(chrono::Duration::seconds(60));
    assert_issued(
        &token_request(&app, "grant_type=client_credentials", Some((&id, &secret))).await,
        "scim",
    );
}

#[actix_web::test]
async fn a_token_of_one_account_never_opens_another() {
    let (app, _) = oauth_app();
    let acme = app.account("Acme");
    let other = app.account("Other");
    let in_other = app.post("/scim/v2/Users", &other.scim, &user("eve")).await;
    let eve = in_other.body["id"].as_str().unwrap().to_owned();
    let (id, secret) = secret_client(&app, &acme.admin, "entra").await;
    let token = assert_issued(
        &token_request(&app, "grant_type=client_credentials", Some((&id, &secret))).await,
        "scim",
    );
    let list = app.get("/scim/v2/Users", &token).await;
    assert_eq!(list.body["totalResults"], 0, "{}", list.body);
    app.get(&format!("/scim/v2/Users/{eve}"), &token)
        .await
        .assert_scim_error(404, None);
    // Neither the admin API nor another client's listing opens with it.
    assert_eq!(
        app.get("/admin/v1/oauth-clients", &token)
            .await
            .status
            .as_u16(),
        401
    );
    let theirs = app.get("/admin/v1/oauth-clients", &other.admin).await;
    assert_eq!(theirs.body["clients"], json!([]), "{}", theirs.body);
    let r = app
        .delete(&format!("/admin/v1/oauth-clients/{id}"), &other.admin)
        .await;
    assert_eq!(r.status.as_u16(), 404, "{}", r.body);
}

#[actix_web::test]
async fn metadata_discovery_and_the_admin_list_say_what_is_served() {
    let (app, clock) = oauth_app();
    let acme = app.account("Acme");
    let meta = app
        .send(TestRequest::get().uri("/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(meta.status.as_u16(), 200, "{}", meta.body);
    assert_eq!(meta.body["issuer"], PUBLIC_URL);
    assert_eq!(
        meta.body["token_endpoint"],
        format!("{PUBLIC_URL}/oauth/token")
    );
    assert_eq!(meta.body["scopes_supported"], json!(["scim", "scim.read"]));
    assert_eq!(meta.body["response_types_supported"], json!([]));
    for method in [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ] {
        assert!(
            meta.body["token_endpoint_auth_methods_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(method))
        );
    }
    assert!(
        meta.body["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!("urn:ietf:params:oauth:grant-type:jwt-bearer"))
    );
    let spc = app.get("/scim/v2/ServiceProviderConfig", &acme.scim).await;
    let schemes: Vec<&Value> = spc.body["authenticationSchemes"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(schemes.iter().all(|s| s["type"] == "oauthbearertoken"));
    assert!(
        schemes
            .iter()
            .any(|s| s["name"] == "OAuth 2.0 access token")
    );

    // Labels are unique per account; secrets live at most 3 years; one expiring soon is flagged.
    secret_client(&app, &acme.admin, "entra").await;
    let taken = app
        .post(
            "/admin/v1/oauth-clients",
            &acme.admin,
            &json!({"label": "entra"}),
        )
        .await;
    assert_eq!(taken.status.as_u16(), 409, "{}", taken.body);
    let too_long = app
        .post(
            "/admin/v1/oauth-clients",
            &acme.admin,
            &json!({"label": "x", "expiresInDays": 1096}),
        )
        .await;
    assert_eq!(too_long.status.as_u16(), 400, "{}", too_long.body);
    let soon = app
        .post(
            "/admin/v1/oauth-clients",
            &acme.admin,
            &json!({"label": "soon", "expiresInDays": 20}),
        )
        .await;
    assert_eq!(soon.status.as_u16(), 201, "{}", soon.body);
    let list = app.get("/admin/v1/oauth-clients", &acme.admin).await;
    let flagged: Vec<&Value> = list.body["clients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["expiringSecrets"] == 1)
        .collect();
    assert_eq!(flagged.len(), 1, "{}", list.body);
    assert_eq!(flagged[0]["label"], "soon");
    assert!(
        !list.body.to_string().contains("clientSecret"),
        "a list never shows a secret"
    );
    let metric = |text: &str| {
        text.lines()
            .find(|l| l.starts_with("mobietrain_oauth_client_secrets_expiring "))
            .map(str::to_owned)
    };
    assert_eq!(
        metric(&app.state.metrics.render()).as_deref(),
        Some("mobietrain_oauth_client_secrets_expiring 1")
    );
    clock.advance(chrono::Duration::days(700));
    assert_eq!(
        metric(&app.state.metrics.render()).as_deref(),
        Some("mobietrain_oauth_client_secrets_expiring 1"),
        "the soon one expired; the entra one is now within 30 days"
    );
    let relabel = app
        .call(
            actix_web::http::Method::PATCH,
            "/admin/v1/oauth-clients/none",
            &acme.admin,
            Some(&json!({"label": "x"})),
        )
        .await;
    assert_eq!(relabel.status.as_u16(), 404, "{}", relabel.body);
}

#[test]
fn the_cli_creates_a_client_printing_its_secret_last_and_manages_it() {
    use crate::cli::cli;
    let app = TestApp::new();
    let acme = app.account("Acme");
    let (ok, out, err) = cli(
        &app.db,
        &[
            "oauth-client",
            "create",
            "--account",
            &acme.id,
            "--label",
            "entra",
        ],
    );
    assert!(ok, "{err}");
    let last = out.lines().last().unwrap();
    let secret = last.strip_prefix("client_secret: ").expect(last);
    assert!(secret.starts_with("mtcs_"));
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .unwrap()
        .to_owned();
    let (ok, out, _) = cli(&app.db, &["oauth-client", "list", "--account", &acme.id]);
    assert!(ok && out.contains(&id) && out.contains("entra") && !out.contains(secret));
    let (ok, _, err) = cli(
        &app.db,
        &[
            "oauth-client",
            "create",
            "--account",
            &acme.id,
            "--label",
            "entra",
        ],
    );
    assert!(!ok && err.contains("label"), "{err}");
    let (ok, out, err) = cli(
        &app.db,
        &[
            "oauth-client",
            "secret",
            "add",
            "--account",
            &acme.id,
            "--client",
            &id,
            "--expires-in-days",
            "90",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.lines()
            .last()
            .unwrap()
            .starts_with("client_secret: mtcs_")
    );
    let (ok, _, err) = cli(
        &app.db,
        &[
            "oauth-client",
            "relabel",
            "--account",
            &acme.id,
            "--client",
            &id,
            "--label",
            "entra gallery",
        ],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(
        &app.db,
        &[
            "oauth-client",
            "revoke",
            "--account",
            &acme.id,
            "--client",
            &id,
        ],
    );
    assert!(ok, "{err}");
    let (ok, out, _) = cli(&app.db, &["oauth-client", "list", "--account", &acme.id]);
    assert!(
        ok && out.contains("revoked") && out.contains("entra gallery"),
        "{out}"
    );
}
