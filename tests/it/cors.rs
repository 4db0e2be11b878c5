//! CORS: the app's origins may call the app API and the invitation accept route from a browser
//! (preflight answered, responses marked); no other origin may, and no other route answers
//! cross-origin.

use actix_web::test::TestRequest;
use mobietrain_scim::state::HttpSettings;
use serde_json::json;

use crate::harness::{Resp, TestApp};

const APP: &str = "https://app.example.com";
const INVITE: &str = "http://localhost:3000";

fn app() -> TestApp {
    TestApp::with(
        HttpSettings {
            cors_origins: vec![APP.to_owned(), INVITE.to_owned()],
            ..HttpSettings::default()
        },
        2,
    )
}

async fn preflight(app: &TestApp, path: &str, origin: &str) -> Resp {
    app.send(
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri(path)
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header((
                "Access-Control-Request-Headers",
                "authorization, content-type",
            )),
    )
    .await
}

#[actix_web::test]
async fn the_apps_origins_get_their_preflights_answered_on_the_app_routes_only() {
    let app = app();
    for path in [
        "/app/v1/session",
        "/app/v1/me",
        "/app/v1/me/onboarding",
        "/invitations/accept",
    ] {
        for origin in [APP, INVITE] {
            let r = preflight(&app, path, origin).await;
            assert_eq!(r.status, 204, "{path} from {origin}");
            assert_eq!(
                r.header("access-control-allow-origin").as_deref(),
                Some(origin)
            );
            let methods = r.header("access-control-allow-methods").unwrap();
            assert!(
                methods.contains("POST") && methods.contains("GET"),
                "{methods}"
            );
            let headers = r.header("access-control-allow-headers").unwrap();
            assert!(
                headers.contains("authorization") && headers.contains("content-type"),
                "{headers}"
            );
            assert!(r.header("access-control-allow-credentials").is_none());
            assert!(r.header("vary").unwrap().contains("Origin"));
        }
        // Another origin, or one that merely starts like the app's, is refused, without a header.
        for origin in [
            "https://evil.example",
            "https://app.example.com.evil.example",
            "http://app.example.com",
            "null",
        ] {
            let r = preflight(&app, path, origin).await;
            assert_eq!(r.status, 403, "{path} from {origin}");
            assert!(r.header("access-control-allow-origin").is_none());
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/problem+json")
            );
        }
    }
    // The SCIM and admin APIs and the rest answer no preflight, even from the app's origin.
    for path in [
        "/scim/v2/Users",
        "/admin/v1/audit",
        "/healthz",
        "/crewplanner/x/launch",
    ] {
        let r = preflight(&app, path, APP).await;
        assert!(
            r.header("access-control-allow-origin").is_none()
                && r.header("access-control-allow-methods").is_none(),
            "{path} is not cross-origin: {:?}",
            r.headers
        );
        assert_ne!(r.status, 204, "{path}");
    }
}

#[actix_web::test]
async fn responses_to_the_apps_requests_carry_the_origin_and_others_do_not() {
    let app = app();
    let acct = app.account("acme");
    let post = |path: &'static str, origin: &'static str| {
        let body = match path {
            "/app/v1/session" => json!({"code": "mtc_nope"}),
            _ => json!({"token": "nope"}),
        };
        TestRequest::post()
            .uri(path)
            .insert_header(("Origin", origin))
            .set_json(body)
    };
    // A refused code is still an answer the app's page may read.
    let r = app.send(post("/app/v1/session", APP)).await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(APP)
    );
    let r = app.send(post("/invitations/accept", INVITE)).await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some(INVITE)
    );
    let r = app
        .send(post("/app/v1/session", "https://evil.example"))
        .await;
    assert_eq!(r.status, 401, "the request itself is answered as always");
    assert!(r.header("access-control-allow-origin").is_none());
    assert!(r.header("vary").unwrap().contains("Origin"));

    // The SCIM API never marks a response for a browser.
    let r = app
        .send(
            TestRequest::get()
                .uri("/scim/v2/Users")
                .insert_header(("Origin", APP))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim))),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none());
}
