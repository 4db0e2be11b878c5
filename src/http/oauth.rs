//! The OAuth 2.0 authorization server of provisioning clients (DESIGN §4a): `POST /oauth/token`
//! (RFC 6749 §4.4 client credentials with `client_secret_basic`, `client_secret_post` or
//! `private_key_jwt`; the RFC 7523 §2.1 JWT-bearer grant) and its metadata at
//! `GET /.well-known/oauth-authorization-server` (RFC 8414). Open to the internet: the body is read
//! by intake within [`super::intake::OPEN_BODY_BYTES`], every answer is `Cache-Control: no-store`,
//! errors are RFC 6749 §5.2 JSON, and a failed client authentication is counted per client address
//! and per client ([`crate::oauth::throttle`]) and answered without saying which part was wrong.
//! Neither a secret, an assertion nor a token is ever logged.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use serde_json::json;

use super::intake::Intake;
use super::run_db;
use crate::error::ServiceError;
use crate::oauth::TokenScope;
use crate::oauth::assertion::{self, Expected};
use crate::oauth::grant::{self, Failed, Issued};
use crate::oauth::request::{self, ClientAuth, ErrorCode, Grant, OAuthError, TokenRequest};
use crate::state::AppState;

/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oauth/token";
/// The realm of `WWW-Authenticate: Basic` on a failed HTTP Basic client authentication.
const REALM: &str = "Basic realm=\"mobietrain-scim\", charset=\"UTF-8\"";
/// What every failed client authentication says, whatever failed.
const AUTH_FAILED: &str = "client authentication failed (unknown client, wrong, expired or revoked \
                           credentials, or an assertion that is not valid)";
/// What every refused JWT-bearer grant says, whatever failed.
const GRANT_REFUSED: &str = "the assertion is not valid for this token endpoint (its client, \
                             signature, aud, times or jti)";

/// The token endpoint (wrapped by intake's open gate in [`super::configure`]) and the metadata.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/.well-known/oauth-authorization-server").get(metadata));
}

/// The token endpoint's route, to be wrapped by intake.
pub fn token_routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("").post(token));
}

/// `PUBLIC_URL` without a trailing slash: the issuer.
fn issuer(state: &AppState) -> String {
    state.settings.public_url.trim_end_matches('/').to_owned()
}

async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = issuer(&state);
    let body = json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "grant_types_supported": [request::CLIENT_CREDENTIALS, request::JWT_BEARER_GRANT],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": TokenScope::ALL.map(TokenScope::as_str),
        "response_types_supported": [],
    });
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "max-age=3600"))
        .json(body)
}

/// A refusal of the token endpoint.
enum Refusal {
    /// An RFC 6749 §5.2 error; `basic`: the client used HTTP Basic.
    OAuth(OAuthError, bool),
    /// Too many failed authentications from this address or for this client.
    Throttled(u64),
    /// Our side failed.
    Service(ServiceError),
}

impl From<ServiceError> for Refusal {
    fn from(e: ServiceError) -> Self {
        Refusal::Service(e)
    }
}

fn no_store(status: StatusCode) -> actix_web::HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"));
    builder
}

fn error_body(code: &str, description: &str) -> String {
    json!({"error": code, "error_description": description}).to_string()
}

impl Refusal {
    fn response(self) -> HttpResponse {
        match self {
            Refusal::OAuth(e, basic) => {
                let status = if e.code == ErrorCode::InvalidClient {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::BAD_REQUEST
                };
                let mut builder = no_store(status);
                if e.code == ErrorCode::InvalidClient && basic {
                    builder.insert_header((header::WWW_AUTHENTICATE, REALM));
                }
                builder
                    .content_type("application/json")
                    .body(error_body(e.code.as_str(), &e.description))
            }
            Refusal::Throttled(secs) => no_store(StatusCode::TOO_MANY_REQUESTS)
                .insert_header((header::RETRY_AFTER, secs.to_string()))
                .content_type("application/json")
                .body(error_body(
                    ErrorCode::InvalidClient.as_str(),
                    &format!(
                        "too many failed client authentications from this address or for this \
                         client; retry after {secs} seconds"
                    ),
                )),
            Refusal::Service(e) => {
                let status = match e {
                    ServiceError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                    _ => StatusCode::INTERNAL_SERVER_ERROR,
                };
                tracing::error!(error = %e, "the token endpoint failed");
                no_store(status)
                    .content_type("application/json")
                    .body(error_body(
                        "server_error",
                        "the token could not be issued because of an error on our side; retry",
                    ))
            }
        }
    }
}

async fn token(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    match exchange(&req, &state).await {
        Ok(issued) => no_store(StatusCode::OK).json(json!({
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope.as_str(),
        })),
        Err(refusal) => refusal.response(),
    }
}

async fn exchange(req: &HttpRequest, state: &AppState) -> Result<Issued, Refusal> {
    let intake = req
        .extensions()
        .get::<Intake>()
        .cloned()
        .unwrap_or_default();
    if intake.fault().is_some() {
        return Err(Refusal::OAuth(
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "the request body cannot be read: send at most 16 KiB, form-encoded",
            ),
            false,
        ));
    }
    let form = req
        .mime_type()
        .ok()
        .flatten()
        .is_some_and(|m| m.essence_str() == "application/x-www-form-urlencoded");
    if !form {
        return Err(Refusal::OAuth(
            OAuthError::new(
                ErrorCode::InvalidRequest,
                "send the request as application/x-www-form-urlencoded",
            ),
            false,
        ));
    }
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or(""));
    let asked = request::parse(&intake.body, authorization)
        .map_err(|e| Refusal::OAuth(e, authorization.is_some()))?;
    let address = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if let Some(secs) = state
        .oauth
        .throttle
        .blocked(&address, asked.auth.client_id())
    {
        return Err(Refusal::Throttled(secs));
    }
    let basic = asked.auth.is_basic();
    let grant_refusal = matches!(asked.grant, Grant::JwtBearer { .. });
    match authenticate_and_issue(state, asked, &address).await? {
        Ok(issued) => {
            tracing::info!(
                account.id = %issued.account_id,
                client.id = %issued.client_id,
                scope = issued.scope.as_str(),
                "issued an OAuth access token"
            );
            Ok(issued)
        }
        Err(failed) => {
            tracing::info!(
                client.id = failed.client_id.as_deref().unwrap_or("-"),
                reason = %failed.reason,
                "refused an OAuth token request"
            );
            state
                .oauth
                .throttle
                .failed(&address, failed.client_id.as_deref());
            let error = if grant_refusal {
                OAuthError::new(ErrorCode::InvalidGrant, GRANT_REFUSED)
            } else {
                OAuthError::new(ErrorCode::InvalidClient, AUTH_FAILED)
            };
            Err(Refusal::OAuth(error, basic))
        }
    }
}

async fn authenticate_and_issue(
    state: &AppState,
    asked: TokenRequest,
    address: &str,
) -> Result<Result<Issued, Failed>, Refusal> {
    let ttl = state.oauth.access_token_ttl;
    let now = state.clock.now_naive();
    let scope = asked.scope;
    let (jwt, named) = match (asked.grant, asked.auth) {
        (_, ClientAuth::SecretBasic { client_id, secret })
        | (_, ClientAuth::SecretPost { client_id, secret }) => {
            return Ok(run_db(state, move |conn| {
                grant::with_secret(conn, &client_id, &secret, scope, ttl, now)
            })
            .await?);
        }
        (
            _,
            ClientAuth::Assertion {
                client_id,
                assertion,
            },
        ) => (assertion, client_id),
        (Grant::JwtBearer { assertion }, ClientAuth::None) => (assertion, None),
        (Grant::ClientCredentials, ClientAuth::None) => {
            return Ok(Err(Failed::new(None, "no client authentication")));
        }
    };
    let Ok(parts) = assertion::split(&jwt) else {
        return Ok(Err(Failed::new(None, "the assertion is not a JWT")));
    };
    let Some(client_id) = assertion::claimed_issuer(&parts) else {
        return Ok(Err(Failed::new(None, "the assertion has no iss")));
    };
    if named.as_ref().is_some_and(|n| *n != client_id) {
        return Ok(Err(Failed::new(
            None,
            "client_id is not the assertion's iss",
        )));
    }
    // The client is known only now (from the assertion): a blocked one is refused before its keys
    // are fetched or its signature checked.
    if let Some(secs) = state.oauth.throttle.blocked(address, Some(&client_id)) {
        return Err(Refusal::Throttled(secs));
    }
    let lookup = client_id.clone();
    let (client, keys) =
        match run_db(state, move |conn| grant::assertion_client(conn, &lookup)).await? {
            Ok(found) => found,
            Err(failed) => return Ok(Err(failed)),
        };
    let keys = match state.oauth.keys(&keys, parts.kid.as_deref()).await {
        Ok(keys) => keys,
        Err(e) => return Ok(Err(Failed::new(Some(&client.id), e.to_string()))),
    };
    let issuer = issuer(state);
    let endpoint = format!("{issuer}{TOKEN_PATH}");
    let checked = assertion::check(
        &parts,
        &keys,
        &Expected {
            client_id: &client.id,
            audiences: [&endpoint, &issuer],
            now: now.and_utc().timestamp(),
            leeway: state.oauth.leeway_secs,
            max_lifetime: state.oauth.max_assertion_secs,
        },
    );
    let checked = match checked {
        Ok(checked) => checked,
        Err(refused) => return Ok(Err(Failed::new(Some(&client.id), refused.0))),
    };
    let Some(until) = chrono::DateTime::from_timestamp(checked.accepted_until, 0) else {
        return Ok(Err(Failed::new(Some(&client.id), "exp is out of range")));
    };
    let until = until.naive_utc();
    Ok(run_db(state, move |conn| {
        grant::redeem_assertion(conn, &client, &checked.jti, until, scope, ttl, now)
    })
    .await?)
}
