//! The database ceilings: what the server's own pool (same manager, pragmas, durability and size)
//! does with nothing but the database in the way. Writes are single-row insert transactions (one
//! commit each, exactly as durable as a SCIM write); reads are primary-key selects of a whole user
//! row. Both run at the concurrency of the workload they judge.

use std::time::Instant;

use diesel::prelude::*;

use super::load::{Collector, Measurement, Schedule, Stop, mix};
use crate::db::models::UserRow;
use crate::db::schema::users;
use crate::db::{self, Pool};

diesel::table! {
    /// A scratch table of the write ceiling, made and dropped by the benchmark.
    bench_ceiling (id) {
        /// A fresh id per row.
        id -> Text,
        /// When it was written.
        written_at -> Timestamp,
    }
}

/// Makes the scratch table of the write ceiling (both backends understand this DDL).
pub fn prepare(pool: &Pool) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    pool.get()?.batch_execute(
        "CREATE TABLE IF NOT EXISTS bench_ceiling (id TEXT PRIMARY KEY, written_at TIMESTAMP NOT NULL)",
    )?;
    Ok(())
}

/// Runs `op` on `concurrency` threads, each holding the pool's connections as a request would
/// (checked out per operation), until `stop`, after the same warm-up as the HTTP load
/// ([`Stop::warm_up`]).
fn drive(
    pool: &Pool,
    concurrency: usize,
    stop: Stop,
    op: &(dyn Fn(&mut db::DbConn, u64) -> anyhow::Result<()> + Sync),
) -> Measurement {
    if let Some(warm_up) = stop.warm_up() {
        measure(pool, concurrency, warm_up, op);
    }
    measure(pool, concurrency, stop, op)
}

fn measure(
    pool: &Pool,
    concurrency: usize,
    stop: Stop,
    op: &(dyn Fn(&mut db::DbConn, u64) -> anyhow::Result<()> + Sync),
) -> Measurement {
    let collector = Collector::default();
    let schedule = Schedule::new(stop);
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            s.spawn(|| {
                let mut latencies = Vec::new();
                let (mut steps, mut errors, mut first) = (0, 0, None);
                while let Some(i) = schedule.next() {
                    let started = Instant::now();
                    let result = pool
                        .get()
                        .map_err(anyhow::Error::from)
                        .and_then(|mut conn| op(&mut conn, i));
                    latencies.push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    match result {
                        Ok(()) => steps += 1,
                        Err(e) => {
                            errors += 1;
                            first.get_or_insert(e.to_string());
                        }
                    }
                }
                collector.add(latencies, steps, errors, first);
            });
        }
    });
    collector.finish(schedule.elapsed())
}

/// Single-row insert transactions through the pool.
pub fn writes(pool: &Pool, concurrency: usize, stop: Stop) -> Measurement {
    drive(pool, concurrency, stop, &|conn, _| {
        let now = chrono::Utc::now().naive_utc();
        db::write_transaction(conn, |conn| {
            diesel::insert_into(bench_ceiling::table)
                .values((
                    bench_ceiling::id.eq(crate::context::new_id()),
                    bench_ceiling::written_at.eq(now),
                ))
                .execute(conn)
        })?;
        Ok(())
    })
}

/// Primary-key selects of a user row, picked at random among `ids`.
pub fn reads(pool: &Pool, ids: &[String], concurrency: usize, stop: Stop) -> Measurement {
    drive(pool, concurrency, stop, &|conn, i| {
        let id = &ids[(mix(i) % ids.len() as u64) as usize];
        // No `.first()`: its bound LIMIT makes SQLite parse the statement again on every use.
        let found: Vec<UserRow> = users::table
            .find(id)
            .select(UserRow::as_select())
            .load(conn)?;
        anyhow::ensure!(found.len() == 1, "user {id} not found");
        Ok(())
    })
}

/// Drops the scratch table.
pub fn clean_up(pool: &Pool) -> anyhow::Result<()> {
    use diesel::connection::SimpleConnection;
    pool.get()?
        .batch_execute("DROP TABLE IF EXISTS bench_ceiling")?;
    Ok(())
}
