//! The hardening findings, each reproduced against the real app on the backend under test: the
//! token is checked before anything of a request is parsed; every list is bounded; bodies have a
//! read deadline; NUL is one answer on both backends; responses never carry a host a client chose.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::harness::{TestApp, user};
use crate::invitations::{account_with_group, assert_problem};

/// A SearchRequest whose `excludedAttributes` names `title` `n` times (the High finding's body).
fn flood(n: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "excludedAttributes": vec!["title"; n],
    })
}

/// A request with a raw body and content type.
fn raw(method: Method, path: &str, token: Option<&str>, ctype: &str, body: &str) -> TestRequest {
    let mut req = TestRequest::default()
        .method(method)
        .uri(path)
        .insert_header(("Content-Type", ctype.to_owned()))
        .set_payload(body.to_owned());
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    req
}

#[actix_web::test]
async fn without_a_valid_token_every_request_is_401_whatever_its_body_or_query() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let huge = flood(100_000).to_string();
    let too_large = "x".repeat(app.state.settings.max_body_bytes + 1);
    // (method, path, content type, body): each would be a 400, 413 or 415 with a valid token.
    let cases: Vec<(Method, &str, &str, &str)> = vec![
        (
            Method::POST,
            "/scim/v2/.search",
            "application/scim+json",
            &huge,
        ),
        (
            Method::POST,
            "/scim/v2/Users/.search",
            "application/scim+json",
            &huge,
        ),
        (
            Method::POST,
            "/scim/v2/Groups/.search",
            "application/scim+json",
            "{not json",
        ),
        (Method::POST, "/scim/v2/Users", "text/plain", "{}"),
        (
            Method::POST,
            "/scim/v2/Users",
            "application/scim+json",
            &too_large,
        ),
        (
            Method::PUT,
            "/scim/v2/Users/x",
            "application/scim+json",
            "[1,",
        ),
        (
            Method::PATCH,
            "/scim/v2/Groups/x",
            "application/json",
            "nope",
        ),
        (
            Method::GET,
            "/scim/v2/Users?attributes=nope&filter=((((",
            "application/json",
            "",
        ),
        (
            Method::GET,
            "/scim/v2/Users/x?attributes=a%00b",
            "application/json",
            "",
        ),
        (
            Method::GET,
            "/scim/v2/Schemas?filter=a%00",
            "application/json",
            "",
        ),
        (Method::POST, "/admin/v1/invitations", "text/plain", "{}"),
        (
            Method::POST,
            "/admin/v1/invitations",
            "application/json",
            "{nope",
        ),
        (
            Method::PATCH,
            "/admin/v1/account",
            "application/json",
            &too_large,
        ),
        (
            Method::GET,
            "/admin/v1/audit?limit=banana&limit=2",
            "application/json",
            "",
        ),
        (
            Method::POST,
            "/app/v1/me/onboarding",
            "application/json",
            "{nope",
        ),
        (Method::POST, "/app/v1/me/onboarding", "text/plain", "{}"),
    ];
    for (method, path, ctype, body) in &cases {
        for token in [None, Some("mts_garbage"), Some(&acct.admin[..])] {
            // The admin token is valid, but for the other API; on the admin API use a SCIM token.
            let token = match (token, path.starts_with("/admin")) {
                (Some(t), true) if t == acct.admin => Some(&acct.scim[..]),
                (t, _) => t,
            };
            let r = app
                .send(raw(method.clone(), path, token, ctype, body))
                .await;
            // A valid token of the other scope is a 403 (the app API's sessions are not account
            // tokens, so there it is unknown): refused before anything is parsed all the same.
            let other_scope = token.is_some_and(|t| t == acct.admin || t == acct.scim)
                && !path.starts_with("/app");
            let expected = if other_scope { 403 } else { 401 };
            assert_eq!(
                r.status.as_u16(),
                expected,
                "{method} {path} with {token:?}: {}",
                r.body
            );
            if !other_scope {
                assert_eq!(r.header("www-authenticate").as_deref(), Some("Bearer"));
            }
        }
    }

    // With a valid token the same requests are refused for what they are.
    let scim = Some(&acct.scim[..]);
    let expect = [(0, 400), (3, 415), (4, 413), (5, 400), (7, 400), (8, 400)];
    for (i, status) in expect {
        let (method, path, ctype, body) = &cases[i];
        let r = app.send(raw(method.clone(), path, scim, ctype, body)).await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.body);
    }
    let admin = Some(&acct.admin[..]);
    for (i, status) in [(10, 415), (11, 400), (12, 413)] {
        let (method, path, ctype, body) = &cases[i];
        let r = app
            .send(raw(method.clone(), path, admin, ctype, body))
            .await;
        assert_eq!(r.status.as_u16(), status, "{method} {path}: {}", r.body);
    }
}

#[actix_web::test]
async fn projection_lists_are_bounded_and_each_path_is_resolved_once() {
    let app = TestApp::new();
    let acct = app.account("acme");
    app.post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;

    // The High finding's body, with a valid token: refused at once, naming the bound.
    let r = app
        .post("/scim/v2/.search", &acct.scim, &flood(100_000))
        .await;
    let detail = r.assert_scim_error(400, Some("invalidValue"));
    assert!(
        detail.contains("excludedAttributes") && detail.contains("100"),
        "{detail}"
    );
    let r = app
        .post("/scim/v2/Users/.search", &acct.scim, &flood(101))
        .await;
    r.assert_scim_error(400, Some("invalidValue"));

    // 100 entries (the same one repeated) are within the bound and mean that one attribute.
    let r = app.post("/scim/v2/.search", &acct.scim, &flood(100)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["totalResults"], 1);
    let list = vec!["userName"; 101].join(",");
    app.get(&format!("/scim/v2/Users?attributes={list}"), &acct.scim)
        .await
        .assert_scim_error(400, Some("invalidValue"));
    let list = vec!["userName"; 100].join(",");
    let r = app
        .get(&format!("/scim/v2/Users?attributes={list}"), &acct.scim)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["Resources"][0]["userName"], "ann@example.com");
    assert!(r.body["Resources"][0].get("emails").is_none());
}

#[actix_web::test]
async fn patch_operations_are_bounded_but_a_large_group_fits_in_one_patch() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let group = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "All"}),
        )
        .await;
    let id = group.body["id"].as_str().unwrap().to_owned();
    let op = json!({"op": "replace", "path": "displayName", "value": "All staff"});
    let patch = |n: usize| {
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": vec![op.clone(); n],
        })
    };
    let path = format!("/scim/v2/Groups/{id}");
    app.call(Method::PATCH, &path, &acct.scim, Some(&patch(1001)))
        .await
        .assert_scim_error(400, Some("invalidValue"));
    let r = app
        .call(Method::PATCH, &path, &acct.scim, Some(&patch(1000)))
        .await;
    assert_eq!(r.status, 204, "{}", r.body);

    let members: Vec<Value> = crate::groups::bulk_users(&mut app.conn(), &acct.id, 20_000)
        .into_iter()
        .map(|id| json!({"value": id}))
        .collect();
    let add = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": members}],
    });
    let r = app.call(Method::PATCH, &path, &acct.scim, Some(&add)).await;
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(app.count("group_members"), 20_000);
}

#[actix_web::test]
async fn nul_is_refused_everywhere_as_invalid_value_naming_the_attribute() {
    let app = TestApp::new();
    let (acct, group) = account_with_group(&app, "acme").await;
    let users_before = app.count("users");

    let mut body = user("ann@example.com");
    body["userName"] = json!("ann\u{0}@example.com");
    let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert!(
        r.assert_scim_error(400, Some("invalidValue"))
            .contains("\"userName\""),
        "{}",
        r.body
    );
    let mut body = user("ann@example.com");
    body["emails"][0]["value"] = json!("ann@exa\u{0}mple.com");
    let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert!(
        r.assert_scim_error(400, Some("invalidValue"))
            .contains("emails[0].value")
    );
    assert_eq!(app.count("users"), users_before, "nothing was written");

    // A backslash followed by the text u0000 is no NUL: stored and returned as sent.
    let literal = "ann\\u0000@example.com";
    let r = app.post("/scim/v2/Users", &acct.scim, &user(literal)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["userName"], literal);
    let id = r.body["id"].as_str().unwrap().to_owned();

    // PATCH values, filters in the query and in a SearchRequest.
    let patch = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "title", "value": "Cash\u{0}ier"}],
    });
    app.call(
        Method::PATCH,
        &format!("/scim/v2/Users/{id}"),
        &acct.scim,
        Some(&patch),
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    app.get(
        "/scim/v2/Users?filter=userName%20eq%20%22a%00b%22",
        &acct.scim,
    )
    .await
    .assert_scim_error(400, Some("invalidValue"));
    let search = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": "userName eq \"a\u{0}b\"",
    });
    let r = app
        .post("/scim/v2/Users/.search", &acct.scim, &search)
        .await;
    assert!(
        r.assert_scim_error(400, Some("invalidValue"))
            .contains("filter")
    );
    app.get("/scim/v2/Users/a%00b", &acct.scim)
        .await
        .assert_scim_error(400, Some("invalidValue"));

    // The admin API and the unauthenticated routes: a 4xx, never a 500.
    let mut form = crate::invitations::form("bo@example.com", &group);
    form["givenName"] = json!("B\u{0}o");
    let r = app.post("/admin/v1/invitations", &acct.admin, &form).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("givenName"));
    let r = app
        .send(raw(
            Method::POST,
            "/invitations/accept",
            None,
            "application/json",
            r#"{"token":"a\u0000b.c"}"#,
        ))
        .await;
    assert_problem(&r, 400, Some("token"));
    // What anyone may send there is small, whatever MAX_BODY_BYTES allows.
    let padded = format!(r#"{{"token":"a.b","pad":"{}"}}"#, "x".repeat(17 * 1024));
    let r = app
        .send(raw(
            Method::POST,
            "/invitations/accept",
            None,
            "application/json",
            &padded,
        ))
        .await;
    assert_problem(&r, 413, None);
    let r = app
        .send(TestRequest::get().uri("/crewplanner/a%00b/launch?jwt=a.b.c"))
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    let r = app
        .send(TestRequest::get().uri(&format!("/crewplanner/{}/launch?jwt=a%00.b.c", acct.id)))
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    assert_eq!(app.count("users"), users_before + 1);
}

#[actix_web::test]
async fn responses_carry_the_configured_base_url_never_the_request_host() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let base = app.state.settings.public_url.clone();
    let r = app
        .send(
            TestRequest::post()
                .uri("/scim/v2/Users")
                .insert_header(("Host", "evil.example"))
                .insert_header(("X-Forwarded-Host", "evil.example"))
                .insert_header(("X-Forwarded-Proto", "https"))
                .insert_header(("Forwarded", "host=evil.example;proto=https"))
                .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                .insert_header(("Content-Type", "application/scim+json"))
                .set_payload(user("ann@example.com").to_string()),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with(&format!("{base}/scim/v2/Users/")),
        "{location}"
    );
    assert_eq!(r.body["meta"]["location"], location);
    assert!(!r.body.to_string().contains("evil.example"));
}

/// Sends `head` and then `trickle` one byte at a time, one per 300 ms, and returns what the server
/// answered (empty when it closed without answering) and whether it then closed the connection.
fn slow_request(base: &str, head: &str, trickle: &[u8]) -> (String, bool) {
    let addr = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    for byte in trickle {
        if stream.write_all(&[*byte]).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&buf[..n]);
                break;
            }
            Err(_) => {}
        }
    }
    // Whatever else is on its way, until the server closes.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => break e.kind() == std::io::ErrorKind::ConnectionReset,
        }
    };
    (String::from_utf8_lossy(&answer).into_owned(), closed)
}

#[test]
fn a_body_that_trickles_in_is_cut_off_at_the_read_deadline() {
    let settings = mobietrain_scim::state::HttpSettings {
        body_read_timeout: Duration::from_secs(1),
        ..Default::default()
    };
    let app = TestApp::with(settings, 2);
    let acct = app.account("acme");
    let (base, handle) = app.serve(1);
    // 100 bytes announced, one sent every 300 ms: the deadline (1 s) passes long before the end.
    let body = user("ann@example.com").to_string();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n",
        acct.scim,
        body.len()
    );
    let (answer, closed) = slow_request(&base, &head, body.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(closed, "the rest of the body is never read as a request");
    assert_eq!(app.count("users"), 0);

    // Without a valid token the answer is the 401, after the same bounded wait.
    let head = head.replace(&acct.scim, "mts_garbage");
    let (answer, closed) = slow_request(&base, &head, body.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(closed, "the rest of the body is never read as a request");

    // A body sent at once is unaffected.
    let head = head
        .replace("mts_garbage", &acct.scim)
        .replace("Host: x\r\n", "Host: x\r\nConnection: close\r\n");
    let (answer, _) = slow_request(&base, &format!("{head}{body}"), b"");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    actix_web::rt::System::new().block_on(handle.stop(true));
}

#[test]
fn serve_refuses_to_start_off_loopback_without_public_url() {
    let db = crate::harness::TestDb::new();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
        .args(["serve", "--bind", "0.0.0.0:0"])
        .env("DATABASE_URL", &db.url)
        .env(
            "SERVER_KEY",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .env_remove("PUBLIC_URL")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PUBLIC_URL is required"), "{stderr}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
        .args(["serve", "--bind", "127.0.0.1:0", "--public-url", "ftp://x"])
        .env("DATABASE_URL", &db.url)
        .env(
            "SERVER_KEY",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("PUBLIC_URL must be"));
}

#[test]
fn a_malformed_request_is_one_warning_line_never_an_error() {
    use std::io::BufRead;
    let db = crate::harness::TestDb::new();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
        .args(["serve", "--bind", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.url)
        .env(
            "SERVER_KEY",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        )
        .env("RUST_LOG", "info")
        .env("WORKER_THREADS", "0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let addr = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| {
            line.split("listening on http://")
                .nth(1)
                .map(|rest| rest.split_whitespace().next().unwrap().to_owned())
        })
        .expect("the server says where it listens");
    let mut stream = TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: \x01\r\n\r\n")
        .unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 400");
    drop(stream);
    // Stop the server, then read everything it logged.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let output = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.lines().any(|l| l.contains("WARN")
            && l.contains("malformed request was answered 400")
            && l.contains("invalid Header")),
        "{log}"
    );
    assert!(!log.contains("ERROR"), "{log}");
}
