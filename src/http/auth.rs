//! Authentication: the bearer token of each request decides the account (tenant) and must carry the
//! scope of the API it calls. Missing, unknown and revoked tokens are a 401; a valid token of the
//! other scope is a 403 (the caller is known, and may not call this API).
//!
//! `/scim/v2` also takes OAuth access tokens ([`crate::oauth`]): their prefix tells them from
//! account tokens, so each request looks up exactly one table ([`scim_caller`]). A `scim.read`
//! access token is refused (403) on every request that draws on the write bucket.
//!
//! The token is checked before anything of the request is parsed (see [`super::intake`]). The
//! SCIM resource handlers take a [`ScimInput`] and authenticate it inside their own blocking call
//! ([`run_scim`]), on the connection that then does the work: one hop to the blocking pool and one
//! pooled connection per request instead of two. The token is still looked up on every request (no
//! cache), so a revoked token stops working at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{Failure, ProblemError, ScimError};
use super::intake::{Intake, nul_failure, nul_path, spells_nul};
use crate::accounts::rate_limit::Bucket;
use crate::accounts::{self, Caller, Refusal, Scope};
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::error::InputError;
use crate::state::AppState;

/// The longest Authorization value read; anything longer is no token of ours.
const MAX_TOKEN_LEN: usize = 256;

/// The bearer token of a request, if it carries a plausible one.
pub(crate) fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer")
        && !token.trim().is_empty()
        && token.len() <= MAX_TOKEN_LEN)
        .then(|| token.trim().to_owned())
}

/// The answer to a refused token of `scope`: 401 for a token that opens nothing, 403 for a live
/// token of the other scope.
pub(crate) fn refused(refusal: Refusal, scope: Scope) -> Failure {
    match refusal {
        Refusal::Unknown => Failure::Unauthorized("the token is not valid (unknown or revoked)"),
        Refusal::WrongScope => Failure::Forbidden(match scope {
            Scope::Scim => "this token is not a SCIM token (issue one with --scope scim)",
            Scope::Admin => "this token is not an admin token (issue one with --scope admin)",
        }),
    }
}

/// The 403 of a write with a read-only OAuth access token.
pub(crate) const READ_ONLY: &str = "this OAuth access token has the scope scim.read, which reads only: \
     ask the token endpoint for the scope scim to write";

/// The caller of a SCIM-scope token, account or OAuth access token (by its prefix, one lookup),
/// and whether it may only read.
pub(crate) fn scim_caller(
    conn: &mut DbConn,
    token: &str,
    now: chrono::NaiveDateTime,
) -> Result<Result<(Caller, bool), Refusal>, ServiceError> {
    if token.starts_with(crate::oauth::ACCESS_TOKEN_PREFIX) {
        return Ok(crate::oauth::authenticate(conn, token, now)?
            .map(|(caller, scope)| (caller, scope == crate::oauth::TokenScope::ScimRead))
            .ok_or(Refusal::Unknown));
    }
    Ok(accounts::authenticate(conn, token, Scope::Scim, now)?.map(|caller| (caller, false)))
}

/// The 401 of a request without a bearer token.
pub(crate) const NO_TOKEN: &str = "send a token as \"Authorization: Bearer <token>\"";
/// The 401 of an app request without a session token.
pub(crate) const NO_SESSION: &str =
    "send the session token as \"Authorization: Bearer <sessionToken>\"";
/// The 401 of an app request whose session is over.
pub(crate) const SESSION_ENDED: &str =
    "the session has ended (expired, signed out, or the user was deactivated); sign in again";

/// Everything a SCIM request brings, read but not yet interpreted: its bearer token, the body and
/// query string as intake read them, and intake's fault. [`run_scim`] checks the token first and
/// only then lets the handler parse the rest, on the blocking pool. Extracting it never fails, so
/// no other extractor can answer before the token is checked.
#[derive(Debug)]
pub struct ScimInput {
    token: Option<String>,
    intake: Intake,
    json_body: bool,
    query: String,
    note: super::access_log::CallerNote,
    /// The method and path, which with the body price the request once its token is checked.
    method: actix_web::http::Method,
    path: String,
}

impl FromRequest for ScimInput {
    type Error = ScimError;
    type Future = std::future::Ready<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let intake = req
            .extensions()
            .get::<Intake>()
            .cloned()
            .unwrap_or_default();
        std::future::ready(Ok(ScimInput {
            token: bearer(req),
            note: super::access_log::CallerNote::of(req),
            method: req.method().clone(),
            path: req.path().to_owned(),
            intake,
            json_body: req
                .mime_type()
                .ok()
                .flatten()
                .is_some_and(|m| super::is_json(&m)),
            query: req.query_string().to_owned(),
        }))
    }
}

impl ScimInput {
    /// The body as JSON: 415 unless it is declared JSON, 400 `invalidSyntax` unless it is, 400
    /// `invalidValue` naming the attribute where a string holds a NUL.
    pub fn json(&self) -> Result<Value, Failure> {
        if !self.json_body {
            return Err(Failure::UnsupportedMediaType);
        }
        let value: Value = serde_json::from_slice(&self.intake.body)
            .map_err(|e| InputError::invalid_syntax(format!("the body is not valid JSON: {e}")))?;
        if spells_nul(&self.intake.body)
            && let Some(path) = nul_path(&value)
        {
            return Err(nul_failure(&path).into());
        }
        Ok(value)
    }

    /// The size of the body as read, in bytes.
    pub fn body_len(&self) -> usize {
        self.intake.body.len()
    }

    /// The query string, read into `T`.
    pub fn query<T: DeserializeOwned>(&self) -> Result<T, Failure> {
        web::Query::<T>::from_query(&self.query)
            .map(web::Query::into_inner)
            .map_err(|e| super::query_failure(&e))
    }
}

/// Runs `f` with a pooled connection on the blocking pool (as [`super::run_db`]), after
/// authenticating the request's token for the SCIM scope on the same connection and answering
/// intake's fault; `f` gets the caller and the input to parse. A request without a token costs no
/// database work at all.
pub async fn run_scim<T, F>(state: &AppState, input: ScimInput, f: F) -> Result<T, ScimError>
where
    F: FnOnce(&mut DbConn, ScimCaller, ScimInput) -> Result<T, Failure> + Send + 'static,
    T: Send + 'static,
{
    let Some(token) = input.token.clone() else {
        return Err(ScimError(Failure::Unauthorized(NO_TOKEN)));
    };
    let now = state.clock.now_naive();
    let pool = state.pool.clone();
    let (limits, metrics) = (state.rate_limits.clone(), state.metrics.clone());
    let outcome = web::block(move || -> Result<Result<T, Refusal>, Failure> {
        // The token lookup is the connection's first statement: a lost connection fails it and
        // is replaced ([`crate::db::checkout`]), so the pool need not ping what it hands out.
        let (mut conn, found) = crate::db::checkout(&pool, |conn| scim_caller(conn, &token, now))?;
        match found {
            Err(refusal) => Ok(Err(refusal)),
            Ok((caller, read_only)) => {
                // Priced only now: a Bulk request's price is its operation count, read from the
                // body, which no caller without a valid token gets the server to parse.
                let charge =
                    super::rate_limit::Charge::of(&input.method, &input.path, &input.intake.body);
                super::rate_limit::admit(
                    &limits,
                    &metrics,
                    &input.note,
                    &caller.account.id,
                    &caller.token_id,
                    charge,
                )?;
                if let Some(fault) = input.intake.fault() {
                    return Err(fault);
                }
                if read_only && charge.bucket == Bucket::Write {
                    return Err(Failure::Forbidden(READ_ONLY));
                }
                f(&mut conn, ScimCaller(caller), input).map(Ok)
            }
        }
    })
    .await
    .map_err(|e| ServiceError::Internal(format!("blocking task failed: {e}")))?;
    outcome?.map_err(|refusal| ScimError(refused(refusal, Scope::Scim)))
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// A caller authenticated with a `scim`-scope token (for handlers that parse nothing; the others
/// take a [`ScimInput`]). Intake's fault is answered after the token is checked.
#[derive(Debug, Clone)]
pub struct ScimCaller(pub Caller);

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = Boxed<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let caller = authenticate(&req, Scope::Scim).await.map_err(ScimError)?;
            // Discovery is not rate limited; the caller is noted for the access log.
            super::access_log::CallerNote::of(&req).set(&caller.account.id, &caller.token_id, None);
            if let Some(fault) = req.extensions().get::<Intake>().and_then(Intake::fault) {
                return Err(ScimError(fault));
            }
            Ok(ScimCaller(caller))
        })
    }
}

async fn authenticate(req: &HttpRequest, scope: Scope) -> Result<Caller, Failure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered by http::configure")
        .clone();
    let Some(token) = bearer(req) else {
        return Err(Failure::Unauthorized(NO_TOKEN));
    };
    let now = state.clock.now_naive();
    let outcome = super::run_db(&state, move |conn| match scope {
        Scope::Scim => Ok(scim_caller(conn, &token, now)?.map(|(caller, _)| caller)),
        Scope::Admin => accounts::authenticate(conn, &token, scope, now),
    })
    .await?;
    outcome.map_err(|refusal| refused(refusal, scope))
}

/// A caller authenticated with an `admin`-scope token, by intake ([`super::intake::Gate::Admin`])
/// before any other extractor ran.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Caller);

impl FromRequest for AdminCaller {
    type Error = ProblemError;
    type Future = std::future::Ready<Result<Self, ProblemError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            req.extensions()
                .get::<Caller>()
                .cloned()
                .map(AdminCaller)
                .ok_or(ProblemError(Failure::Unauthorized(NO_TOKEN))),
        )
    }
}

impl Caller {
    /// The actor this caller is in the provisioning log.
    pub fn actor(&self) -> crate::context::Actor {
        crate::context::Actor {
            label: self.label.clone(),
            token_id: Some(self.token_id.clone()),
        }
    }
}
