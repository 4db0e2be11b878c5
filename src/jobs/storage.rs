//! The statements of the queue that the multi-backend connection cannot express, each behind one
//! `match` on the backend (the sanctioned escape hatch, kept to storage modules): inserts that
//! ignore a conflict, and the claim's `FOR UPDATE SKIP LOCKED`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::JobState;
use crate::db::DbConn;
use crate::db::models::{JobRow, JobScheduleRow};
use crate::db::schema::{job_schedules, jobs};

/// Inserts `row` unless a unique index refuses it (the partial dedup index); returns the rows
/// inserted (0 or 1). `ON CONFLICT DO NOTHING` (no target) covers the partial index and, unlike a
/// caught unique violation, leaves a PostgreSQL transaction usable.
pub(super) fn insert_job(conn: &mut DbConn, row: &JobRow) -> QueryResult<usize> {
    crate::db::on_inner!(conn, |c| diesel::insert_into(jobs::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
}

/// Inserts the schedule's row unless it exists.
pub(super) fn insert_schedule_if_missing(
    conn: &mut DbConn,
    row: &JobScheduleRow,
) -> QueryResult<usize> {
    crate::db::on_inner!(conn, |c| diesel::insert_into(job_schedules::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))
}

/// The ids of up to `limit` runnable jobs, most urgent first: queued jobs whose `run_at` has come,
/// and running jobs whose lease ran out. On PostgreSQL the rows are locked `FOR UPDATE SKIP
/// LOCKED`, so concurrent claimers take different jobs; SQLite's writer lock serialises claims.
/// Call it inside the claiming transaction.
pub(super) fn runnable_ids(
    conn: &mut DbConn,
    limit: i64,
    now: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let runnable = jobs::state
        .eq(JobState::Queued.as_str())
        .and(jobs::run_at.le(now))
        .or(jobs::state
            .eq(JobState::Running.as_str())
            .and(jobs::claimed_until.lt(now)));
    let order = (jobs::priority.desc(), jobs::run_at.asc(), jobs::id.asc());
    match conn {
        DbConn::Pg(c) => jobs::table
            .select(jobs::id)
            .filter(runnable)
            .order(order)
            .limit(limit)
            .for_update()
            .skip_locked()
            .load(c),
        DbConn::Sqlite(c) => jobs::table
            .select(jobs::id)
            .filter(runnable)
            .order(order)
            .limit(limit)
            .load(c),
    }
}
