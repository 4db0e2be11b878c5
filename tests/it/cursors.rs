//! Cursor paging (RFC 9865) on `/Users`, `/Groups` and their `.search`: a walk over a tenant that
//! changes while it is read sees every user that existed throughout exactly once; sorting is
//! honoured; each page is an index range; cursors of another tenant, another filter, tampered or
//! expired ones are refused.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{TimeZone, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use mobietrain_scim::clock::ManualClock;
use mobietrain_scim::config::ObservabilityConfig;
use mobietrain_scim::db::models::UserRow;
use mobietrain_scim::db::schema::users;
use mobietrain_scim::scim::cursor::{Paging, Position, SortValue};
use mobietrain_scim::scim::list::{ListRequest, Page, Sort};
use mobietrain_scim::state::HttpSettings;
use serde_json::{Value, json};

use crate::harness::{Resp, TestApp, TestDb, user};
use crate::users_crud::urlencode;

/// The ids of a page's resources.
fn ids(page: &Resp) -> Vec<String> {
    page.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", page.body))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Walks `path` (with its query, without `cursor`) page by page; gives every page's ids.
async fn walk(app: &TestApp, token: &str, path: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor = String::new();
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = app
            .get(&format!("{path}{sep}cursor={}", urlencode(&cursor)), token)
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.get("startIndex").is_none());
        pages.push(ids(&page));
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => return pages,
        }
        assert!(pages.len() < 1000, "the walk does not end");
    }
}

fn row(account_id: &str, name: &str) -> UserRow {
    let now = Utc::now().naive_utc();
    UserRow {
        id: mobietrain_scim::accounts::new_id(),
        account_id: account_id.to_owned(),
        user_name: name.to_owned(),
        user_name_ci: name.to_owned(),
        active: true,
        origin: "scim".into(),
        sign_in: "any".into(),
        registration: "registered".into(),
        version: 1,
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

#[actix_web::test]
async fn a_walk_while_users_come_and_go_sees_each_lasting_user_exactly_once() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let originals = crate::groups::bulk_users(&mut app.conn(), &acct.id, 10_000);
    // Every fifth original is deleted while the walk runs; new users are created all along.
    let doomed: Vec<String> = originals.iter().step_by(5).cloned().collect();
    let stop = Arc::new(AtomicBool::new(false));
    let churn = {
        let (pool, account_id, doomed, stop) = (
            app.state.pool.clone(),
            acct.id.clone(),
            doomed.clone(),
            stop.clone(),
        );
        std::thread::spawn(move || {
            let mut conn = pool.get().unwrap();
            let mut created = 0;
            for (n, id) in doomed.iter().enumerate() {
                diesel::delete(users::table.find(id))
                    .execute(&mut conn)
                    .unwrap();
                diesel::insert_into(users::table)
                    .values(&row(&account_id, &format!("churn{n}")))
                    .execute(&mut conn)
                    .unwrap();
                created += 1;
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            created
        })
    };
    let pages = walk(&app, &acct.scim, "/scim/v2/Users?count=400&attributes=id").await;
    stop.store(true, Ordering::Relaxed);
    let created = churn.join().unwrap();
    assert!(created > 0);

    let mut seen: HashMap<String, usize> = HashMap::new();
    for id in pages.iter().flatten() {
        *seen.entry(id.clone()).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "repeated: {repeated:?}");
    let doomed: HashSet<&String> = doomed.iter().collect();
    let missed: Vec<_> = originals
        .iter()
        .filter(|id| !doomed.contains(id) && !seen.contains_key(*id))
        .collect();
    assert!(missed.is_empty(), "{} lasting users missed", missed.len());
}

/// Sixty users whose names, titles (some missing, some repeated) and creation times (to the
/// nanosecond, three to a time; PostgreSQL keeps microseconds) come in orders unlike creation
/// order.
fn sixty_users(app: &TestApp, account_id: &str) {
    let mut conn = app.conn();
    let base = Utc
        .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
        .unwrap()
        .naive_utc();
    for i in 0..60 {
        let mut r = row(account_id, &format!("user{:02}", (i * 37) % 60));
        r.title = (i % 4 != 0).then(|| format!("t{}", i % 3));
        r.created_at = base + chrono::Duration::nanoseconds(((i * 7) % 20) * 1_234_567_891);
        r.updated_at = base + chrono::Duration::nanoseconds(((i * 11) % 60) * 987_654_321);
        diesel::insert_into(users::table)
            .values(&r)
            .execute(&mut conn)
            .unwrap();
    }
}

/// The sorts the cursor tests walk by.
const SORTS: [&str; 8] = [
    "sortBy=userName",
    "sortBy=userName&sortOrder=descending",
    "sortBy=title",
    "sortBy=title&sortOrder=descending",
    "sortBy=active",
    "sortBy=meta.created",
    "sortBy=meta.created&sortOrder=descending",
    "sortBy=meta.lastModified",
];

#[actix_web::test]
async fn sorting_is_honoured_and_matches_index_paging() {
    let app = TestApp::new();
    let acct = app.account("acme");
    sixty_users(&app, &acct.id);
    for query in SORTS {
        let pages = walk(&app, &acct.scim, &format!("/scim/v2/Users?count=7&{query}")).await;
        let walked: Vec<String> = pages.concat();
        let all = app
            .get(&format!("/scim/v2/Users?count=100&{query}"), &acct.scim)
            .await;
        assert_eq!(walked, ids(&all), "{query}");
        assert_eq!(pages.len(), 9, "{query}");
    }
}

/// One page of a walk: its ids and its cursors.
struct Turned {
    ids: Vec<String>,
    previous: Option<String>,
    next: Option<String>,
    total: Value,
}

async fn page_at(app: &TestApp, token: &str, path: &str, cursor: &str) -> Turned {
    let page = app
        .get(&format!("{path}&cursor={}", urlencode(cursor)), token)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let cursor = |name: &str| page.body[name].as_str().map(str::to_owned);
    Turned {
        ids: ids(&page),
        previous: cursor("previousCursor"),
        next: cursor("nextCursor"),
        total: page.body["totalResults"].clone(),
    }
}

#[actix_web::test]
async fn previous_cursors_walk_back_over_the_same_pages() {
    let app = TestApp::new();
    let acct = app.account("acme");
    sixty_users(&app, &acct.id);
    for query in ["attributes=id"]
        .into_iter()
        .chain(SORTS)
        .map(|q| format!("/scim/v2/Users?count=7&{q}"))
    {
        let mut forward = vec![page_at(&app, &acct.scim, &query, "").await];
        assert!(forward[0].previous.is_none(), "{query}: the first page");
        while let Some(next) = forward.last().unwrap().next.clone() {
            let page = page_at(&app, &acct.scim, &query, &next).await;
            assert!(page.previous.is_some(), "{query}: a later page");
            forward.push(page);
        }
        assert_eq!(forward.len(), 9, "{query}");
        // From the last page back to the first, each previousCursor gives the page before.
        let mut at = forward.len() - 1;
        while let Some(previous) = forward[at].previous.clone() {
            let page = page_at(&app, &acct.scim, &query, &previous).await;
            at -= 1;
            assert_eq!(page.ids, forward[at].ids, "{query}: back to page {at}");
            assert_eq!(page.total, 60);
            // A page reached going back leads on again.
            let on = page_at(&app, &acct.scim, &query, page.next.as_deref().unwrap()).await;
            assert_eq!(on.ids, forward[at + 1].ids, "{query}: on from page {at}");
            if at == 0 {
                assert!(page.previous.is_none(), "{query}: back at the first page");
            }
        }
        assert_eq!(at, 0, "{query}: the walk back reaches the first page");
    }
}

#[actix_web::test]
async fn total_results_is_counted_on_the_first_page_and_carried_by_the_cursors() {
    let app = TestApp::new();
    let acct = app.account("acme");
    sixty_users(&app, &acct.id);
    let query = "/scim/v2/Users?count=25&sortBy=userName";
    let first = page_at(&app, &acct.scim, query, "").await;
    assert_eq!(first.total, 60);
    diesel::insert_into(users::table)
        .values(&row(&acct.id, "latecomer"))
        .execute(&mut app.conn())
        .unwrap();
    // The walk goes on with the count it started with (RFC 9865 §2 lets cursor pages estimate
    // it); a new walk counts again.
    let second = page_at(&app, &acct.scim, query, first.next.as_deref().unwrap()).await;
    assert_eq!(second.total, 60);
    let back = page_at(&app, &acct.scim, query, second.previous.as_deref().unwrap()).await;
    assert_eq!(back.total, 60);
    assert_eq!(page_at(&app, &acct.scim, query, "").await.total, 61);
    // A page of no resources asks for the count alone.
    let none = page_at(&app, &acct.scim, "/scim/v2/Users?count=0", "").await;
    assert_eq!((none.total, none.ids.len()), (json!(61), 0));
}

#[actix_web::test]
async fn search_bodies_and_groups_page_by_cursor_too() {
    let app = TestApp::new();
    let acct = app.account("acme");
    for i in 0..5 {
        let r = app
            .post(
                "/scim/v2/Groups",
                &acct.scim,
                &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": format!("G{i}")}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let pages = walk(&app, &acct.scim, "/scim/v2/Groups?count=2").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);

    let search = |cursor: Value| {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
               "filter": "displayName sw \"G\"", "sortBy": "displayName", "count": 3,
               "cursor": cursor})
    };
    let first = app
        .post("/scim/v2/Groups/.search", &acct.scim, &search(json!("")))
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["totalResults"], 5);
    assert_eq!(first.body["itemsPerPage"], 3);
    let next = first.body["nextCursor"].as_str().unwrap();
    let second = app
        .post("/scim/v2/Groups/.search", &acct.scim, &search(json!(next)))
        .await;
    assert_eq!(second.status, 200, "{}", second.body);
    let names: Vec<&str> = second.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["G3", "G4"]);
    assert!(second.body.get("nextCursor").is_none());

    // Across resource types there is no cursor.
    let root = app
        .post("/scim/v2/.search", &acct.scim, &search(json!("")))
        .await;
    root.assert_scim_error(400, Some("invalidValue"));
}

#[actix_web::test]
async fn foreign_tampered_and_expired_cursors_and_bad_counts_are_refused() {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 29, 10, 0, 0).unwrap(),
    ));
    let app = TestApp::observed(
        TestDb::new(),
        HttpSettings::default(),
        4,
        ObservabilityConfig {
            rate_limit_reads: 0,
            rate_limit_writes: 0,
            ..ObservabilityConfig::default()
        },
        clock.clone(),
    );
    let acme = app.account("acme");
    let other = app.account("other");
    for (token, prefix) in [(&acme.scim, "a"), (&other.scim, "o")] {
        for i in 0..4 {
            let r = app
                .post(
                    "/scim/v2/Users",
                    token,
                    &user(&format!("{prefix}{i}@example.com")),
                )
                .await;
            assert_eq!(r.status, 201);
        }
    }
    let filter = urlencode(r#"userName sw "a""#);
    let first = app
        .get(
            &format!("/scim/v2/Users?cursor=&count=2&filter={filter}"),
            &acme.scim,
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let next = first.body["nextCursor"].as_str().unwrap().to_owned();
    let with = |cursor: &str, query: &str| {
        format!("/scim/v2/Users?count=2&cursor={}{query}", urlencode(cursor))
    };
    // The cursor works where it was made.
    let ok = app
        .get(&with(&next, &format!("&filter={filter}")), &acme.scim)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ids(&ok).len(), 2);

    // Another tenant's token, another filter, another sort, a tampered cursor.
    let other_tenant = app
        .get(&with(&next, &format!("&filter={filter}")), &other.scim)
        .await;
    other_tenant.assert_scim_error(400, Some("invalidCursor"));
    let other_filter = app
        .get(
            &with(
                &next,
                &format!("&filter={}", urlencode(r#"userName sw "a0""#)),
            ),
            &acme.scim,
        )
        .await;
    other_filter.assert_scim_error(400, Some("invalidCursor"));
    let other_sort = app
        .get(
            &with(&next, &format!("&filter={filter}&sortBy=userName")),
            &acme.scim,
        )
        .await;
    other_sort.assert_scim_error(400, Some("invalidCursor"));
    let (body, mac) = next.split_once('.').unwrap();
    let flipped: String = body
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i == 3 {
                if c == 'A' { 'B' } else { 'A' }
            } else {
                c
            }
        })
        .collect();
    for tampered in [
        format!("{flipped}.{mac}"),
        format!("{body}.{flipped}"),
        "garbage".into(),
    ] {
        let r = app
            .get(&with(&tampered, &format!("&filter={filter}")), &acme.scim)
            .await;
        r.assert_scim_error(400, Some("invalidCursor"));
    }

    // A count below 0 or above maxPageSize, and startIndex beside a cursor.
    for bad in ["-1", "1001", "two"] {
        let r = app
            .get(&format!("/scim/v2/Users?cursor=&count={bad}"), &acme.scim)
            .await;
        r.assert_scim_error(400, Some("invalidCount"));
    }
    let both = app
        .get("/scim/v2/Users?cursor=&startIndex=2", &acme.scim)
        .await;
    both.assert_scim_error(400, Some("invalidValue"));

    // After CURSOR_TIMEOUT_SECS (600) the cursor has expired.
    clock.advance(chrono::Duration::seconds(601));
    let expired = app
        .get(&with(&next, &format!("&filter={filter}")), &acme.scim)
        .await;
    expired.assert_scim_error(400, Some("expiredCursor"));
}

#[actix_web::test]
async fn a_cursor_page_is_an_index_range_without_offset() {
    let app = TestApp::new();
    let acct = app.account("acme");
    crate::groups::bulk_users(&mut app.conn(), &acct.id, 300);
    let mut conn = app.conn();
    if app.db.is_postgres() {
        conn.batch_execute("ANALYZE; SET enable_seqscan = off")
            .unwrap();
    } else {
        conn.batch_execute("ANALYZE").unwrap();
    }
    let at = Utc
        .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
        .unwrap()
        .naive_utc();
    // Unsorted, by userName (both ways) and by meta.created: each the range of one index.
    let cases = [
        (
            None,
            false,
            None,
            &["users_account_id_id_idx", "users_pkey", "PRIMARY KEY"][..],
        ),
        (
            Some("userName"),
            false,
            Some(SortValue::Text("user0150".into())),
            &[
                "users_account_id_user_name_ci_key",
                "users_account_id_user_name_ci_c_idx",
            ][..],
        ),
        (
            Some("userName"),
            true,
            Some(SortValue::Text("user0150".into())),
            &[
                "users_account_id_user_name_ci_key",
                "users_account_id_user_name_ci_c_idx",
            ][..],
        ),
        (
            Some("meta.created"),
            false,
            Some(SortValue::Time(at)),
            &["users_account_id_created_at_id_idx"][..],
        ),
    ];
    for (sort_by, descending, key, indexes) in cases {
        let request = ListRequest {
            filter: None,
            sort: sort_by.map(|by| Sort {
                by: by.to_owned(),
                descending,
            }),
            page: Page {
                start_index: 1,
                count: 100,
            },
            paging: Paging::Cursor(None),
        };
        let after = Position {
            key,
            id: "0".into(),
        };
        let plan = mobietrain_scim::users::storage::explain_after(
            &mut conn,
            &app.state.registry,
            &acct.id,
            &request,
            &after,
        )
        .unwrap()
        .join("\n");
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "{sort_by:?}: the page should be a range of an index; the plan is:\n{plan}"
        );
        let lower = plan.to_lowercase();
        assert!(
            !lower.contains("temp b-tree"),
            "{sort_by:?}: no sort step:\n{plan}"
        );
        assert!(!lower.contains("seq scan"), "{sort_by:?}: no scan:\n{plan}");
        assert!(
            !lower.contains("sort key"),
            "{sort_by:?}: no sort step:\n{plan}"
        );
    }
}
