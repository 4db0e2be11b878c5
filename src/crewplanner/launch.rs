//! A launch from start to end, as one call: the link's shape, the account's integration (first
//! database hop), which keys check the token (the account's own, else the server's, fetched off
//! the database), the token's signature and claims, then the sign-in in one transaction (second
//! hop). The outcome is data: the signed-in user and their one-time code, or a [`Refusal`]
//! (counted here, by reason) or our own failure. The caller only says how database work runs
//! ([`Blocking`]) and shapes the answer.

use std::future::Future;
use std::sync::Arc;

use chrono::NaiveDateTime;

use super::refusal::{Reason, Refusal};
use super::{CrewPlanner, LaunchError, Launched, link, token};
use crate::context::{Actor, WriteContext};
use crate::crypto::ServerKey;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::schema::Registry;

/// The longest account id in a link (a UUID is 36).
pub const MAX_ACCOUNT_ID_LEN: usize = 64;
/// The longest query string of a link.
pub const MAX_QUERY_LEN: usize = token::MAX_TOKEN_BYTES + 512;

/// How a launch runs its database work: on a pooled connection, off the async workers.
pub trait Blocking {
    /// Runs `f` with a connection; the error is the pool's or the blocking pool's.
    fn run<T, F>(&self, f: F) -> impl Future<Output = Result<T, ServiceError>>
    where
        F: FnOnce(&mut DbConn) -> T + Send + 'static,
        T: Send + 'static;
}

/// What a launch needs of the server.
#[derive(Debug, Clone, Copy)]
pub struct Server<'a> {
    /// The CrewPlanner settings, platform keys and refusal counters.
    pub crewplanner: &'a CrewPlanner,
    /// Opens an account's sealed HS256 secret.
    pub server_key: &'a ServerKey,
    /// The schemas a just-in-time user is read against.
    pub registry: &'a Arc<Registry>,
    /// The time of the launch.
    pub now: NaiveDateTime,
}

/// A link as it arrived.
#[derive(Debug, Clone)]
pub struct Link {
    /// The account id of its path, as sent.
    pub account_id: String,
    /// Its `jwt` query parameter, if it has one.
    pub jwt: Option<String>,
    /// The length of its whole query string.
    pub query_len: usize,
}

/// Judges a link and, when it holds, signs its employee in. A refusal is counted by reason before
/// it is returned.
pub async fn launch(
    db: &impl Blocking,
    server: Server<'_>,
    link: Link,
) -> Result<Launched, LaunchError> {
    let outcome = judge_and_sign_in(db, server, link).await;
    if let Err(LaunchError::Refused(refusal)) = &outcome {
        server.crewplanner.refusals.count(refusal.reason);
    }
    outcome
}

async fn judge_and_sign_in(
    db: &impl Blocking,
    server: Server<'_>,
    link: Link,
) -> Result<Launched, LaunchError> {
    let malformed = |what: &str| Refusal::new(Reason::Malformed, what.to_owned());
    if link.query_len > MAX_QUERY_LEN || link.account_id.len() > MAX_ACCOUNT_ID_LEN {
        return Err(malformed("the link is longer than a CrewPlanner link can be").into());
    }
    // An account id is a UUID: anything else (a NUL, which PostgreSQL cannot even compare) names
    // no account, and is refused before any database work.
    if !link
        .account_id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(malformed("the link's account id is not an account id").into());
    }
    let jwt = link
        .jwt
        .ok_or_else(|| malformed("the link carries no jwt parameter"))?;
    if jwt.contains('\0') {
        return Err(malformed("the link's jwt is not a token").into());
    }
    let parts = token::split(&jwt)?;

    let account_id = link.account_id;
    let (account, link_row) = db
        .run(move |conn| super::enabled_link(conn, &account_id))
        .await??;
    let own = link::own_keys(&link_row, server.server_key)
        .map_err(|e| ServiceError::Internal(format!("the account's CrewPlanner keys: {e:#}")))?;
    let platform = &server.crewplanner.platform;
    let keys = match own {
        Some(keys) => keys,
        None if platform.is_configured() => platform.keys(parts.kid.as_deref()).await?,
        None => {
            return Err(Refusal::new(
                Reason::KeysUnavailable,
                "no CrewPlanner keys are configured on this server",
            )
            .into());
        }
    };
    let now = server.now;
    let claims = server.crewplanner.verify(&parts, &keys, &link_row, now)?;

    let registry = Arc::clone(server.registry);
    let leeway = server.crewplanner.leeway_secs;
    db.run(move |conn| {
        let actor = Actor {
            label: "crewplanner".to_owned(),
            token_id: None,
        };
        let ctx = WriteContext {
            account: &account,
            actor: &actor,
            registry: &registry,
            now,
        };
        super::complete(conn, &ctx, &claims, leeway)
    })
    .await?
}
