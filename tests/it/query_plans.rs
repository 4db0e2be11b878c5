//! The lookups identity providers make before every write are answered by an index, on both
//! backends: asserted from the database's own plan of the exact query the server runs.

use diesel::connection::SimpleConnection;
use mobietrain_scim::users::storage;
use scim_v2::filter::Filter;
use serde_json::json;

use crate::harness::{TestApp, user};

#[actix_web::test]
async fn user_name_external_id_and_work_email_lookups_use_an_index() {
    let app = TestApp::new();
    let acct = app.account("acme");
    let other = app.account("other");
    for (i, token) in (0..120).map(|i| (i, if i % 3 == 0 { &other.scim } else { &acct.scim })) {
        let mut body = user(&format!("user{i}@example.com"));
        body["emails"] = json!([{"value": format!("user{i}@example.com"), "type": "work"},
                                {"value": format!("home{i}@example.net"), "type": "home"}]);
        assert_eq!(app.post("/scim/v2/Users", token, &body).await.status, 201);
    }
    let mut conn = app.conn();
    if app.db.is_postgres() {
        conn.batch_execute("ANALYZE; SET enable_seqscan = off")
            .unwrap();
    } else {
        conn.batch_execute("ANALYZE").unwrap();
    }
    let cases = [
        (
            r#"userName eq "USER7@example.com""#,
            &["users_account_id_user_name_ci_key"][..],
        ),
        (
            r#"externalId eq "ext-user7@example.com""#,
            &["users_account_id_external_id_key"][..],
        ),
        // Either e-mail index answers it: the account's (account_id, value_ci), or the
        // server-wide (value_ci) that the sign-in lookup without an account uses.
        (
            r#"emails[type eq "work" and value eq "user7@example.com"]"#,
            &[
                "user_emails_account_id_value_ci_idx",
                "user_emails_value_ci_idx",
            ][..],
        ),
    ];
    for (filter, indexes) in cases {
        let parsed: Filter = filter.parse().unwrap();
        let plan = storage::explain(&mut conn, &app.state.registry, &acct.id, &parsed)
            .unwrap()
            .join("\n");
        assert!(
            indexes.iter().any(|index| plan.contains(index)),
            "{filter} should use one of {indexes:?}; the plan is:\n{plan}"
        );
        // And the answer is right.
        let q = crate::users_crud::urlencode(filter);
        let found = app
            .get(&format!("/scim/v2/Users?filter={q}"), &acct.scim)
            .await;
        assert_eq!(found.body["totalResults"], 1, "{filter}");
    }
}
