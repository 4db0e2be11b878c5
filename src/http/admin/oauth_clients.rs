//! The account's OAuth clients on the admin API (DESIGN §4a): `GET /admin/v1/oauth-clients`
//! (secrets expiring within 30 days flagged), `POST /admin/v1/oauth-clients` (`label`, and `jwks`
//! (a JWKS document) or `jwksUrl`, or `expiresInDays` of the first secret), `PATCH
//! /admin/v1/oauth-clients/{id}` (`label`), `DELETE /admin/v1/oauth-clients/{id}` (revoke),
//! `POST /admin/v1/oauth-clients/{id}/secrets` and `DELETE …/secrets/{secretId}` (revoke). A new
//! secret is in the answer once (`clientSecret`); only its hash is kept.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::super::auth::AdminCaller;
use super::super::error::ProblemError;
use super::super::run_db;
use crate::clock::rfc3339;
use crate::db::models::{OAuthClientRow, OAuthSecretRow};
use crate::error::{FieldError, ServiceError};
use crate::oauth::clients::{self, ClientListing, NewClientKeys};
use crate::state::AppState;

/// Registers the OAuth client routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth-clients", web::get().to(list))
        .route("/oauth-clients", web::post().to(create))
        .route("/oauth-clients/{id}", web::patch().to(relabel))
        .route("/oauth-clients/{id}", web::delete().to(revoke))
        .route("/oauth-clients/{id}/secrets", web::post().to(add_secret))
        .route(
            "/oauth-clients/{id}/secrets/{secret_id}",
            web::delete().to(revoke_secret),
        );
}

/// A client secret as listed: never the secret.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Secret {
    id: String,
    prefix: String,
    created_at: String,
    expires_at: String,
    revoked_at: Option<String>,
    /// Live and expiring within 30 days (or expired): rotate it.
    expiring: bool,
    /// A secret just made: shown this once.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

impl Secret {
    fn of(row: &OAuthSecretRow, expiring: bool, shown: Option<String>) -> Self {
        Self {
            id: row.id.clone(),
            prefix: row.prefix.clone(),
            created_at: rfc3339(row.created_at),
            expires_at: rfc3339(row.expires_at),
            revoked_at: row.revoked_at.map(rfc3339),
            expiring,
            client_secret: shown,
        }
    }
}

/// An OAuth client.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Client {
    client_id: String,
    label: String,
    /// `client_secret` (secrets) or `private_key_jwt` (a JWKS).
    authentication: &'static str,
    jwks_url: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
    secrets: Vec<Secret>,
    /// How many of its live secrets expire within 30 days.
    expiring_secrets: usize,
}

impl Client {
    fn of(row: &OAuthClientRow, secrets: Vec<Secret>) -> Self {
        let jwks = row.jwks_url.is_some() || row.jwks_document.is_some();
        Self {
            client_id: row.id.clone(),
            label: row.label.clone(),
            authentication: if jwks {
                "private_key_jwt"
            } else {
                "client_secret"
            },
            jwks_url: row.jwks_url.clone(),
            created_at: rfc3339(row.created_at),
            revoked_at: row.revoked_at.map(rfc3339),
            expiring_secrets: secrets.iter().filter(|s| s.expiring).count(),
            secrets,
        }
    }
}

impl From<&ClientListing> for Client {
    fn from(listing: &ClientListing) -> Self {
        let secrets = listing
            .secrets
            .iter()
            .map(|s| Secret::of(&s.secret, s.expiring, None))
            .collect();
        Client::of(&listing.client, secrets)
    }
}

/// The list.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ClientList {
    clients: Vec<Client>,
}

async fn list(
    state: web::Data<AppState>,
    caller: AdminCaller,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let listings = run_db(&state, move |conn| clients::list(conn, &account_id, now)).await?;
    Ok(HttpResponse::Ok().json(ClientList {
        clients: listings.iter().map(Client::from).collect(),
    }))
}

/// The body of `POST /admin/v1/oauth-clients`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewClient {
    label: String,
    /// A JWKS document (the client's public keys).
    jwks: Option<Value>,
    /// The https URL of the client's JWKS document.
    jwks_url: Option<String>,
    /// Days the first secret lives.
    expires_in_days: Option<i64>,
}

async fn create(
    state: web::Data<AppState>,
    caller: AdminCaller,
    body: web::Json<NewClient>,
) -> Result<HttpResponse, ProblemError> {
    let body = body.into_inner();
    let keys = match (body.jwks, body.jwks_url) {
        (Some(_), Some(_)) => {
            return Err(ServiceError::InvalidFields(vec![FieldError::new(
                "jwks",
                "send jwks or jwksUrl, not both",
            )])
            .into());
        }
        (Some(doc), None) => NewClientKeys::JwksDocument(doc.to_string()),
        (None, Some(url)) => NewClientKeys::JwksUrl(url),
        (None, None) => NewClientKeys::Secret {
            expires_in_days: body.expires_in_days,
        },
    };
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let label = body.label;
    let (client, secret) = run_db(&state, move |conn| {
        clients::create(conn, &account_id, &label, keys, now)
    })
    .await?;
    let soon = now + chrono::Duration::days(clients::EXPIRING_DAYS);
    let secrets = secret
        .map(|(row, shown)| vec![Secret::of(&row, row.expires_at <= soon, Some(shown))])
        .unwrap_or_default();
    Ok(HttpResponse::Created().json(Client::of(&client, secrets)))
}

/// The body of `PATCH /admin/v1/oauth-clients/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Relabel {
    label: String,
}

async fn relabel(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: web::Json<Relabel>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let label = body.into_inner().label;
    let client = run_db(&state, move |conn| {
        clients::relabel(conn, &account_id, &id, &label, now)
    })
    .await?;
    Ok(HttpResponse::Ok().json(Client::of(&client, Vec::new())))
}

async fn revoke(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    run_db(&state, move |conn| {
        clients::revoke(conn, &account_id, &id, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /admin/v1/oauth-clients/{id}/secrets` (may be empty: `{}`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewSecret {
    expires_in_days: Option<i64>,
}

async fn add_secret(
    state: web::Data<AppState>,
    caller: AdminCaller,
    id: web::Path<String>,
    body: Option<web::Json<NewSecret>>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let days = body
        .map(|b| b.into_inner())
        .unwrap_or_default()
        .expires_in_days;
    let (row, shown) = run_db(&state, move |conn| {
        clients::add_secret(conn, &account_id, &id, days, now)
    })
    .await?;
    let soon = now + chrono::Duration::days(clients::EXPIRING_DAYS);
    Ok(HttpResponse::Created().json(Secret::of(&row, row.expires_at <= soon, Some(shown))))
}

async fn revoke_secret(
    state: web::Data<AppState>,
    caller: AdminCaller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ProblemError> {
    let account_id = caller.0.account.id.clone();
    let now = state.clock.now_naive();
    let (id, secret_id) = path.into_inner();
    run_db(&state, move |conn| {
        clients::revoke_secret(conn, &account_id, &id, &secret_id, now)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
