//! The job queue against the real database: exactly-once runs with several workers and instances,
//! survival of workers killed at each crash point (the mail goes out at least once, always with the
//! same Message-ID), transactional enqueue, backoff on an injected clock, schedules enqueued once by
//! several instances, and the admin API and CLI for failed jobs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Duration;

use actix_web::http::Method;
use chrono::{TimeZone, Utc};
use diesel::prelude::*;
use mobietrain_scim::app::{self, JobServices};
use mobietrain_scim::clock::{Clock, ManualClock, SystemClock};
use mobietrain_scim::db::schema::jobs as jobs_table;
use mobietrain_scim::db::{self, write_transaction};
use mobietrain_scim::email::memory::MemoryMailer;
use mobietrain_scim::email::{self, Mailer, job::SendEmail};
use mobietrain_scim::jobs::queue::{self, Backoff, Enqueued};
use mobietrain_scim::jobs::schedule::{self, Schedule};
use mobietrain_scim::jobs::worker::{WorkerSettings, Workers, run_due};
use mobietrain_scim::jobs::{
    CrashPoint, EnqueueOptions, FaultHook, JobState, JobType, Registry, enqueue,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::harness::{TestApp, pool_on, user, wait_for};

/// A test job whose side effect is counting its runs.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    n: u32,
}

impl JobType for Record {
    const NAME: &'static str = "test.record";
}

/// A test job that always fails.
#[derive(Debug, Serialize, Deserialize)]
struct AlwaysFails {}

impl JobType for AlwaysFails {
    const NAME: &'static str = "test.always_fails";
}

const WAIT: Duration = Duration::from_secs(60);

/// The app's job services (through the composition root) on `pool`, with this clock and mailer.
fn services(
    app: &TestApp,
    pool: &db::Pool,
    clock: Arc<dyn Clock>,
    mailer: Arc<dyn Mailer>,
) -> JobServices {
    JobServices {
        pool: pool.clone(),
        clock,
        ..app::job_services(&app.state, mailer)
    }
}

fn settings(instance: &str, threads: usize, faults: Option<FaultHook>) -> WorkerSettings {
    WorkerSettings {
        threads,
        lease: chrono::Duration::seconds(60),
        poll_interval: Duration::from_millis(10),
        backoff: Backoff::default(),
        schedules: Vec::new(),
        instance: instance.to_owned(),
        faults,
        ..WorkerSettings::default()
    }
}

fn counts(pool: &db::Pool) -> HashMap<JobState, i64> {
    queue::count_by_state(&mut pool.get().unwrap())
        .unwrap()
        .into_iter()
        .collect()
}

fn job(pool: &db::Pool, id: &str) -> mobietrain_scim::db::models::JobRow {
    jobs_table::table
        .find(id)
        .select(mobietrain_scim::db::models::JobRow::as_select())
        .first(&mut pool.get().unwrap())
        .unwrap()
}

fn new_id(e: Enqueued) -> String {
    match e {
        Enqueued::New(id) => id,
        Enqueued::Duplicate => panic!("expected a new job"),
    }
}

#[test]
fn three_hundred_jobs_on_four_workers_in_two_instances_each_run_exactly_once() {
    let app = TestApp::new();
    let other_instance = pool_on(&app.db, 4);
    let now = SystemClock.now_naive();
    write_transaction(&mut app.conn(), |conn| {
        for n in 0..300 {
            enqueue(conn, &Record { n }, EnqueueOptions::default(), now).unwrap();
        }
        Ok::<_, diesel::result::Error>(())
    })
    .unwrap();

    let runs: Arc<Mutex<HashMap<u32, u32>>> = Arc::default();
    let registry = {
        let runs = runs.clone();
        let mut r = Registry::new();
        r.register::<Record>(move |_, job| {
            *runs.lock().unwrap().entry(job.n).or_default() += 1;
            Ok(())
        });
        r
    };
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let mailer: Arc<dyn Mailer> = Arc::new(MemoryMailer::new());
    let a = Workers::start(
        services(&app, &app.state.pool, clock.clone(), mailer.clone()),
        registry.clone(),
        settings("a", 2, None),
    );
    let b = Workers::start(
        services(&app, &other_instance, clock, mailer),
        registry,
        settings("b", 2, None),
    );
    wait_for("300 jobs done", WAIT, || {
        counts(&app.state.pool)[&JobState::Done] == 300
    });
    a.shutdown();
    b.shutdown();

    let runs = runs.lock().unwrap();
    assert_eq!(runs.len(), 300, "every job ran");
    assert!(runs.values().all(|&n| n == 1), "no job ran twice");
    let c = counts(&app.state.pool);
    assert_eq!(
        (
            c[&JobState::Queued],
            c[&JobState::Running],
            c[&JobState::Failed]
        ),
        (0, 0, 0)
    );
}

/// An account with one user (Ann Lee, e-mail `ann@example.com`), through the SCIM API.
async fn account_with_user(app: &TestApp) -> (crate::harness::TestAccount, String) {
    let account = app.account("Acme Retail");
    let created = app
        .post("/scim/v2/Users", &account.scim, &user("ann@example.com"))
        .await;
    assert_eq!(created.status.as_u16(), 201, "{}", created.body);
    let user_id = created.body["id"].as_str().unwrap().to_owned();
    (account, user_id)
}

fn invitation(user_id: &str) -> SendEmail {
    SendEmail {
        template: "invitation".into(),
        language: Some("nl-BE".into()),
        user_id: user_id.to_owned(),
        params: json!({
            "accept_url": "https://app.mobietrain.com/invitations/accept?i=42",
            "expires_at": "2027-01-21T09:00:00Z",
        }),
        message_key: None,
    }
}

#[actix_web::test]
async fn a_worker_killed_at_any_crash_point_leaves_the_job_to_another_and_the_mail_keeps_its_message_id()
 {
    for point in [
        CrashPoint::AfterClaim,
        CrashPoint::AfterSideEffect,
        CrashPoint::BeforeComplete,
    ] {
        let app = TestApp::new();
        let (account, user_id) = account_with_user(&app).await;
        let clock = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
        ));
        let mailer = Arc::new(MemoryMailer::new());
        let id = new_id(
            enqueue(
                &mut app.conn(),
                &invitation(&user_id),
                EnqueueOptions {
                    account_id: Some(account.id.clone()),
                    dedup_key: Some("invitation:42:send:1".into()),
                    ..EnqueueOptions::default()
                },
                clock.now_naive(),
            )
            .unwrap(),
        );

        // The first worker dies at the crash point, once.
        let died = Arc::new(AtomicBool::new(false));
        let hook: FaultHook = {
            let died = died.clone();
            Arc::new(move |at, _| at == point && !died.swap(true, Ordering::SeqCst))
        };
        let first = Workers::start(
            services(&app, &app.state.pool, clock.clone(), mailer.clone()),
            app::job_registry(),
            settings("doomed", 1, Some(hook)),
        );
        wait_for("the first worker to die", WAIT, || first.all_finished());
        first.shutdown();
        assert!(died.load(Ordering::SeqCst));
        let held = job(&app.state.pool, &id);
        assert_eq!(
            (held.state.as_str(), held.attempts),
            ("running", 1),
            "{point:?}"
        );
        let sent_before = mailer.sent().len();
        assert_eq!(
            sent_before,
            usize::from(point != CrashPoint::AfterClaim),
            "{point:?}"
        );

        // Another instance takes the job over once the lease has run out.
        clock.advance(chrono::Duration::seconds(61));
        let other_pool = pool_on(&app.db, 2);
        let second = Workers::start(
            services(&app, &other_pool, clock.clone(), mailer.clone()),
            app::job_registry(),
            settings("survivor", 1, None),
        );
        wait_for("the job to be done", WAIT, || {
            job(&app.state.pool, &id).state == "done"
        });
        second.shutdown();

        let done = job(&app.state.pool, &id);
        assert_eq!(done.attempts, 2, "{point:?}");
        let sent = mailer.sent();
        assert_eq!(sent.len(), sent_before + 1, "{point:?}: at least once");
        let expected_id = email::message_id("invitation:42:send:1", "invitation", mailer.domain());
        assert!(
            sent.iter().all(|m| m.message_id == expected_id),
            "{point:?}: every delivery is the same message"
        );
        let m = &sent[0];
        assert_eq!(m.to, "ann@example.com");
        assert_eq!(m.subject, "Acme Retail nodigt je uit voor MobieTrain");
        assert!(m.text.starts_with("Hallo Ann,"), "{}", m.text);
        assert!(m.text.contains("21 januari 2027"));
        assert!(
            m.html
                .replace("&#x2f;", "/")
                .contains("https://app.mobietrain.com/invitations/accept?i=42")
        );
    }
}

#[test]
fn an_enqueue_in_a_rolled_back_transaction_leaves_no_job_and_dedup_keys_hold_while_waiting() {
    let app = TestApp::new();
    // Its test jobs are for the queue's bookkeeping only; no registry runs them.
    app.allow_unprocessed_jobs();
    let now = SystemClock.now_naive();
    let mut conn = app.conn();
    let rolled_back: Result<(), diesel::result::Error> = write_transaction(&mut conn, |c| {
        enqueue(c, &Record { n: 1 }, EnqueueOptions::default(), now).unwrap();
        assert_eq!(
            jobs_table::table.count().get_result::<i64>(c).unwrap(),
            1,
            "visible inside"
        );
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(rolled_back.is_err());
    assert_eq!(app.count("jobs"), 0);

    let keyed = || EnqueueOptions {
        dedup_key: Some("k".into()),
        ..EnqueueOptions::default()
    };
    let first =
        write_transaction(&mut conn, |c| enqueue(c, &Record { n: 2 }, keyed(), now)).unwrap();
    let id = new_id(first);
    // Inside a transaction a duplicate is a quiet no-op that leaves the transaction usable.
    write_transaction(&mut conn, |c| {
        assert_eq!(
            enqueue(c, &Record { n: 3 }, keyed(), now).unwrap(),
            Enqueued::Duplicate
        );
        enqueue(c, &Record { n: 4 }, EnqueueOptions::default(), now)
    })
    .unwrap();
    assert_eq!(app.count("jobs"), 2);
    let claimed = queue::claim(&mut conn, "w", 10, chrono::Duration::seconds(60), now).unwrap();
    assert_eq!(claimed.len(), 2);
    let mine = claimed.iter().find(|j| j.id == id).unwrap();
    assert_eq!(
        enqueue(&mut conn, &Record { n: 5 }, keyed(), now).unwrap(),
        Enqueued::Duplicate,
        "a running job still holds its key"
    );
    assert!(queue::complete(&mut conn, mine, now).unwrap());
    assert!(matches!(
        enqueue(&mut conn, &Record { n: 6 }, keyed(), now).unwrap(),
        Enqueued::New(_)
    ));
}

#[test]
fn failures_back_off_exponentially_with_jitter_on_the_injected_clock_then_fail_for_good() {
    let app = TestApp::new();
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap(),
    ));
    let backoff = Backoff::default();
    let id = new_id(
        enqueue(
            &mut app.conn(),
            &AlwaysFails {},
            EnqueueOptions {
                max_attempts: Some(3),
                ..EnqueueOptions::default()
            },
            clock.now_naive(),
        )
        .unwrap(),
    );

    // Attempt 1 through the worker's code, as a run of the due jobs.
    let mut registry = Registry::new();
    registry.register::<AlwaysFails>(|_, _| Err(anyhow::anyhow!("the remote side said no")));
    let failed_at = clock.now_naive();
    run_due(
        &services(
            &app,
            &app.state.pool,
            clock.clone(),
            Arc::new(MemoryMailer::new()),
        ),
        &registry,
        &settings("w", 1, None),
        10,
    )
    .unwrap();
    let j = job(&app.state.pool, &id);
    let delay = backoff.delay(&id, 1);
    assert_eq!(j.run_at, failed_at + delay);
    assert!(delay >= chrono::Duration::seconds(5) && delay < chrono::Duration::seconds(10));
    assert_eq!(j.last_error.as_deref(), Some("the remote side said no"));

    // Attempts 2 and 3 by hand, at exactly the due times.
    let mut conn = app.conn();
    let lease = chrono::Duration::seconds(60);
    for attempt in 2..=3 {
        let due = job(&app.state.pool, &id).run_at;
        let early = queue::claim(
            &mut conn,
            "w",
            1,
            lease,
            due - chrono::Duration::milliseconds(1),
        );
        assert!(early.unwrap().is_empty(), "not before its time");
        let claimed = queue::claim(&mut conn, "w", 1, lease, due).unwrap();
        assert_eq!(claimed[0].attempts, attempt);
        let state = queue::fail(&mut conn, &claimed[0], "still no", &backoff, due).unwrap();
        let j = job(&app.state.pool, &id);
        if attempt < 3 {
            assert_eq!(state, Some(JobState::Queued));
            let d = backoff.delay(&id, attempt);
            assert_eq!(j.run_at, due + d);
            assert!(d >= chrono::Duration::seconds(10) && d < chrono::Duration::seconds(20));
        } else {
            assert_eq!(state, Some(JobState::Failed));
            assert_eq!(j.state, "failed");
            assert_eq!(j.last_error.as_deref(), Some("still no"));
            assert!(j.finished_at.is_some());
        }
    }
    // The ceiling doubles up to the maximum.
    assert_eq!(backoff.ceiling(1), chrono::Duration::seconds(10));
    assert_eq!(backoff.ceiling(4), chrono::Duration::seconds(80));
    assert_eq!(backoff.ceiling(30), chrono::Duration::hours(1));
}

#[test]
fn a_schedule_is_enqueued_once_by_several_instances() {
    let app = TestApp::new();
    // Its test job is for the schedule's bookkeeping only; no registry runs it.
    app.allow_unprocessed_jobs();
    let now = Utc
        .with_ymd_and_hms(2026, 11, 22, 10, 0, 0)
        .unwrap()
        .naive_utc();
    let schedules = vec![Schedule {
        name: "test.hourly",
        every: chrono::Duration::hours(1),
        job: Record::NAME,
        payload: json!({"n": 1}),
    }];
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let pool = pool_on(&app.db, 1);
            let barrier = barrier.clone();
            let schedules = schedules.clone();
            std::thread::spawn(move || {
                let mut conn = pool.get().unwrap();
                barrier.wait();
                schedule::tick(&mut conn, &schedules, now).unwrap()
            })
        })
        .collect();
    let enqueued: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(enqueued, 1);
    assert_eq!(app.count("jobs"), 1);
    let mut conn = app.conn();
    let later = now + chrono::Duration::minutes(59);
    assert_eq!(schedule::tick(&mut conn, &schedules, later).unwrap(), 0);
    let next = now + chrono::Duration::hours(1);
    // Due again, but the previous run still waits: the dedup key keeps it single.
    assert_eq!(schedule::tick(&mut conn, &schedules, next).unwrap(), 1);
    assert_eq!(app.count("jobs"), 1);
}

/// A job of `account` (or server-wide) that has failed for good.
fn failed_job(app: &TestApp, account: Option<&str>) -> String {
    let now = SystemClock.now_naive();
    let mut conn = app.conn();
    let id = new_id(
        enqueue(
            &mut conn,
            &Record { n: 9 },
            EnqueueOptions {
                account_id: account.map(str::to_owned),
                max_attempts: Some(1),
                ..EnqueueOptions::default()
            },
            now,
        )
        .unwrap(),
    );
    let claimed = queue::claim(&mut conn, "w", 10, chrono::Duration::seconds(60), now).unwrap();
    let mine = claimed.iter().find(|j| j.id == id).unwrap();
    let state = queue::fail(&mut conn, mine, "boom", &Backoff::default(), now).unwrap();
    assert_eq!(state, Some(JobState::Failed));
    id
}

#[actix_web::test]
async fn an_account_sees_and_retries_only_its_own_failed_jobs_and_readyz_counts_them() {
    let app = TestApp::new();
    // The retried test job is left queued: no registry runs it.
    app.allow_unprocessed_jobs();
    let acme = app.account("Acme");
    let other = app.account("Other");
    let mine = failed_job(&app, Some(&acme.id));
    let theirs = failed_job(&app, Some(&other.id));
    let server_wide = failed_job(&app, None);

    let list = app.get("/admin/v1/jobs?state=failed", &acme.admin).await;
    assert_eq!(list.status.as_u16(), 200, "{}", list.body);
    let ids: Vec<&str> = list.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine.as_str()]);
    assert_eq!(list.body["jobs"][0]["lastError"], "boom");
    assert_eq!(list.body["jobs"][0]["state"], "failed");

    let scim_token = app.get("/admin/v1/jobs", &acme.scim).await;
    assert_eq!(scim_token.status.as_u16(), 403);
    let bad = app.get("/admin/v1/jobs?state=nope", &acme.admin).await;
    assert_eq!(bad.status.as_u16(), 400);
    assert_eq!(
        bad.header("content-type").as_deref(),
        Some("application/problem+json")
    );

    for id in [&theirs, &server_wide, &"no-such-job".to_owned()] {
        let r = app
            .call(
                Method::POST,
                &format!("/admin/v1/jobs/{id}/retry"),
                &acme.admin,
                None,
            )
            .await;
        assert_eq!(r.status.as_u16(), 404, "{}", r.body);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/problem+json")
        );
    }
    let ready = app
        .send(actix_web::test::TestRequest::get().uri("/readyz"))
        .await;
    assert_eq!(ready.body["jobs"]["failed"], 3);
    assert_eq!(ready.body["jobs"]["queued"], 0);

    let retried = app
        .call(
            Method::POST,
            &format!("/admin/v1/jobs/{mine}/retry"),
            &acme.admin,
            None,
        )
        .await;
    assert_eq!(retried.status.as_u16(), 200, "{}", retried.body);
    assert_eq!(retried.body["state"], "queued");
    assert_eq!(retried.body["attempts"], 0);
    let again = app
        .call(
            Method::POST,
            &format!("/admin/v1/jobs/{mine}/retry"),
            &acme.admin,
            None,
        )
        .await;
    assert_eq!(again.status.as_u16(), 400, "only a failed job is retried");
    let ready = app
        .send(actix_web::test::TestRequest::get().uri("/readyz"))
        .await;
    assert_eq!(ready.body["jobs"]["failed"], 2);
    assert_eq!(ready.body["jobs"]["queued"], 1);
}

#[test]
fn the_cli_lists_and_retries_server_wide_jobs() {
    let app = TestApp::new();
    // The retried test job is left queued: no registry runs it.
    app.allow_unprocessed_jobs();
    let acme = app.account("Acme");
    let server_wide = failed_job(&app, None);
    let accounts_own = failed_job(&app, Some(&acme.id));
    let cli = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
            .args(args)
            .env("DATABASE_URL", &app.db.url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = cli(&["jobs", "list", "--state", "failed"]);
    assert!(
        listed.contains(&server_wide) && listed.contains("boom"),
        "{listed}"
    );
    assert!(
        !listed.contains(&accounts_own),
        "an account's job is not server-wide"
    );
    let retried = cli(&["jobs", "retry", &server_wide]);
    assert!(retried.contains("queued again"), "{retried}");
    assert_eq!(job(&app.state.pool, &server_wide).state, "queued");
    assert!(!cli(&["jobs", "list", "--state", "failed"]).contains(&server_wide));
}

#[test]
fn shutdown_lets_a_worker_finish_the_job_it_holds() {
    let app = TestApp::new();
    let id = new_id(
        enqueue(
            &mut app.conn(),
            &Record { n: 1 },
            EnqueueOptions::default(),
            SystemClock.now_naive(),
        )
        .unwrap(),
    );
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (finish_tx, finish_rx) = std::sync::mpsc::channel::<()>();
    let started_tx = Mutex::new(started_tx);
    let finish_rx = Mutex::new(finish_rx);
    let mut registry = Registry::new();
    registry.register::<Record>(move |_, _| {
        started_tx.lock().unwrap().send(()).unwrap();
        finish_rx.lock().unwrap().recv().unwrap();
        Ok(())
    });
    let workers = Workers::start(
        services(
            &app,
            &app.state.pool,
            Arc::new(SystemClock),
            Arc::new(MemoryMailer::new()),
        ),
        registry,
        settings("w", 1, None),
    );
    started_rx.recv_timeout(WAIT).expect("the job starts");
    let stopping = std::thread::spawn(move || workers.shutdown());
    finish_tx.send(()).unwrap();
    stopping.join().unwrap();
    assert_eq!(job(&app.state.pool, &id).state, "done");
}

#[test]
fn the_worker_command_runs_until_sigterm_and_stops_cleanly() {
    let app = TestApp::new();
    // The worker process may be stopped before it has run every periodic job it enqueued.
    app.allow_unprocessed_jobs();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mobietrain-scim"))
        .arg("worker")
        .env("DATABASE_URL", &app.db.url)
        .env("SERVER_KEY", "ab".repeat(32))
        .env("WORKER_THREADS", "1")
        .env("JOB_POLL_MS", "20")
        .env("RUST_LOG", "warn")
        .env_remove("SMTP_URL")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    std::io::BufRead::read_line(&mut out, &mut line).unwrap();
    assert!(line.contains("worker running"), "{line}");
    // The periodic purge is enqueued by the running worker and done by it.
    wait_for("the periodic purge to run", WAIT, || {
        use mobietrain_scim::db::schema::jobs::dsl as j;
        j::jobs
            .filter(j::name.eq("jobs.purge_done"))
            .filter(j::state.eq("done"))
            .count()
            .get_result::<i64>(&mut app.conn())
            .unwrap()
            == 1
    });
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exits 0 after SIGTERM: {status}");
}
