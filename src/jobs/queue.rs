//! The queue's storage operations: enqueue (on the caller's connection, in the caller's
//! transaction), claim under a lease, complete, fail with backoff, release, retry, list and count.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::context::new_id;
use crate::db::models::JobRow;
use crate::db::schema::jobs;
use crate::db::{DbConn, write_transaction};
use crate::error::ServiceError;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its `run_at`, or for a worker.
    Queued,
    /// Claimed by a worker whose lease has not run out.
    Running,
    /// Ran to the end.
    Done,
    /// Spent its attempts; kept with its last error until retried by hand.
    Failed,
}

impl JobState {
    /// Every state, in life order.
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// The state a stored name denotes.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// A kind of job: a name the registry knows and a payload that serialises to JSON. A payload never
/// holds a secret (tokens, passwords, link tokens): it is stored in clear and shown to operators.
pub trait JobType: Serialize + serde::de::DeserializeOwned {
    /// The name the job is stored and dispatched under.
    const NAME: &'static str;
}

/// How a job is enqueued: who it belongs to, when it may run, how urgent it is, and whether an
/// equal job already waiting makes it redundant.
#[derive(Debug, Clone, Default)]
pub struct EnqueueOptions {
    /// The account the job belongs to; `None` for server-wide work.
    pub account_id: Option<String>,
    /// While a not-yet-done job of the same name has this key, enqueueing another is a no-op.
    pub dedup_key: Option<String>,
    /// Not before this time (default: now).
    pub run_at: Option<NaiveDateTime>,
    /// Higher runs first (default 0).
    pub priority: i32,
    /// Attempts before the job is kept as failed (default: [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<i32>,
}

/// Attempts a job gets unless its enqueuer says otherwise.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 8;
/// The longest stored error text.
const MAX_ERROR_LEN: usize = 2000;

/// What enqueueing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// A new job with this id.
    New(String),
    /// A not-yet-done job with the same name and dedup key exists; nothing was added.
    Duplicate,
}

/// Errors of the queue that are not the database's.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The payload could not be serialised.
    #[error("the job payload cannot be serialised: {0}")]
    Payload(#[from] serde_json::Error),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] diesel::result::Error),
}

impl From<QueueError> for ServiceError {
    fn from(err: QueueError) -> Self {
        match err {
            QueueError::Payload(e) => ServiceError::Internal(e.to_string()),
            QueueError::Database(e) => e.into(),
        }
    }
}

/// Enqueues `job` on `conn`. Call it inside the transaction of the change that causes the job: the
/// job then exists exactly when that change committed.
pub fn enqueue<J: JobType>(
    conn: &mut DbConn,
    job: &J,
    options: EnqueueOptions,
    now: NaiveDateTime,
) -> Result<Enqueued, QueueError> {
    enqueue_raw(conn, J::NAME, &serde_json::to_value(job)?, options, now)
}

/// [`enqueue`] by name, for a payload that is already JSON.
pub fn enqueue_raw(
    conn: &mut DbConn,
    name: &str,
    payload: &serde_json::Value,
    options: EnqueueOptions,
    now: NaiveDateTime,
) -> Result<Enqueued, QueueError> {
    let row = JobRow {
        id: new_id(),
        account_id: options.account_id,
        name: name.to_owned(),
        payload: payload.to_string(),
        dedup_key: options.dedup_key,
        priority: options.priority,
        state: JobState::Queued.as_str().to_owned(),
        attempts: 0,
        max_attempts: options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1),
        run_at: options.run_at.unwrap_or(now),
        claimed_by: None,
        claimed_until: None,
        last_error: None,
        created_at: now,
        updated_at: now,
        finished_at: None,
    };
    let inserted = super::storage::insert_job(conn, &row)?;
    Ok(if inserted == 1 {
        Enqueued::New(row.id)
    } else {
        Enqueued::Duplicate
    })
}

/// Claims up to `limit` runnable jobs for `worker`: queued jobs whose `run_at` has come, and
/// running jobs whose lease ran out (their worker died). Each claim counts as an attempt and holds
/// the job until `now + lease`. On PostgreSQL the candidates are locked with `FOR UPDATE SKIP
/// LOCKED`, so concurrent workers of any instance take different jobs without waiting; on SQLite the
/// claim runs in a `BEGIN IMMEDIATE` transaction, which the single writer lock serialises.
pub fn claim(
    conn: &mut DbConn,
    worker: &str,
    limit: i64,
    lease: Duration,
    now: NaiveDateTime,
) -> QueryResult<Vec<JobRow>> {
    write_transaction(conn, |conn| {
        let ids = super::storage::runnable_ids(conn, limit, now)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let claimed_by = format!("{worker}/{}", new_id());
        diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
            .set((
                jobs::state.eq(JobState::Running.as_str()),
                jobs::attempts.eq(jobs::attempts + 1),
                jobs::claimed_by.eq(&claimed_by),
                jobs::claimed_until.eq(now + lease),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
        // Still inside the claiming transaction: these rows are ours.
        jobs::table
            .filter(jobs::id.eq_any(&ids))
            .select(JobRow::as_select())
            .order((jobs::priority.desc(), jobs::run_at.asc(), jobs::id.asc()))
            .load(conn)
    })
}

/// Marks a claimed job done. `false` when the claim is no longer ours (the lease ran out and
/// another worker took the job): the other worker's outcome counts.
pub fn complete(conn: &mut DbConn, job: &JobRow, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(owned(job))
        .set((
            jobs::state.eq(JobState::Done.as_str()),
            jobs::claimed_by.eq(None::<String>),
            jobs::claimed_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now),
            jobs::finished_at.eq(Some(now)),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

/// Backoff policy: the delay before attempt `n + 1` after `n` failed attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure, before jitter.
    pub base: Duration,
    /// The largest delay, before jitter.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::seconds(10),
            max: Duration::hours(1),
        }
    }
}

impl Backoff {
    /// The ceiling of the delay after `attempts` failed attempts: `min(base · 2^(attempts−1), max)`.
    pub fn ceiling(&self, attempts: i32) -> Duration {
        let exp = attempts.clamp(1, 31) - 1;
        let ms = self
            .base
            .num_milliseconds()
            .saturating_mul(1_i64 << exp)
            .min(self.max.num_milliseconds());
        Duration::milliseconds(ms)
    }

    /// The delay after `attempts` failed attempts of job `job_id`: the ceiling times a factor in
    /// `[0.5, 1.0)` derived from a hash of the job id and the attempt ("equal jitter"). Deterministic,
    /// so a test can compute it, yet jobs that failed together spread out.
    pub fn delay(&self, job_id: &str, attempts: i32) -> Duration {
        let ceiling = self.ceiling(attempts).num_milliseconds();
        let digest = Sha256::digest(format!("{job_id}:{attempts}").as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        let fraction = (u64::from_be_bytes(first) >> 11) as f64 / (1u64 << 53) as f64;
        let half = ceiling / 2;
        Duration::milliseconds(half + ((ceiling - half) as f64 * fraction) as i64)
    }
}

/// Records a failed attempt: the job runs again after a backoff delay, or, when its attempts are
/// spent, is kept as failed with `error`. Returns the state it is left in, or `None` when the claim
/// is no longer ours.
pub fn fail(
    conn: &mut DbConn,
    job: &JobRow,
    error: &str,
    backoff: &Backoff,
    now: NaiveDateTime,
) -> QueryResult<Option<JobState>> {
    let error = truncate(error);
    let (state, run_at, finished_at) = if job.attempts >= job.max_attempts {
        (JobState::Failed, job.run_at, Some(now))
    } else {
        (
            JobState::Queued,
            now + backoff.delay(&job.id, job.attempts),
            None,
        )
    };
    let n = diesel::update(owned(job))
        .set((
            jobs::state.eq(state.as_str()),
            jobs::run_at.eq(run_at),
            jobs::claimed_by.eq(None::<String>),
            jobs::claimed_until.eq(None::<NaiveDateTime>),
            jobs::last_error.eq(Some(error)),
            jobs::updated_at.eq(now),
            jobs::finished_at.eq(finished_at),
        ))
        .execute(conn)?;
    Ok((n == 1).then_some(state))
}

/// Gives a claimed job back untouched (graceful shutdown before it started): queued again, its
/// attempt not counted.
pub fn release(conn: &mut DbConn, job: &JobRow, now: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(owned(job))
        .set((
            jobs::state.eq(JobState::Queued.as_str()),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::claimed_by.eq(None::<String>),
            jobs::claimed_until.eq(None::<NaiveDateTime>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}

type OwnedJob<'a> = diesel::dsl::Filter<
    jobs::table,
    diesel::dsl::And<
        diesel::dsl::And<
            diesel::dsl::Eq<jobs::id, &'a str>,
            diesel::dsl::Eq<jobs::state, &'static str>,
        >,
        diesel::dsl::Eq<jobs::claimed_by, &'a str>,
    >,
>;

/// The job, while `job`'s claim still holds it.
fn owned(job: &JobRow) -> OwnedJob<'_> {
    jobs::table.filter(
        jobs::id
            .eq(job.id.as_str())
            .and(jobs::state.eq(JobState::Running.as_str()))
            .and(jobs::claimed_by.eq(job.claimed_by.as_deref().unwrap_or_default())),
    )
}

fn truncate(error: &str) -> String {
    match error.char_indices().nth(MAX_ERROR_LEN) {
        Some((i, _)) => format!("{}…", &error[..i]),
        None => error.to_owned(),
    }
}

/// Queues a failed job again, with fresh attempts, to run now. `account_id` limits it to that
/// account's jobs (`None`: server-wide jobs only). Another job of the same name and dedup key
/// waiting already makes the retry a 400.
pub fn retry(
    conn: &mut DbConn,
    account_id: Option<&str>,
    id: &str,
    now: NaiveDateTime,
) -> Result<JobRow, ServiceError> {
    write_transaction(conn, |conn| {
        let job = find(conn, account_id, id)?.ok_or(ServiceError::NotFound("job"))?;
        if job.state != JobState::Failed.as_str() {
            return Err(ServiceError::invalid_value(format!(
                "only a failed job can be retried; this one is {}",
                job.state
            )));
        }
        if let Some(key) = &job.dedup_key {
            let waiting: i64 = jobs::table
                .filter(jobs::name.eq(&job.name))
                .filter(jobs::dedup_key.eq(key))
                .filter(jobs::state.eq_any([JobState::Queued.as_str(), JobState::Running.as_str()]))
                .count()
                .get_result(conn)?;
            if waiting > 0 {
                return Err(ServiceError::invalid_value(
                    "an equal job (same name and dedup key) is already waiting",
                ));
            }
        }
        diesel::update(jobs::table.find(&job.id))
            .set((
                jobs::state.eq(JobState::Queued.as_str()),
                jobs::attempts.eq(0),
                jobs::run_at.eq(now),
                jobs::updated_at.eq(now),
                jobs::finished_at.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        Ok(jobs::table
            .find(&job.id)
            .select(JobRow::as_select())
            .first(conn)?)
    })
}

/// The job with this id among an account's jobs (`None`: among server-wide jobs).
pub fn find(conn: &mut DbConn, account_id: Option<&str>, id: &str) -> QueryResult<Option<JobRow>> {
    let query = jobs::table
        .find(id)
        .select(JobRow::as_select())
        .into_boxed();
    let query = match account_id {
        Some(a) => query.filter(jobs::account_id.eq(a)),
        None => query.filter(jobs::account_id.is_null()),
    };
    query.first(conn).optional()
}

/// An account's jobs (`account_id` `None`: the server-wide ones) in one state, or in any when
/// `state` is `None`, newest first, at most `limit`.
pub fn list(
    conn: &mut DbConn,
    account_id: Option<&str>,
    state: Option<JobState>,
    limit: i64,
) -> QueryResult<Vec<JobRow>> {
    let mut query = jobs::table.select(JobRow::as_select()).into_boxed();
    if let Some(state) = state {
        query = query.filter(jobs::state.eq(state.as_str()));
    }
    let query = match account_id {
        Some(a) => query.filter(jobs::account_id.eq(a)),
        None => query.filter(jobs::account_id.is_null()),
    };
    query
        .order((jobs::updated_at.desc(), jobs::id.desc()))
        .limit(limit)
        .load(conn)
}

/// How many jobs are in each state, over the whole server.
pub fn count_by_state(conn: &mut DbConn) -> QueryResult<Vec<(JobState, i64)>> {
    let rows: Vec<(String, i64)> = jobs::table
        .group_by(jobs::state)
        .select((jobs::state, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(JobState::ALL
        .into_iter()
        .map(|st| {
            let n = rows
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map_or(0, |(_, n)| *n);
            (st, n)
        })
        .collect())
}

/// The queue as an operator watches it, over the whole server: queued jobs that are due now (and
/// running ones whose lease ran out, which are due again) apart from those scheduled later.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    /// Jobs a worker would take now.
    pub due: i64,
    /// Queued jobs whose time has not come (reminders, retries after back-off).
    pub scheduled: i64,
    /// Jobs a worker holds under a live lease.
    pub running: i64,
    /// Jobs that failed for good.
    pub failed: i64,
    /// Finished jobs not yet purged.
    pub done: i64,
}

/// The [`Backlog`] at `now`.
pub fn backlog(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Backlog> {
    let due: i64 = jobs::table
        .filter(due_at(now))
        .select(diesel::dsl::count_star())
        .get_result(conn)?;
    let mut backlog = Backlog {
        due,
        ..Backlog::default()
    };
    for (state, n) in count_by_state(conn)? {
        match state {
            // What is not due among the queued and running jobs.
            JobState::Queued | JobState::Running => {}
            JobState::Failed => backlog.failed = n,
            JobState::Done => backlog.done = n,
        }
    }
    let queued_later: i64 = jobs::table
        .filter(jobs::state.eq(JobState::Queued.as_str()))
        .filter(jobs::run_at.gt(now))
        .select(diesel::dsl::count_star())
        .get_result(conn)?;
    let running_held: i64 = jobs::table
        .filter(jobs::state.eq(JobState::Running.as_str()))
        .filter(jobs::claimed_until.ge(now))
        .select(diesel::dsl::count_star())
        .get_result(conn)?;
    backlog.scheduled = queued_later;
    backlog.running = running_held;
    Ok(backlog)
}

/// Cancels an account's waiting jobs (queued, not yet claimed) whose dedup key starts with
/// `prefix`, for the owner of what they were about (an invitation that ended, say); returns how
/// many. `account_id` `None` cancels server-wide jobs only. A job already running is left to
/// finish: its handler reloads its state and finds nothing to do.
pub fn cancel_waiting_by_prefix(
    conn: &mut DbConn,
    account_id: Option<&str>,
    prefix: &str,
) -> QueryResult<usize> {
    let pattern = format!("{}%", crate::db::sql::like_escape(prefix));
    let query = diesel::delete(jobs::table)
        .filter(jobs::state.eq(JobState::Queued.as_str()))
        .filter(jobs::dedup_key.like(pattern).escape('\\'))
        .into_boxed();
    let query = match account_id {
        Some(a) => query.filter(jobs::account_id.eq(a)),
        None => query.filter(jobs::account_id.is_null()),
    };
    query.execute(conn)
}

/// The jobs a run at `now` would take: queued ones whose `run_at` has come, and running ones whose
/// lease ran out. Most urgent first.
pub fn due(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<Vec<JobRow>> {
    jobs::table
        .filter(due_at(now))
        .select(JobRow::as_select())
        .order((jobs::priority.desc(), jobs::run_at.asc(), jobs::id.asc()))
        .load(conn)
}

/// The condition of a job a worker would take at `now`.
fn due_at(
    now: NaiveDateTime,
) -> Box<
    dyn BoxableExpression<
            jobs::table,
            crate::db::MultiBackend,
            SqlType = diesel::sql_types::Nullable<diesel::sql_types::Bool>,
        >,
> {
    Box::new(
        jobs::state
            .eq(JobState::Queued.as_str())
            .and(jobs::run_at.le(now))
            .or(jobs::state
                .eq(JobState::Running.as_str())
                .and(jobs::claimed_until.lt(now))),
    )
}

/// Deletes done jobs that finished before `before`; returns how many.
pub fn purge_done(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        jobs::table
            .filter(jobs::state.eq(JobState::Done.as_str()))
            .filter(jobs::finished_at.lt(before)),
    )
    .execute(conn)
}
