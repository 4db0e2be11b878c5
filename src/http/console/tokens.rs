//! The account's API tokens: the list (with each token's expiry, and whether it has expired),
//! issuing one to a person with an expiry of 30, 90 or 365 days or none (the token is shown once,
//! on the answer to the form, and never again) and revoking one. A session opened with a token
//! ends when it is revoked or expires.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleError, Signed, refusal_detail, see_other, view};
use crate::accounts::{self, Scope};
use crate::http::run_db;
use crate::state::AppState;

/// The expiries the form offers, in days (`None`: never); the first is preselected.
const EXPIRIES: &[Option<i64>] = &[Some(90), Some(30), Some(365), None];

/// Registers the token pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/tokens", web::get().to(list))
        .route("/tokens", web::post().to(issue))
        .route("/tokens/{id}/revoke", web::post().to(revoke));
}

/// The list's query string.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    notice: Option<String>,
}

/// One token as the page shows it.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    label: String,
    scope: String,
    prefix: String,
    created: String,
    last_used: Option<String>,
    expires: Option<String>,
    expired: bool,
    revoked: Option<String>,
    current: bool,
}

/// A choice of the expiry select: its value (`90`, `never`) and its catalog key with argument.
#[derive(Debug, serde::Serialize)]
struct Expiry {
    value: String,
    days: Option<i64>,
}

fn expiries() -> Vec<Expiry> {
    EXPIRIES
        .iter()
        .map(|d| Expiry {
            value: d.map_or_else(|| "never".to_owned(), |d| d.to_string()),
            days: *d,
        })
        .collect()
}

/// The expiry a form asks for: `Ok(None)` for never; an `Err` for anything not offered.
fn chosen_expiry(raw: Option<&str>) -> Result<Option<i64>, ()> {
    match raw {
        Some("never") => Ok(None),
        Some(days) => EXPIRIES
            .iter()
            .flatten()
            .find(|d| d.to_string() == days)
            .map(|d| Some(*d))
            .ok_or(()),
        None => Err(()),
    }
}

async fn page(
    state: &web::Data<AppState>,
    signed: &Signed,
    notice: Option<&str>,
    error: Option<String>,
) -> Result<HttpResponse, ConsoleError> {
    let account_id = signed.0.caller.account.id.clone();
    let now = state.clock.now_naive();
    let tokens = run_db(state, move |conn| accounts::list_tokens(conn, &account_id)).await?;
    let rows: Vec<Row> = tokens
        .into_iter()
        .rev()
        .map(|t| Row {
            current: t.id == signed.0.caller.token_id,
            id: t.id,
            label: t.label,
            scope: t.scope,
            prefix: t.prefix,
            created: super::when(t.created_at),
            last_used: t.last_used_at.map(super::when),
            expires: t.expires_at.map(super::when),
            expired: t.expires_at.is_some_and(|at| at <= now),
            revoked: t.revoked_at.map(super::when),
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(view::page(
        status,
        "tokens.html",
        context! {
            session => signed.layout(),
            nav => "tokens",
            rows => minijinja::value::Serde(&rows),
            expiries => minijinja::value::Serde(&expiries()),
            notice => notice,
            error => error,
        },
    ))
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let notice = params
        .notice
        .as_deref()
        .filter(|n| *n == "token_revoked")
        .map(|_| "notice.token_revoked");
    page(&state, &signed, notice, None).await
}

async fn issue(
    state: web::Data<AppState>,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = signed.form(&body)?;
    let scope = match form.get("scope").as_deref() {
        Some("admin") => Scope::Admin,
        Some("scim") => Scope::Scim,
        _ => {
            let detail = super::texts::text("tokens.bad_scope").unwrap_or_default();
            return page(&state, &signed, None, Some(detail.to_owned())).await;
        }
    };
    let Ok(days) = chosen_expiry(form.get("expires").as_deref()) else {
        let detail = super::texts::text("tokens.bad_expiry").unwrap_or_default();
        return page(&state, &signed, None, Some(detail.to_owned())).await;
    };
    let label = form.get("label").unwrap_or_default();
    let account_id = signed.0.caller.account.id.clone();
    let now = state.clock.now_naive();
    let shown_label = label.clone();
    match run_db(&state, move |conn| {
        let expires_at = days.map(|d| accounts::expiry_in_days(d, now)).transpose()?;
        accounts::issue_token_until(conn, &account_id, &label, scope, expires_at, now)
    })
    .await
    {
        Ok((row, token)) => Ok(view::page(
            StatusCode::OK,
            "token_issued.html",
            context! {
                session => signed.layout(),
                nav => "tokens",
                token => token,
                label => shown_label,
                scope => scope.as_str(),
                expires => row.expires_at.map(super::when),
            },
        )),
        Err(e) => {
            let detail = refusal_detail(e)?;
            page(&state, &signed, None, Some(detail)).await
        }
    }
}

async fn revoke(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    signed.form(&body)?;
    let account_id = signed.0.caller.account.id.clone();
    let id = id.into_inner();
    let now = state.clock.now_naive();
    // Only a token of the signed-in account: another's is a 404.
    run_db(&state, move |conn| {
        accounts::revoke_account_token(conn, &account_id, &id, now)
    })
    .await?;
    Ok(see_other("/console/tokens?notice=token_revoked"))
}
