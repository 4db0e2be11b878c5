//! OAuth clients that authenticate by signed assertion (RFC 7523): `private_key_jwt` with a key
//! from a JWKS file (made with the CLI) and from a JWKS URL on loopback (with a key rotation), the
//! JWT-bearer grant, and every refusal of an assertion, each the twin of one that works with one
//! thing changed, answering its error and writing nothing. Keys are the suite's test-only fixtures
//! (`tests/fixtures/crewplanner`).

use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use crate::crewplanner::{EC_A, RSA_A, RSA_A_PUB, RSA_B, jwks, jwks_server, rsa_key, sign};
use crate::harness::{Resp, TestApp};
use crate::oauth::{
    PUBLIC_URL, assert_issued, assert_oauth_error, oauth_app, token_request, written,
};

const ASSERTION_TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
const JWT_BEARER: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// Claims of a valid assertion of `client` at the app's now, with a fresh jti.
fn claims(app: &TestApp, client: &str) -> Value {
    let now = app.state.clock.now().timestamp();
    json!({
        "iss": client, "sub": client, "aud": format!("{PUBLIC_URL}/oauth/token"),
        "jti": uuid::Uuid::new_v4().to_string(), "iat": now, "exp": now + 120,
    })
}

fn by_a(claims: &Value) -> String {
    sign(claims, Algorithm::RS256, &rsa_key(RSA_A), Some("a"))
}

async fn with_assertion(app: &TestApp, assertion: &str, scope: Option<&str>) -> Resp {
    let scope = scope.map(|s| format!("&scope={s}")).unwrap_or_default();
    token_request(
        app,
        &format!(
            "grant_type=client_credentials&client_assertion_type={ASSERTION_TYPE}&client_assertion={assertion}{scope}"
        ),
        None,
    )
    .await
}

async fn bearer_grant(app: &TestApp, assertion: &str) -> Resp {
    token_request(
        app,
        &format!("grant_type={JWT_BEARER}&assertion={assertion}"),
        None,
    )
    .await
}

/// A client with a JWKS document holding RSA key `a`, made on the admin API.
async fn jwks_client(app: &TestApp, admin: &str, label: &str) -> String {
    let doc: Value = serde_json::from_str(&jwks(&[(RSA_A, Algorithm::RS256, "a")])).unwrap();
    let r = app
        .post(
            "/admin/v1/oauth-clients",
            admin,
            &json!({"label": label, "jwks": doc}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    assert_eq!(r.body["authentication"], "private_key_jwt");
    assert_eq!(r.body["secrets"], json!([]), "no secret for a JWKS client");
    r.body["clientId"].as_str().unwrap().to_owned()
}

#[test]
fn a_key_from_a_jwks_file_authenticates_a_client_made_with_the_cli() {
    let (app, _) = oauth_app();
    let acme = app.account("Acme");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("jwks.json");
    std::fs::write(&file, jwks(&[(RSA_A, Algorithm::RS256, "a")])).unwrap();
    let (ok, out, err) = crate::cli::cli(
        &app.db,
        &[
            "oauth-client",
            "create",
            "--account",
            &acme.id,
            "--label",
            "entra federation",
            "--jwks-file",
            file.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(!out.contains("client_secret"), "{out}");
    let id = out
        .lines()
        .find_map(|l| l.strip_prefix("client_id: "))
        .unwrap()
        .to_owned();
    actix_web::rt::System::new().block_on(async {
        let token = assert_issued(&with_assertion(&app, &by_a(&claims(&app, &id)), None).await, "scim");
        assert_eq!(written(&app), [1, 1]);
        assert_eq!(app.get("/scim/v2/Users", &token).await.status.as_u16(), 200);
        // The issuer as audience, client_id beside the assertion, scim.read asked.
        let mut c = claims(&app, &id);
        c["aud"] = json!(PUBLIC_URL);
        let form = format!(
            "grant_type=client_credentials&client_id={id}&scope=scim.read&client_assertion_type={ASSERTION_TYPE}&client_assertion={}",
            by_a(&c)
        );
        assert_issued(&token_request(&app, &form, None).await, "scim.read");
    });
    // A private key is refused as a client's JWKS file.
    std::fs::write(&file, RSA_A).unwrap();
    let (ok, _, err) = crate::cli::cli(
        &app.db,
        &[
            "oauth-client",
            "create",
            "--account",
            &acme.id,
            "--label",
            "bad",
            "--jwks-file",
            file.to_str().unwrap(),
        ],
    );
    assert!(!ok && err.contains("JWKS"), "{err}");
}

#[actix_web::test]
async fn a_jwks_url_is_cached_and_a_rotated_key_is_picked_up() {
    let (mut app, clock) = oauth_app();
    // Refetch on an unknown kid at once (30 s apart by default, on the CPU's clock).
    let mut oauth = mobietrain_scim::oauth::OAuth::new(3600, clock);
    oauth.jwks_min_refetch = std::time::Duration::ZERO;
    app.state.oauth = std::sync::Arc::new(oauth);
    let acme = app.account("Acme");
    let server = jwks_server(jwks(&[(RSA_A, Algorithm::RS256, "a")]));
    let r = app
        .post(
            "/admin/v1/oauth-clients",
            &acme.admin,
            &json!({"label": "federated", "jwksUrl": server.url}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    let id = r.body["clientId"].as_str().unwrap().to_owned();
    assert_issued(
        &with_assertion(&app, &by_a(&claims(&app, &id)), None).await,
        "scim",
    );
    assert_issued(
        &with_assertion(&app, &by_a(&claims(&app, &id)), None).await,
        "scim",
    );
    assert_eq!(*server.fetches.lock().unwrap(), 1, "cached");

    *server.document.lock().unwrap() = jwks(&[
        (RSA_A, Algorithm::RS256, "a"),
        (RSA_B, Algorithm::RS256, "b"),
    ]);
    let by_b = sign(
        &claims(&app, &id),
        Algorithm::RS256,
        &rsa_key(RSA_B),
        Some("b"),
    );
    assert_issued(&with_assertion(&app, &by_b, None).await, "scim");
    assert_eq!(*server.fetches.lock().unwrap(), 2, "a new kid is fetched");
    let not_https = app
        .post(
            "/admin/v1/oauth-clients",
            &acme.admin,
            &json!({"label": "plain", "jwksUrl": "http://idp.example.com/jwks"}),
        )
        .await;
    assert_eq!(not_https.status.as_u16(), 400, "{}", not_https.body);
}

#[actix_web::test]
async fn the_jwt_bearer_grant_issues_a_token_once_per_assertion() {
    let (app, _) = oauth_app();
    let acme = app.account("Acme");
    let id = jwks_client(&app, &acme.admin, "federated").await;
    let assertion = by_a(&claims(&app, &id));
    let token = assert_issued(&bearer_grant(&app, &assertion).await, "scim");
    let created = app
        .post("/scim/v2/Users", &token, &crate::harness::user("ada"))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    assert_oauth_error(&bearer_grant(&app, &assertion).await, 400, "invalid_grant");
    assert_eq!(written(&app), [1, 1], "the replay wrote nothing");
}

#[actix_web::test]
async fn every_assertion_refusal_answers_its_error_and_writes_nothing() {
    let (app, clock) = oauth_app();
    let acme = app.account("Acme");
    let id = jwks_client(&app, &acme.admin, "federated").await;
    let (secret_id, _) = crate::oauth::secret_client(&app, &acme.admin, "secrets").await;
    let revoked = jwks_client(&app, &acme.admin, "revoked").await;
    app.delete(&format!("/admin/v1/oauth-clients/{revoked}"), &acme.admin)
        .await;

    // The valid twin works; record its jti for the replay.
    let replayed = by_a(&claims(&app, &id));
    assert_issued(&with_assertion(&app, &replayed, None).await, "scim");
    let baseline = written(&app);

    type Change = Box<dyn Fn(&TestApp, &mut Value) -> Option<String>>;
    let cases: Vec<(&str, Change)> = vec![
        ("replayed jti", Box::new(move |_, _| Some(replayed.clone()))),
        (
            "wrong aud",
            Box::new(|_, c| {
                c["aud"] = json!("https://elsewhere.example.com/oauth/token");
                None
            }),
        ),
        (
            "iss not sub",
            Box::new(|_, c| {
                c["sub"] = json!("someone-else");
                None
            }),
        ),
        (
            "expired",
            Box::new(|app, c| {
                let now = app.state.clock.now().timestamp();
                c["iat"] = json!(now - 400);
                c["exp"] = json!(now - 100);
                None
            }),
        ),
        (
            "exp too far",
            Box::new(|app, c| {
                c["exp"] = json!(app.state.clock.now().timestamp() + 3600);
                None
            }),
        ),
        (
            "iat in the future",
            Box::new(|app, c| {
                let now = app.state.clock.now().timestamp();
                c["iat"] = json!(now + 120);
                c["exp"] = json!(now + 200);
                None
            }),
        ),
        (
            "no exp",
            Box::new(|_, c| {
                c.as_object_mut().unwrap().remove("exp");
                None
            }),
        ),
        (
            "no jti",
            Box::new(|_, c| {
                c.as_object_mut().unwrap().remove("jti");
                None
            }),
        ),
        (
            "alg not the key's (HS256 with the public key)",
            Box::new(|_, c| {
                let key = EncodingKey::from_secret(RSA_A_PUB.as_bytes());
                Some(sign(c, Algorithm::HS256, &key, Some("a")))
            }),
        ),
        (
            "alg not the key's (ES256)",
            Box::new(|_, c| {
                let key = EncodingKey::from_ec_pem(EC_A.as_bytes()).unwrap();
                Some(sign(c, Algorithm::ES256, &key, Some("a")))
            }),
        ),
        (
            "another key",
            Box::new(|_, c| Some(sign(c, Algorithm::RS256, &rsa_key(RSA_B), Some("a")))),
        ),
        (
            "a secret client",
            Box::new(move |_, c| {
                c["iss"] = json!(secret_id.clone());
                c["sub"] = json!(secret_id.clone());
                None
            }),
        ),
        (
            "a revoked client",
            Box::new(move |_, c| {
                c["iss"] = json!(revoked.clone());
                c["sub"] = json!(revoked.clone());
                None
            }),
        ),
        ("not a JWT", Box::new(|_, _| Some("not-a-jwt".to_owned()))),
    ];
    let mut descriptions = Vec::new();
    for (what, change) in &cases {
        let mut c = claims(&app, &id);
        let assertion = change(&app, &mut c).unwrap_or_else(|| by_a(&c));
        let r = with_assertion(&app, &assertion, None).await;
        descriptions.push(assert_oauth_error(&r, 401, "invalid_client"));
        assert_eq!(r.header("www-authenticate"), None, "{what}");
        assert_eq!(written(&app), baseline, "{what} wrote nothing");
        let mut c = claims(&app, &id);
        let assertion = change(&app, &mut c).unwrap_or_else(|| by_a(&c));
        let r = bearer_grant(&app, &assertion).await;
        assert_oauth_error(&r, 400, "invalid_grant");
        assert_eq!(written(&app), baseline, "{what} (grant) wrote nothing");
        // Stay under the failed-authentication limit: this test is about each refusal.
        clock.advance(chrono::Duration::seconds(120));
    }
    assert!(
        descriptions.windows(2).all(|w| w[0] == w[1]),
        "never says which part was wrong"
    );
    let broader = with_assertion(&app, &by_a(&claims(&app, &id)), Some("scim%20profile")).await;
    assert_oauth_error(&broader, 400, "invalid_scope");
    assert_eq!(written(&app), baseline);
}
