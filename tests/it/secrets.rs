//! Secrets and personal data: tokens and passwords never rest in plaintext, and logs carry neither
//! them nor e-mail addresses or names. Internal errors never reach the client.

use diesel::RunQueryDsl;
use diesel::sql_types::{BigInt, Text};
use serde_json::json;

use crate::harness::{TestApp, captured_logs, user};

#[derive(diesel::QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Every (table, column) of text type in the test database.
fn text_columns(app: &TestApp) -> Vec<Column> {
    let sql = if app.db.is_postgres() {
        "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
         WHERE table_schema = 'public' AND data_type IN ('text', 'character varying')"
    } else {
        "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m, pragma_table_info(m.name) p \
         WHERE m.type = 'table' AND (p.type = 'TEXT' OR p.type = '')"
    };
    diesel::sql_query(sql).load(&mut app.conn()).unwrap()
}

/// How many text cells anywhere in the database contain `needle`.
fn cells_containing(app: &TestApp, needle: &str) -> i64 {
    text_columns(app)
        .iter()
        .map(|c| {
            diesel::sql_query(format!(
                "SELECT count(*) AS n FROM {} WHERE {} LIKE '%' || $1 || '%'",
                c.table_name, c.column_name
            ))
            .bind::<Text, _>(needle)
            .get_result::<Count>(&mut app.conn())
            .unwrap()
            .n
        })
        .sum()
}

#[actix_web::test]
async fn no_plaintext_token_or_password_rests_in_any_text_column() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let mut body = user("ann@example.com");
    body["password"] = json!("Pa55-word-7f3e");
    let created = app.post("/scim/v2/Users", &acct.scim, &body).await;
    assert_eq!(created.status, 201);
    assert!(created.body.get("password").is_none());
    body["password"] = json!("Pa55-word-8a1c");
    app.put(
        &format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap()),
        &acct.scim,
        &body,
    )
    .await;

    assert!(text_columns(&app).len() > 20, "the scan sees the schema");
    assert!(
        cells_containing(&app, "ann@example.com") > 0,
        "the scan finds what is there"
    );
    for secret in [
        acct.scim.as_str(),
        acct.admin.as_str(),
        &acct.scim[4..],
        "Pa55-word-7f3e",
        "Pa55-word-8a1c",
    ] {
        assert_eq!(
            cells_containing(&app, secret),
            0,
            "a secret rests in plaintext"
        );
    }
}

#[actix_web::test]
async fn logs_carry_no_token_e_mail_or_name() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let email = "zebulon.quixote-7741@example.com";
    let mut body = user(email);
    body["name"] = json!({"givenName": "Zebulonius", "familyName": "Quixotiades"});
    let path = format!("/scim/v2/Users?filter=userName%20eq%20%22{email}%22");
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &body).await.status,
        201
    );
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &body).await.status,
        409,
        "a refusal naming the user"
    );
    assert_eq!(
        app.get(&path, &acct.scim).await.body["totalResults"],
        1,
        "a filter naming the user"
    );
    body["roles"] = json!([{"value": "Zebulonius"}]);
    assert_eq!(
        app.post("/scim/v2/Users", &acct.scim, &body).await.status,
        400
    );

    let logs = captured_logs();
    assert!(logs.contains("request handled"), "the capture works");
    for secret in [
        acct.scim.as_str(),
        email,
        "zebulon",
        "Zebulonius",
        "Quixotiades",
    ] {
        assert!(
            !logs.to_lowercase().contains(&secret.to_lowercase()),
            "{secret:?} reached the logs"
        );
    }
}

#[actix_web::test]
async fn an_unforeseen_database_error_is_a_logged_500_with_a_generic_detail() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let created = app
        .post("/scim/v2/Users", &acct.scim, &user("ann@example.com"))
        .await;
    diesel::sql_query("DROP TABLE user_roles")
        .execute(&mut app.conn())
        .unwrap();
    let broken = app
        .get(
            &format!("/scim/v2/Users/{}", created.body["id"].as_str().unwrap()),
            &acct.scim,
        )
        .await;
    let detail = broken.assert_scim_error(500, None);
    assert_eq!(detail, "an internal error occurred; it has been logged");
    assert!(!broken.body.to_string().contains("user_roles"));
    assert!(
        captured_logs().contains("user_roles"),
        "the cause is in the logs"
    );
}
