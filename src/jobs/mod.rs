//! The durable job queue: side effects (e-mail, purges) run here, never inline in a request.
//!
//! **Enqueue** with [`queue::enqueue`] on the caller's connection, inside the caller's transaction:
//! the job exists exactly when the change that causes it committed. A job has a name (its
//! [`queue::JobType`]), a JSON payload that never holds a secret, an optional account (`None` for
//! server-wide work), an optional dedup key (while a not-yet-done job of the same name has the key,
//! enqueueing another is a no-op), a run-at time and a priority.
//!
//! **Workers** ([`worker`]) claim jobs under a lease: on PostgreSQL with `FOR UPDATE SKIP LOCKED`,
//! so any number of workers in any number of instances take different jobs; on SQLite inside a
//! `BEGIN IMMEDIATE` transaction, which the single writer serialises. A worker that dies loses its
//! jobs only until their lease runs out; then another worker claims them again. A failed attempt is
//! retried after an exponential backoff with jitter ([`queue::Backoff`]); when its attempts are
//! spent the job is kept as `failed` with its last error, for an admin to see and retry. On
//! shutdown a worker finishes the job it is running and claims no more.
//!
//! **Periodic work** ([`schedule`]) is enqueued by whichever instance first moves the schedule's
//! `next_run_at` on (a compare-and-set), so N instances enqueue each run once.
//!
//! # Idempotence: the rules every handler follows
//!
//! Delivery is **at least once**: a worker can die after the side effect and before marking the job
//! done, and the job then runs again. So a handler
//! 1. **reloads its state** from the database instead of trusting the payload (the payload names
//!    things by id; the user may have changed, been deactivated or deleted since),
//! 2. **skips what is already done** (a deleted recipient, an invitation already accepted: nothing to
//!    do is success, not failure),
//! 3. **marks what it did** in the same transaction as its database effects, and makes external
//!    effects recognisable when repeated: an e-mail's `Message-ID` is derived from the logical send
//!    ([`crate::email::message_id`]), so a repeated delivery is the same message to the receiving
//!    side.
//!
//! A handler returns an error to be retried, or [`Permanent`] when retrying cannot help. Error texts
//! go to the job row (visible to the account's admins), never to the logs: a mail server may quote
//! an address in its answer.

pub mod queue;
pub mod schedule;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Pool;
use crate::db::models::JobRow;
use crate::email::Mailer;
use crate::email::templates::Templates;
pub use queue::{EnqueueOptions, Enqueued, JobState, JobType, enqueue};

/// What handlers use: the database, the time, the mailer, the e-mail templates, the server key and
/// the invitation settings.
#[derive(Debug, Clone)]
pub struct Services {
    /// Database connections.
    pub pool: Pool,
    /// The time source (a [`crate::clock::ManualClock`] in tests).
    pub clock: Arc<dyn Clock>,
    /// Where e-mail goes.
    pub mailer: Arc<dyn Mailer>,
    /// The embedded e-mail templates.
    pub templates: Arc<Templates>,
    /// The server key: invitation links are derived from it when their e-mail is sent.
    pub server_key: Arc<crate::crypto::ServerKey>,
    /// Invitation reminders, expiry and links.
    pub invitations: Arc<crate::invitations::InvitationSettings>,
}

/// A place in a job's run where tests make a worker die, to prove a job survives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrashPoint {
    /// The job is claimed; its handler has not started.
    AfterClaim,
    /// The handler did its external side effect (the mail is sent) and has not returned.
    AfterSideEffect,
    /// The handler returned; the job is not yet marked done.
    BeforeComplete,
}

/// Decides whether the worker dies at a crash point (tests only; production has none).
pub type FaultHook = Arc<dyn Fn(CrashPoint, &JobRow) -> bool + Send + Sync>;

/// The error a handler returns when its worker "died" at a crash point: the worker stops on the
/// spot and leaves the job claimed, as a killed process would.
#[derive(Debug, thiserror::Error)]
#[error("the worker was stopped at {0:?}")]
pub struct Crashed(pub CrashPoint);

/// A handler error that retrying cannot fix: the job is failed at once.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Permanent(pub String);

/// What a handler sees of its job and the world.
pub struct JobContext<'a> {
    /// Shared services.
    pub services: &'a Services,
    /// The job as claimed (its attempt already counted).
    pub job: &'a JobRow,
    faults: Option<&'a FaultHook>,
}

impl std::fmt::Debug for JobContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job.id)
            .finish_non_exhaustive()
    }
}

impl JobContext<'_> {
    /// Fails with [`Crashed`] when a test's fault hook says the worker dies here.
    pub fn crash_point(&self, point: CrashPoint) -> Result<(), Crashed> {
        match self.faults {
            Some(hook) if hook(point, self.job) => Err(Crashed(point)),
            _ => Ok(()),
        }
    }

    /// A pooled connection.
    pub fn conn(&self) -> anyhow::Result<crate::db::PooledConn> {
        Ok(self.services.pool.get()?)
    }
}

type Handler = Arc<dyn Fn(&JobContext<'_>, serde_json::Value) -> anyhow::Result<()> + Send + Sync>;

/// The handlers of this instance, by job name.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl Registry {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every handler the server ships: `send_email`, the purge of old done jobs, and the
    /// invitations' e-mails, expiry and provisioning.
    pub fn standard() -> Self {
        let mut registry = Self::new();
        registry.register::<crate::email::job::SendEmail>(crate::email::job::run);
        registry.register::<schedule::PurgeDoneJobs>(schedule::purge_done_jobs);
        crate::invitations::jobs::register(&mut registry);
        registry
    }

    /// Registers the handler of job type `J`.
    pub fn register<J: JobType + 'static>(
        &mut self,
        handler: impl Fn(&JobContext<'_>, J) -> anyhow::Result<()> + Send + Sync + 'static,
    ) {
        self.handlers.insert(
            J::NAME,
            Arc::new(move |ctx, payload| {
                let job: J = serde_json::from_value(payload)
                    .map_err(|e| Permanent(format!("the payload does not fit the job: {e}")))?;
                handler(ctx, job)
            }),
        );
    }

    fn get(&self, name: &str) -> Option<&Handler> {
        self.handlers.get(name)
    }
}
