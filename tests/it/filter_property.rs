//! Property test of the filter compiler: for random users and random filters, the users the database
//! returns are exactly those an independent in-memory evaluation of the same filter selects from the
//! JSON resources. The evaluator here shares no code with the compiler: its own filter AST (rendered
//! to text for the server), its own attribute lookup, its own case folding.

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::harness::TestApp;
use crate::users_crud::urlencode;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// Values users and filters are drawn from: case variants, non-ASCII, LIKE metacharacters.
const WORDS: &[&str] = &[
    "alpha",
    "Alpha",
    "ALPHA",
    "alp",
    "ph",
    "bêta",
    "BÊTA",
    "Émile",
    "émile",
    "e\u{301}mile",
    "x%y",
    "x_y",
    "xay",
    "a\\b",
    "σίσυφος",
    "ΣΊΣΥΦΟΣ",
    "zed",
    "Zed",
    "straße",
    "User",
    "user",
    "",
];

/// Stores are account-wide: one name and code per ref id keeps what users send consistent.
const STORES: &[(&str, &str, &str)] = &[
    ("S1", "Gent", "32"),
    ("s1", "GENT", "31"),
    ("S_2", "x%y", "32"),
];

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text { case_exact: bool },
    Bool,
}

/// A filterable attribute: its canonical path and type.
#[derive(Debug, Clone, Copy)]
struct Attr {
    path: &'static str,
    kind: Kind,
}

const fn text(path: &'static str, case_exact: bool) -> Attr {
    Attr {
        path,
        kind: Kind::Text { case_exact },
    }
}

const ATTRS: &[Attr] = &[
    text("userName", false),
    // caseExact: `meta.resourceType eq "user"` matches nothing, `id` compares exactly.
    text("meta.resourceType", true),
    text("id", true),
    text("externalId", true),
    text("name.givenName", false),
    text("name.familyName", false),
    text("name.middleName", false),
    text("title", false),
    text("displayName", false),
    Attr {
        path: "active",
        kind: Kind::Bool,
    },
    text("emails.value", false),
    text("emails.type", false),
    Attr {
        path: "emails.primary",
        kind: Kind::Bool,
    },
    text("emails", false),
    text("phoneNumbers.value", false),
    text("addresses.locality", false),
    text("addresses.country", false),
    text("roles.value", false),
    text(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
        false,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        true,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:companyId",
        true,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:stores.refId",
        true,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:stores.name",
        false,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:storeName",
        false,
    ),
    text(
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:storeRefId",
        true,
    ),
];

/// Multi-valued attributes for value paths, with sub-attributes to test inside brackets.
const VALUE_PATHS: &[(&str, &[Attr])] = &[
    (
        "emails",
        &[
            text("value", false),
            text("type", false),
            Attr {
                path: "primary",
                kind: Kind::Bool,
            },
        ],
    ),
    (
        "addresses",
        &[text("locality", false), text("country", false)],
    ),
    (
        "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User:stores",
        &[text("refId", true), text("name", false)],
    ),
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

const OPS: &[Op] = &[
    Op::Eq,
    Op::Ne,
    Op::Co,
    Op::Sw,
    Op::Ew,
    Op::Gt,
    Op::Ge,
    Op::Lt,
    Op::Le,
];

#[derive(Debug, Clone)]
enum Val {
    Str(String),
    Bool(bool),
}

#[derive(Debug, Clone)]
enum F {
    Cmp {
        attr: Attr,
        shown: String,
        op: Op,
        val: Val,
    },
    Pr {
        attr: Attr,
        shown: String,
    },
    VPath {
        parent: &'static str,
        inner: Box<F>,
    },
    Not(Box<F>),
    And(Box<F>, Box<F>),
    Or(Box<F>, Box<F>),
}

fn op_text(op: Op) -> &'static str {
    match op {
        Op::Eq => "eq",
        Op::Ne => "ne",
        Op::Co => "co",
        Op::Sw => "sw",
        Op::Ew => "ew",
        Op::Gt => "gt",
        Op::Ge => "ge",
        Op::Lt => "lt",
        Op::Le => "le",
    }
}

fn render(f: &F) -> String {
    match f {
        F::Cmp { shown, op, val, .. } => {
            let v = match val {
                Val::Str(s) => serde_json::to_string(s).unwrap(),
                Val::Bool(b) => b.to_string(),
            };
            format!("{shown} {} {v}", op_text(*op))
        }
        F::Pr { shown, .. } => format!("{shown} pr"),
        F::VPath { parent, inner } => format!("{parent}[{}]", render(inner)),
        // RFC 7644's ABNF has no space between `not` and `(`; clients write both.
        F::Not(inner) if render(inner).len().is_multiple_of(2) => format!("not({})", render(inner)),
        F::Not(inner) => format!("not ({})", render(inner)),
        F::And(a, b) => format!("({}) and ({})", render(a), render(b)),
        F::Or(a, b) => format!("({}) or ({})", render(a), render(b)),
    }
}

/// Attribute names are case-insensitive: show some of them in another case.
fn shown_name(path: &str, upper: bool) -> String {
    if !upper {
        return path.to_owned();
    }
    match path.rsplit_once(':') {
        Some((urn, name)) => format!("{urn}:{}", name.to_uppercase()),
        None => path.to_uppercase(),
    }
}

fn leaf(attrs: &'static [Attr]) -> impl Strategy<Value = F> {
    (
        0..attrs.len(),
        0..OPS.len(),
        0..WORDS.len(),
        any::<bool>(),
        any::<bool>(),
        0..10u8,
    )
        .prop_map(move |(a, o, w, b, upper, shape)| {
            let attr = attrs[a];
            let shown = shown_name(attr.path, upper);
            match (attr.kind, shape) {
                (_, 0) => F::Pr { attr, shown },
                (Kind::Bool, _) => F::Cmp {
                    attr,
                    shown,
                    op: if shape % 2 == 0 { Op::Eq } else { Op::Ne },
                    val: Val::Bool(b),
                },
                (Kind::Text { .. }, _) => {
                    let word = WORDS[w];
                    // Sometimes a fragment of a value, so co/sw/ew have something to find.
                    let val = if shape > 7 && word.chars().count() > 2 {
                        word.chars().skip(1).collect()
                    } else {
                        word.to_owned()
                    };
                    // A constant takes eq and ne only.
                    let op = match attr.path {
                        "meta.resourceType" if shape % 2 == 0 => Op::Eq,
                        "meta.resourceType" => Op::Ne,
                        _ => OPS[o],
                    };
                    F::Cmp {
                        attr,
                        shown,
                        op,
                        val: Val::Str(val),
                    }
                }
            }
        })
}

fn filter() -> impl Strategy<Value = F> {
    let value_path = (0..VALUE_PATHS.len()).prop_flat_map(|i| {
        let (parent, subs) = VALUE_PATHS[i];
        let inner = leaf(subs).prop_recursive(2, 4, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|f| F::Not(Box::new(f))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| F::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| F::Or(Box::new(a), Box::new(b))),
            ]
        });
        inner.prop_map(move |f| F::VPath {
            parent,
            inner: Box::new(f),
        })
    });
    let base = prop_oneof![3 => leaf(ATTRS), 1 => value_path];
    base.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|f| F::Not(Box::new(f))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| F::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| F::Or(Box::new(a), Box::new(b))),
        ]
    })
}

fn word() -> impl Strategy<Value = String> {
    (0..WORDS.len()).prop_map(|i| WORDS[i].to_owned())
}

fn nonblank() -> impl Strategy<Value = String> {
    (0..WORDS.len() - 1).prop_map(|i| WORDS[i].to_owned())
}

/// Absent, explicitly null, or a value.
fn maybe(s: impl Strategy<Value = String>) -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 1 => Just(json!("__absent__")), 3 => s.prop_map(Value::String)]
}

fn user_body() -> impl Strategy<Value = Value> {
    let emails = prop::collection::vec(
        (
            nonblank(),
            prop_oneof![
                Just("example.com"),
                Just("Example.COM"),
                Just("exämple.org")
            ],
            prop_oneof![
                Just(json!("work")),
                Just(json!("Work")),
                Just(json!("home")),
                Just(Value::Null)
            ],
            any::<bool>(),
        ),
        1..4,
    );
    let addresses = prop::collection::vec((maybe(word()), maybe(word())), 0..3);
    let phones = prop::collection::vec(
        prop_oneof![Just("+32 470 12 34 56"), Just("+31 6 1234 5678")],
        0..3,
    );
    let stores = prop::collection::vec(0..STORES.len(), 0..3);
    (
        (nonblank(), nonblank(), maybe(word()), maybe(word()), maybe(word()), maybe(word())),
        (emails, addresses, phones, stores, prop::option::of(any::<bool>())),
        (maybe(word()), maybe(word()), maybe(word()), any::<bool>()),
    )
        .prop_map(|((given, family, middle, title, display, external), (emails, addresses, phones, stores, active), (department, manager, company, manager_role))| {
            let mut stores_json: Vec<Value> = Vec::new();
            for i in stores {
                let (ref_id, name, code) = STORES[i];
                if !stores_json.iter().any(|s| s["refId"] == ref_id) {
                    stores_json.push(json!({"refId": ref_id, "name": name, "countryCallingCode": code}));
                }
            }
            let mut body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "name": {"givenName": given, "familyName": family, "middleName": middle},
                "title": title, "displayName": display, "externalId": external,
                "emails": emails.iter().enumerate().map(|(i, (local, domain, kind, primary))| json!({
                    "value": format!("{}{i}@{domain}", local.replace(['\\', ' '], "")), "type": kind, "primary": *primary && i == 0
                })).collect::<Vec<_>>(),
                "addresses": addresses.iter().map(|(locality, country)| json!({"locality": locality, "country": country})).collect::<Vec<_>>(),
                "phoneNumbers": phones.iter().map(|p| json!({"value": p, "type": "mobile"})).collect::<Vec<_>>(),
                "roles": if manager_role && !stores_json.is_empty() { json!([{"value": "manager"}, {"value": "user"}]) } else { json!([{"value": "user"}]) },
                ENT: {"department": department, "manager": {"value": manager}},
                MT: {"companyId": company, "stores": stores_json},
            });
            if let Some(active) = active {
                body["active"] = json!(active);
            }
            strip_absent(&mut body);
            body
        })
}

fn strip_absent(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.retain(|_, v| *v != json!("__absent__"));
            map.values_mut().for_each(strip_absent);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_absent),
        _ => {}
    }
}

// ---- The independent evaluator --------------------------------------------------------------

fn fold(s: &str) -> String {
    s.nfc().collect::<String>().to_lowercase()
}

/// The leaf values at `path` in `resource` (elements of multi-valued attributes flattened).
fn values<'v>(resource: &'v Value, path: &str) -> Vec<&'v Value> {
    let (container, rest) = match path.rsplit_once(':') {
        Some((urn, rest)) => (&resource[urn], rest),
        None => (resource, path),
    };
    let (top, sub) = match rest.split_once('.') {
        Some((t, s)) => (t, Some(s)),
        None => (rest, None),
    };
    let node = &container[top];
    let elements: Vec<&Value> = match node {
        Value::Array(items) => items.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    };
    let sub = sub.or_else(|| elements.first().filter(|e| e.is_object()).map(|_| "value"));
    elements
        .into_iter()
        .map(|e| match sub {
            Some(s) => &e[s],
            None => e,
        })
        .filter(|v| !v.is_null())
        .collect()
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        _ => true,
    }
}

fn compare(kind: Kind, op: Op, have: &Value, want: &Val) -> bool {
    match (kind, want, have) {
        (Kind::Bool, Val::Bool(w), Value::Bool(h)) => op == Op::Eq && h == w,
        (Kind::Text { case_exact }, Val::Str(w), Value::String(h)) => {
            let (h, w) = if case_exact {
                (h.clone(), w.clone())
            } else {
                (fold(h), fold(w))
            };
            match op {
                Op::Eq => h == w,
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
                Op::Ne => unreachable!("ne is evaluated as not eq"),
            }
        }
        _ => false,
    }
}

fn eval(f: &F, resource: &Value) -> bool {
    match f {
        F::Cmp {
            attr,
            op: Op::Ne,
            val,
            shown,
        } => !eval(
            &F::Cmp {
                attr: *attr,
                shown: shown.clone(),
                op: Op::Eq,
                val: val.clone(),
            },
            resource,
        ),
        F::Cmp { attr, op, val, .. } => values(resource, attr.path)
            .iter()
            .any(|v| compare(attr.kind, *op, v, val)),
        F::Pr { attr, .. } => values(resource, attr.path).iter().any(|v| present(v)),
        F::VPath { parent, inner } => {
            let (container, name) = match parent.rsplit_once(':') {
                Some((urn, name)) => (&resource[urn], name),
                None => (resource, *parent),
            };
            container[name]
                .as_array()
                .is_some_and(|items| items.iter().any(|e| eval(inner, e)))
        }
        F::Not(inner) => !eval(inner, resource),
        F::And(a, b) => eval(a, resource) && eval(b, resource),
        F::Or(a, b) => eval(a, resource) || eval(b, resource),
    }
}

/// Datasets per backend, and filters per dataset: 4 × 130 = 520 cases.
const DATASETS: u32 = 4;
const FILTERS_PER_DATASET: usize = 130;

#[test]
fn sql_filters_agree_with_an_in_memory_evaluation() {
    let config = Config {
        cases: DATASETS,
        max_shrink_iters: 64,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (
        prop::collection::vec(user_body(), 12..28),
        prop::collection::vec(filter(), FILTERS_PER_DATASET),
    );
    let result = runner.run(&strategy, |(users, filters)| {
        actix_web::rt::System::new().block_on(async move {
            let app = TestApp::new();
            let acct = app.account("prop");
            let mut created: Vec<String> = Vec::new();
            for (i, mut body) in users.into_iter().enumerate() {
                body["userName"] = json!(format!("{}-{i}", WORDS[i % (WORDS.len() - 1)]));
                if let Some(external) = body["externalId"].as_str() {
                    body["externalId"] = json!(format!("{external}-{i}"));
                }
                // A manager is a user of the account: a drawn word picks an earlier user (a blank
                // value, which references no one, stays).
                if let Some(word) = body[ENT]["manager"]["value"].as_str().map(str::to_owned)
                    && !word.is_empty()
                {
                    match created.get(word.len() % created.len().max(1)) {
                        Some(id) => body[ENT]["manager"]["value"] = json!(id),
                        None => {
                            body[ENT].as_object_mut().unwrap().remove("manager");
                        }
                    }
                }
                let r = app.post("/scim/v2/Users", &acct.scim, &body).await;
                prop_assert_eq!(r.status.as_u16(), 201, "{} for {}", r.body, body);
                created.push(r.body["id"].as_str().unwrap().to_owned());
            }
            let all = app.get("/scim/v2/Users?count=1000", &acct.scim).await;
            let resources = all.body["Resources"].as_array().unwrap().clone();
            let mut discriminating = 0;
            for f in &filters {
                let text = render(f);
                let expected: Vec<&str> =
                    resources.iter().filter(|u| eval(f, u)).map(|u| u["id"].as_str().unwrap()).collect();
                let r = app.get(&format!("/scim/v2/Users?count=1000&filter={}", urlencode(&text)), &acct.scim).await;
                prop_assert_eq!(r.status.as_u16(), 200, "{}: {}", text, r.body);
                let got: Vec<&str> = r.body["Resources"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
                if !expected.is_empty() && expected.len() < resources.len() {
                    discriminating += 1;
                }
                if got != expected {
                    let differing: Vec<&Value> = resources
                        .iter()
                        .filter(|u| got.contains(&u["id"].as_str().unwrap()) != expected.contains(&u["id"].as_str().unwrap()))
                        .collect();
                    return Err(TestCaseError::fail(format!(
                        "filter {text}\nSQL returned {} users, the evaluator {}; users they disagree on:\n{}",
                        got.len(),
                        expected.len(),
                        serde_json::to_string_pretty(&differing).unwrap()
                    )));
                }
            }
            // The cases must have teeth: many filters select some users but not all.
            prop_assert!(discriminating * 4 >= filters.len(), "only {} of {} filters discriminate", discriminating, filters.len());
            eprintln!("filter property: {discriminating} of {} filters select a proper, non-empty subset", filters.len());
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
