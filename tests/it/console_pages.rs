//! The console's pages without a browser, on both backends: sign-in with cookies, the CSRF refusal,
//! the security headers, a revoked token ending the session, a SCIM token refused, another
//! account's data never shown, and the invite form's errors per field.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use mobietrain_scim::accounts;
use serde_json::json;

use crate::harness::{Resp, TestAccount, TestApp};
use crate::invitations::{account_with_group, invite};

/// A browser's worth of state: the cookies the console set.
pub struct Console<'a> {
    app: &'a TestApp,
    cookies: BTreeMap<String, String>,
}

/// The HTML of a response.
pub fn html(r: &Resp) -> &str {
    r.body.as_str().unwrap_or_default()
}

/// The value of the first hidden `csrf` field in `page`.
pub fn csrf_in(page: &str) -> String {
    let start = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("a csrf field in {page}"))
        + "name=\"csrf\" value=\"".len();
    page[start..].split('"').next().unwrap().to_owned()
}

impl<'a> Console<'a> {
    /// A browser without cookies.
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: BTreeMap::new(),
        }
    }

    fn keep_cookies(&mut self, r: &Resp) {
        for v in r.headers.get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn with_cookies(&self, req: TestRequest) -> TestRequest {
        if self.cookies.is_empty() {
            return req;
        }
        let header = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        req.insert_header(("Cookie", header))
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Resp {
        let r = self
            .app
            .send(self.with_cookies(TestRequest::get().uri(path)))
            .await;
        self.keep_cookies(&r);
        r
    }

    /// `POST path` with a form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let req = TestRequest::post()
            .uri(path)
            .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
            .set_payload(body);
        let r = self.app.send(self.with_cookies(req)).await;
        self.keep_cookies(&r);
        r
    }

    /// Posts the sign-in form with `token`.
    pub async fn sign_in(&mut self, token: &str) -> Resp {
        let form = self.get("/console/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = csrf_in(html(&form));
        self.post("/console/sign-in", &[("csrf", &csrf), ("token", token)])
            .await
    }

    /// The CSRF token of the session, read from the landing page.
    pub async fn csrf(&mut self) -> String {
        let home = self.get("/console").await;
        assert_eq!(home.status, StatusCode::OK, "{}", html(&home));
        csrf_in(html(&home))
    }
}

async fn signed_in<'a>(app: &'a TestApp, account: &TestAccount) -> Console<'a> {
    let mut c = Console::new(app);
    let r = c.sign_in(&account.admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    c
}

#[actix_web::test]
async fn sign_in_sets_a_strict_cookie_the_pages_are_locked_down_and_sign_out_ends_it() {
    let app = TestApp::new();
    let account = app.account("Boulangerie Dupont");
    let mut c = Console::new(&app);

    let r = c.get("/console/invitations").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/console/sign-in"));

    let r = c.sign_in(&account.admin).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(r.header("location").as_deref(), Some("/console"));
    let cookie = r
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("mts_console="))
        .expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "served over http: {cookie}");
    assert!(
        !cookie.contains(&account.admin),
        "the token never reaches the browser"
    );
    assert_eq!(app.count("console_sessions"), 1);

    let home = c.get("/console").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(html(&home).contains("Boulangerie Dupont"));
    assert_eq!(
        home.header("content-security-policy").as_deref(),
        Some(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        )
    );
    assert_eq!(
        home.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(
        home.header("referrer-policy").as_deref(),
        Some("same-origin")
    );
    assert_eq!(home.header("cache-control").as_deref(), Some("no-store"));
    assert!(!html(&home).contains("<script"), "no script");
    assert!(!html(&home).contains("style="), "no inline style");

    // The stylesheet: the one the page links, cached for long; any other name is not there.
    let page = html(&home);
    let start = page.find("/console/static/").unwrap();
    let href = page[start..].split('"').next().unwrap().to_owned();
    let css = c.get(&href).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.header("cache-control")
            .is_some_and(|c| c.contains("immutable")),
        "{:?}",
        css.headers
    );
    assert_eq!(
        css.header("content-security-policy").as_deref(),
        home.header("content-security-policy").as_deref()
    );
    assert_eq!(
        c.get("/console/static/console-000000000000.css")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    for path in [
        "/console/invitations",
        "/console/invitations/new",
        "/console/groups",
        "/console/log",
        "/console/tokens",
    ] {
        let r = c.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", html(&r));
    }

    let csrf = c.csrf().await;
    let out = c.post("/console/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("console_sessions"), 0);
    assert_eq!(c.get("/console").await.status, StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_post_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::new();
    let account = app.account("A");
    let mut c = signed_in(&app, &account).await;
    let before = app.count("groups");
    for fields in [
        vec![("displayName", "Sales")],
        vec![("displayName", "Sales"), ("csrf", "forged")],
    ] {
        let r = c.post("/console/groups", &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(html(&r).contains("did not come from this console"));
        assert!(r.header("content-security-policy").is_some());
    }
    assert_eq!(app.count("groups"), before);
    // Sign-out needs it too.
    assert_eq!(
        c.post("/console/sign-out", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.count("console_sessions"), 1);
    // The sign-in form: without the cookie its token came with, or with another token.
    let mut other = Console::new(&app);
    let r = other
        .post(
            "/console/sign-in",
            &[("csrf", "x"), ("token", account.admin.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let _ = other.get("/console/sign-in").await;
    let r = other
        .post(
            "/console/sign-in",
            &[("csrf", "x"), ("token", account.admin.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("console_sessions"), 1);

    // With the token, the same form works.
    let csrf = c.csrf().await;
    let r = c
        .post(
            "/console/groups",
            &[
                ("csrf", &csrf),
                ("displayName", "Sales"),
                ("groupType", "Department"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let groups = c.get("/console/groups").await;
    assert!(html(&groups).contains("Sales") && html(&groups).contains("Department"));
}

#[actix_web::test]
async fn revoking_the_token_ends_its_sessions() {
    let app = TestApp::new();
    let account = app.account("A");
    let mut c = signed_in(&app, &account).await;
    assert_eq!(c.get("/console").await.status, StatusCode::OK);
    let now = app.state.clock.now_naive();
    let mut conn = app.conn();
    let token = accounts::list_tokens(&mut conn, &account.id)
        .unwrap()
        .into_iter()
        .find(|t| t.scope == "admin")
        .unwrap();
    accounts::revoke_token(&mut conn, &token.id, now).unwrap();
    drop(conn);
    let r = c.get("/console").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/console/sign-in"));
    assert_eq!(
        app.count("console_sessions"),
        0,
        "the ended session is gone"
    );
}

#[actix_web::test]
async fn a_scim_or_unknown_token_is_refused_and_failures_are_throttled() {
    let app = TestApp::new();
    let account = app.account("A");
    let mut c = Console::new(&app);
    let r = c.sign_in(&account.scim).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(html(&r).contains("This is a SCIM token"), "{}", html(&r));
    assert!(html(&r).contains("name=\"token\""), "the form again");
    let r = c.sign_in("mts_nope").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(html(&r).contains("unknown or has been revoked"));
    assert_eq!(app.count("console_sessions"), 0);
    for _ in 2..mobietrain_scim::console_sessions::MAX_FAILURES {
        assert_eq!(c.sign_in("mts_nope").await.status, StatusCode::UNAUTHORIZED);
    }
    // The address has used up its failures: even the right token waits.
    let r = c.sign_in(&account.admin).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(html(&r).contains("Too many failed sign-ins"));
    assert_eq!(app.count("console_sessions"), 0);
}

#[actix_web::test]
async fn another_accounts_data_is_never_shown_nor_changed() {
    let app = TestApp::new();
    let (mine, _) = account_with_group(&app, "Mine").await;
    let (theirs, their_group) = account_with_group(&app, "Theirs").await;
    let renamed = app
        .post(
            "/scim/v2/Groups",
            &theirs.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Their secret group"}),
        )
        .await;
    assert_eq!(renamed.status.as_u16(), 201);
    let invitation = invite(&app, &theirs, "their.person@example.com", &their_group).await;
    let id = invitation["id"].as_str().unwrap();
    app.run_due_jobs();

    let mut c = signed_in(&app, &mine).await;
    for path in [
        "/console/invitations",
        "/console/groups",
        "/console/log",
        "/console/tokens",
    ] {
        let page = c.get(path).await;
        let text = html(&page);
        assert_eq!(page.status, StatusCode::OK);
        for theirs in [
            "Their secret group",
            "their.person@example.com",
            id,
            "Theirs",
        ] {
            assert!(!text.contains(theirs), "{path} shows {theirs}");
        }
    }
    assert_eq!(
        c.get(&format!("/console/invitations/{id}/withdraw"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let csrf = c.csrf().await;
    let r = c
        .post(
            &format!("/console/invitations/{id}/withdraw"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/invitations?notice=gone")
    );
    let r = c
        .post(
            &format!("/console/invitations/{id}/resend"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/invitations?notice=gone")
    );
    assert_eq!(app.count("invitations"), 1);
    let r = c
        .post(
            &format!("/console/groups/{their_group}/rename"),
            &[("csrf", &csrf), ("displayName", "Taken over")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let their_token = accounts::list_tokens(&mut app.conn(), &theirs.id).unwrap()[0]
        .id
        .clone();
    let r = c
        .post(
            &format!("/console/tokens/{their_token}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(
        accounts::list_tokens(&mut app.conn(), &theirs.id)
            .unwrap()
            .iter()
            .all(|t| t.revoked_at.is_none())
    );
}

#[actix_web::test]
async fn the_invite_form_shows_each_broken_rule_beside_its_field_and_writes_nothing() {
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "A").await;
    let mut c = signed_in(&app, &account).await;
    let csrf = c.csrf().await;
    let form = c.get("/console/invitations/new").await;
    assert!(
        html(&form).contains("Sales"),
        "the account's groups to choose from"
    );

    let r = c
        .post(
            "/console/invitations/new",
            &[
                ("csrf", &csrf),
                ("familyName", "Lee"),
                ("email", "not an address"),
                ("role", "manager"),
                ("language", "nl"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let page = html(&r);
    for field in [
        "givenName",
        "email",
        "groupIds",
        "stores",
        "agreementAccepted",
    ] {
        assert!(
            page.contains(&format!("id=\"{field}-errors\"")),
            "{field}: {page}"
        );
    }
    assert!(!page.contains("id=\"familyName-errors\""), "{page}");
    assert!(page.contains("value=\"Lee\""), "what was typed stays");
    assert_eq!(app.count("invitations"), 0);
    assert_eq!(app.count("users"), 0);

    let r = c
        .post(
            "/console/invitations/new",
            &[
                ("csrf", &csrf),
                ("givenName", "Ann"),
                ("familyName", "Lee"),
                ("email", "ann@example.com"),
                ("groupIds", &group),
                ("role", "manager"),
                ("storeRef0", "GNT-01"),
                ("storeName0", "Gent Zuid"),
                ("storeCountry0", "32"),
                ("language", "nl"),
                ("agreementAccepted", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(app.count("invitations"), 1);
    let list = c.get("/console/invitations?notice=invited").await;
    let page = html(&list);
    assert!(
        page.contains("Ann Lee") && page.contains("ann@example.com"),
        "{page}"
    );
    assert!(page.contains("expires in 60 days"), "{page}");
    assert!(page.contains("The invitation is on its way."));

    // The same e-mail again: the 409 of the domain, beside the e-mail field.
    let r = c
        .post(
            "/console/invitations/new",
            &[
                ("csrf", &csrf),
                ("givenName", "Ann"),
                ("familyName", "Lee"),
                ("email", "ann@example.com"),
                ("groupIds", &group),
                ("language", "nl"),
                ("agreementAccepted", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(html(&r).contains("id=\"email-errors\""), "{}", html(&r));
    assert_eq!(app.count("invitations"), 1);
    app.run_due_jobs();
}
