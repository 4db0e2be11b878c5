//! Periodic work. A schedule enqueues its job when its `next_run_at` has come; the instance whose
//! compare-and-set moves `next_run_at` on is the one that enqueues, in the same transaction, so N
//! instances ticking at once enqueue each run once. The job also carries the schedule's name as its
//! dedup key, so a run still waiting is never doubled.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::queue::{self, EnqueueOptions, JobType};
use super::{JobContext, JobState, Runtime};
use crate::db::models::JobScheduleRow;
use crate::db::schema::job_schedules;
use crate::db::{DbConn, write_transaction};

/// A job enqueued every `every`.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The schedule's name (also the job's dedup key).
    pub name: &'static str,
    /// The interval between runs.
    pub every: Duration,
    /// The job's name.
    pub job: &'static str,
    /// The job's payload.
    pub payload: serde_json::Value,
}

/// The queue's own periodic work: the hourly purge of done jobs older than a week.
pub fn purge_done_schedule() -> Schedule {
    Schedule {
        name: "jobs.purge_done",
        every: Duration::hours(1),
        job: PurgeDoneJobs::NAME,
        payload: serde_json::json!({"keep_days": 7}),
    }
}

/// Enqueues the runs of `schedules` that are due; returns how many it enqueued.
pub fn tick(conn: &mut DbConn, schedules: &[Schedule], now: NaiveDateTime) -> QueryResult<usize> {
    let mut enqueued = 0;
    for s in schedules {
        let row = JobScheduleRow {
            name: s.name.to_owned(),
            next_run_at: now,
            updated_at: now,
        };
        super::storage::insert_schedule_if_missing(conn, &row)?;
        let won = write_transaction(conn, |conn| {
            let moved = diesel::update(
                job_schedules::table
                    .find(s.name)
                    .filter(job_schedules::next_run_at.le(now)),
            )
            .set((
                job_schedules::next_run_at.eq(now + s.every),
                job_schedules::updated_at.eq(now),
            ))
            .execute(conn)?;
            if moved == 1 {
                queue::enqueue_raw(
                    conn,
                    s.job,
                    &s.payload,
                    EnqueueOptions {
                        dedup_key: Some(s.name.to_owned()),
                        ..EnqueueOptions::default()
                    },
                    now,
                )
                .map_err(|e| match e {
                    queue::QueueError::Database(e) => e,
                    queue::QueueError::Payload(e) => {
                        diesel::result::Error::SerializationError(Box::new(e))
                    }
                })?;
            }
            Ok::<_, diesel::result::Error>(moved == 1)
        })?;
        enqueued += usize::from(won);
    }
    Ok(enqueued)
}

/// Deletes done jobs older than `keep_days`, so the table holds what is pending, failed or recent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeDoneJobs {
    /// Done jobs are kept this many days.
    pub keep_days: i64,
}

impl JobType for PurgeDoneJobs {
    const NAME: &'static str = "jobs.purge_done";
}

/// The handler of [`PurgeDoneJobs`]: idempotent by nature (deleting the deleted deletes nothing).
pub fn purge_done_jobs<C: Runtime>(
    ctx: &JobContext<'_, C>,
    job: PurgeDoneJobs,
) -> anyhow::Result<()> {
    let before = ctx.now() - Duration::days(job.keep_days.max(1));
    let n = queue::purge_done(&mut *ctx.conn()?, before)?;
    tracing::info!(
        jobs.purged = n,
        state = JobState::Done.as_str(),
        "purged old jobs"
    );
    Ok(())
}
