//! Request intake: what happens to every request of the APIs before anything interprets it.
//!
//! The order is the security property. First the body is read whole, bounded by
//! `MAX_BODY_BYTES` and by a read deadline (`BODY_READ_TIMEOUT_SECS`), so a slow or endless body
//! costs a connection a few seconds at most and every answer, a 401 too, comes after the body was
//! read (no reset connection). Then the token is checked. Only then is anything parsed: a body that
//! was too large, too slow, or a path or query carrying a NUL is answered after authentication, so
//! a caller without a valid token learns nothing but 401, and costs nothing but the bounded read.
//!
//! Where the token is checked depends on the API ([`Gate`]): the SCIM handlers check it in the same
//! blocking call that does their work ([`super::auth::run_scim`]), so intake leaves them the read
//! body and any fault ([`Intake`] in the request's extensions); the admin and app APIs are checked
//! here, before their extractors run.

use std::time::Duration;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{HttpMessage, ResponseError};
use futures_util::StreamExt;
use serde_json::Value;

use super::error::{Failure, ProblemError};
use crate::accounts::{self, Scope};
use crate::scim::error::InputError;
use crate::sessions;
use crate::state::AppState;

/// The largest body a route without a token reads (`POST /invitations/accept`, `POST
/// /app/v1/session` carry a token or code of a few hundred bytes): what anyone may make the server
/// read and parse stays small, whatever `MAX_BODY_BYTES` allows authenticated clients.
pub const OPEN_BODY_BYTES: usize = 16 * 1024;

/// Who checks the token of the requests behind this intake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The handler does, and answers the intake's fault after it ([`Intake::fault`]).
    Handler,
    /// An admin-scope account token, checked here.
    Admin,
    /// An app session token, checked here.
    Session,
    /// No token: a fault is answered at once.
    Open,
    /// No token, the body bounded as [`Gate::Open`]; the handler answers a fault in its own format
    /// (the OAuth token endpoint's RFC 6749 errors).
    OpenHandler,
}

/// What intake read of a request: its body, and the first reason it must be refused once the
/// caller is known (kept in the request's extensions).
#[derive(Debug, Clone, Default)]
pub struct Intake {
    /// The whole body, as read (empty when it could not be read).
    pub body: Bytes,
    /// Why the request cannot be served, whoever the caller is.
    fault: Option<Fault>,
}

/// A reason found at intake, turned into a [`Failure`] when it is answered.
#[derive(Debug, Clone)]
enum Fault {
    TooLarge(usize),
    TooSlow(Duration),
    Unreadable(String),
    NulInTarget,
}

impl Intake {
    /// The failure to answer instead of serving the request, if any.
    pub fn fault(&self) -> Option<Failure> {
        self.fault.as_ref().map(|fault| match fault {
            Fault::TooLarge(limit) => Failure::PayloadTooLarge(*limit),
            Fault::TooSlow(deadline) => Failure::RequestTimeout(deadline.as_secs()),
            Fault::Unreadable(why) => {
                InputError::invalid_syntax(format!("the body cannot be read: {why}")).into()
            }
            Fault::NulInTarget => InputError::invalid_value(
                "the path or query string contains a NUL character (%00), which no value may hold",
            )
            .into(),
        })
    }
}

/// The intake middleware for the routes behind `gate` (`App::wrap` / `Scope::wrap` with
/// `actix_web::middleware::from_fn`).
pub async fn intake(
    gate: Gate,
    mut req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .expect("AppState is registered by http::configure")
        .clone();
    let limit = match gate {
        Gate::Open | Gate::OpenHandler => state.settings.max_body_bytes.min(OPEN_BODY_BYTES),
        _ => state.settings.max_body_bytes,
    };
    let mut read = read_body(&mut req, limit, state.settings.body_read_timeout).await;
    if read.fault.is_none() && nul_in_target(&req) {
        read.fault = Some(Fault::NulInTarget);
    }
    let failure = match gate {
        Gate::Handler | Gate::OpenHandler => None,
        Gate::Open => read.fault().or_else(|| nul_in_json(&req, &read.body)),
        Gate::Admin | Gate::Session => match authenticate(&req, &state, gate, &read.body).await {
            Err(refused) => Some(refused),
            Ok(()) => read.fault().or_else(|| nul_in_json(&req, &read.body)),
        },
    };
    if let Some(failure) = failure {
        let response = ProblemError(failure).error_response();
        return Ok(req.into_response(response));
    }
    req.extensions_mut().insert(read);
    next.call(req).await
}

/// Reads the body whole, within the size limit and the read deadline, and gives it back to the
/// request as its payload. Past either bound, reading stops: the answer closes the connection.
async fn read_body(req: &mut ServiceRequest, limit: usize, deadline: Duration) -> Intake {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        req.set_payload(Payload::None);
        return Intake {
            body: Bytes::new(),
            fault: Some(Fault::TooLarge(limit)),
        };
    }
    let mut payload = req.take_payload();
    let capacity = declared.map_or(0, |n| n as usize);
    let collect = async {
        let mut body = BytesMut::with_capacity(capacity);
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| Fault::Unreadable(e.to_string()))?;
            if body.len() + chunk.len() > limit {
                return Err(Fault::TooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    let outcome = match actix_web::rt::time::timeout(deadline, collect).await {
        Ok(outcome) => outcome,
        Err(_elapsed) => Err(Fault::TooSlow(deadline)),
    };
    match outcome {
        Ok(body) => {
            req.set_payload(Payload::from(body.clone()));
            Intake { body, fault: None }
        }
        Err(fault) => {
            req.set_payload(Payload::None);
            Intake {
                body: Bytes::new(),
                fault: Some(fault),
            }
        }
    }
}

/// Whether the path or query string carries an encoded NUL, which PostgreSQL cannot store and no
/// identifier of ours contains.
fn nul_in_target(req: &ServiceRequest) -> bool {
    let has_nul = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w[0] == b'%' && w[1] == b'0' && w[2] == b'0')
    };
    has_nul(req.uri().path()) || has_nul(req.query_string())
}

/// Checks the token of `gate` and leaves the caller in the request's extensions, where the
/// `AdminCaller` and `AppCaller` extractors find it; then charges the account's rate limit.
async fn authenticate(
    req: &ServiceRequest,
    state: &AppState,
    gate: Gate,
    body: &Bytes,
) -> Result<(), Failure> {
    let Some(token) = super::auth::bearer(req.request()) else {
        return Err(match gate {
            Gate::Session => Failure::Unauthorized(super::auth::NO_SESSION),
            _ => Failure::Unauthorized(super::auth::NO_TOKEN),
        });
    };
    let now = state.clock.now_naive();
    match gate {
        Gate::Session => {
            let found =
                super::run_db(state, move |conn| sessions::authenticate(conn, &token, now)).await?;
            let caller = found.ok_or(Failure::Unauthorized(super::auth::SESSION_ENDED))?;
            let (account, token) = (caller.account_id.clone(), caller.session_id.clone());
            req.extensions_mut().insert(caller);
            admit(req, state, &account, &token, body)?;
        }
        _ => {
            let outcome = super::run_db(state, move |conn| {
                accounts::authenticate(conn, &token, Scope::Admin, now)
            })
            .await?;
            let caller = outcome.map_err(|r| super::auth::refused(r, Scope::Admin))?;
            let (account, token) = (caller.account.id.clone(), caller.token_id.clone());
            req.extensions_mut().insert(caller);
            admit(req, state, &account, &token, body)?;
        }
    }
    Ok(())
}

/// Charges the request to its account's rate limit ([`super::rate_limit::admit`]).
fn admit(
    req: &ServiceRequest,
    state: &AppState,
    account: &str,
    token: &str,
    body: &Bytes,
) -> Result<(), Failure> {
    super::rate_limit::admit(
        &state.rate_limits,
        &state.metrics,
        &super::access_log::CallerNote::of(req.request()),
        account,
        token,
        super::rate_limit::Charge::of(req.method(), req.path(), body),
    )
}

/// A NUL in a JSON body of an API that reads it with typed extractors, as the failure naming the
/// attribute. Only a body that spells `\u0000` is parsed here.
fn nul_in_json(req: &ServiceRequest, body: &Bytes) -> Option<Failure> {
    if !req.content_type().contains("json") || !spells_nul(body) {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    // The admin and app APIs name the offending field in their `errors` list.
    nul_path(&value).map(|path| {
        Failure::Service(crate::error::ServiceError::InvalidFields(vec![
            crate::error::FieldError::new(
                path,
                "contains a NUL character (U+0000), which no field may hold",
            ),
        ]))
    })
}

/// Whether JSON text contains the escape `\u0000` (a raw NUL is no valid JSON anyway). A match
/// may be an escaped backslash followed by `u0000`; callers parse to be sure.
pub fn spells_nul(body: &[u8]) -> bool {
    body.windows(6).any(|w| w == b"\\u0000")
}

/// The path (`emails[0].value`) of the first string or member name holding a NUL, if any.
pub fn nul_path(value: &Value) -> Option<String> {
    fn walk(value: &Value, path: &mut String) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::Array(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            Value::Object(members) => members.iter().any(|(name, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&name.replace('\0', "\\u0000"));
                let found = name.contains('\0') || walk(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    let mut path = String::new();
    walk(value, &mut path).then(|| {
        if path.is_empty() {
            "the body".to_owned()
        } else {
            path
        }
    })
}

/// The answer to a NUL in the value at `path`.
pub fn nul_failure(path: &str) -> InputError {
    InputError::invalid_value(format!(
        "\"{path}\" contains a NUL character (U+0000), which no attribute may hold"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_paths_name_the_attribute() {
        assert_eq!(nul_path(&json!({"userName": "a"})), None);
        assert_eq!(
            nul_path(&json!({"userName": "a\u{0}b"})).as_deref(),
            Some("userName")
        );
        assert_eq!(
            nul_path(&json!({"emails": [{"value": "x"}, {"value": "y\u{0}"}]})).as_deref(),
            Some("emails[1].value")
        );
        assert_eq!(
            nul_path(&json!({"a": {"b\u{0}": 1}})).as_deref(),
            Some("a.b\\u0000")
        );
        assert_eq!(nul_path(&json!("\u{0}")).as_deref(), Some("the body"));
    }

    #[test]
    fn the_scan_finds_every_spelled_nul() {
        assert!(spells_nul(br#"{"a":"x\u0000"}"#));
        assert!(!spells_nul(br#"{"a":"x\u0001"}"#));
        // An escaped backslash before u0000 is a match the parse then clears.
        assert!(spells_nul(br#"{"a":"\\u0000"}"#));
        assert_eq!(
            nul_path(&serde_json::from_str(r#"{"a":"\\u0000"}"#).unwrap()),
            None
        );
    }
}
