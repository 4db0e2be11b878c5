//! The CrewPlanner link, end to end: tokens signed here (RS256, ES256, HS256) against the real
//! route table and database. Every refusal class has a valid token and a twin with exactly one thing
//! changed; the valid one signs in, the twin is refused with that reason and writes nothing.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Barrier, Mutex};

use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mobietrain_scim::crewplanner::CrewPlanner;
use mobietrain_scim::crewplanner::keys::{self, JwksSource, PlatformKeys};
use mobietrain_scim::crewplanner::link::{self, KeyChoice};
use mobietrain_scim::crewplanner::refusal::Reason;
use serde_json::{Value, json};

use crate::harness::{Resp, TestAccount, TestApp, captured_logs, pool_on, user};

pub const RSA_A: &str = include_str!("../fixtures/crewplanner/rsa-a.pem");
pub const RSA_A_PUB: &str = include_str!("../fixtures/crewplanner/rsa-a.pub.pem");
pub const RSA_B: &str = include_str!("../fixtures/crewplanner/rsa-b.pem");
pub const EC_A: &str = include_str!("../fixtures/crewplanner/ec-a.pem");
const EC_A_PUB: &str = include_str!("../fixtures/crewplanner/ec-a.pub.pem");
const SLUG: &str = "acme";

pub fn rsa_key(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

fn jwk(pem: &str, alg: Algorithm, kid: &str) -> Jwk {
    let key = match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        _ => rsa_key(pem),
    };
    let mut jwk = Jwk::from_encoding_key(&key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

pub fn jwks(keys: &[(&str, Algorithm, &str)]) -> String {
    serde_json::to_string(&JwkSet {
        keys: keys
            .iter()
            .map(|(pem, alg, kid)| jwk(pem, *alg, kid))
            .collect(),
    })
    .unwrap()
}

/// Valid claims for `account` at this moment, with a fresh jti.
pub fn claims(account: &str, sub: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({
        "iss": format!("https://{SLUG}.crewplanner.com"),
        "aud": account,
        "sub": sub,
        "iat": now,
        "exp": now + 120,
        "jti": uuid::Uuid::new_v4().to_string(),
        "given_name": "Ann",
        "family_name": "Peeters",
        "email": format!("{sub}@acme.example"),
        "job_title": "Cashier",
    })
}

pub fn sign(claims: &Value, alg: Algorithm, key: &EncodingKey, kid: Option<&str>) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

pub fn rs256(claims: &Value) -> String {
    sign(claims, Algorithm::RS256, &rsa_key(RSA_A), Some("a"))
}

/// An app whose server-wide CrewPlanner keys are `platform`, with CrewPlanner enabled for one
/// account on them.
pub fn app_with(platform: PlatformKeys) -> (TestApp, TestAccount) {
    let mut app = TestApp::new();
    app.state.crewplanner = Arc::new(CrewPlanner {
        platform,
        ..Default::default()
    });
    let account = app.account("Acme");
    enable(&app, &account.id, &KeyChoice::Platform);
    (app, account)
}

fn enable(app: &TestApp, account: &str, choice: &KeyChoice) {
    link::enable(
        &mut app.conn(),
        &app.state.server_key,
        account,
        SLUG,
        choice,
        Utc::now().naive_utc(),
    )
    .unwrap();
}

pub fn rsa_platform() -> PlatformKeys {
    PlatformKeys {
        fixed: keys::from_jwks(&jwks(&[(RSA_A, Algorithm::RS256, "a")])).unwrap(),
        jwks: None,
    }
}

pub async fn launch(app: &TestApp, account: &str, jwt: &str) -> Resp {
    app.send(
        TestRequest::get()
            .uri(&format!("/crewplanner/{account}/launch?jwt={jwt}"))
            .insert_header(("Accept", "application/problem+json")),
    )
    .await
}

/// The rows a launch may write, counted.
pub fn written(app: &TestApp) -> [i64; 5] {
    [
        app.count("users"),
        app.count("sessions"),
        app.count("sign_in_codes"),
        app.count("used_jtis"),
        app.count("groups"),
    ]
}

#[track_caller]
pub fn assert_signed_in(resp: &Resp) -> String {
    assert_eq!(resp.status.as_u16(), 303, "body: {}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        resp.header("referrer-policy").as_deref(),
        Some("no-referrer")
    );
    let location = resp.header("location").unwrap();
    let (base, code) = location
        .split_once("?code=")
        .expect("a code in the redirect");
    assert_eq!(base, "https://app.mobietrain.com/sign-in");
    code.to_owned()
}

#[track_caller]
pub fn assert_refused(resp: &Resp, reason: Reason) {
    assert_eq!(resp.status.as_u16(), reason.status(), "body: {}", resp.body);
    assert_eq!(
        resp.header("content-type").as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(resp.body["reason"], reason.code(), "body: {}", resp.body);
    assert_eq!(resp.header("cache-control").as_deref(), Some("no-store"));
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

#[actix_web::test]
async fn every_refusal_class_refuses_the_twin_of_a_token_that_works() {
    let (app, account) = app_with(rsa_platform());
    let a = account.id.as_str();
    let now = Utc::now().timestamp();
    // Every twin's times count from the same `now`: `claims` reads the clock again, and a second
    // ticking over in between would make "lifetime 301 s" a lifetime of 300 s.
    let with = |f: &dyn Fn(&mut Value)| {
        let mut c = claims(a, "emp-1");
        c["iat"] = json!(now);
        c["exp"] = json!(now + 120);
        f(&mut c);
        c
    };
    // Change a character inside the signature (the last one may carry only padding bits).
    let mut bad_signature = rs256(&claims(a, "emp-1"));
    let at = bad_signature.len() - 20;
    let changed = if bad_signature.as_bytes()[at] == b'A' {
        "B"
    } else {
        "A"
    };
    bad_signature.replace_range(at..at + 1, changed);
    let twins: Vec<(&str, String, Reason)> = vec![
        (
            "alg none",
            unsigned(&json!({"alg": "none", "kid": "a"}), &claims(a, "emp-1")),
            Reason::WrongAlgorithm,
        ),
        (
            "HS256 keyed with the RSA public key",
            sign(
                &claims(a, "emp-1"),
                Algorithm::HS256,
                &EncodingKey::from_secret(RSA_A_PUB.as_bytes()),
                Some("a"),
            ),
            Reason::WrongAlgorithm,
        ),
        ("a changed signature", bad_signature, Reason::BadSignature),
        (
            "signed by a key not configured, under a known kid",
            sign(
                &claims(a, "emp-1"),
                Algorithm::RS256,
                &rsa_key(RSA_B),
                Some("a"),
            ),
            Reason::BadSignature,
        ),
        (
            "an unknown kid",
            sign(
                &claims(a, "emp-1"),
                Algorithm::RS256,
                &rsa_key(RSA_A),
                Some("zz"),
            ),
            Reason::UnknownKey,
        ),
        (
            "expired",
            rs256(&with(&|c| {
                c["iat"] = json!(now - 360);
                c["exp"] = json!(now - 61);
            })),
            Reason::Expired,
        ),
        (
            "not yet valid",
            rs256(&with(&|c| c["nbf"] = json!(now + 120))),
            Reason::NotYetValid,
        ),
        (
            "lifetime 301 s",
            rs256(&with(&|c| c["exp"] = json!(now + 301))),
            Reason::LifetimeTooLong,
        ),
        (
            "wrong aud",
            rs256(&with(&|c| c["aud"] = json!("another-account"))),
            Reason::WrongAudience,
        ),
        (
            "another customer's iss",
            rs256(&with(&|c| {
                c["iss"] = json!("https://globex.crewplanner.com")
            })),
            Reason::WrongIssuer,
        ),
        (
            "missing sub",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("sub");
            })),
            Reason::MissingClaim,
        ),
        (
            "missing jti",
            rs256(&with(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            })),
            Reason::MissingClaim,
        ),
        (
            "oversize",
            rs256(&with(&|c| c["padding"] = json!("x".repeat(9000)))),
            Reason::Malformed,
        ),
        ("not a JWT", "not-a-token".to_owned(), Reason::Malformed),
    ];
    for (i, (what, twin, reason)) in twins.iter().enumerate() {
        let valid = rs256(&claims(a, &format!("emp-{i}")));
        let before = written(&app);
        assert_refused(&launch(&app, a, twin).await, *reason);
        assert_eq!(written(&app), before, "{what}: a refusal writes nothing");
        assert!(
            app.state.crewplanner.refusals.get(*reason) > 0,
            "{what}: counted"
        );
        assert_signed_in(&launch(&app, a, &valid).await);
    }
    // The tokens never reach the logs, valid or not.
    let logs = captured_logs();
    for (_, twin, _) in &twins {
        assert!(twin.len() < 20 || !logs.contains(twin.as_str()));
    }
}

#[actix_web::test]
async fn a_browser_gets_a_short_page_and_a_disabled_integration_or_unknown_account_is_403() {
    let (app, account) = app_with(rsa_platform());
    let jwt = rs256(&claims(&account.id, "emp-1"));
    link::disable(&mut app.conn(), &account.id, Utc::now().naive_utc()).unwrap();
    let page = app
        .send(
            TestRequest::get()
                .uri(&format!("/crewplanner/{}/launch?jwt={jwt}", account.id))
                .insert_header(("Accept", "text/html")),
        )
        .await;
    assert_eq!(page.status.as_u16(), 403);
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html")
    );
    let html = page.body.as_str().unwrap();
    assert!(html.contains("integration_disabled"));
    assert!(
        !html.contains(&jwt[..40]),
        "the page echoes nothing of the token"
    );
    let other = app.account("Globex");
    assert_refused(
        &launch(&app, &other.id, &rs256(&claims(&other.id, "emp-1"))).await,
        Reason::IntegrationDisabled,
    );
    enable(&app, &account.id, &KeyChoice::Platform);
    assert_signed_in(&launch(&app, &account.id, &jwt).await);
}

#[actix_web::test]
async fn es256_platform_keys_and_an_accounts_own_hs256_secret_both_work() {
    let platform = PlatformKeys {
        fixed: vec![keys::from_pem(EC_A_PUB, None).unwrap()],
        jwks: None,
    };
    let (app, account) = app_with(platform);
    let es = sign(
        &claims(&account.id, "emp-es"),
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_A.as_bytes()).unwrap(),
        None,
    );
    assert_signed_in(&launch(&app, &account.id, &es).await);

    let secret = "a-shared-secret-of-at-least-32-bytes!!";
    enable(
        &app,
        &account.id,
        &KeyChoice::Hs256(secret.as_bytes().to_vec()),
    );
    let stored: Vec<Option<String>> = {
        use diesel::prelude::*;
        use mobietrain_scim::db::schema::crewplanner_links;
        crewplanner_links::table
            .select(crewplanner_links::key_material)
            .load(&mut *app.conn())
            .unwrap()
    };
    let sealed = stored[0].clone().unwrap();
    assert!(
        !sealed.contains(secret),
        "the HS256 secret is stored encrypted"
    );
    let hs = sign(
        &claims(&account.id, "emp-hs"),
        Algorithm::HS256,
        &EncodingKey::from_secret(secret.as_bytes()),
        None,
    );
    assert_signed_in(&launch(&app, &account.id, &hs).await);
    // With its own key, the account no longer accepts the platform's.
    let es = sign(
        &claims(&account.id, "emp-es"),
        Algorithm::ES256,
        &EncodingKey::from_ec_pem(EC_A.as_bytes()).unwrap(),
        None,
    );
    assert_refused(
        &launch(&app, &account.id, &es).await,
        Reason::WrongAlgorithm,
    );
    // A wrong secret is a bad signature.
    let wrong = sign(
        &claims(&account.id, "emp-hs"),
        Algorithm::HS256,
        &EncodingKey::from_secret(b"another-shared-secret-of-32-bytes-or-more"),
        None,
    );
    assert_refused(
        &launch(&app, &account.id, &wrong).await,
        Reason::BadSignature,
    );
}

/// A JWKS endpoint on loopback whose document the test can change, counting fetches.
pub struct JwksServer {
    /// Its URL.
    pub url: String,
    /// The document it serves.
    pub document: Arc<Mutex<String>>,
    /// How often it was fetched.
    pub fetches: Arc<Mutex<usize>>,
}

/// Serves `document` on loopback.
pub fn jwks_server(document: String) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let document = Arc::new(Mutex::new(document));
    let fetches = Arc::new(Mutex::new(0));
    let (doc, count) = (document.clone(), fetches.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            *count.lock().unwrap() += 1;
            let body = doc.lock().unwrap().clone();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: max-age=3600\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    JwksServer {
        url,
        document,
        fetches,
    }
}

#[actix_web::test]
async fn jwks_by_url_follows_a_key_rotation_and_still_refuses_an_unknown_kid() {
    let server = jwks_server(jwks(&[(RSA_A, Algorithm::RS256, "a")]));
    let (app, account) = app_with(PlatformKeys {
        fixed: vec![],
        jwks: Some(JwksSource::new(&server.url, std::time::Duration::ZERO).unwrap()),
    });
    let a = account.id.as_str();
    assert_signed_in(&launch(&app, a, &rs256(&claims(a, "emp-1"))).await);
    assert_signed_in(&launch(&app, a, &rs256(&claims(a, "emp-1"))).await);
    assert_eq!(*server.fetches.lock().unwrap(), 1, "cached for its max-age");

    // CrewPlanner rotates: key b is published beside a.
    *server.document.lock().unwrap() = jwks(&[
        (RSA_A, Algorithm::RS256, "a"),
        (RSA_B, Algorithm::RS256, "b"),
    ]);
    let by_b = |sub: &str| {
        sign(
            &claims(a, sub),
            Algorithm::RS256,
            &rsa_key(RSA_B),
            Some("b"),
        )
    };
    assert_signed_in(&launch(&app, a, &by_b("emp-2")).await);
    assert_eq!(
        *server.fetches.lock().unwrap(),
        2,
        "an unknown kid fetched again"
    );
    let unknown = sign(
        &claims(a, "emp-3"),
        Algorithm::RS256,
        &rsa_key(RSA_B),
        Some("c"),
    );
    assert_refused(&launch(&app, a, &unknown).await, Reason::UnknownKey);
    assert_signed_in(&launch(&app, a, &by_b("emp-3")).await);
}

#[test]
fn a_replayed_token_signs_in_once_across_two_instances_sharing_the_database() {
    let (first, account) = app_with(rsa_platform());
    let mut second = TestApp::new();
    second.state = first.state.clone();
    // The second instance: its own pool (and thus process-like state) on the first one's database.
    second.state.pool = pool_on(&first.db, 4);
    second.state.crewplanner = Arc::new(CrewPlanner {
        platform: rsa_platform(),
        ..Default::default()
    });
    let (url1, h1) = first.serve(1);
    let (url2, h2) = second.serve(1);
    let jwt = rs256(&claims(&account.id, "emp-replay"));
    let barrier = Arc::new(Barrier::new(2));
    let results: Vec<(u16, Value)> = [url1, url2]
        .into_iter()
        .map(|base| {
            let (barrier, jwt, id) = (barrier.clone(), jwt.clone(), account.id.clone());
            std::thread::spawn(move || {
                let agent = ureq::Agent::new_with_config(
                    ureq::config::Config::builder()
                        .http_status_as_error(false)
                        .max_redirects(0)
                        .build(),
                );
                barrier.wait();
                let mut resp = agent
                    .get(&format!("{base}/crewplanner/{id}/launch?jwt={jwt}"))
                    .header("Accept", "application/json")
                    .call()
                    .unwrap();
                let body = resp.body_mut().read_to_string().unwrap_or_default();
                (
                    resp.status().as_u16(),
                    serde_json::from_str(&body).unwrap_or(Value::Null),
                )
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().unwrap())
        .collect();
    let mut statuses: Vec<u16> = results.iter().map(|r| r.0).collect();
    statuses.sort();
    assert_eq!(statuses, vec![303, 401], "{results:?}");
    let refused = results.iter().find(|r| r.0 == 401).unwrap();
    assert_eq!(refused.1["reason"], "replayed");
    assert_eq!(first.count("users"), 1);
    assert_eq!(first.count("used_jtis"), 1);
    assert_eq!(first.count("sign_in_codes"), 1);
    drop(h1.stop(true));
    drop(h2.stop(true));
}

async fn exchange(app: &TestApp, code: &str) -> Resp {
    app.send(
        TestRequest::post()
            .uri("/app/v1/session")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(json!({ "code": code }).to_string()),
    )
    .await
}

/// Signs in with `claims` and answers `GET /app/v1/me` with the session it gets.
async fn me_after_launch(app: &TestApp, account: &str, claims: &Value) -> Resp {
    let code = assert_signed_in(&launch(app, account, &rs256(claims)).await);
    let session = exchange(app, &code).await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.body);
    let token = session.body["sessionToken"].as_str().unwrap().to_owned();
    app.get("/app/v1/me", &token).await
}

#[actix_web::test]
async fn first_visit_creates_the_user_and_requires_onboarding_the_second_reuses_them() {
    let (app, account) = app_with(rsa_platform());
    let a = account.id.as_str();
    let mut first = claims(a, "emp-7");
    first["department"] = json!("Bakery");
    let code = assert_signed_in(&launch(&app, a, &rs256(&first)).await);
    let session = exchange(&app, &code).await;
    assert_eq!(session.status.as_u16(), 200, "{}", session.body);
    assert_eq!(session.header("cache-control").as_deref(), Some("no-store"));
    let token = session.body["sessionToken"].as_str().unwrap().to_owned();
    assert!(session.body["expiresAt"].as_str().is_some());
    let again = exchange(&app, &code).await;
    assert_eq!(again.status.as_u16(), 401, "a code is single use");
    assert_eq!(
        again.header("content-type").as_deref(),
        Some("application/problem+json")
    );

    let me = app.get("/app/v1/me", &token).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(
        me.body["onboarding"]["required"],
        json!(["language", "acceptTerms"])
    );
    assert_eq!(me.body["origin"], "crewplanner");
    assert_eq!(me.body["userName"], "emp-7@acme.example");
    assert_eq!(me.body["groups"][0]["display"], "Bakery");
    let user_id = me.body["id"].as_str().unwrap().to_owned();

    // The user is a SCIM resource like any other, in a Department group.
    let scim = app
        .get(&format!("/scim/v2/Users/{user_id}"), &account.scim)
        .await;
    assert_eq!(scim.body["externalId"], "emp-7");
    assert_eq!(scim.body["title"], "Cashier");
    let groups = app
        .get(
            "/scim/v2/Groups?filter=displayName%20eq%20%22Bakery%22",
            &account.scim,
        )
        .await;
    assert_eq!(
        groups.body["Resources"][0]["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:Group"]
            ["groupType"],
        "Department"
    );

    let refuse_terms = app
        .call(
            actix_web::http::Method::POST,
            "/app/v1/me/onboarding",
            &token,
            Some(&json!({"language": "nl", "acceptTerms": false})),
        )
        .await;
    assert_eq!(refuse_terms.status.as_u16(), 400);
    let done = app
        .call(
            actix_web::http::Method::POST,
            "/app/v1/me/onboarding",
            &token,
            Some(&json!({"language": "nl", "acceptTerms": true})),
        )
        .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.body);
    assert_eq!(done.body["onboarding"]["required"], json!([]));

    // Second visit: same user, updated from the token, nothing more to ask.
    let mut second = claims(a, "emp-7");
    second["family_name"] = json!("Janssens");
    let code = assert_signed_in(&launch(&app, a, &rs256(&second)).await);
    let token2 = exchange(&app, &code).await.body["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app.get("/app/v1/me", &token2).await;
    assert_eq!(me.body["id"], user_id.as_str());
    assert_eq!(me.body["name"]["familyName"], "Janssens");
    assert_eq!(me.body["onboarding"]["required"], json!([]));
    assert_eq!(app.count("users"), 1);
}

#[actix_web::test]
async fn a_scim_user_with_the_same_external_id_is_linked_and_keeps_its_scim_data() {
    let (app, account) = app_with(rsa_platform());
    let mut body = user("ann@corp.example");
    body["externalId"] = json!("emp-9");
    let created = app.post("/scim/v2/Users", &account.scim, &body).await;
    assert_eq!(created.status.as_u16(), 201);
    let id = created.body["id"].as_str().unwrap().to_owned();

    let mut c = claims(&account.id, "emp-9");
    c["given_name"] = json!("Someone Else");
    let code = assert_signed_in(&launch(&app, &account.id, &rs256(&c)).await);
    let token = exchange(&app, &code).await.body["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app.get("/app/v1/me", &token).await;
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(app.count("users"), 1);
    let scim = app
        .get(&format!("/scim/v2/Users/{id}"), &account.scim)
        .await;
    assert_eq!(scim.body["name"]["givenName"], "Ann", "SCIM wins");
    assert_eq!(scim.body["userName"], "ann@corp.example");
}

/// The e-mail is the userName only while no user of the account has it (by the identity fold):
/// when a SCIM user does, the first visit still creates its own user, as `crewplanner:{sub}`, and
/// the SCIM user is untouched. On PostgreSQL this also shows the refused insert leaves the link's
/// transaction usable (the `jti`, the code and the user are written after it).
#[actix_web::test]
async fn a_taken_e_mail_gives_the_new_user_the_crewplanner_user_name() {
    let (app, account) = app_with(rsa_platform());
    let created = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &user("EMP-11@acme.example"),
        )
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let scim_version = created.body["meta"]["version"].clone();

    let me = me_after_launch(&app, &account.id, &claims(&account.id, "emp-11")).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    assert_eq!(me.body["userName"], "crewplanner:emp-11");
    assert_eq!(me.body["origin"], "crewplanner");
    assert_ne!(me.body["id"], created.body["id"]);
    assert_eq!(app.count("users"), 2);
    let scim = app
        .get(
            &format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap()),
            &account.scim,
        )
        .await;
    assert_eq!(scim.body["meta"]["version"], scim_version, "untouched");
}

#[actix_web::test]
async fn deactivation_over_scim_ends_an_open_session_and_refuses_the_next_link() {
    let (app, account) = app_with(rsa_platform());
    let code =
        assert_signed_in(&launch(&app, &account.id, &rs256(&claims(&account.id, "emp-5"))).await);
    let token = exchange(&app, &code).await.body["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    let me = app.get("/app/v1/me", &token).await;
    assert_eq!(me.status.as_u16(), 200);
    let id = me.body["id"].as_str().unwrap().to_owned();

    let patched = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Users/{id}"),
            &account.scim,
            Some(&json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]
            })),
        )
        .await;
    assert_eq!(patched.status.as_u16(), 200, "{}", patched.body);
    assert_eq!(app.get("/app/v1/me", &token).await.status.as_u16(), 401);
    assert_eq!(app.count("sessions"), 0);

    let before = written(&app);
    assert_refused(
        &launch(&app, &account.id, &rs256(&claims(&account.id, "emp-5"))).await,
        Reason::UserDeactivated,
    );
    assert_eq!(
        written(&app),
        before,
        "no jti, code or session for a deactivated user"
    );

    // Deleting the user over SCIM ends sessions too (a fresh one, on reactivation).
    let reactivate = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": true}]
    });
    app.call(
        actix_web::http::Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        &account.scim,
        Some(&reactivate),
    )
    .await;
    let code =
        assert_signed_in(&launch(&app, &account.id, &rs256(&claims(&account.id, "emp-5"))).await);
    let token = exchange(&app, &code).await.body["sessionToken"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.get("/app/v1/me", &token).await.status.as_u16(), 200);
    assert_eq!(
        app.delete(&format!("/scim/v2/Users/{id}"), &account.scim)
            .await
            .status
            .as_u16(),
        204
    );
    assert_eq!(app.get("/app/v1/me", &token).await.status.as_u16(), 401);
    assert_eq!(app.count("sessions"), 0);
}

#[actix_web::test]
async fn token_data_that_breaks_the_user_rules_is_refused_naming_the_claim() {
    let (app, account) = app_with(rsa_platform());
    let mut c = claims(&account.id, "emp-x");
    c.as_object_mut().unwrap().remove("family_name");
    let before = written(&app);
    let resp = launch(&app, &account.id, &rs256(&c)).await;
    assert_refused(&resp, Reason::MissingClaim);
    assert!(
        resp.body["detail"]
            .as_str()
            .unwrap()
            .contains("family_name")
    );
    let mut c = claims(&account.id, "emp-x");
    c["given_name"] = json!("x".repeat(256));
    assert_refused(
        &launch(&app, &account.id, &rs256(&c)).await,
        Reason::InvalidClaim,
    );
    assert_eq!(written(&app), before);
}

/// DESIGN 5: a contact is advice on CrewPlanner sign-ins, whatever the account's `requireContact`:
/// an employee with neither e-mail nor phone is signed in, with the warning `user.no_contact`.
#[actix_web::test]
async fn an_employee_without_e_mail_or_phone_signs_in_with_a_warning() {
    let (app, account) = app_with(rsa_platform());
    let on = app
        .call(
            actix_web::http::Method::PATCH,
            "/admin/v1/account",
            &account.admin,
            Some(&json!({"requireContact": true})),
        )
        .await;
    assert_eq!(on.status.as_u16(), 200, "{}", on.body);
    let mut c = claims(&account.id, "emp-quiet");
    c.as_object_mut().unwrap().remove("email");
    let me = me_after_launch(&app, &account.id, &c).await;
    assert_eq!(me.status.as_u16(), 200, "{}", me.body);
    let log = app
        .get("/admin/v1/audit?code=user.no_contact", &account.admin)
        .await;
    assert_eq!(
        log.body["events"].as_array().unwrap().len(),
        1,
        "{}",
        log.body
    );
}
