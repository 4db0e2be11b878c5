//! The account on the admin API and the CLI: its name is changed with `PATCH /admin/v1/account` or
//! `account settings ID --name NAME`, and invitation e-mails then carry it; an unknown field is a
//! 400 naming it, and nothing changes.

use actix_web::http::Method;
use serde_json::json;

use crate::cli::cli;
use crate::harness::{TestApp, TestDb};
use crate::invitations::{account_with_group, assert_problem, invite};

#[actix_web::test]
async fn a_renamed_account_is_the_name_invitations_carry() {
    let app = TestApp::new();
    let (account, group) = account_with_group(&app, "Default account").await;
    let r = app
        .call(
            Method::PATCH,
            "/admin/v1/account",
            &account.admin,
            Some(&json!({"name": "Acme Retail Belgium", "defaultLanguage": "en"})),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["name"], "Acme Retail Belgium");
    assert_eq!(
        app.get("/admin/v1/account", &account.admin).await.body["name"],
        "Acme Retail Belgium"
    );

    invite(&app, &account, "ann@example.com", &group).await;
    app.run_due_jobs();
    let sent = app.mailer.sent();
    assert_eq!(sent.len(), 1);
    let mail = &sent[0];
    assert!(
        mail.subject.contains("Acme Retail Belgium"),
        "{}",
        mail.subject
    );
    assert!(
        !mail.subject.contains("Default account"),
        "{}",
        mail.subject
    );
    assert!(mail.text.contains("Acme Retail Belgium"), "{}", mail.text);
}

#[actix_web::test]
async fn unknown_fields_and_bad_names_are_400s_naming_them_and_change_nothing() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    for (body, field) in [
        (json!({"nme": "Typo", "requireContact": true}), "nme"),
        (json!({"name": "", "requireContact": true}), "name"),
        (json!({"name": "a\u{0007}b"}), "name"),
        (json!({"name": 42}), "name"),
        (json!({"name": "x".repeat(256)}), "name"),
    ] {
        let r = app
            .call(
                Method::PATCH,
                "/admin/v1/account",
                &account.admin,
                Some(&body),
            )
            .await;
        let problem = assert_problem(&r, 400, Some(field));
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    let now = app.get("/admin/v1/account", &account.admin).await;
    assert_eq!(now.body["name"], "Acme Retail");
    assert_eq!(now.body["requireContact"], false, "nothing changed");
}

#[actix_web::test]
async fn the_cli_renames_an_account() {
    let db = TestDb::new();
    let (ok, out, _) = cli(&db, &["account", "create", "--name", "Default account"]);
    assert!(ok, "{out}");
    let account = out.lines().last().unwrap().trim().to_owned();
    let (ok, out, err) = cli(
        &db,
        &["account", "settings", &account, "--name", "Acme Retail"],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("name:                Acme Retail"), "{out}");
    let (_, shown, _) = cli(&db, &["account", "show", &account]);
    assert!(
        shown.contains("name:                Acme Retail"),
        "{shown}"
    );
    let (ok, _, err) = cli(&db, &["account", "settings", &account, "--name", " "]);
    assert!(!ok);
    assert!(err.contains("name"), "{err}");
    let (ok, out, err) = cli(
        &db,
        &[
            "token",
            "issue",
            "--account",
            &account,
            "--label",
            "Ann",
            "--scope",
            "admin",
            "--expires-in-days",
            "7",
        ],
    );
    assert!(ok, "{out}{err}");
    assert!(out.contains("expires"), "{out}");
    let (ok, _, err) = cli(
        &db,
        &[
            "token",
            "issue",
            "--account",
            &account,
            "--label",
            "Ann",
            "--expires-in-days",
            "0",
        ],
    );
    assert!(!ok);
    assert!(err.contains("expires-in-days"), "{err}");
}
