//! Signing in and out of the console, the session of each request ([`Signed`]) and the CSRF check
//! of every form post ([`Signed::form`]).
//!
//! Before a session exists, the sign-in form is protected by a signed double-submit token: a random
//! value in a short-lived cookie, and in the form its MAC under the server key. After sign-in, every
//! form carries the session's own synchronizer token. Cookies are HttpOnly, SameSite=Strict, for
//! `/console` only, and Secure when the server's public URL is https.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use minijinja::context;

use super::{ConsoleError, Form, see_other, view};
use crate::accounts::Refusal;
use crate::console_sessions::{self, ConsoleSession};
use crate::http::run_db;
use crate::state::AppState;

/// The session cookie.
pub const SESSION_COOKIE: &str = "mts_console";
/// The sign-in form's double-submit cookie.
pub const PRE_COOKIE: &str = "mts_console_pre";
/// The form field holding the CSRF token.
pub const CSRF_FIELD: &str = "csrf";
/// The MAC purpose of the sign-in form's token.
const PRE_PURPOSE: &str = "console.sign-in";
/// The longest token read from the sign-in form.
const MAX_TOKEN_LEN: usize = 256;

/// Registers sign-in and sign-out.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in_form))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out));
}

/// The value of cookie `name` in the request, if it is there and plausible.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// A `Set-Cookie` value for `name` on `/console`, living `max_age` seconds (0 deletes it).
fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> String {
    let secure = if state.settings.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

fn peer(req: &HttpRequest) -> String {
    // The connection's address, never a header the client chooses.
    req.peer_addr()
        .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string())
}

fn sign_in_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<(&str, Vec<(&str, String)>)>,
) -> HttpResponse {
    let pre = cookie(req, PRE_COOKIE).unwrap_or_else(|| crate::crypto::random_token(""));
    let csrf = state.server_key.mac(PRE_PURPOSE, &[pre.as_bytes()]);
    let error =
        error.map(|(key, args)| super::texts::format(key, &args).unwrap_or_else(|| key.to_owned()));
    let notice = req
        .query_string()
        .contains("signed-out")
        .then_some("sign_in.signed_out");
    let mut res = view::page(
        status,
        "sign_in.html",
        context! { csrf => csrf, error => error, notice => notice },
    );
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(state, PRE_COOKIE, &pre, 3600)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

async fn sign_in_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    sign_in_page(&state, &req, StatusCode::OK, None)
}

async fn sign_in(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = Form::parse(&body);
    let pre = cookie(&req, PRE_COOKIE).ok_or(ConsoleError::Csrf)?;
    let given = form.get(CSRF_FIELD).unwrap_or_default();
    if !state
        .server_key
        .verify_mac(PRE_PURPOSE, &[pre.as_bytes()], &given)
    {
        return Err(ConsoleError::Csrf);
    }
    let address = peer(&req);
    if let Some(until) = state.console_sign_in.refused_until(&address) {
        return Ok(sign_in_page(
            &state,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            Some(("sign_in.throttled", vec![("at", super::when(until))])),
        ));
    }
    let Some(token) = form.get("token").filter(|t| t.len() <= MAX_TOKEN_LEN) else {
        return Ok(sign_in_page(
            &state,
            &req,
            StatusCode::BAD_REQUEST,
            Some(("sign_in.empty", Vec::new())),
        ));
    };
    let now = state.clock.now_naive();
    let outcome = run_db(&state, move |conn| {
        console_sessions::sign_in(conn, &token, now)
    })
    .await?;
    match outcome {
        Ok(opened) => {
            let max_age = (opened.expires_at - now).num_seconds();
            let mut res = see_other("/console");
            let headers = res.headers_mut();
            for value in [
                set_cookie(&state, SESSION_COOKIE, &opened.secret, max_age),
                set_cookie(&state, PRE_COOKIE, "", 0),
            ] {
                if let Ok(v) = header::HeaderValue::from_str(&value) {
                    headers.append(header::SET_COOKIE, v);
                }
            }
            Ok(res)
        }
        Err(refusal) => {
            state.console_sign_in.failed(&address);
            let key = match refusal {
                Refusal::Unknown => "sign_in.unknown",
                Refusal::WrongScope => "sign_in.wrong_scope",
            };
            Ok(sign_in_page(
                &state,
                &req,
                StatusCode::UNAUTHORIZED,
                Some((key, Vec::new())),
            ))
        }
    }
}

async fn sign_out(
    state: web::Data<AppState>,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    signed.form(&body)?;
    let hash = signed.0.id_hash.clone();
    run_db(&state, move |conn| console_sessions::end(conn, &hash)).await?;
    let mut res = see_other("/console/sign-in?signed-out");
    if let Ok(v) = header::HeaderValue::from_str(&set_cookie(&state, SESSION_COOKIE, "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// The live session of a request; without one the request is sent to the sign-in form.
#[derive(Debug, Clone)]
pub struct Signed(pub ConsoleSession);

impl Signed {
    /// Reads a posted form and checks its CSRF token against the session's (403 when it is missing
    /// or wrong).
    pub fn form(&self, body: &[u8]) -> Result<Form, ConsoleError> {
        let form = Form::parse(body);
        let given = form.get(CSRF_FIELD).unwrap_or_default();
        if !self.0.csrf_matches(&given) {
            return Err(ConsoleError::Csrf);
        }
        Ok(form)
    }

    /// What every page's layout shows of the session: the account, the token's label, the CSRF
    /// token of the sign-out form.
    pub fn layout(&self) -> minijinja::Value {
        context! {
            account => self.0.caller.account.name.clone(),
            label => self.0.caller.label.clone(),
            csrf => self.0.csrf.clone(),
        }
    }
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

impl FromRequest for Signed {
    type Error = ConsoleError;
    type Future = Boxed<Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = cookie(req, SESSION_COOKIE);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let (Some(secret), Some(state)) = (secret, state) else {
                return Err(ConsoleError::SignIn);
            };
            let now = state.clock.now_naive();
            run_db(&state, move |conn| {
                console_sessions::resume(conn, &secret, now)
            })
            .await?
            .map(Signed)
            .ok_or(ConsoleError::SignIn)
        })
    }
}
