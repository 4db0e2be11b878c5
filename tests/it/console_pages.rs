//! The console's pages without a browser, on both backends: sign-in with cookies, the CSRF refusal,
//! the security headers, a revoked token ending the session, a SCIM token refused, another
//! account's data never shown, and the invite form's errors per field.

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use mobietrain_scim::accounts;
use serde_json::{Value, json};

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

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// How many rows of `class` (`user`, `store`) the page's list shows.
fn rows_of(page: &str, prefix: &str) -> usize {
    page.matches(&format!("<tr id=\"{prefix}-")).count()
}

/// Creates a SCIM user `userNN@example.com` (`PersonNN`, externalId `hr-NN`); returns its id.
async fn scim_user(app: &TestApp, account: &TestAccount, n: usize, extra: Value) -> String {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{n:02}@example.com"),
        "externalId": format!("hr-{n:02}"),
        "name": {"givenName": format!("Person{n:02}"), "familyName": "Peeters"},
        "emails": [{"value": format!("user{n:02}@example.com"), "primary": true}],
    });
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    let r = app.post("/scim/v2/Users", &account.scim, &body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn the_users_page_searches_pages_and_shows_each_users_groups_stores_origin_and_state() {
    let app = TestApp::new();
    let (account, sales) = account_with_group(&app, "Bakkerij Peeters").await;
    let first = scim_user(
        &app,
        &account,
        0,
        json!({MT: {"storeRefId": "GNT-01", "storeName": "Gent Zuid", "storeCountryCallingCode": "32"}}),
    )
    .await;
    let mut ids = vec![first.clone()];
    for n in 1..30 {
        ids.push(scim_user(&app, &account, n, json!({})).await);
    }
    let r = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Groups/{sales}"),
            &account.scim,
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": first}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let r = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Users/{}", ids[1]),
            &account.scim,
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": false}]}),
            ),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    invite(&app, &account, "zoe.invited@example.com", &sales).await;
    // Another account's user, with the same name pattern: never listed.
    let other = app.account("Other");
    let theirs = scim_user(&app, &other, 77, json!({})).await;

    let mut c = signed_in(&app, &account).await;
    // Page 1: 25 of the 31 users, the pager to page 2.
    let r = c.get("/console/users").await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let page = html(&r);
    assert_eq!(rows_of(page, "user"), 25, "{page}");
    assert!(page.contains("25 of 31 users"), "{page}");
    assert!(page.contains("Page 1 of 2"), "{page}");
    assert!(page.contains("href=\"/console/users?page=2\""), "{page}");
    assert!(!page.contains("user77@example.com") && !page.contains(&theirs));
    // The first user: their group, their store, where they came from, their state.
    let row = row_in(page, &format!("user-{first}"));
    for shown in [
        "Person00 Peeters",
        "user00@example.com",
        "Sales",
        "Gent Zuid",
        "GNT-01",
    ] {
        assert!(row.contains(shown), "{shown}: {row}");
    }
    assert!(
        row.contains("Identity provider (SCIM)") && row.contains(">active<"),
        "{row}"
    );
    assert!(!row.contains("in no group"), "{row}");
    // A user in no group is warned about; a deactivated one says so.
    let second = row_in(page, &format!("user-{}", ids[1]));
    assert!(
        second.contains("in no group: sees no learning content"),
        "{second}"
    );
    assert!(second.contains(">deactivated<"), "{second}");

    // Page 2: the other 6, and the invited user with where they came from.
    let r = c.get("/console/users?page=2").await;
    let page = html(&r);
    assert_eq!(rows_of(page, "user"), 6, "{page}");
    assert!(page.contains("Page 2 of 2") && page.contains("href=\"/console/users?page=1\""));
    assert!(page.contains("zoe.invited@example.com"), "{page}");
    let invited = page
        .split("<tr id=\"user-")
        .find(|r| r.contains("zoe.invited@example.com"))
        .unwrap();
    assert!(
        invited.contains("Invitation") && invited.contains(">invited<"),
        "{invited}"
    );

    // Search by externalId, e-mail, userName and name; paging keeps the search.
    for (q, found) in [
        ("hr-07", vec![7]),
        ("HR-07", vec![7]),
        ("user03@", vec![3]),
        ("person2", (20..30).collect::<Vec<_>>()),
    ] {
        let r = c
            .get(&format!(
                "/console/users?q={}",
                url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()
            ))
            .await;
        let page = html(&r);
        assert_eq!(rows_of(page, "user"), found.len(), "{q}: {page}");
        for n in &found {
            assert!(
                page.contains(&format!("user{n:02}@example.com")),
                "{q} finds {n}"
            );
        }
    }
    let r = c.get("/console/users?q=example.com").await;
    let page = html(&r);
    assert!(page.contains("25 of 31 users"), "{page}");
    assert!(
        page.contains("href=\"/console/users?page=2&amp;q=example.com\""),
        "{page}"
    );
    let r = c.get("/console/users?q=example.com&page=2").await;
    assert_eq!(rows_of(html(&r), "user"), 6);
    let r = c.get("/console/users?q=nobody-at-all").await;
    assert!(html(&r).contains("No users match."));
    // The users of a store (the stores page links here).
    let r = c.get("/console/users?store=GNT-01").await;
    let page = html(&r);
    assert_eq!(
        rows_of(page, "user"),
        2,
        "the SCIM user and the invited one: {page}"
    );
    assert!(page.contains("Users of the store GNT-01."));

    // A user's own page: everything the list cannot fit on a phone, and a way to the log.
    let r = c.get(&format!("/console/users/{first}")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let page = html(&r);
    for shown in [
        "Person00 Peeters",
        "hr-00",
        "user00@example.com",
        "Sales",
        "Gent Zuid (GNT-01)",
    ] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    assert!(page.contains(&format!("href=\"/console/log?user={first}\"")));
    // The log links a user's id to their page.
    let r = c.get(&format!("/console/log?user={first}")).await;
    assert!(
        html(&r).contains(&format!("href=\"/console/users/{first}\"")),
        "{}",
        html(&r)
    );
    // Another account's user is not there.
    let r = c.get(&format!("/console/users/{theirs}")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!html(&r).contains("user77"));
    assert_eq!(
        c.get("/console/users/no-such-user").await.status,
        StatusCode::NOT_FOUND
    );
    app.run_due_jobs();
}

/// The `<tr id="ID">…</tr>` of `page`.
fn row_in<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("<tr id=\"{id}\""))
        .unwrap_or_else(|| panic!("a row {id} in {page}"));
    let end = start + page[start..].find("</tr>").unwrap();
    &page[start..end]
}

/// Adds `n` stores `ST-000`… to the account, as user writes would have made them.
fn add_stores(app: &TestApp, account_id: &str, n: usize) {
    use diesel::prelude::*;
    use mobietrain_scim::db::models::StoreRow;
    use mobietrain_scim::db::schema::stores;
    let now = app.state.clock.now_naive();
    let rows: Vec<StoreRow> = (0..n)
        .map(|i| StoreRow {
            id: uuid::Uuid::now_v7().to_string(),
            account_id: account_id.to_owned(),
            ref_id: format!("ST-{i:03}"),
            name: Some(format!("Store {i:03}")),
            country_calling_code: "32".into(),
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    let mut conn = app.conn();
    for row in rows {
        diesel::insert_into(stores::table)
            .values(&row)
            .execute(&mut *conn)
            .unwrap();
    }
}

/// The account's store with ref id `ref_id`: its id and name.
fn store(app: &TestApp, account_id: &str, ref_id: &str) -> (String, Option<String>) {
    use diesel::prelude::*;
    use mobietrain_scim::db::schema::stores;
    stores::table
        .filter(stores::account_id.eq(account_id))
        .filter(stores::ref_id.eq(ref_id))
        .select((stores::id, stores::name))
        .first(&mut *app.conn())
        .unwrap()
}

#[actix_web::test]
async fn stores_are_listed_with_their_users_paged_and_renamed_in_place_by_the_rules() {
    let app = TestApp::new();
    let account = app.account("Bakkerij Peeters");
    let user_id = scim_user(
        &app,
        &account,
        1,
        json!({MT: {"storeRefId": "GNT-01", "storeName": "Gent Zuid", "storeCountryCallingCode": "32"}}),
    )
    .await;
    add_stores(&app, &account.id, 50);
    let other = app.account("Other");
    scim_user(
        &app,
        &other,
        2,
        json!({MT: {"storeRefId": "BRU-09", "storeName": "Their secret store", "storeCountryCallingCode": "32"}}),
    )
    .await;
    let (gent, _) = store(&app, &account.id, "GNT-01");
    let (theirs, _) = store(&app, &other.id, "BRU-09");

    let mut c = signed_in(&app, &account).await;
    // 51 stores by ref id: GNT-01 and ST-000…ST-048 on page 1, ST-049 on page 2.
    let r = c.get("/console/stores").await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let page = html(&r);
    assert_eq!(rows_of(page, "store"), 50, "{page}");
    assert!(
        page.contains("51 stores") && page.contains("Page 1 of 2"),
        "{page}"
    );
    let row = row_in(page, &format!("store-{gent}"));
    for shown in [
        "GNT-01",
        "Gent Zuid",
        "+32",
        "1 user",
        "users?store=GNT-01\"",
    ] {
        assert!(row.contains(shown), "{shown}: {row}");
    }
    assert!(!page.contains("Their secret store") && !page.contains("BRU-09"));
    let r = c.get("/console/stores?page=2").await;
    let page = html(&r);
    assert_eq!(rows_of(page, "store"), 1, "{page}");
    assert!(
        page.contains("ST-049") && !page.contains("BRU-09"),
        "{page}"
    );

    // Renamed in place: the store, and with it every user of it.
    let csrf = c.csrf().await;
    let before = app
        .get(&format!("/scim/v2/Users/{user_id}"), &account.scim)
        .await;
    let r = c
        .post(
            &format!("/console/stores/{gent}/rename"),
            &[("csrf", &csrf), ("name", "Gent Centrum"), ("page", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/stores?page=1&notice=store_renamed")
    );
    let page = c.get("/console/stores?page=1&notice=store_renamed").await;
    assert!(html(&page).contains("The store was renamed."));
    assert!(row_in(html(&page), &format!("store-{gent}")).contains("Gent Centrum"));
    assert_eq!(
        store(&app, &account.id, "GNT-01").1.as_deref(),
        Some("Gent Centrum")
    );
    let after = app
        .get(&format!("/scim/v2/Users/{user_id}"), &account.scim)
        .await;
    assert_eq!(after.body[MT]["storeName"], "Gent Centrum");
    assert_ne!(
        before.header("etag"),
        after.header("etag"),
        "the user's ETag moved"
    );
    let log = app
        .get("/admin/v1/audit?code=store.renamed", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1, "{}", log.body);

    // A broken rule: the error beside the store, what was typed kept, nothing changed.
    let long = "x".repeat(256);
    for bad in ["", "   ", long.as_str(), "Gent\u{7}Zuid"] {
        let r = c
            .post(
                &format!("/console/stores/{gent}/rename"),
                &[("csrf", &csrf), ("name", bad), ("page", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad:?}: {}", html(&r));
        let page = html(&r);
        assert!(page.contains("The store was not renamed"), "{page}");
        let row = row_in(page, &format!("store-{gent}"));
        assert!(
            row.contains(&format!("id=\"store-{gent}-errors\"")),
            "{bad:?}: {row}"
        );
        assert_eq!(
            store(&app, &account.id, "GNT-01").1.as_deref(),
            Some("Gent Centrum")
        );
    }
    assert!(
        html(
            &c.post(
                &format!("/console/stores/{gent}/rename"),
                &[("csrf", &csrf), ("name", &long)],
            )
            .await
        )
        .contains(&long),
        "what was typed stays"
    );

    // Without the CSRF token, or with another: refused, nothing changed.
    for fields in [
        vec![("name", "Forged")],
        vec![("name", "Forged"), ("csrf", "forged")],
    ] {
        let r = c
            .post(&format!("/console/stores/{gent}/rename"), &fields)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    // Another account's store: not there, not renamed.
    let r = c
        .post(
            &format!("/console/stores/{theirs}/rename"),
            &[("csrf", &csrf), ("name", "Taken over")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        store(&app, &account.id, "GNT-01").1.as_deref(),
        Some("Gent Centrum")
    );
    assert_eq!(
        store(&app, &other.id, "BRU-09").1.as_deref(),
        Some("Their secret store")
    );
    assert_eq!(
        app.get("/admin/v1/audit?code=store.renamed", &account.admin)
            .await
            .body["totalResults"],
        1
    );
}

#[actix_web::test]
async fn groups_show_members_and_origin_and_a_group_the_identity_provider_manages_is_not_renamed() {
    let app = TestApp::new();
    let (account, sales) = account_with_group(&app, "A").await;
    let member = scim_user(&app, &account, 1, json!({})).await;
    let r = app
        .call(
            actix_web::http::Method::PATCH,
            &format!("/scim/v2/Groups/{sales}"),
            &account.scim,
            Some(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": member}]}]}),
            ),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    let mut c = signed_in(&app, &account).await;
    let csrf = c.csrf().await;
    let r = c
        .post(
            "/console/groups",
            &[
                ("csrf", &csrf),
                ("displayName", "Bakers"),
                ("groupType", "Department"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", html(&r));
    let page = c.get("/console/groups").await;
    let page = html(&page);
    let scim = row_in(page, &format!("group-{sales}"));
    assert!(
        scim.contains("1 member") && scim.contains("Identity provider (SCIM)"),
        "{scim}"
    );
    assert!(
        scim.contains("Managed by your identity provider") && !scim.contains("<form"),
        "{scim}"
    );
    assert!(
        scim.contains(&format!("/console/users?group={sales}")),
        "{scim}"
    );
    assert!(page.contains("0 members") && page.contains("This console or the admin API"));
    // Searching by name.
    let r = c.get("/console/groups?q=bak").await;
    assert!(html(&r).contains("Bakers") && !html(&r).contains(&format!("group-{sales}")));
    // The members of a group.
    let r = c.get(&format!("/console/users?group={sales}")).await;
    assert_eq!(rows_of(html(&r), "user"), 1, "{}", html(&r));
    // Renaming the managed group anyway: refused with the reason, nothing changed.
    let r = c
        .post(
            &format!("/console/groups/{sales}/rename"),
            &[("csrf", &csrf), ("displayName", "Renamed")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", html(&r));
    assert!(html(&r).contains("identity provider"), "{}", html(&r));
    let group = app
        .get(&format!("/scim/v2/Groups/{sales}"), &account.scim)
        .await;
    assert_eq!(group.body["displayName"], "Sales");
}

#[actix_web::test]
async fn invited_users_show_how_their_delivery_went_in_words_and_colour() {
    use mobietrain_scim::invitations::delivery::{self, Outcome};
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "A").await;
    let bounced = invite(&app, &account, "bounced@example.com", &group).await;
    let retrying = invite(&app, &account, "retrying@example.com", &group).await;
    let fine = invite(&app, &account, "fine@example.com", &group).await;
    app.run_due_jobs();
    let now = app.state.clock.now_naive();
    for (inv, outcome) in [
        (
            &bounced,
            Outcome::Failed("the mail server refused the recipient".into()),
        ),
        (
            &retrying,
            Outcome::Failing("the mail server could not be reached".into()),
        ),
    ] {
        let id = inv["id"].as_str().unwrap();
        let sends = crate::invitations::row(&app, id).unwrap().sends;
        delivery::record(
            &mut app.conn(),
            &app.state.invitations,
            id,
            sends,
            outcome,
            now,
        )
        .unwrap();
    }
    let mut c = signed_in(&app, &account).await;
    let r = c.get("/console/invitations").await;
    let page = html(&r);
    let row = |inv: &Value| {
        row_in(page, &format!("invitation-{}", inv["id"].as_str().unwrap())).to_owned()
    };
    let b = row(&bounced);
    assert!(
        b.contains("data-delivery=\"failed\"") && b.contains("delivery-failed"),
        "{b}"
    );
    assert!(
        b.contains("The e-mail failed: the mail server refused the recipient. Check the address, then resend."),
        "{b}"
    );
    let r2 = row(&retrying);
    assert!(r2.contains("data-delivery=\"failing\""), "{r2}");
    assert!(
        r2.contains("could not be sent yet: the mail server could not be reached"),
        "{r2}"
    );
    let f = row(&fine);
    assert!(
        f.contains("data-delivery=\"sent\"") && f.contains("E-mail sent on"),
        "{f}"
    );
    // Filtered to the failures.
    let r = c.get("/console/invitations?delivery=failed").await;
    let page = html(&r);
    assert!(
        page.contains("bounced@example.com") && !page.contains("fine@example.com"),
        "{page}"
    );
    app.run_due_jobs();
}

#[actix_web::test]
async fn a_session_ends_after_its_idle_and_absolute_limits_on_the_test_clock() {
    use mobietrain_scim::clock::Clock;
    use mobietrain_scim::console_sessions::{ABSOLUTE_TIMEOUT, IDLE_TIMEOUT};
    let (app, clock) = crate::invitations::app_with_clock();
    let account = app.account("A");
    let minute = chrono::Duration::minutes(1);
    let mut c = signed_in(&app, &account).await;
    // Idle just under the limit, twice: each request counts as use.
    for _ in 0..2 {
        clock.advance(IDLE_TIMEOUT - minute);
        assert_eq!(c.get("/console").await.status, StatusCode::OK);
    }
    // Idle for the whole limit: ended, and its row deleted.
    clock.advance(IDLE_TIMEOUT);
    let r = c.get("/console").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/console/sign-in"));
    assert_eq!(app.count("console_sessions"), 0);

    // However active, a session lasts the absolute limit at most.
    let mut c = signed_in(&app, &account).await;
    let opened = clock.now();
    let step = IDLE_TIMEOUT - minute;
    while clock.now() + step < opened + ABSOLUTE_TIMEOUT {
        clock.advance(step);
        assert_eq!(c.get("/console").await.status, StatusCode::OK);
    }
    clock.advance(opened + ABSOLUTE_TIMEOUT - minute - clock.now());
    assert_eq!(c.get("/console").await.status, StatusCode::OK);
    clock.advance(minute);
    assert_eq!(c.get("/console").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.count("console_sessions"), 0);
}

#[actix_web::test]
async fn ended_sessions_are_purged_by_the_periodic_job_and_live_ones_stay() {
    use mobietrain_scim::console_sessions::{self, IDLE_TIMEOUT};
    let (app, clock) = crate::invitations::app_with_clock();
    let account = app.account("A");
    // One session left idle past its limit, its browser never coming back (Carol's: a sign-in with
    // the same token would clear it on the way).
    let (_, carol) = accounts::issue_token(
        &mut app.conn(),
        &account.id,
        "Carol",
        accounts::Scope::Admin,
        app.state.clock.now_naive(),
    )
    .unwrap();
    let mut abandoned = Console::new(&app);
    assert_eq!(
        abandoned.sign_in(&carol).await.status,
        StatusCode::SEE_OTHER
    );
    clock.advance(IDLE_TIMEOUT);
    // One of a token revoked since (fresh, but its token opens nothing).
    let now = app.state.clock.now_naive();
    let (bob, bob_token) = accounts::issue_token(
        &mut app.conn(),
        &account.id,
        "Bob",
        accounts::Scope::Admin,
        now,
    )
    .unwrap();
    let mut revoked = Console::new(&app);
    assert_eq!(
        revoked.sign_in(&bob_token).await.status,
        StatusCode::SEE_OTHER
    );
    accounts::revoke_token(&mut app.conn(), &bob.id, now).unwrap();
    // And a live one.
    let mut live = signed_in(&app, &account).await;
    assert_eq!(app.count("console_sessions"), 3);

    app.run_due_jobs_with(app.mailer.clone(), vec![console_sessions::schedule()]);
    assert_eq!(
        app.count("console_sessions"),
        1,
        "only the live session is left"
    );
    assert_eq!(live.get("/console").await.status, StatusCode::OK);
    // The next run is not due before the schedule's interval; a rerun deletes nothing more.
    clock.advance(IDLE_TIMEOUT - chrono::Duration::minutes(1));
    assert_eq!(live.get("/console").await.status, StatusCode::OK);
    clock.advance(chrono::Duration::minutes(2));
    app.run_due_jobs_with(app.mailer.clone(), vec![console_sessions::schedule()]);
    assert_eq!(app.count("console_sessions"), 1);
}

/// The token on the page that answers the issue form.
fn issued_token(page: &str) -> String {
    let start = page.find("id=\"new-token\">").expect("the new token") + "id=\"new-token\">".len();
    page[start..].split('<').next().unwrap().to_owned()
}

#[actix_web::test]
async fn tokens_are_issued_with_an_expiry_and_an_expired_one_ends_its_sessions() {
    use diesel::prelude::*;
    use mobietrain_scim::db::schema::api_tokens;
    let (app, clock) = crate::invitations::app_with_clock();
    let account = app.account("A");
    let mut c = signed_in(&app, &account).await;
    let csrf = c.csrf().await;
    let form = c.get("/console/tokens").await;
    for offered in [
        "value=\"30\"",
        "value=\"90\"",
        "value=\"365\"",
        "value=\"never\"",
    ] {
        assert!(html(&form).contains(offered), "{offered}");
    }
    let now = app.state.clock.now_naive();
    let expiry_of = |token: &str| -> Option<chrono::NaiveDateTime> {
        api_tokens::table
            .filter(api_tokens::token_hash.eq(accounts::hash_token(token)))
            .select(api_tokens::expires_at)
            .first(&mut *app.conn())
            .unwrap()
    };

    let r = c
        .post(
            "/console/tokens",
            &[
                ("csrf", &csrf),
                ("label", "Ann (HR)"),
                ("scope", "admin"),
                ("expires", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    let in_30_days = now + chrono::Duration::days(30);
    let token = issued_token(html(&r));
    assert_eq!(expiry_of(&token), Some(in_30_days));
    let shown = in_30_days.format("%Y-%m-%d %H:%M UTC").to_string();
    assert!(
        html(&r).contains(&format!("It expires on {shown}.")),
        "{}",
        html(&r)
    );

    let r = c
        .post(
            "/console/tokens",
            &[
                ("csrf", &csrf),
                ("label", "Provisioning"),
                ("scope", "scim"),
                ("expires", "never"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", html(&r));
    assert_eq!(expiry_of(&issued_token(html(&r))), None);
    assert!(html(&r).contains("It never expires"));

    // An expiry the form does not offer, or none: refused, nothing issued.
    let before = app.count("api_tokens");
    for expires in [Some("7"), Some("-1"), Some("forever"), None] {
        let mut fields = vec![
            ("csrf", csrf.as_str()),
            ("label", "Eve"),
            ("scope", "admin"),
        ];
        if let Some(e) = expires {
            fields.push(("expires", e));
        }
        let r = c.post("/console/tokens", &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{expires:?}");
        assert!(html(&r).contains("choose one of the expiries offered"));
    }
    assert_eq!(app.count("api_tokens"), before);

    // A token that expires while its session is in use: the session ends with it.
    let (soon, soon_token) = accounts::issue_token_until(
        &mut app.conn(),
        &account.id,
        "Temp",
        accounts::Scope::Admin,
        Some(now + chrono::Duration::minutes(10)),
        now,
    )
    .unwrap();
    let mut temp = Console::new(&app);
    assert_eq!(
        temp.sign_in(&soon_token).await.status,
        StatusCode::SEE_OTHER
    );
    clock.advance(chrono::Duration::minutes(9));
    assert_eq!(temp.get("/console").await.status, StatusCode::OK);
    assert_eq!(c.get("/console").await.status, StatusCode::OK);
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(temp.get("/console").await.status, StatusCode::SEE_OTHER);
    // The list says so, with each token's expiry; an expired token has nothing to revoke.
    let list = c.get("/console/tokens").await;
    let row = row_in(html(&list), &format!("token-{}", soon.id));
    assert!(row.contains("expired") && !row.contains("<form"), "{row}");
    assert!(html(&list).contains(&shown), "Ann's expiry is listed");
}
