//! Property tests of the parsers a SCIM request reaches: random bytes, nesting and sizes never
//! panic, never take a 5xx, and never write. The JSON body and the query string go through the real
//! app (intake, token check, body parse, projection); filters, projection lists and PATCH paths are
//! also fed to their parsers directly, many more cases than HTTP could afford.

use actix_web::http::Method;
use actix_web::test::TestRequest;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

use mobietrain_scim::scim::error::ScimType;
use mobietrain_scim::scim::filter;
use mobietrain_scim::scim::patch;
use mobietrain_scim::scim::projection::Projection;
use mobietrain_scim::scim::schema::Registry;

use crate::harness::TestApp;

/// Pieces the generators glue together: grammar tokens, attribute names, and the characters that
/// break parsers (quotes, brackets, NUL, control characters, non-ASCII, escapes).
const PIECES: &[&str] = &[
    "userName",
    "emails",
    "[",
    "]",
    "type",
    "value",
    "eq",
    "co",
    "pr",
    " and ",
    " or ",
    "not(",
    "(",
    ")",
    "\"",
    "\\",
    "\\u0000",
    "\u{0}",
    "\r\n",
    ".",
    ",",
    ":",
    "urn:ietf:params:scim:",
    "schemas:core:2.0:User:",
    "name.givenName",
    "members",
    "é",
    "\u{200B}",
    "ﬁ",
    "%",
    "*",
    "1e999",
    "true",
    "null",
    "{",
    "}",
    "'",
    " ",
    "title",
    "meta.lastModified",
    "gt",
    "\"2026-01-01\"",
];

/// What a filter error's detail never shows: the parser generator's wording and token names.
const PARSER_INTERNALS: &[&str] = &[
    "Expected one of",
    "Unrecognized",
    "Invalid token",
    "AttrNameTok",
    "AttrPathTok",
    "StringLit",
    "NumberLit",
    "(?i:",
];

fn glued() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(PIECES).prop_map(str::to_owned),
            "\\PC{0,6}",
            any::<u8>().prop_map(|b| char::from(b).to_string()),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Random JSON: nested to random depth (also beyond serde's limit), with random keys and values.
fn json_value(depth: u32) -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        glued().prop_map(Value::String),
    ];
    leaf.prop_recursive(depth, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((glued(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new_with_rng(
        Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    )
}

#[test]
fn filters_projection_lists_and_patch_paths_never_panic() {
    let registry = Registry::embedded();
    let user = registry.resource_type("User").unwrap().clone();
    let group = registry.resource_type("Group").unwrap().clone();
    runner(3000)
        .run(&(glued(), glued(), 0usize..300), |(a, b, repeat)| {
            for text in [a.clone(), format!("{a} eq \"{b}\"")] {
                // A filter that does not parse is `invalidFilter`, explained in our words.
                if let Err(e) = filter::parse(&text) {
                    prop_assert_eq!(e.scim_type, ScimType::InvalidFilter, "{:?}", text);
                    for internal in PARSER_INTERNALS {
                        prop_assert!(!e.detail.contains(internal), "{:?}: {}", text, e.detail);
                    }
                }
            }
            let long = vec![a.as_str(); repeat].join(",");
            for rt in [&user, &group] {
                let parsed = Projection::parse(&registry, rt, Some(&long), Some(&b));
                let lenient = Projection::parse_lenient(&registry, rt, Some(&b), Some(&long));
                // Past the bound both refuse, whatever the entries.
                if repeat > registry.limits().projection_paths && !a.trim().is_empty() {
                    let every_entry_empty = a.split(',').all(|p| p.trim().is_empty());
                    prop_assert!(every_entry_empty || parsed.is_err());
                    prop_assert!(every_entry_empty || lenient.is_err());
                }
                let body = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "replace", "path": a, "value": b}],
                });
                let mut rewrites = Vec::new();
                if let Ok(ops) = patch::normalize(&registry, rt, &body, &mut rewrites) {
                    let doc = serde_json::Map::new();
                    let _ = patch::apply(&registry, rt, &doc, &ops, &mut rewrites);
                }
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn random_patch_bodies_never_panic() {
    let registry = Registry::embedded();
    let user = registry.resource_type("User").unwrap().clone();
    runner(1500)
        .run(&json_value(6), |body| {
            let mut rewrites = Vec::new();
            let wrapped = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [body.clone()],
            });
            for candidate in [&body, &wrapped] {
                if let Ok(ops) = patch::normalize(&registry, &user, candidate, &mut rewrites) {
                    let _ = patch::apply(
                        &registry,
                        &user,
                        &serde_json::Map::new(),
                        &ops,
                        &mut rewrites,
                    );
                }
            }
            Ok(())
        })
        .unwrap();
}

/// What a random request may be answered: anything but a server error.
fn assert_client_answer(status: u16, what: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        status < 500,
        "{what} was answered {status}: a client's input is never a 5xx"
    );
    Ok(())
}

#[actix_web::test]
async fn random_bodies_and_queries_through_the_app_are_4xx_or_served_never_5xx() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let group = app
        .post(
            "/scim/v2/Groups",
            &acct.scim,
            &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "G"}),
        )
        .await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let bodies = {
        let mut runner = runner(1);
        let strategy = prop_oneof![
            json_value(5).prop_map(|v| v.to_string().into_bytes()),
            // Deep nesting, past serde_json's recursion limit.
            (1usize..400).prop_map(|n| format!("{}{}", "[".repeat(n), "]".repeat(n)).into_bytes()),
            prop::collection::vec(any::<u8>(), 0..512),
            glued().prop_map(String::into_bytes),
        ];
        (0..160)
            .map(|_| {
                strategy
                    .new_tree(&mut runner)
                    .expect("the strategy generates")
                    .current()
            })
            .collect::<Vec<_>>()
    };
    let queries: Vec<String> = {
        let mut runner = runner(1);
        (0..80)
            .map(|_| glued().new_tree(&mut runner).unwrap().current())
            .collect()
    };
    let users_before = app.count("users");
    let paths = [
        (Method::POST, "/scim/v2/Users".to_owned()),
        (Method::POST, "/scim/v2/.search".to_owned()),
        (Method::POST, "/scim/v2/Groups/.search".to_owned()),
        (Method::PATCH, format!("/scim/v2/Groups/{group_id}")),
        (Method::PUT, format!("/scim/v2/Groups/{group_id}")),
    ];
    for (i, body) in bodies.iter().enumerate() {
        let (method, path) = &paths[i % paths.len()];
        let r = app
            .send(
                TestRequest::default()
                    .method(method.clone())
                    .uri(path)
                    .insert_header(("Authorization", format!("Bearer {}", acct.scim)))
                    .insert_header(("Content-Type", "application/scim+json"))
                    .set_payload(body.clone()),
            )
            .await;
        assert_client_answer(r.status.as_u16(), &format!("{method} {path} {body:?}")).unwrap();
    }
    for q in &queries {
        let encoded = crate::users_crud::urlencode(q);
        for path in [
            format!("/scim/v2/Users?filter={encoded}"),
            format!("/scim/v2/Users?attributes={encoded}&excludedAttributes={encoded}"),
            format!("/scim/v2/Groups?sortBy={encoded}&startIndex={encoded}&count={encoded}"),
        ] {
            let r = app.get(&path, &acct.scim).await;
            assert_client_answer(r.status.as_u16(), &path).unwrap();
            // A filter that cannot be answered is `invalidFilter` (a NUL is refused before, as such).
            if path.contains("?filter=") && r.status == 400 && !q.contains('\0') {
                assert_eq!(r.body["scimType"], "invalidFilter", "{path}: {}", r.body);
            }
        }
    }
    // A PUT of the group may have renamed it; no random body made a user.
    assert_eq!(app.count("users"), users_before);
}
