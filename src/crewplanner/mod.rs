//! The CrewPlanner link (DESIGN 7): a JWT in a link signs an employee straight into MobieTrain,
//! provisioning them just in time.
//!
//! The route is open to the internet, so a token is judged in the order that costs least: its size,
//! the account's integration, its shape, the key and algorithm, the signature, the claims — all
//! without writing. Only then, in one transaction, is the `jti` recorded (a replay fails on its
//! primary key, on every instance sharing the database), the user found or created, and a one-time
//! code issued for the app. A refusal writes nothing and is counted by reason ([`refusal`]).

pub mod keys;
pub mod launch;
pub mod link;
pub mod provision;
pub mod refusal;
pub mod token;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::context::WriteContext;
use crate::db::models::{Account, CrewPlannerLinkRow, UsedJtiRow};
use crate::db::schema::used_jtis;
use crate::db::{self, DbConn};
use crate::error::ServiceError;
use crate::jwt;
use crate::sessions;
pub use launch::launch;

use keys::{PlatformKeys, VerifyingKey};
use refusal::{Reason, Refusal, RefusalCounters};
use token::{Claims, Expected, Parts};

/// The server-wide CrewPlanner settings and state.
#[derive(Debug)]
pub struct CrewPlanner {
    /// The server-wide verification keys.
    pub platform: PlatformKeys,
    /// The issuer of an account's tokens, with `{slug}` standing for its slug.
    pub issuer_template: String,
    /// Clock skew tolerated, in seconds.
    pub leeway_secs: i64,
    /// The longest token lifetime (`exp - iat`) accepted, in seconds.
    pub max_lifetime_secs: i64,
    /// Refusals by reason.
    pub refusals: RefusalCounters,
}

/// The default issuer template.
pub const DEFAULT_ISSUER_TEMPLATE: &str = "https://{slug}.crewplanner.com";

impl Default for CrewPlanner {
    fn default() -> Self {
        Self {
            platform: PlatformKeys::default(),
            issuer_template: DEFAULT_ISSUER_TEMPLATE.to_owned(),
            leeway_secs: 60,
            max_lifetime_secs: 300,
            refusals: RefusalCounters::default(),
        }
    }
}

impl CrewPlanner {
    /// The issuer an account's tokens must carry.
    pub fn issuer(&self, slug: &str) -> String {
        self.issuer_template.replace("{slug}", slug)
    }

    /// Checks a token against `keys` and the account's expectations: key and algorithm,
    /// signature, then claims. Pure.
    pub fn verify(
        &self,
        parts: &Parts<'_>,
        keys: &[VerifyingKey],
        link: &CrewPlannerLinkRow,
        now: NaiveDateTime,
    ) -> Result<Claims, Refusal> {
        let candidates = keys::candidates(keys, &parts.alg, parts.kid.as_deref())?;
        token::verify_signature(parts, &candidates)?;
        token::check_claims(
            parts,
            &Expected {
                issuer: &self.issuer(&link.slug),
                audience: &link.account_id,
                now: now.and_utc().timestamp(),
                leeway: self.leeway_secs,
                max_lifetime: self.max_lifetime_secs,
            },
        )
    }
}

/// Why a launch did not end in a sign-in.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The link is refused (counted, answered 401/403).
    #[error("refused: {}", .0.reason.code())]
    Refused(Refusal),
    /// Our side failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

impl From<Refusal> for LaunchError {
    fn from(r: Refusal) -> Self {
        LaunchError::Refused(r)
    }
}

impl From<diesel::result::Error> for LaunchError {
    fn from(e: diesel::result::Error) -> Self {
        LaunchError::Service(e.into())
    }
}

/// The account and its enabled integration, or the refusal that the integration is off.
pub fn enabled_link(
    conn: &mut DbConn,
    account_id: &str,
) -> Result<(Account, CrewPlannerLinkRow), LaunchError> {
    let disabled = || {
        LaunchError::Refused(Refusal::new(
            Reason::IntegrationDisabled,
            "this account has no enabled CrewPlanner integration",
        ))
    };
    let Some(link) = link::find(conn, account_id)? else {
        return Err(disabled());
    };
    if !link.enabled {
        return Err(disabled());
    }
    let account = crate::accounts::find_account(conn, account_id)?;
    Ok((account, link))
}

/// The signed-in user and the one-time code that hands them to the app.
#[derive(Debug)]
pub struct Launched {
    /// The user.
    pub user_id: String,
    /// The one-time code (shown once, in the redirect).
    pub code: String,
}

/// After verification: records the `jti`, provisions the user, issues the code — one
/// transaction, so a refusal at any step (replay, deactivated user, a claim the user rules refuse)
/// leaves no row behind. `leeway_secs` must be the leeway the claims were checked with: the `jti`
/// is remembered for at least as long as the token is accepted.
pub fn complete(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    claims: &Claims,
    leeway_secs: i64,
) -> Result<Launched, LaunchError> {
    let until = jti_expiry(claims, leeway_secs)?;
    if until < ctx.now {
        // The checks refuse such a token; claims from elsewhere must not slip past them here, as
        // a row that expired already is purged by the next launch and its jti usable again.
        return Err(Refusal::new(Reason::Expired, "exp is in the past").into());
    }
    db::write_transaction(conn, |conn| {
        record_jti(conn, &ctx.account.id, &claims.jti, until, ctx.now)?;
        let user = provision::user_for(conn, ctx, claims)?;
        let code = sessions::issue_code(
            conn,
            &ctx.account.id,
            &user.row.id,
            sessions::via::CREWPLANNER,
            ctx.now,
        )?;
        Ok(Launched {
            user_id: user.row.id,
            code,
        })
    })
}

/// Until when a token's id must be remembered so it cannot be used twice: the last second it is
/// accepted, `exp` plus the leeway, computed with checked arithmetic. Never a fallback: a time that
/// cannot be computed or stored refuses the token, for a `jti` forgotten early is a replay let in.
fn jti_expiry(claims: &Claims, leeway_secs: i64) -> Result<NaiveDateTime, Refusal> {
    let cannot = || {
        Refusal::new(
            Reason::InvalidTime,
            "exp is not a time the token's jti can be remembered until",
        )
    };
    let until = claims
        .exp
        .checked_add(leeway_secs)
        .ok_or_else(cannot)?
        // The checks' own answer wins when later (a caller passing a smaller leeway than the
        // checks used must not shorten the memory).
        .max(claims.accepted_until);
    // Past year 9999 SQLite's text timestamps would sort before today's, and the row would be
    // purged as expired at once.
    if !(jwt::EARLIEST..=jwt::LATEST).contains(&until) {
        return Err(cannot());
    }
    chrono::DateTime::from_timestamp(until, 0)
        .map(|t| t.naive_utc())
        .ok_or_else(cannot)
}

/// Records a token id as used until `until`; a second use fails on the primary key. Expired ids
/// of the account are removed on the way.
fn record_jti(
    conn: &mut DbConn,
    account_id: &str,
    jti: &str,
    until: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<(), LaunchError> {
    diesel::delete(
        used_jtis::table
            .filter(used_jtis::account_id.eq(account_id))
            .filter(used_jtis::expires_at.lt(now)),
    )
    .execute(conn)?;
    let inserted = diesel::insert_into(used_jtis::table)
        .values(UsedJtiRow {
            account_id: account_id.to_owned(),
            jti: jti.to_owned(),
            expires_at: until,
        })
        .execute(conn);
    match inserted {
        Ok(_) => Ok(()),
        Err(e) if db::unique_violation(&e).is_some() => {
            Err(Refusal::new(Reason::Replayed, "this token (its jti) was already used").into())
        }
        Err(e) => Err(e.into()),
    }
}
