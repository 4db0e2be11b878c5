//! Writes sent as one batch (`db::batch`): a user's create writes its row, its child rows and its
//! log rows together (one statement on PostgreSQL, one after another on SQLite). Through the
//! HTTP app, a create with several values of every multi-valued attribute reads back as sent and
//! in order, and a refused create leaves nothing behind; on the connection, a batch that fails in
//! its middle leaves nothing behind and still has its foreign keys checked.

use diesel::prelude::*;
use mobietrain_scim::db::batch::Batch;
use mobietrain_scim::db::models::{EmailRow, UserRow};
use mobietrain_scim::db::schema::{user_emails, users};
use mobietrain_scim::db::{self, DbConn};
use serde_json::{Value, json};

use crate::harness::TestApp;

const MT: &str = "urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User";

/// A user with several values of every multi-valued attribute, two of them drawing warnings (an
/// e-mail value that is no address, a phone number without its country code).
fn rich_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", MT],
        "userName": user_name,
        "externalId": format!("ext-{user_name}"),
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [
            {"value": "ann.work@example.com", "type": "work", "primary": true},
            {"value": "ann@home.example", "type": "home"},
            {"value": "not-an-address", "type": "other"},
        ],
        "phoneNumbers": [
            {"value": "+32 470 12 34 56", "type": "mobile", "primary": true},
            {"value": "09 123 45 67", "type": "work"},
        ],
        "addresses": [
            {"type": "work", "streetAddress": "Kouter 1", "locality": "Gent",
             "postalCode": "9000", "country": "BE", "primary": true},
            {"type": "home", "streetAddress": "Meir 2", "locality": "Antwerpen",
             "postalCode": "2000", "country": "BE"},
        ],
        "roles": [{"value": "manager", "primary": true}, {"value": "user"}],
        MT: {"stores": [
            {"refId": "GNT-01", "name": "Gent", "countryCallingCode": "32"},
            {"refId": "AMS-02", "name": "Amsterdam", "countryCallingCode": "31", "primary": true},
            {"refId": "PAR-03", "name": "Paris", "countryCallingCode": "33"},
        ]},
    })
}

/// Asserts that every element of `sent` came back at the same index, with every sub-attribute as
/// sent, and nothing more.
#[track_caller]
fn assert_read_back(read: &Value, sent: &Value, attribute: &str) {
    let (read, sent) = (read.as_array().unwrap(), sent.as_array().unwrap());
    assert_eq!(read.len(), sent.len(), "{attribute}: {read:?}");
    for (index, (r, s)) in read.iter().zip(sent).enumerate() {
        for (key, value) in s.as_object().unwrap() {
            assert_eq!(&r[key], value, "{attribute}[{index}].{key}: {r}");
        }
    }
}

#[actix_web::test]
async fn a_create_with_several_values_of_each_attribute_reads_back_as_sent_and_in_order() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let body = rich_user("ann@example.com");
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();

    let read = app.get(&format!("/scim/v2/Users/{id}"), &acct.scim).await;
    assert_eq!(read.status, 200);
    for attribute in ["emails", "phoneNumbers", "addresses", "roles"] {
        assert_read_back(&read.body[attribute], &body[attribute], attribute);
    }
    assert_read_back(&read.body[MT]["stores"], &body[MT]["stores"], "stores");
    assert_eq!(read.body[MT]["storeRefId"], "AMS-02", "the primary store");
    assert_eq!(created.body, read.body, "the create answers what it wrote");

    // The log rows went out with the user's: the create and one row per warning.
    let log = app
        .get(&format!("/admin/v1/audit?resourceId={id}"), &acct.admin)
        .await;
    let mut codes: Vec<&str> = log.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].as_str().unwrap())
        .collect();
    codes.sort_unstable();
    assert_eq!(
        codes,
        [
            "user.created",
            "user.email_invalid",
            "user.phone_without_country_code"
        ]
    );
}

#[actix_web::test]
async fn a_create_refused_by_a_unique_index_leaves_nothing_behind() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let first = app
        .post("/scim/v2/Users", &acct.scim, &rich_user("ann@example.com"))
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let tables = [
        "users",
        "user_emails",
        "user_phone_numbers",
        "user_addresses",
        "user_roles",
        "user_stores",
        "audit_events WHERE code <> 'request.refused'",
    ];
    let before: Vec<i64> = tables.iter().map(|t| app.count(t)).collect();

    // The same userName in other case: only the database's unique index on the folded form
    // refuses it, after the batch has started.
    let mut taken_user_name = rich_user("ANN@example.com");
    taken_user_name["externalId"] = json!("ext-other");
    let refused = app
        .post("/scim/v2/Users", &acct.scim, &taken_user_name)
        .await;
    refused.assert_scim_error(409, Some("uniqueness"));
    // A new userName with a taken externalId.
    let mut taken_external_id = rich_user("bob@example.com");
    taken_external_id["externalId"] = json!("ext-ann@example.com");
    let refused = app
        .post("/scim/v2/Users", &acct.scim, &taken_external_id)
        .await;
    refused.assert_scim_error(409, Some("uniqueness"));

    let after: Vec<i64> = tables.iter().map(|t| app.count(t)).collect();
    assert_eq!(after, before, "{tables:?}");
    let next = app
        .post("/scim/v2/Users", &acct.scim, &rich_user("bob@example.com"))
        .await;
    assert_eq!(next.status, 201, "the connection is usable: {}", next.body);
}

/// A `users` row of `account_id` for the batch tests.
fn user_row(id: &str, account_id: &str) -> UserRow {
    let now = chrono::Utc::now().naive_utc();
    UserRow {
        id: id.to_owned(),
        account_id: account_id.to_owned(),
        user_name: id.to_owned(),
        user_name_ci: id.to_owned(),
        origin: "scim".to_owned(),
        sign_in: "any".to_owned(),
        registration: "registered".to_owned(),
        version: 1,
        active: true,
        created_at: now,
        updated_at: now,
        ..Default::default()
    }
}

/// The e-mail at `position` of user `user_id`.
fn email_row(user_id: &str, account_id: &str, position: i32) -> EmailRow {
    let value = format!("{user_id}-{position}@example.com");
    EmailRow {
        user_id: user_id.to_owned(),
        position,
        account_id: account_id.to_owned(),
        value_ci: value.clone(),
        value,
        display: None,
        kind: None,
        is_primary: None,
    }
}

/// A batch inserting user `id` and its e-mails at `positions`, in that order.
fn user_with_emails(id: &str, account_id: &str, positions: &[i32]) -> Batch<'static> {
    let mut batch = Batch::new();
    batch.push(diesel::insert_into(users::table).values(user_row(id, account_id)));
    for &position in positions {
        let email = email_row(id, account_id, position);
        batch.push(diesel::insert_into(user_emails::table).values(email));
    }
    batch
}

/// Runs `batch` in a write transaction of its own.
fn execute(conn: &mut DbConn, batch: Batch<'_>) -> QueryResult<usize> {
    db::write_transaction(conn, |conn| batch.execute(conn))
}

/// How many rows user `id` has in `users` and in `user_emails`.
fn rows_of(conn: &mut DbConn, id: &str) -> (i64, i64) {
    let users = users::table
        .filter(users::id.eq(id))
        .count()
        .get_result(conn)
        .unwrap();
    let emails = user_emails::table
        .filter(user_emails::user_id.eq(id))
        .count()
        .get_result(conn)
        .unwrap();
    (users, emails)
}

#[actix_web::test]
async fn a_batch_writes_rows_referencing_each_other_and_fails_whole() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut pooled = app.conn();
    let conn: &mut DbConn = &mut pooled;

    // Children referencing the user inserted by the same batch (one statement on PostgreSQL,
    // whose foreign keys are checked at its end).
    let batch = user_with_emails("u-batch", &acct.id, &[0, 1]);
    assert_eq!(batch.len(), 3);
    assert_eq!(execute(conn, batch).unwrap(), 1, "the last part's count");
    assert_eq!(rows_of(conn, "u-batch"), (1, 2));

    // A batch failing at its last part (a position taken twice) leaves none of its rows.
    let batch = user_with_emails("u-failed", &acct.id, &[0, 0]);
    let err = execute(conn, batch).unwrap_err();
    assert!(
        db::unique_violation(&err).is_some(),
        "a unique violation: {err:?}"
    );
    assert_eq!(rows_of(conn, "u-failed"), (0, 0));

    // Foreign keys are still checked: an e-mail of a user no part inserts is refused.
    let mut batch = Batch::new();
    let orphan = email_row("u-nobody", &acct.id, 0);
    batch.push(diesel::insert_into(user_emails::table).values(orphan));
    batch.push(diesel::insert_into(users::table).values(user_row("u-other", &acct.id)));
    assert!(execute(conn, batch).is_err());
    assert_eq!(rows_of(conn, "u-other"), (0, 0));

    // An empty batch sends nothing and succeeds.
    assert_eq!(execute(conn, Batch::new()).unwrap(), 0);
}
