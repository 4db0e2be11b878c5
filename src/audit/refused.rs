//! Refused provisioning requests in the provisioning log (DESIGN 8): an authenticated SCIM write
//! answered with a 4xx is recorded as `request.refused` (action `refuse`) with its status,
//! `scimType`, `detail` and the resource's identifiers as the client sent them, so support can
//! answer "why is user X missing?" from `GET /admin/v1/audit?code=request.refused`. What the
//! client sent is bounded in length and its control characters escaped. The entry is written in a
//! transaction of its own, after the refused write rolled back. Such entries are kept
//! `REFUSED_REQUEST_RETENTION_DAYS` days and purged by a scheduled job ([`PurgeRefused`]).

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::context::Actor;
use crate::db::DbConn;
use crate::db::schema::audit_events;
use crate::jobs::schedule::Schedule;
use crate::jobs::{JobContext, JobType, Runtime};

/// The code of a refused request's entry.
pub const CODE: &str = "request.refused";

/// The most characters of a value the client sent that the log keeps.
pub const MAX_SENT_CHARS: usize = 256;

/// The most characters of a refusal's `detail` that the log keeps.
pub const MAX_DETAIL_CHARS: usize = 1024;

/// A refused request, as the SCIM endpoint saw it.
#[derive(Debug, Clone)]
pub struct Refusal<'a> {
    /// The HTTP method (`POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: &'a str,
    /// `User` or `Group`.
    pub resource_type: &'a str,
    /// The resource the request named, when it named one.
    pub resource_id: Option<&'a str>,
    /// The answer's status.
    pub status: u16,
    /// The answer's `scimType`, if any.
    pub scim_type: Option<&'a str>,
    /// The answer's `detail`.
    pub detail: &'a str,
    /// The resource's identifiers as sent (`externalId`, `userName`, `displayName`).
    pub sent: Vec<(&'a str, &'a str)>,
}

/// `value` bounded to `max` characters (an ellipsis marks a cut), with every control character
/// written as a `\u{…}` escape, so a log line cannot be forged or bloated by what a client sent.
pub fn bounded(value: &str, max: usize) -> String {
    let mut out = String::new();
    for (n, c) in value.chars().enumerate() {
        if n == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.push_str(&format!("\\u{{{:04x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// Records a refused request for `account_id`, in a transaction of its own.
pub fn record(
    conn: &mut DbConn,
    account_id: &str,
    actor: &Actor,
    refusal: &Refusal<'_>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let mut detail = Map::new();
    detail.insert("method".into(), refusal.method.into());
    detail.insert("status".into(), refusal.status.into());
    if let Some(scim_type) = refusal.scim_type {
        detail.insert("scimType".into(), scim_type.into());
    }
    detail.insert(
        "detail".into(),
        bounded(refusal.detail, MAX_DETAIL_CHARS).into(),
    );
    for (name, value) in &refusal.sent {
        detail.insert((*name).into(), bounded(value, MAX_SENT_CHARS).into());
    }
    crate::db::write_transaction(conn, |conn| {
        super::record(
            conn,
            account_id,
            actor,
            super::Event {
                action: "refuse",
                resource_type: refusal.resource_type,
                resource_id: refusal.resource_id,
                code: CODE,
                detail: Some(Value::Object(detail)),
            },
            now,
        )
    })
}

/// Deletes the refused-request entries of every account recorded before `before`; returns how
/// many.
pub fn purge(conn: &mut DbConn, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(
        audit_events::table
            .filter(audit_events::code.eq(CODE))
            .filter(audit_events::occurred_at.lt(before)),
    )
    .execute(conn)
}

/// Deletes refused-request entries older than `keep_days`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PurgeRefused {
    /// Entries are kept this many days.
    pub keep_days: i64,
}

impl JobType for PurgeRefused {
    const NAME: &'static str = "audit.purge_refused";
}

/// The hourly purge of refused-request entries older than `keep_days`.
pub fn schedule(keep_days: i64) -> Schedule {
    Schedule {
        name: PurgeRefused::NAME,
        every: Duration::hours(1),
        job: PurgeRefused::NAME,
        payload: serde_json::json!({"keep_days": keep_days}),
    }
}

/// The handler of [`PurgeRefused`]: idempotent (deleting the deleted deletes nothing).
pub fn purge_refused<C: Runtime>(ctx: &JobContext<'_, C>, job: PurgeRefused) -> anyhow::Result<()> {
    let keep = Duration::try_days(job.keep_days.max(1)).unwrap_or(Duration::MAX);
    let before = ctx
        .now()
        .checked_sub_signed(keep)
        .unwrap_or(NaiveDateTime::MIN);
    let n = purge(&mut *ctx.conn()?, before)?;
    tracing::info!(audit.purged = n, "purged old refused-request entries");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_escapes_control_characters_and_cuts_long_values() {
        assert_eq!(bounded("ann\n\u{1b}[31m", 256), "ann\\u{000a}\\u{001b}[31m");
        assert_eq!(bounded("abcdef", 3), "abc…");
        assert_eq!(bounded("émile", 5), "émile");
    }
}
