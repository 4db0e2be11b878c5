//! Console sessions: an admin token exchanged for a browser session of the HTML console
//! (`/console`, DESIGN §6a), and the throttle of failed sign-ins.
//!
//! The browser holds only a random session secret (in an HttpOnly cookie), never the token; the
//! database holds only the secret's SHA-256. A session belongs to the token it was opened with and
//! is read joined to it on every request, so revoking the token ends every session it opened at
//! once, and so does its expiry. A session ends after [`IDLE_TIMEOUT`] without a request and
//! [`ABSOLUTE_TIMEOUT`] after it was opened, whichever comes first (these two constants are the
//! only place the limits live). Each session has its own CSRF secret, the synchronizer token its
//! forms carry.
//!
//! An ended session is deleted when its cookie comes back; the rows of sessions whose browser never
//! returns are deleted by the periodic [`PurgeEnded`] job, so the table holds live sessions only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use subtle::ConstantTimeEq;

use crate::accounts::{self, Caller, Refusal, Scope};
use crate::clock::Clock;
use crate::db::models::{Account, ApiToken, ConsoleSessionRow};
use crate::db::schema::{accounts as accounts_t, api_tokens, console_sessions};
use crate::db::{DbConn, FetchOptional};
use crate::error::ServiceError;
use crate::jobs::queue::JobType;
use crate::jobs::schedule::Schedule;
use crate::jobs::{JobContext, Runtime};

/// How long a session lives without a request.
pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
/// How long a session lives at most, however active.
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// What a session secret starts with.
pub const SESSION_PREFIX: &str = "mtcs_";
/// The longest session secret read from a cookie (the prefix and 64 hex digits, with room).
pub const MAX_SECRET_LEN: usize = 100;

/// A session just opened: the secret for the cookie (shown only now) and its row.
#[derive(Debug)]
pub struct Opened {
    /// The cookie's value.
    pub secret: String,
    /// When it ends at the latest.
    pub expires_at: NaiveDateTime,
}

/// A live session as a request finds it.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    /// Who is signed in: the account and the token the session was opened with.
    pub caller: Caller,
    /// The synchronizer token the session's forms must carry.
    pub csrf: String,
    /// The hash of the session's secret (its key).
    pub id_hash: String,
}

impl ConsoleSession {
    /// Whether `given` is this session's CSRF token, compared in constant time.
    pub fn csrf_matches(&self, given: &str) -> bool {
        bool::from(self.csrf.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// Exchanges an admin token for a session. A SCIM token, an unknown or a revoked one is refused and
/// nothing is written. Ended sessions of the same token are cleared on the way.
pub fn sign_in(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<Result<Opened, Refusal>, ServiceError> {
    let caller = match accounts::authenticate(conn, token, Scope::Admin, now)? {
        Ok(caller) => caller,
        Err(refusal) => return Ok(Err(refusal)),
    };
    diesel::delete(
        console_sessions::table
            .filter(console_sessions::token_id.eq(&caller.token_id))
            .filter(
                console_sessions::expires_at
                    .le(now)
                    .or(console_sessions::last_seen_at.le(now - IDLE_TIMEOUT)),
            ),
    )
    .execute(conn)?;
    let secret = crate::crypto::random_token(SESSION_PREFIX);
    let row = ConsoleSessionRow {
        id_hash: crate::crypto::sha256_hex(&secret),
        account_id: caller.account.id.clone(),
        token_id: caller.token_id.clone(),
        csrf_secret: crate::crypto::random_token(""),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE_TIMEOUT,
    };
    diesel::insert_into(console_sessions::table)
        .values(&row)
        .execute(conn)?;
    Ok(Ok(Opened {
        secret,
        expires_at: row.expires_at,
    }))
}

/// The live session whose cookie holds `secret`, or `None`: unknown, timed out (it is deleted), or
/// its token revoked or no longer an admin token. Notes the request (at most once a minute).
pub fn resume(
    conn: &mut DbConn,
    secret: &str,
    now: NaiveDateTime,
) -> Result<Option<ConsoleSession>, ServiceError> {
    if secret.len() > MAX_SECRET_LEN || !secret.starts_with(SESSION_PREFIX) {
        return Ok(None);
    }
    let hash = crate::crypto::sha256_hex(secret);
    let found: Option<(ConsoleSessionRow, ApiToken, Account)> = console_sessions::table
        .inner_join(api_tokens::table.inner_join(accounts_t::table))
        .filter(console_sessions::id_hash.eq(&hash))
        .select((
            ConsoleSessionRow::as_select(),
            ApiToken::as_select(),
            Account::as_select(),
        ))
        .fetch_optional(conn)?;
    let Some((row, token, account)) = found else {
        return Ok(None);
    };
    let live = bool::from(row.id_hash.as_bytes().ct_eq(hash.as_bytes()))
        && token.revoked_at.is_none()
        && token.expires_at.is_none_or(|at| at > now)
        && token.scope == Scope::Admin.as_str()
        && token.account_id == row.account_id
        && row.expires_at > now
        && row.last_seen_at > now - IDLE_TIMEOUT;
    if !live {
        end(conn, &hash)?;
        return Ok(None);
    }
    if now - row.last_seen_at >= Duration::minutes(1) {
        diesel::update(console_sessions::table.find(&hash))
            .set(console_sessions::last_seen_at.eq(now))
            .execute(conn)?;
    }
    Ok(Some(ConsoleSession {
        caller: Caller {
            account,
            token_id: token.id,
            label: token.label,
        },
        csrf: row.csrf_secret,
        id_hash: hash,
    }))
}

/// Ends the session with this hash (sign-out); ending an ended session changes nothing.
pub fn end(conn: &mut DbConn, id_hash: &str) -> Result<(), ServiceError> {
    diesel::delete(console_sessions::table.find(id_hash)).execute(conn)?;
    Ok(())
}

/// Deletes every ended session of every account at `now`: timed out (idle or absolute), or opened
/// with a token that is revoked or has expired. Returns how many.
pub fn purge_ended(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    let dead_tokens = api_tokens::table
        .filter(
            api_tokens::revoked_at
                .is_not_null()
                .or(api_tokens::expires_at.le(now)),
        )
        .select(api_tokens::id);
    diesel::delete(
        console_sessions::table.filter(
            console_sessions::expires_at
                .le(now)
                .or(console_sessions::last_seen_at.le(now - IDLE_TIMEOUT))
                .or(console_sessions::token_id.eq_any(dead_tokens)),
        ),
    )
    .execute(conn)
}

/// The periodic purge of ended console sessions ([`purge_ended`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PurgeEnded {}

impl JobType for PurgeEnded {
    const NAME: &'static str = "console_sessions.purge_ended";
}

/// The schedule of [`PurgeEnded`]: every [`IDLE_TIMEOUT`], so an abandoned session's row outlives
/// its end by at most that long.
pub fn schedule() -> Schedule {
    Schedule {
        name: PurgeEnded::NAME,
        every: IDLE_TIMEOUT,
        job: PurgeEnded::NAME,
        payload: serde_json::json!({}),
    }
}

/// The handler of [`PurgeEnded`]: idempotent (deleting the deleted deletes nothing).
pub fn purge_ended_sessions<C: Runtime>(
    ctx: &JobContext<'_, C>,
    _job: PurgeEnded,
) -> anyhow::Result<()> {
    let n = purge_ended(&mut *ctx.conn()?, ctx.now())?;
    if n > 0 {
        tracing::info!(console_sessions.purged = n, "purged ended console sessions");
    }
    Ok(())
}

/// How many failed sign-ins one client address may make per [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// The window failed sign-ins are counted in.
pub const FAILURE_WINDOW: Duration = Duration::minutes(15);
/// How many addresses the throttle remembers at most (older windows are dropped first).
const MAX_ADDRESSES: usize = 10_000;

/// Failed console sign-ins per client address, in this instance's memory, on the app's clock: after
/// [`MAX_FAILURES`] failures in a [`FAILURE_WINDOW`] an address is refused until the window ends,
/// without its token being looked up. Successful sign-ins cost nothing.
#[derive(Debug)]
pub struct SignInThrottle {
    clock: Arc<dyn Clock>,
    failures: Mutex<HashMap<String, (u32, NaiveDateTime)>>,
}

impl SignInThrottle {
    /// An empty throttle on `clock`.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// When `address` may try again, if it is refused now.
    pub fn refused_until(&self, address: &str) -> Option<NaiveDateTime> {
        let now = self.clock.now_naive();
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match failures.get(address) {
            Some(&(count, start)) if count >= MAX_FAILURES && now < start + FAILURE_WINDOW => {
                Some(start + FAILURE_WINDOW)
            }
            _ => None,
        }
    }

    /// Counts a failed sign-in of `address`.
    pub fn failed(&self, address: &str) {
        let now = self.clock.now_naive();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(address) {
            failures.retain(|_, (_, start)| now < *start + FAILURE_WINDOW);
            if failures.len() >= MAX_ADDRESSES {
                return;
            }
        }
        let entry = failures.entry(address.to_owned()).or_insert((0, now));
        if now >= entry.1 + FAILURE_WINDOW {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn an_address_is_refused_after_its_failures_until_the_window_ends() {
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        let throttle = SignInThrottle::new(clock.clone());
        for _ in 0..MAX_FAILURES - 1 {
            throttle.failed("a");
        }
        assert!(throttle.refused_until("a").is_none());
        throttle.failed("a");
        assert!(throttle.refused_until("a").is_some());
        assert!(throttle.refused_until("b").is_none());
        clock.advance(FAILURE_WINDOW);
        assert!(throttle.refused_until("a").is_none());
        throttle.failed("a");
        assert!(throttle.refused_until("a").is_none());
    }
}
