//! Authentication: the bearer token of each request decides the account (tenant) and must carry the
//! scope of the API it calls. Missing, unknown, revoked and wrong-scope tokens are all a 401.
//!
//! The SCIM resource handlers take a [`ScimToken`] and authenticate it inside their own blocking
//! call ([`run_scim`]), on the connection that then does the work: one hop to the blocking pool and
//! one pooled connection per request instead of two. The token is still looked up on every request
//! (no cache), so a revoked token stops working at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};

use super::error::{Failure, ProblemError, ScimError};
use crate::accounts::{self, Caller, Refusal, Scope};
use crate::db::DbConn;
use crate::error::ServiceError;
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

fn refused(refusal: Refusal, scope: Scope) -> Failure {
    Failure::Unauthorized(match refusal {
        Refusal::Unknown => "the token is not valid (unknown or revoked)",
        Refusal::WrongScope => match scope {
            Scope::Scim => "this token is not a SCIM token (issue one with --scope scim)",
            Scope::Admin => "this token is not an admin token (issue one with --scope admin)",
        },
    })
}

const NO_TOKEN: &str = "send a token as \"Authorization: Bearer <token>\"";

async fn authenticate(req: &HttpRequest, scope: Scope) -> Result<Caller, Failure> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered by http::configure")
        .clone();
    let Some(token) = bearer(req) else {
        return Err(Failure::Unauthorized(NO_TOKEN));
    };
    let now = state.clock.now_naive();
    let outcome = super::run_db(&state, move |conn| {
        accounts::authenticate(conn, &token, scope, now)
    })
    .await?;
    outcome.map_err(|refusal| refused(refusal, scope))
}

/// The bearer token of a SCIM request, not yet checked: [`run_scim`] authenticates it on the
/// connection that serves the request. A request without a token is refused here already.
#[derive(Debug)]
pub struct ScimToken(String);

impl FromRequest for ScimToken {
    type Error = ScimError;
    type Future = std::future::Ready<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            bearer(req)
                .map(ScimToken)
                .ok_or(ScimError(Failure::Unauthorized(NO_TOKEN))),
        )
    }
}

/// Runs `f` with a pooled connection on the blocking pool (as [`super::run_db`]), after
/// authenticating `token` for the SCIM scope on the same connection; `f` gets the caller.
pub async fn run_scim<T, F>(state: &AppState, token: ScimToken, f: F) -> Result<T, ScimError>
where
    F: FnOnce(&mut DbConn, ScimCaller) -> Result<T, ServiceError> + Send + 'static,
    T: Send + 'static,
{
    let now = state.clock.now_naive();
    let outcome = super::run_db(state, move |conn| {
        match accounts::authenticate(conn, &token.0, Scope::Scim, now)? {
            Ok(caller) => f(conn, ScimCaller(caller)).map(Ok),
            Err(refusal) => Ok(Err(refusal)),
        }
    })
    .await?;
    outcome.map_err(|refusal| ScimError(refused(refusal, Scope::Scim)))
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// A caller authenticated with a `scim`-scope token.
#[derive(Debug, Clone)]
pub struct ScimCaller(pub Caller);

impl FromRequest for ScimCaller {
    type Error = ScimError;
    type Future = Boxed<Result<Self, ScimError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(&req, Scope::Scim)
                .await
                .map(ScimCaller)
                .map_err(ScimError)
        })
    }
}

/// A caller authenticated with an `admin`-scope token.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Caller);

impl FromRequest for AdminCaller {
    type Error = ProblemError;
    type Future = Boxed<Result<Self, ProblemError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            authenticate(&req, Scope::Admin)
                .await
                .map(AdminCaller)
                .map_err(ProblemError)
        })
    }
}

impl Caller {
    /// The actor this caller is in the provisioning log.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            label: self.label.clone(),
            token_id: Some(self.token_id.clone()),
        }
    }
}
