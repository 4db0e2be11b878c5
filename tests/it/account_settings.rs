//! Account settings on the admin API and the CLI: `requireExternalId`, `requireContact`, `inviteOnProvision` (its
//! agreement accepted once when turned on) and `defaultLanguage`.

use actix_web::http::Method;
use serde_json::{Value, json};

use crate::cli::cli;
use crate::harness::TestApp;
use crate::invitations::{assert_problem, footprint};

async fn patch(app: &TestApp, token: &str, body: Value) -> crate::harness::Resp {
    app.call(Method::PATCH, "/admin/v1/account", token, Some(&body))
        .await
}

#[actix_web::test]
async fn settings_are_read_and_changed_and_bad_changes_write_nothing() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let r = app.get("/admin/v1/account", &account.admin).await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(
        r.body,
        json!({"id": account.id, "name": "Acme Retail", "requireExternalId": false,
               "requireContact": false, "inviteOnProvision": false, "defaultLanguage": "en",
               "inviteAgreementAcceptedAt": null})
    );

    let before = footprint(&app);
    for (body, field) in [
        (json!({"inviteOnProvision": true}), "agreementAccepted"),
        (
            json!({"inviteOnProvision": true, "agreementAccepted": false}),
            "agreementAccepted",
        ),
        (json!({"defaultLanguage": "es"}), "defaultLanguage"),
        (json!({"defaultLanguage": 3}), "defaultLanguage"),
        (json!({"requireExternalId": "yes"}), "requireExternalId"),
        (json!({"requireContact": 1}), "requireContact"),
        (json!({"colour": "red"}), "colour"),
    ] {
        let r = patch(&app, &account.admin, body.clone()).await;
        assert_problem(&r, 400, Some(field));
        assert_eq!(footprint(&app), before, "{body}");
    }
    let unchanged = app.get("/admin/v1/account", &account.admin).await;
    assert_eq!(unchanged.body["inviteOnProvision"], false);

    let r = patch(
        &app,
        &account.admin,
        json!({"inviteOnProvision": true, "agreementAccepted": true,
               "defaultLanguage": "nl", "requireExternalId": true}),
    )
    .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.body);
    assert_eq!(r.body["inviteOnProvision"], true);
    assert_eq!(r.body["defaultLanguage"], "nl");
    assert_eq!(r.body["requireExternalId"], true);
    assert!(r.body["inviteAgreementAcceptedAt"].is_string());
    // Once accepted, turning it off and on again needs no new acceptance.
    let off = patch(&app, &account.admin, json!({"inviteOnProvision": false})).await;
    assert_eq!(off.body["inviteOnProvision"], false);
    let on = patch(&app, &account.admin, json!({"inviteOnProvision": true})).await;
    assert_eq!(on.status.as_u16(), 200, "{}", on.body);
    assert_eq!(
        on.body["inviteAgreementAcceptedAt"],
        r.body["inviteAgreementAcceptedAt"]
    );
    // Only admin tokens open it.
    assert_problem(
        &app.get("/admin/v1/account", &account.scim).await,
        403,
        None,
    );
}

#[actix_web::test]
async fn the_cli_changes_the_same_settings_under_the_same_rules() {
    let app = TestApp::new();
    let account = app.account("Acme Retail");
    let (ok, _, err) = cli(
        &app.db,
        &[
            "account",
            "settings",
            &account.id,
            "--invite-on-provision",
            "true",
        ],
    );
    assert!(!ok, "the agreement is required");
    assert!(err.contains("agreementAccepted"), "{err}");
    let (ok, out, err) = cli(
        &app.db,
        &[
            "account",
            "settings",
            &account.id,
            "--invite-on-provision",
            "true",
            "--agreement-accepted",
            "--default-language",
            "de",
        ],
    );
    assert!(ok, "{err}");
    assert!(out.contains("invite-on-provision: true"), "{out}");
    assert!(out.contains("default-language:    de"), "{out}");
    let r = app.get("/admin/v1/account", &account.admin).await;
    assert_eq!(r.body["inviteOnProvision"], true);
    assert_eq!(r.body["defaultLanguage"], "de");
    let (_, shown, _) = cli(&app.db, &["account", "show", &account.id]);
    assert!(shown.contains("invite-on-provision: true"), "{shown}");
}
