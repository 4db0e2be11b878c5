//! The workers: std threads that claim jobs, run their handlers and record the outcome, until told
//! to stop. `serve` runs them beside the HTTP server; `mobietrain-scim worker` runs only them.
//! [`run_due`] runs the due jobs once, on the caller's thread, through the same code (tests).

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use chrono::Duration;

use super::queue::{self, Backoff};
use super::schedule::{self, Schedule};
use super::{CrashPoint, Crashed, FaultHook, JobContext, JobState, Permanent, Registry, Runtime};
use crate::db::models::JobRow;
use crate::metrics::{JobOutcome, Metrics};

/// How the workers of one instance behave.
#[derive(Clone)]
pub struct WorkerSettings {
    /// Worker threads.
    pub threads: usize,
    /// How long a claim holds a job; a job whose worker died is claimed again after this. Longer
    /// than any handler runs.
    pub lease: Duration,
    /// How long an idle worker waits before it looks for work again.
    pub poll_interval: std::time::Duration,
    /// The retry delays.
    pub backoff: Backoff,
    /// Periodic work this instance enqueues when due (checked by the first thread); none by
    /// default: the application's composition root names them.
    pub schedules: Vec<Schedule>,
    /// A name for the instance, recorded in `claimed_by`.
    pub instance: String,
    /// Tests only: makes a worker die at a crash point.
    pub faults: Option<FaultHook>,
    /// Where job outcomes are counted.
    pub metrics: Arc<Metrics>,
    /// Names the kind of a failure for the log (`mail_transport`, `database`, …): a word from the
    /// code, never the error's text, which may quote an address. The text goes to the job row.
    pub classify: fn(&anyhow::Error) -> &'static str,
}

impl std::fmt::Debug for WorkerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSettings")
            .field("threads", &self.threads)
            .field("lease", &self.lease)
            .field("poll_interval", &self.poll_interval)
            .field("backoff", &self.backoff)
            .field("instance", &self.instance)
            .finish_non_exhaustive()
    }
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            threads: 2,
            lease: Duration::minutes(5),
            poll_interval: std::time::Duration::from_secs(1),
            backoff: Backoff::default(),
            schedules: Vec::new(),
            instance: format!("worker-{}", std::process::id()),
            faults: None,
            metrics: Arc::default(),
            classify,
        }
    }
}

/// The kind of a failure that the generic queue can tell: a permanent one, a panic, a database
/// error; anything else is `handler_error`.
pub fn classify(error: &anyhow::Error) -> &'static str {
    if error.is::<Permanent>() {
        "permanent"
    } else if error.is::<Unregistered>() {
        "no_handler"
    } else if error.is::<Panicked>() {
        "panic"
    } else if error
        .chain()
        .any(|e| e.is::<diesel::result::Error>() || e.is::<diesel::r2d2::PoolError>())
    {
        "database"
    } else {
        "handler_error"
    }
}

/// The job's name has no handler on this instance.
#[derive(Debug, thiserror::Error)]
#[error("no handler for job {0:?} on this instance")]
struct Unregistered(String);

/// The handler panicked.
#[derive(Debug, thiserror::Error)]
#[error("the handler panicked")]
struct Panicked;

#[derive(Debug, Default)]
struct Stop {
    stopping: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    fn is_set(&self) -> bool {
        *self.stopping.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits up to `timeout`; `true` when told to stop.
    fn wait(&self, timeout: std::time::Duration) -> bool {
        let guard = self.stopping.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, timeout, |stopping| !*stopping)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// Running workers; [`Workers::shutdown`] stops them gracefully.
#[derive(Debug)]
pub struct Workers {
    stop: Arc<Stop>,
    threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Starts `settings.threads` workers, running the jobs of `registry` with `services`.
    pub fn start<C: Runtime>(services: C, registry: Registry<C>, settings: WorkerSettings) -> Self {
        let stop = Arc::new(Stop::default());
        let shared = Arc::new((services, registry, settings));
        let threads = (0..shared.2.threads.max(1))
            .map(|i| {
                let shared = shared.clone();
                let stop = stop.clone();
                std::thread::Builder::new()
                    .name(format!("job-worker-{i}"))
                    .spawn(move || {
                        let (services, registry, settings) = &*shared;
                        let worker = Worker {
                            name: format!("{}-{i}", settings.instance),
                            services,
                            registry,
                            settings,
                            ticks_schedules: i == 0,
                        };
                        worker.run(&stop);
                    })
                    .expect("a worker thread starts")
            })
            .collect();
        Self { stop, threads }
    }

    /// Asks every worker to stop, and waits: each finishes the job it is running and claims no
    /// more.
    pub fn shutdown(self) {
        *self.stop.stopping.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.stop.wake.notify_all();
        for t in self.threads {
            if t.join().is_err() {
                tracing::error!("a job worker thread panicked");
            }
        }
        tracing::info!("job workers stopped");
    }

    /// Whether every worker thread has ended (tests: a worker "killed" at a crash point ends).
    pub fn all_finished(&self) -> bool {
        self.threads.iter().all(|t| t.is_finished())
    }
}

/// Runs, on this thread, every job that is due at the clock's time (ticking `settings.schedules`
/// first) until none is left; returns how many ran. A job that fails is retried later (its
/// `run_at` moves past now), so the loop ends; a run-away handler that keeps enqueueing due work
/// is stopped after `limit` jobs with an error.
pub fn run_due<C: Runtime>(
    services: &C,
    registry: &Registry<C>,
    settings: &WorkerSettings,
    limit: usize,
) -> anyhow::Result<usize> {
    let worker = Worker {
        name: format!("{}-due", settings.instance),
        services,
        registry,
        settings,
        ticks_schedules: true,
    };
    let mut ran = 0;
    while let Some(outcome) = worker.step()? {
        ran += 1;
        if matches!(outcome, Outcome::Died) {
            break;
        }
        anyhow::ensure!(ran < limit, "more than {limit} due jobs in one run");
    }
    Ok(ran)
}

struct Worker<'a, C> {
    name: String,
    services: &'a C,
    registry: &'a Registry<C>,
    settings: &'a WorkerSettings,
    ticks_schedules: bool,
}

/// What became of one job.
enum Outcome {
    /// Carry on with the next job.
    Continue,
    /// The worker "died" at a crash point: stop without touching the job.
    Died,
}

impl<C: Runtime> Worker<'_, C> {
    fn run(&self, stop: &Stop) {
        while !stop.is_set() {
            match self.step() {
                Ok(Some(Outcome::Continue)) => {}
                Ok(Some(Outcome::Died)) => return,
                Ok(None) => {
                    if stop.wait(self.settings.poll_interval) {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, worker = %self.name, "job worker cannot reach the database");
                    if stop.wait(self.settings.poll_interval) {
                        break;
                    }
                }
            }
        }
    }

    /// Claims and runs one job; `None` when there was none.
    fn step(&self) -> anyhow::Result<Option<Outcome>> {
        let mut conn = crate::db::checked_out(self.services.pool())?;
        let now = self.services.clock().now_naive();
        if self.ticks_schedules && !self.settings.schedules.is_empty() {
            let n = schedule::tick(&mut conn, &self.settings.schedules, now)?;
            if n > 0 {
                tracing::debug!(jobs.enqueued = n, "periodic jobs enqueued");
            }
        }
        let mut claimed = queue::claim(&mut conn, &self.name, 1, self.settings.lease, now)?;
        drop(conn);
        let Some(job) = claimed.pop() else {
            return Ok(None);
        };
        Ok(Some(self.execute(&job)?))
    }

    fn fault(&self, point: CrashPoint, job: &JobRow) -> bool {
        self.settings
            .faults
            .as_ref()
            .is_some_and(|hook| hook(point, job))
    }

    fn execute(&self, job: &JobRow) -> anyhow::Result<Outcome> {
        if self.fault(CrashPoint::AfterClaim, job) {
            return Ok(Outcome::Died);
        }
        let result = if job.attempts > job.max_attempts {
            Err(
                Permanent("the workers running it stopped before finishing too many times".into())
                    .into(),
            )
        } else {
            match self.registry.get(&job.name) {
                None => Err(Unregistered(job.name.clone()).into()),
                Some(handler) => {
                    let ctx = JobContext {
                        services: self.services,
                        job,
                        faults: self.settings.faults.as_ref(),
                    };
                    serde_json::from_str(&job.payload)
                        .map_err(|e| Permanent(format!("the payload is not JSON: {e}")).into())
                        .and_then(|payload| {
                            std::panic::catch_unwind(AssertUnwindSafe(|| handler(&ctx, payload)))
                                .unwrap_or_else(|_| Err(Panicked.into()))
                        })
                }
            }
        };
        let mut conn = crate::db::checked_out(self.services.pool())?;
        let now = self.services.clock().now_naive();
        // A name the registry does not know is counted under one label, so a stray row cannot
        // make new series.
        let label = if self.registry.get(&job.name).is_some() {
            job.name.as_str()
        } else {
            "unregistered"
        };
        let metrics = &self.settings.metrics;
        match result {
            Ok(()) => {
                if self.fault(CrashPoint::BeforeComplete, job) {
                    return Ok(Outcome::Died);
                }
                if queue::complete(&mut conn, job, now)? {
                    metrics.job(label, JobOutcome::Done);
                    tracing::info!(job.id = %job.id, job.name = %job.name, job.attempt = job.attempts, "job done");
                } else {
                    metrics.job(label, JobOutcome::LeaseLost);
                    tracing::warn!(job.id = %job.id, job.name = %job.name, "job finished after its lease ran out");
                }
            }
            Err(e) if e.is::<Crashed>() => return Ok(Outcome::Died),
            Err(e) => {
                let permanent = e.is::<Permanent>();
                let mut failing = job.clone();
                if permanent {
                    failing.attempts = failing.attempts.max(failing.max_attempts);
                }
                // The text goes to the job row only: a mail server may quote an address in it. The
                // log says what kind of failure it was.
                let reason = (self.settings.classify)(&e);
                match queue::fail(
                    &mut conn,
                    &failing,
                    &format!("{e:#}"),
                    &self.settings.backoff,
                    now,
                )? {
                    Some(JobState::Failed) => {
                        metrics.job(label, JobOutcome::Failed);
                        tracing::error!(
                            job.id = %job.id, job.name = %job.name, job.attempt = job.attempts,
                            job.reason = reason,
                            "job failed for good; see its last_error"
                        )
                    }
                    Some(_) => {
                        metrics.job(label, JobOutcome::Retry);
                        tracing::warn!(
                            job.id = %job.id, job.name = %job.name, job.attempt = job.attempts,
                            job.reason = reason,
                            "job failed; it will be retried"
                        )
                    }
                    None => {
                        metrics.job(label, JobOutcome::LeaseLost);
                        tracing::warn!(job.id = %job.id, job.name = %job.name, job.reason = reason, "job failed after its lease ran out")
                    }
                }
            }
        }
        Ok(Outcome::Continue)
    }
}
