//! Identity folding (DESIGN §4): userName, e-mail values and group displayName compare by
//! NFKC_Casefold, so look-alike spellings of an existing identifier are the same identifier; and
//! the one-time re-fold of shadow columns written under the older fold keeps colliding rows and
//! reports them.

use chrono::Utc;
use diesel::prelude::*;
use mobietrain_scim::db::models::GroupRow;
use mobietrain_scim::db::schema::{data_migrations, groups, user_emails, users};
use mobietrain_scim::text::{fold_case, fold_identity};
use mobietrain_scim::{db, refold};
use serde_json::{Value, json};

use crate::harness::{TestAccount, TestApp, user};
use crate::users_crud::urlencode;

/// The ids a filtered list answers, in order.
async fn found(app: &TestApp, token: &str, resource: &str, filter: &str) -> Vec<String> {
    let resp = app
        .get(
            &format!("/scim/v2/{resource}?filter={}", urlencode(filter)),
            token,
        )
        .await;
    assert_eq!(resp.status, 200, "{filter}: {}", resp.body);
    resp.body["Resources"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|x| x["id"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A user body whose e-mail is a plain address whatever the userName (a userName such as `İlse`
/// is no address, and e-mail values have rules of their own).
fn person(user_name: &str) -> Value {
    let mut body = user(user_name);
    body["emails"] = json!([{"value": "someone@example.com", "type": "work"}]);
    body
}

async fn create_user(app: &TestApp, acct: &TestAccount, user_name: &str) -> String {
    let created = app
        .post("/scim/v2/Users", &acct.scim, &person(user_name))
        .await;
    assert_eq!(created.status, 201, "{user_name:?}: {}", created.body);
    assert_eq!(created.body["userName"], user_name, "stored as sent");
    created.body["id"].as_str().unwrap().to_owned()
}

fn group(name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "externalId": format!("ext-{name}"),
    })
}

/// userName variants of an existing user that the fold equates (the hardening issue's finding 7),
/// each against the spelling it imitates.
const LOOK_ALIKES: &[(&str, &str, &str)] = &[
    (
        "fullwidth letters",
        "ann.fischer@example.com",
        "ａｎｎ．ｆｉｓｃｈｅｒ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    ),
    (
        "a zero-width space",
        "ann.fischer@example.com",
        "ann.fi\u{200B}scher@example.com",
    ),
    (
        "a soft hyphen",
        "ann.fischer@example.com",
        "ann.fi\u{AD}scher@example.com",
    ),
    (
        "the ligature ﬁ",
        "ann.fischer@example.com",
        "ann.\u{FB01}scher@example.com",
    ),
    (
        "ß for ss",
        "jan.strasse@example.com",
        "Jan.Straße@example.com",
    ),
    ("a final sigma for σ", "σίσυφος", "σίσυφοσ"),
    ("i with a combining dot for İ", "İlse", "i\u{307}lse"),
];

#[actix_web::test]
async fn look_alike_user_names_are_the_same_user() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut existing = std::collections::HashMap::new();
    for (_, original, _) in LOOK_ALIKES {
        if !existing.contains_key(original) {
            existing.insert(*original, create_user(&app, &acct, original).await);
        }
    }
    for (what, original, variant) in LOOK_ALIKES {
        let mut body = person(variant);
        body["externalId"] = json!(format!("other-{what}"));
        let resp = app.post("/scim/v2/Users", &acct.scim, &body).await;
        let detail = resp.assert_scim_error(409, Some("uniqueness"));
        assert!(detail.contains("userName"), "{what}: {detail}");

        // What Entra asks before its POST finds the existing user.
        let hits = found(
            &app,
            &acct.scim,
            "Users",
            &format!("userName eq \"{variant}\""),
        )
        .await;
        assert_eq!(hits, [existing[original].as_str()], "{what}");
    }
    assert_eq!(app.count("users"), existing.len() as i64);

    // The existing users are stored and returned exactly as they were sent.
    for (original, id) in &existing {
        let got = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
        assert_eq!(got.body["userName"], *original);
    }
}

#[actix_web::test]
async fn what_the_fold_does_not_equate_stays_a_separate_user() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let ann = create_user(&app, &acct, "ann.fischer@example.com").await;
    let ilse = create_user(&app, &acct, "İlse").await;
    // A documented limit: Cyrillic а (U+0430) only looks like Latin a. NFKC_Casefold keeps
    // scripts apart; catching this needs a confusables check, which this server does not do.
    let cyrillic = create_user(&app, &acct, "\u{430}nn.fischer@example.com").await;
    // İ folds to i followed by U+0307, which plain i is not.
    let plain_i = create_user(&app, &acct, "ilse").await;
    assert_ne!(cyrillic, ann);
    assert_ne!(plain_i, ilse);
    assert_eq!(
        found(
            &app,
            &acct.scim,
            "Users",
            "userName eq \"ann.fischer@example.com\""
        )
        .await,
        [ann]
    );
    assert_eq!(
        found(&app, &acct.scim, "Users", "userName eq \"ILSE\"").await,
        [plain_i]
    );
}

#[actix_web::test]
async fn a_replace_keeps_the_user_name_and_refuses_a_look_alike_of_another() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let jan = create_user(&app, &acct, "Jan.Straße@example.com").await;
    let other = create_user(&app, &acct, "piet@example.com").await;

    let mut same = user("Jan.Straße@example.com");
    same["title"] = json!("Store manager");
    let put = app
        .put(&format!("/scim/v2/Users/{jan}"), &acct.scim, &same)
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["userName"], "Jan.Straße@example.com");

    let mut taken = user("JAN.STRASSE@EXAMPLE.COM");
    taken["externalId"] = json!("ext-piet@example.com");
    let put = app
        .put(&format!("/scim/v2/Users/{other}"), &acct.scim, &taken)
        .await;
    put.assert_scim_error(409, Some("uniqueness"));
}

#[actix_web::test]
async fn look_alike_group_names_are_the_same_group() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Groups", &acct.scim, &group("Filiale Straße"))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    for variant in [
        "FILIALE STRASSE",
        "\u{FB01}liale straße",
        "Filiale\u{200B} Straße",
        "Fi\u{AD}liale Straße",
        "Ｆｉｌｉａｌｅ Ｓｔｒａßｅ",
    ] {
        let resp = app
            .post("/scim/v2/Groups", &acct.scim, &group(variant))
            .await;
        let detail = resp.assert_scim_error(409, Some("uniqueness"));
        assert!(detail.contains("displayName"), "{variant:?}: {detail}");
        let hits = found(
            &app,
            &acct.scim,
            "Groups",
            &format!("displayName eq \"{variant}\""),
        )
        .await;
        assert_eq!(hits, [id.as_str()], "{variant:?}");
    }
    // A rename of another group into a look-alike is refused the same way.
    let other = app
        .post("/scim/v2/Groups", &acct.scim, &group("Filiale Markt"))
        .await;
    let other_id = other.body["id"].as_str().unwrap();
    let rename = app
        .put(
            &format!("/scim/v2/Groups/{other_id}"),
            &acct.scim,
            &group("filiale strasse"),
        )
        .await;
    rename.assert_scim_error(409, Some("uniqueness"));
    assert_eq!(app.count("groups"), 2);
    let got = app.get(&format!("/scim/v2/Groups/{id}"), &acct.scim).await;
    assert_eq!(got.body["displayName"], "Filiale Straße", "stored as sent");
}

#[actix_web::test]
async fn e_mail_lookups_fold_and_e_mails_stay_non_unique() {
    // E-mail values carry no uniqueness rule (only userName and externalId do); the fold changes
    // what a lookup finds, not what may be stored.
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    let ann = created.body["id"].as_str().unwrap().to_owned();
    let mut twin = user("ann.twin");
    twin["emails"] = json!([{"value": "ＡＮＮ@example.com", "type": "work"}]);
    let created = app.post("/scim/v2/Users", &acct.scim, &twin).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["emails"][0]["value"], "ＡＮＮ@example.com");
    let twin_id = created.body["id"].as_str().unwrap().to_owned();

    for filter in [
        "emails.value eq \"a\u{AD}nn@example.com\"",
        "emails[type eq \"work\"].value eq \"ann@exa\u{200B}mple.com\"",
        "emails co \"ＡＮＮ@\"",
    ] {
        let mut hits = found(&app, &acct.scim, "Users", filter).await;
        hits.sort();
        let mut both = vec![ann.clone(), twin_id.clone()];
        both.sort();
        assert_eq!(hits, both, "{filter}");
    }
}

/// Rows as a server before the identity fold wrote them, a colliding pair of users and of groups
/// among them; the re-fold that `serve` runs after its migrations keeps all, reports the pairs,
/// and runs once.
#[actix_web::test]
async fn the_refold_of_older_data_keeps_colliding_rows_and_reports_them_once() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let older = create_user(&app, &acct, "Jan.Straße@example.com").await;
    let stale = create_user(&app, &acct, "carl@example.com").await;
    let group_older = app
        .post("/scim/v2/Groups", &acct.scim, &group("Verkauf"))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let later;
    let group_later = mobietrain_scim::accounts::new_id();
    {
        let mut conn = app.conn();
        let conn = &mut *conn;
        // The older fold: NFC + lowercase, under which ß and ss differed.
        diesel::update(users::table.filter(users::id.eq(&older)))
            .set(users::user_name_ci.eq(fold_case("Jan.Straße@example.com")))
            .execute(conn)
            .unwrap();
        // A user the older server let in beside it: a later id, its own old-style shadow value.
        let mut twin = mobietrain_scim::users::get(conn, &acct.id, &older).unwrap();
        twin.row.id = mobietrain_scim::accounts::new_id();
        twin.row.external_id = Some("ext-twin".into());
        twin.row.user_name = "JAN.STRASSE@EXAMPLE.COM".into();
        twin.row.user_name_ci = fold_case("JAN.STRASSE@EXAMPLE.COM");
        twin.row.updated_at = Utc::now().naive_utc();
        for e in &mut twin.emails {
            e.user_id = twin.row.id.clone();
        }
        twin.groups.clear();
        mobietrain_scim::users::storage::insert(conn, &twin).unwrap();
        later = twin.row.id.clone();
        // A stale row with no look-alike: fullwidth letters, which lowercasing kept.
        diesel::update(users::table.filter(users::id.eq(&stale)))
            .set((
                users::user_name.eq("ＣＡＲＬ@example.com"),
                users::user_name_ci.eq(fold_case("ＣＡＲＬ@example.com")),
            ))
            .execute(conn)
            .unwrap();
        diesel::update(user_emails::table.filter(user_emails::user_id.eq(&stale)))
            .set((
                user_emails::value.eq("ＣＡＲＬ@example.com"),
                user_emails::value_ci.eq(fold_case("ＣＡＲＬ@example.com")),
            ))
            .execute(conn)
            .unwrap();
        // A second e-mail, so the walk over (user, position) crosses a page within one user.
        diesel::insert_into(user_emails::table)
            .values((
                user_emails::user_id.eq(&stale),
                user_emails::position.eq(1),
                user_emails::account_id.eq(&acct.id),
                user_emails::value.eq("Carl.Priv\u{AD}at@example.com"),
                user_emails::value_ci.eq(fold_case("Carl.Priv\u{AD}at@example.com")),
            ))
            .execute(conn)
            .unwrap();
        // A group named with a soft hyphen beside "Verkauf": the later one of its pair.
        let now = Utc::now().naive_utc();
        mobietrain_scim::groups::storage::insert(
            conn,
            &GroupRow {
                id: group_later.clone(),
                account_id: acct.id.clone(),
                display_name: "Ver\u{AD}kauf".into(),
                display_name_ci: fold_case("Ver\u{AD}kauf"),
                external_id: Some("ext-verkauf-2".into()),
                group_type: None,
                version: 1,
                created_at: now,
                updated_at: now,
                origin: "scim".into(),
            },
        )
        .unwrap();
    }
    // UUIDv7 ids sort in creation order within a process: these are the later rows.
    assert!(older < later && group_older < group_later);
    assert!(
        found(
            &app,
            &acct.scim,
            "Users",
            "userName eq \"carl@example.com\""
        )
        .await
        .is_empty(),
        "before the re-fold the old shadow value misses the plain spelling"
    );

    // As `serve` runs it: after the migrations, under their lock; in pages of one row, so every
    // row is on a page boundary.
    let now = Utc::now().naive_utc();
    let report = {
        let mut conn = app.conn();
        db::migrate_locked(&mut conn, |conn| {
            Ok(refold::run_once_in_pages(conn, now, 1)?)
        })
        .unwrap()
    }
    .expect("the first run re-folds");
    assert_eq!(report.user_collisions, 1, "{report:?}");
    assert_eq!(report.group_collisions, 1, "{report:?}");
    assert_eq!(
        report.users, 3,
        "older, later and the fullwidth one: {report:?}"
    );
    assert_eq!(report.groups, 1, "{report:?}");
    assert_eq!(report.emails, 2, "{report:?}");

    // Every row is kept, with its values as they were.
    assert_eq!(app.count("users"), 3);
    assert_eq!(app.count("groups"), 2);
    for (id, name) in [
        (&older, "Jan.Straße@example.com"),
        (&later, "JAN.STRASSE@EXAMPLE.COM"),
    ] {
        let got = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
        assert_eq!(got.status, 200);
        assert_eq!(got.body["userName"], name);
    }
    let got = app
        .get(&format!("/scim/v2/Groups/{group_later}"), &acct.scim)
        .await;
    assert_eq!(got.body["displayName"], "Ver\u{AD}kauf");

    // Lookups by either spelling find the older row; the stale one is found by its plain spelling.
    for spelling in ["jan.strasse@example.com", "JAN.STRASSE@EXAMPLE.COM"] {
        let hits = found(
            &app,
            &acct.scim,
            "Users",
            &format!("userName eq \"{spelling}\""),
        )
        .await;
        assert_eq!(hits, [older.as_str()], "{spelling}");
    }
    assert_eq!(
        found(
            &app,
            &acct.scim,
            "Users",
            "userName eq \"carl@example.com\""
        )
        .await,
        [stale.as_str()]
    );
    for email in ["carl@example.com", "carl.privat@example.com"] {
        let hits = found(
            &app,
            &acct.scim,
            "Users",
            &format!("emails.value eq \"{email}\""),
        )
        .await;
        assert_eq!(hits, [stale.as_str()], "{email}");
    }
    assert_eq!(
        found(&app, &acct.scim, "Groups", "displayName eq \"verkauf\"").await,
        [group_older.as_str()]
    );

    // The provisioning log names both rows of each pair, by id only.
    for (code, kept, other) in [
        ("user.fold_collision", &older, &later),
        ("group.fold_collision", &group_older, &group_later),
    ] {
        let log = app
            .get(&format!("/admin/v1/audit?code={code}"), &acct.admin)
            .await;
        assert_eq!(log.status, 200);
        let events = log.body["events"].as_array().unwrap();
        let mut about: Vec<&str> = events
            .iter()
            .map(|e| e["resourceId"].as_str().unwrap())
            .collect();
        about.sort_unstable();
        let mut pair = vec![kept.as_str(), other.as_str()];
        pair.sort_unstable();
        assert_eq!(about, pair, "{code}: {}", log.body);
        for e in events {
            assert_eq!(e["detail"]["keptId"], kept.as_str(), "{code}");
            assert_eq!(e["detail"]["laterId"], other.as_str(), "{code}");
            assert!(!e.to_string().to_lowercase().contains("stra"), "no names");
            assert!(!e.to_string().to_lowercase().contains("kauf"), "no names");
        }
    }
    // And the server log too, at WARN, with the ids and not the names.
    let logs = mobietrain_scim_logs_about(&later);
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains(older.as_str()), "{logs}");
    assert!(!logs.to_lowercase().contains("stra"), "{logs}");

    // New writes cannot make such a pair; the later row stays writable under its own userName.
    let mut again = user("jan.strasse@example.com");
    again["externalId"] = json!("ext-third");
    app.post("/scim/v2/Users", &acct.scim, &again)
        .await
        .assert_scim_error(409, Some("uniqueness"));
    let mut later_body = user("JAN.STRASSE@EXAMPLE.COM");
    later_body["externalId"] = json!("ext-twin");
    later_body["title"] = json!("Cashier");
    let put = app
        .put(&format!("/scim/v2/Users/{later}"), &acct.scim, &later_body)
        .await;
    assert_eq!(put.status, 200, "{}", put.body);

    // A second start does nothing: the run is recorded.
    let shadows = |app: &TestApp| {
        let mut conn = app.conn();
        let mut u: Vec<(String, String)> = users::table
            .select((users::id, users::user_name_ci))
            .load(&mut *conn)
            .unwrap();
        let mut g: Vec<(String, String)> = groups::table
            .select((groups::id, groups::display_name_ci))
            .load(&mut *conn)
            .unwrap();
        u.append(&mut g);
        u.sort();
        u
    };
    let before = shadows(&app);
    let events_before = app.count("audit_events");
    let second = refold::run_once(&mut app.conn(), Utc::now().naive_utc()).unwrap();
    assert_eq!(second, None);
    assert_eq!(shadows(&app), before);
    assert_eq!(app.count("audit_events"), events_before);

    // Even run again by hand, it finds nothing left to change and reports nothing twice.
    diesel::delete(data_migrations::table)
        .execute(&mut *app.conn())
        .unwrap();
    let forced = refold::run_once(&mut app.conn(), Utc::now().naive_utc())
        .unwrap()
        .expect("runs when unrecorded");
    assert_eq!(forced, refold::Report::default());
    assert_eq!(shadows(&app), before);
    assert_eq!(app.count("audit_events"), events_before);
    assert_eq!(
        fold_identity("JAN.STRASSE@EXAMPLE.COM"),
        fold_identity("Jan.Straße@example.com")
    );
}

/// The captured log lines that mention `id`.
fn mobietrain_scim_logs_about(id: &str) -> String {
    crate::harness::captured_logs()
        .lines()
        .filter(|l| l.contains(id))
        .collect::<Vec<_>>()
        .join("\n")
}
