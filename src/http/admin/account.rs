//! The account's name and settings on the admin API: `GET /admin/v1/account` and
//! `PATCH /admin/v1/account` with any of `name` (what invitations and the CMS show),
//! `requireExternalId`, `requireContact`, `inviteOnProvision` (turning it on needs
//! `agreementAccepted` once), `defaultLanguage`. An unknown field is a 400 naming it.

use actix_web::{HttpResponse, web};
use serde_json::Value;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use super::views::Settings;
use crate::accounts::{self, SettingsChange};
use crate::error::{FieldError, ServiceError};
use crate::state::AppState;

/// Registers the account routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/account", web::get().to(get))
        .route("/account", web::patch().to(patch));
}

async fn get(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let account = run_db(&state, move |conn| {
        crate::accounts::find_account(conn, &account_id)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Settings::from(&account)))
}

/// Reads a PATCH body, naming every field of the wrong type or unknown.
fn change(body: &Value) -> Result<SettingsChange, ServiceError> {
    let Value::Object(obj) = body else {
        return Err(ServiceError::InvalidFields(vec![FieldError::new(
            "",
            "the body must be a JSON object",
        )]));
    };
    let mut out = SettingsChange::default();
    let mut errors = Vec::new();
    for (key, value) in obj {
        let boolean = || match value {
            Value::Bool(b) => Ok(*b),
            _ => Err(FieldError::new(key.as_str(), "must be true or false")),
        };
        let result = match key.as_str() {
            "name" => match value {
                Value::String(s) => {
                    out.name = Some(s.clone());
                    Ok(())
                }
                _ => Err(FieldError::new(
                    key.as_str(),
                    "must be a string: the account's name",
                )),
            },
            "requireExternalId" => boolean().map(|b| out.require_external_id = Some(b)),
            "requireContact" => boolean().map(|b| out.require_contact = Some(b)),
            "inviteOnProvision" => boolean().map(|b| out.invite_on_provision = Some(b)),
            "agreementAccepted" => boolean().map(|b| out.agreement_accepted = Some(b)),
            "defaultLanguage" => match value {
                Value::String(s) if s.len() <= 16 => {
                    out.default_language = Some(s.clone());
                    Ok(())
                }
                _ => Err(FieldError::new(key.as_str(), "must be en, nl, fr or de")),
            },
            // Read-only fields a client may echo back.
            "id" | "inviteAgreementAcceptedAt" => Ok(()),
            _ => Err(FieldError::new(
                key.chars().take(64).collect::<String>(),
                "is not a setting (the settings are name, requireExternalId, requireContact, \
                 inviteOnProvision, defaultLanguage, agreementAccepted)",
            )),
        };
        if let Err(e) = result {
            errors.push(e);
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ServiceError::InvalidFields(errors))
    }
}

async fn patch(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<Value>,
) -> Result<HttpResponse, ProblemError> {
    let change = change(&body)?;
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let account = run_db(&state, move |conn| {
        accounts::change_settings(conn, &account_id, &change, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Settings::from(&account)))
}
