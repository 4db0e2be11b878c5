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
//! **Generic**: the queue knows no concrete job. Job types and their handlers are registered in a
//! [`Registry`] over a context type `C` (whatever the handlers need: a mailer, settings), which
//! the application's composition root (`app`) builds; the queue itself asks the context only
//! for the pool and the clock ([`Runtime`]).
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
//!    (the mail transport derives it), so a repeated delivery is the same message to the receiving
//!    side.
//!
//! A handler returns an error to be retried, or [`Permanent`] when retrying cannot help. Error texts
//! go to the job row (visible to the account's admins), never to the logs: a mail server may quote
//! an address in its answer.

pub mod queue;
pub mod schedule;
mod storage;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Clock;
use crate::db::Pool;
use crate::db::models::JobRow;
pub use queue::{EnqueueOptions, Enqueued, JobState, JobType, enqueue};

/// What the queue itself needs of a handlers' context: the database and the time. The context
/// type of a [`Registry`] implements it; everything else in it is for the handlers.
pub trait Runtime: Send + Sync + 'static {
    /// Database connections.
    fn pool(&self) -> &Pool;
    /// The time source (a [`crate::clock::ManualClock`] in tests).
    fn clock(&self) -> &dyn Clock;
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
pub struct JobContext<'a, C> {
    /// The handlers' context, as the application built it.
    pub services: &'a C,
    /// The job as claimed (its attempt already counted).
    pub job: &'a JobRow,
    faults: Option<&'a FaultHook>,
}

impl<C> std::fmt::Debug for JobContext<'_, C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job", &self.job.id)
            .finish_non_exhaustive()
    }
}

impl<C> JobContext<'_, C> {
    /// Fails with [`Crashed`] when a test's fault hook says the worker dies here.
    pub fn crash_point(&self, point: CrashPoint) -> Result<(), Crashed> {
        match self.faults {
            Some(hook) if hook(point, self.job) => Err(Crashed(point)),
            _ => Ok(()),
        }
    }
}

impl<C: Runtime> JobContext<'_, C> {
    /// A pooled connection.
    pub fn conn(&self) -> anyhow::Result<crate::db::PooledConn> {
        Ok(crate::db::checked_out(self.services.pool())?)
    }

    /// Now, on the context's clock.
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.services.clock().now_naive()
    }
}

type Handler<C> =
    Arc<dyn Fn(&JobContext<'_, C>, serde_json::Value) -> anyhow::Result<()> + Send + Sync>;

/// The handlers of this instance, by job name, over the context type `C` they share.
pub struct Registry<C> {
    handlers: HashMap<&'static str, Handler<C>>,
}

impl<C> Clone for Registry<C> {
    fn clone(&self) -> Self {
        Self {
            handlers: self.handlers.clone(),
        }
    }
}

impl<C> Default for Registry<C> {
    fn default() -> Self {
        Self {
            handlers: HashMap::new(),
        }
    }
}

impl<C> std::fmt::Debug for Registry<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.handlers.keys()).finish()
    }
}

impl<C> Registry<C> {
    /// No handlers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers the handler of job type `J`, replacing any earlier one of the same name.
    pub fn register<J: JobType + 'static>(
        &mut self,
        handler: impl Fn(&JobContext<'_, C>, J) -> anyhow::Result<()> + Send + Sync + 'static,
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

    /// The names of the registered jobs, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        let mut names: Vec<_> = self.handlers.keys().copied().collect();
        names.sort_unstable();
        names
    }

    fn get(&self, name: &str) -> Option<&Handler<C>> {
        self.handlers.get(name)
    }
}
