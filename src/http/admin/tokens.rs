//! API tokens on the admin API: `GET /admin/v1/tokens` (every token of the account, never a
//! hash), `POST /admin/v1/tokens` `{"label", "scope", "expiresAt" | "expiresInDays"}` (201 with the
//! token, shown once), `PATCH /admin/v1/tokens/{id}` `{"label"}` and `DELETE /admin/v1/tokens/{id}`
//! (revokes). An admin token is issued to a named person: its label says who, and is the actor of
//! that person's writes in the provisioning log.
//!
//! Revoking the token a request is made with would lock the caller out mid-session, so it takes
//! `?revokeOwn=true`; without it the answer is a 409 saying so.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime};
use serde::Deserialize;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::directory_views::{IssuedToken, Token, TokenList};
use crate::accounts::{self, Scope};
use crate::error::{FieldError, ServiceError};
use crate::state::AppState;

/// Registers the token routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", web::get().to(list))
        .route("/tokens", web::post().to(issue))
        .route("/tokens/{id}", web::patch().to(relabel))
        .route("/tokens/{id}", web::delete().to(revoke));
}

/// The body of `POST /admin/v1/tokens`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    label: String,
    scope: String,
    expires_at: Option<String>,
    expires_in_days: Option<i64>,
}

/// The body of `PATCH /admin/v1/tokens/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TokenChange {
    label: String,
}

/// Query parameters of `DELETE /admin/v1/tokens/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevokeParams {
    revoke_own: Option<String>,
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let rows = run_db(&state, move |conn| accounts::list_tokens(conn, &account_id)).await?;
    Ok(HttpResponse::Ok().json(TokenList {
        total_results: rows.len(),
        tokens: rows.iter().map(Token::from).collect(),
    }))
}

/// The scope and expiry a request asks for, every bad field named.
fn terms(
    body: &NewToken,
    now: NaiveDateTime,
) -> Result<(Scope, Option<NaiveDateTime>), ServiceError> {
    let mut errors = Vec::new();
    let scope = match body.scope.as_str() {
        "scim" => Some(Scope::Scim),
        "admin" => Some(Scope::Admin),
        _ => {
            errors.push(FieldError::new("scope", "must be scim or admin"));
            None
        }
    };
    let expires_at = match (&body.expires_at, body.expires_in_days) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(
                "expiresInDays",
                "send either expiresAt or expiresInDays, not both",
            ));
            None
        }
        (Some(at), None) => match DateTime::parse_from_rfc3339(at) {
            Ok(at) => Some(at.naive_utc()),
            Err(_) => {
                errors.push(FieldError::new(
                    "expiresAt",
                    "must be an RFC 3339 time such as 2027-06-30T00:00:00Z",
                ));
                None
            }
        },
        (None, Some(days)) => match accounts::expiry_in_days(days, now) {
            Ok(at) => Some(at),
            Err(_) => {
                errors.push(FieldError::new(
                    "expiresInDays",
                    format!("must be 1 to {}", accounts::MAX_TOKEN_DAYS),
                ));
                None
            }
        },
        (None, None) => None,
    };
    match (scope, errors.is_empty()) {
        (Some(scope), true) => Ok((scope, expires_at)),
        _ => Err(ServiceError::InvalidFields(errors)),
    }
}

async fn issue(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<NewToken>,
) -> Result<HttpResponse, ProblemError> {
    let now = state.clock.now_naive();
    let body = body.into_inner();
    let (scope, expires_at) = terms(&body, now)?;
    let account_id = caller.0.account.id.clone();
    let (row, token) = run_db(&state, move |conn| {
        accounts::issue_token_until(conn, &account_id, &body.label, scope, expires_at, now)
    })
    .await?;
    Ok(HttpResponse::Created().json(IssuedToken {
        token: &token,
        listed: Token::from(&row),
    }))
}

async fn relabel(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: web::Json<TokenChange>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let label = body.into_inner().label;
    let row = run_db(&state, move |conn| {
        accounts::relabel_token(conn, &account_id, &id, &label)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Token::from(&row)))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    params: web::Query<RevokeParams>,
) -> Result<HttpResponse, ProblemError> {
    let id = id.into_inner();
    if id == caller.0.token_id && params.revoke_own.as_deref() != Some("true") {
        return Err(ServiceError::conflict(
            "this is the token this request is made with: revoking it ends your access; to do so \
             anyway, send DELETE again with ?revokeOwn=true"
                .to_owned(),
        )
        .into());
    }
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    run_db(&state, move |conn| {
        accounts::revoke_account_token(conn, &account_id, &id, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
