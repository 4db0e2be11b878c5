//! Invitation jobs on an injected clock: reminders on the configured days (to the second) and never
//! twice, run by real workers of two instances; the 60-day purge that deletes invited users but
//! keeps users an identity provider manages, and invitations made when SCIM provisions a user,
//! run as due jobs through the real registry.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use actix_web::http::Method;
use chrono::Duration;
use diesel::prelude::*;
use mobietrain_scim::app;
use mobietrain_scim::clock::{Clock, ManualClock};
use mobietrain_scim::db::{self, schema::jobs};
use mobietrain_scim::email::memory::MemoryMailer;
use mobietrain_scim::email::{self, Email, Mailer};
use mobietrain_scim::invitations::jobs::{EmailKind, InvitationEmail};
use mobietrain_scim::jobs::queue::Backoff;
use mobietrain_scim::jobs::worker::{WorkerSettings, Workers};
use mobietrain_scim::jobs::{EnqueueOptions, enqueue};
use serde_json::json;

use crate::harness::{TestApp, pool_on, wait_for};
use crate::invitations::{account_with_group, app_with_clock, invite, row};

/// Starts two workers of an instance on `pool` with the app's clock, key and settings.
pub fn start(pool: &db::Pool, app: &TestApp, mailer: Arc<dyn Mailer>, instance: &str) -> Workers {
    Workers::start(
        app::JobServices {
            pool: pool.clone(),
            ..app::job_services(&app.state, mailer)
        },
        app::job_registry(),
        WorkerSettings {
            threads: 2,
            lease: Duration::seconds(60),
            poll_interval: StdDuration::from_millis(5),
            backoff: Backoff::default(),
            schedules: Vec::new(),
            instance: instance.to_owned(),
            faults: None,
            ..WorkerSettings::default()
        },
    )
}

/// Runs the jobs due at the clock's time; asserts that none failed.
fn run_due(app: &TestApp) {
    app.run_due_jobs();
    assert_no_failed_job(app);
}

fn assert_no_failed_job(app: &TestApp) {
    let failed: i64 = jobs::table
        .filter(jobs::state.eq("failed"))
        .count()
        .get_result(&mut app.conn())
        .unwrap();
    assert_eq!(failed, 0, "no job failed");
}

/// Waits until the running workers leave no job due or running at the clock's time.
fn settle(app: &TestApp) {
    let now = app.state.clock.now_naive();
    wait_for("due jobs to finish", StdDuration::from_secs(60), || {
        let busy: i64 = jobs::table
            .filter(
                jobs::state
                    .eq("running")
                    .or(jobs::state.eq("queued").and(jobs::run_at.le(now))),
            )
            .count()
            .get_result(&mut app.conn())
            .unwrap();
        busy == 0
    });
    assert_no_failed_job(app);
}

fn move_to(clock: &ManualClock, at: chrono::DateTime<chrono::Utc>) {
    clock.advance(at - clock.now());
}

fn ids(mail: &[Email]) -> Vec<String> {
    mail.iter().map(|m| m.message_id.clone()).collect()
}

#[actix_web::test]
async fn reminders_go_out_on_the_configured_days_once_each_with_two_instances() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let inv = invite(&app, &account, "ann@example.com", &group).await;
    let id = inv["id"].as_str().unwrap().to_owned();
    let sent = clock.now();
    let mailer = Arc::new(MemoryMailer::new());
    let second_instance = pool_on(&app.db, 4);
    let a = start(&app.state.pool, &app, mailer.clone(), "a");
    let b = start(&second_instance, &app, mailer.clone(), "b");

    settle(&app);
    let first = mailer.sent();
    assert_eq!(first.len(), 1, "the invitation itself");
    assert_eq!(
        first[0].message_id,
        email::message_id(
            &format!("invitation:{id}:send:1"),
            "invitation",
            "mobietrain.test"
        )
    );
    assert!(first[0].subject.contains("nodigt je uit"), "in Dutch");
    assert!(first[0].text.contains(&format!(
        "https://app.mobietrain.com/invitation?token={id}."
    )));

    for (n, day) in [7, 14, 30, 53, 57].into_iter().enumerate() {
        let n = n + 1;
        let before = mailer.sent().len();
        move_to(&clock, sent + Duration::days(day) - Duration::seconds(1));
        settle(&app);
        assert_eq!(mailer.sent().len(), before, "no reminder before day {day}");
        move_to(&clock, sent + Duration::days(day));
        settle(&app);
        let mail = mailer.sent();
        assert_eq!(mail.len(), before + 1, "reminder {n} on day {day}");
        let last = mail.last().unwrap();
        assert_eq!(
            last.message_id,
            email::message_id(
                &format!("invitation:{id}:reminder:{n}"),
                "invitation_reminder",
                "mobietrain.test"
            )
        );
        assert!(last.subject.starts_with("Herinnering"), "{}", last.subject);
        assert_eq!(last.to, "ann@example.com");
        let shown = app
            .get(&format!("/admin/v1/invitations/{id}"), &account.admin)
            .await;
        assert_eq!(shown.body["remindersSent"], n);
    }

    // A reminder job delivered again (as after a crash, once its first run is done) sends nothing.
    enqueue(
        &mut app.conn(),
        &InvitationEmail {
            invitation_id: id.clone(),
            kind: EmailKind::Reminder,
            n: 3,
        },
        EnqueueOptions {
            account_id: Some(account.id.clone()),
            ..EnqueueOptions::default()
        },
        clock.now_naive(),
    )
    .unwrap();
    settle(&app);
    a.shutdown();
    b.shutdown();
    let mail = mailer.sent();
    assert_eq!(mail.len(), 6, "one invitation and five reminders");
    let mut unique = ids(&mail);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "no message twice");
    assert_eq!(row(&app, &id).unwrap().reminders_sent, 5);
}

#[actix_web::test]
async fn after_60_days_invitations_and_their_invited_users_are_purged_idp_users_stay() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    let patch = app
        .call(
            Method::PATCH,
            "/admin/v1/account",
            &account.admin,
            Some(&json!({"inviteOnProvision": true, "agreementAccepted": true})),
        )
        .await;
    assert_eq!(patch.status.as_u16(), 200, "{}", patch.body);
    let invited = invite(&app, &account, "ann@example.com", &group).await;
    let scim = app
        .post(
            "/scim/v2/Users",
            &account.scim,
            &crate::harness::user("bob@example.com"),
        )
        .await;
    assert_eq!(scim.status.as_u16(), 201, "{}", scim.body);
    let scim_id = scim.body["id"].as_str().unwrap().to_owned();
    let sent = clock.now();
    let mailer = app.mailer.clone();
    run_due(&app);
    let tab = app.get("/admin/v1/invitations", &account.admin).await;
    assert_eq!(tab.body["totalResults"], 2, "{}", tab.body);
    assert_eq!(mailer.sent().len(), 2);

    move_to(&clock, sent + Duration::days(60) - Duration::seconds(1));
    run_due(&app);
    assert_eq!(app.count("invitations"), 2, "not before day 60");
    move_to(&clock, sent + Duration::days(60));
    run_due(&app);

    assert_eq!(app.count("invitations"), 0);
    let users: Vec<String> = mobietrain_scim::db::schema::users::table
        .select(mobietrain_scim::db::schema::users::id)
        .load(&mut app.conn())
        .unwrap();
    assert_eq!(
        users,
        [scim_id],
        "the SCIM user stays, the invited one is gone"
    );
    let r = app
        .get(
            &format!("/admin/v1/users/{}", invited["userId"].as_str().unwrap()),
            &account.admin,
        )
        .await;
    assert_eq!(r.status.as_u16(), 404);
    // The provisioning log keeps the expiry, without personal data.
    let log = app
        .get("/admin/v1/audit?code=invitation.expired", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 2, "{}", log.body);
    let whole = app.get("/admin/v1/audit?count=1000", &account.admin).await;
    let text = whole.body.to_string();
    assert!(!text.contains("ann@example.com"), "{text}");
    // The workers were "down" until day 60: of each backlog only the latest reminder went out.
    let reminders = mailer
        .sent()
        .into_iter()
        .filter(|m| m.subject.starts_with("Reminder") || m.subject.starts_with("Herinnering"))
        .count();
    assert_eq!((mailer.sent().len(), reminders), (4, 2));
}

#[actix_web::test]
async fn provisioning_invites_in_the_users_language_without_agreement_or_group() {
    let (app, _clock) = app_with_clock();
    let account = app.account("Acme Retail");
    let patch = app
        .call(
            Method::PATCH,
            "/admin/v1/account",
            &account.admin,
            Some(
                &json!({"inviteOnProvision": true, "agreementAccepted": true,
                          "defaultLanguage": "fr"}),
            ),
        )
        .await;
    assert_eq!(patch.status.as_u16(), 200, "{}", patch.body);
    let mut dutch = crate::harness::user("an@example.com");
    dutch["preferredLanguage"] = json!("nl-BE");
    let mut unknown = crate::harness::user("jo@example.com");
    unknown["preferredLanguage"] = json!("es-ES");
    let mut phone_only = crate::harness::user("phone-only");
    phone_only.as_object_mut().unwrap().remove("emails");
    phone_only["phoneNumbers"] = json!([{"value": "+32 470 12 34 56"}]);
    // An e-mail value that is not an address (Microsoft's reference collection sends such) is
    // stored as sent, with a warning, and gets no invitation.
    let mut odd = crate::harness::user("odd");
    odd["emails"] = json!([{"value": "emailName357", "type": "work"}]);
    let mut created = Vec::new();
    for body in [&dutch, &unknown, &phone_only, &odd] {
        let r = app.post("/scim/v2/Users", &account.scim, body).await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.body);
        created.push(r.body);
    }
    let mt = |u: &serde_json::Value| {
        u["urn:ietf:params:scim:schemas:extension:mobietrain:2.0:User"]["registration"].clone()
    };
    assert_eq!(mt(&created[0]), "invited");
    assert_eq!(mt(&created[2]), "registered", "no e-mail, no invitation");
    assert_eq!(
        mt(&created[3]),
        "registered",
        "no e-mail address, no invitation"
    );
    assert_eq!(created[3]["emails"][0]["value"], "emailName357");
    let w = app
        .get("/admin/v1/audit?code=user.email_invalid", &account.admin)
        .await;
    assert_eq!(w.body["totalResults"], 1, "{}", w.body);
    assert_eq!(
        w.body["events"][0]["resourceId"], created[3]["id"],
        "{}",
        w.body
    );

    let mailer = app.mailer.clone();
    run_due(&app);
    let tab = app.get("/admin/v1/invitations", &account.admin).await;
    let mut langs: Vec<(String, String)> = tab.body["invitations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["email"].as_str().unwrap().to_owned(),
                i["language"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    langs.sort();
    assert_eq!(
        langs,
        [
            ("an@example.com".to_owned(), "nl".to_owned()),
            ("jo@example.com".to_owned(), "fr".to_owned())
        ]
    );
    let subjects: Vec<String> = mailer.sent().into_iter().map(|m| m.subject).collect();
    assert_eq!(subjects.len(), 2);
    assert!(subjects.iter().any(|s| s.contains("nodigt je uit")));
    assert!(subjects.iter().any(|s| s.contains("vous invite")));
    // A SCIM user is never deleted with its invitation: withdrawing keeps them.
    let id = tab.body["invitations"][0]["id"].as_str().unwrap();
    let r = app
        .delete(&format!("/admin/v1/invitations/{id}"), &account.admin)
        .await;
    assert_eq!(r.status.as_u16(), 204);
    assert_eq!(app.count("users"), 4);
}

#[actix_web::test]
async fn the_hourly_purge_ends_an_invitation_whose_expiry_job_was_lost() {
    let (app, clock) = app_with_clock();
    let (account, group) = account_with_group(&app, "Acme Retail").await;
    invite(&app, &account, "ann@example.com", &group).await;
    let sent = clock.now();
    diesel::delete(jobs::table.filter(jobs::name.eq("invitations.expire")))
        .execute(&mut app.conn())
        .unwrap();
    let schedules = mobietrain_scim::invitations::jobs::schedules();
    let mailer: Arc<dyn Mailer> = app.mailer.clone();
    app.run_due_jobs_with(mailer.clone(), schedules.clone());
    assert_no_failed_job(&app);
    move_to(&clock, sent + Duration::days(60) + Duration::hours(1));
    app.run_due_jobs_with(mailer, schedules);
    assert_no_failed_job(&app);
    assert_eq!(app.count("invitations"), 0);
    assert_eq!(app.count("users"), 0);
    let log = app
        .get("/admin/v1/audit?code=invitation.expired", &account.admin)
        .await;
    assert_eq!(log.body["totalResults"], 1);
}
