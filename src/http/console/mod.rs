//! The console (`/console`, DESIGN §6a): server-rendered HTML for the admins of one account, signed
//! in with an admin token exchanged for a session cookie ([`session`]). Pages call the same domain
//! functions as the admin API's handlers and hand their data to a template ([`view`]); every text is
//! in [`texts`]. No script, no inline style, nothing from elsewhere: every response carries a strict
//! Content-Security-Policy, and every form post carries the session's CSRF token.

pub mod groups;
pub mod home;
pub mod invitations;
pub mod log;
pub mod session;
pub mod stores;
pub mod texts;
pub mod tokens;
pub mod users;
pub mod view;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpResponse, ResponseError, web};
use chrono::NaiveDateTime;

use super::error::Failure;
use crate::error::ServiceError;

pub use session::Signed;

/// The Content-Security-Policy of every console response.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The largest form body read, in bytes.
const MAX_FORM_BYTES: usize = 64 * 1024;

/// Registers the console under `/console`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .wrap(from_fn(headers))
            .app_data(web::PayloadConfig::new(MAX_FORM_BYTES))
            .route("", web::get().to(home::show))
            .route("/", web::get().to(home::show))
            .route("/static/{name}", web::get().to(stylesheet))
            .configure(session::routes)
            .configure(invitations::routes)
            .configure(users::routes)
            .configure(stores::routes)
            .configure(groups::routes)
            .configure(log::routes)
            .configure(tokens::routes)
            .default_service(web::to(|| async {
                ConsoleError::NotFound.error_response()
            })),
    );
}

/// Adds the console's security headers to every response; pages are never cached.
async fn headers(
    req: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        HeaderName::from_static("x-frame-options"),
        HeaderValue::from_static("DENY"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

async fn stylesheet(name: web::Path<String>) -> HttpResponse {
    if *name != *view::CSS_NAME {
        return ConsoleError::NotFound.error_response();
    }
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(view::CSS)
}

/// Why a console request fails; each is an HTML page (or, for [`ConsoleError::SignIn`], the way to
/// the sign-in form).
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live session: a 303 to the sign-in form.
    #[error("not signed in")]
    SignIn,
    /// A form without its CSRF token, or with another (403).
    #[error("the form's CSRF token is missing or wrong")]
    Csrf,
    /// No such page or item (404).
    #[error("not found")]
    NotFound,
    /// Anything else: logged, a generic 500 page.
    #[error(transparent)]
    Service(ServiceError),
}

impl From<ServiceError> for ConsoleError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::NotFound(_) => ConsoleError::NotFound,
            other => ConsoleError::Service(other),
        }
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            ConsoleError::SignIn => StatusCode::SEE_OTHER,
            ConsoleError::Csrf => StatusCode::FORBIDDEN,
            ConsoleError::NotFound => StatusCode::NOT_FOUND,
            ConsoleError::Service(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ConsoleError::SignIn => see_other("/console/sign-in"),
            ConsoleError::Csrf => view::error_page(StatusCode::FORBIDDEN, "error.csrf"),
            ConsoleError::NotFound => view::error_page(StatusCode::NOT_FOUND, "error.not_found"),
            ConsoleError::Service(e) => {
                // Logged by the shared error mapping; its text never reaches the page.
                let answer = Failure::Service(clone_for_log(e)).answer();
                view::error_page(answer.status, "error.internal")
            }
        }
    }
}

/// The failure to log for `e` (service errors are not `Clone`; what is logged is their text).
fn clone_for_log(e: &ServiceError) -> ServiceError {
    ServiceError::Internal(e.to_string())
}

/// A 303 to `location` (after a form post, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A posted form (`application/x-www-form-urlencoded`), its CSRF token not yet checked.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    /// Reads a form body.
    pub fn parse(body: &[u8]) -> Self {
        Form(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, trimmed, if it is not empty.
    pub fn get(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Every non-empty value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    }
}

/// A time as the console shows it: `2026-11-29 14:05 UTC`.
pub fn when(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// An RFC 3339 time of the domain's views, as the console shows it (unchanged when unreadable).
pub fn when_rfc3339(at: &str) -> String {
    parse_rfc3339(at).map_or_else(|| at.to_owned(), when)
}

/// An RFC 3339 time as a naive UTC time.
pub fn parse_rfc3339(at: &str) -> Option<NaiveDateTime> {
    chrono::DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.naive_utc())
}

/// The text key of a `?notice=` a page was redirected with, when it is one of the page's `known`
/// notices (anything else shows nothing).
pub fn notice(given: Option<String>, known: &[&str]) -> Option<String> {
    given
        .filter(|n| known.contains(&n.as_str()))
        .map(|n| format!("notice.{n}"))
}

/// The page number in a query (1 when absent or unreadable), bounded.
pub fn page_number(raw: Option<&str>) -> u64 {
    raw.and_then(|p| p.trim().parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, 1_000_000)
}

/// How many pages `total` items make at `page_size` a page (at least one).
pub fn page_count(total: i64, page_size: u64) -> u64 {
    u64::try_from(total.max(0))
        .unwrap_or(0)
        .div_ceil(page_size.max(1))
        .max(1)
}

/// The rows a page skips: `(page - 1) * page_size`, saturating.
pub fn page_offset(page: u64, page_size: u64) -> i64 {
    i64::try_from(page.saturating_sub(1).saturating_mul(page_size)).unwrap_or(i64::MAX)
}

/// What the shared pager (`pager.html`) of a listing at `path` shows: page `page` of `pages`,
/// its links keeping the listing's `filters` (those with a value).
pub fn pager(
    path: &'static str,
    page: u64,
    pages: u64,
    filters: &[(&str, Option<&str>)],
) -> minijinja::Value {
    let mut qs = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters {
        if let Some(value) = value {
            qs.append_pair(name, value);
        }
    }
    let filter_qs = match qs.finish() {
        s if s.is_empty() => s,
        s => format!("&{s}"),
    };
    minijinja::context! {
        // A path of the console's own, not user data: shown as is.
        path => minijinja::Value::from_safe_string(path.to_owned()),
        page => page,
        pages => pages,
        filter_qs => filter_qs,
    }
}

/// Runs a console write on the blocking pool with the write context of the signed-in admin (the
/// token's label is the actor in the provisioning log), as the admin API's writes run.
pub async fn write<T, F>(
    state: &web::Data<crate::state::AppState>,
    signed: &Signed,
    f: F,
) -> Result<T, ServiceError>
where
    F: FnOnce(
            &mut crate::db::DbConn,
            &crate::context::WriteContext<'_>,
            &crate::state::AppState,
        ) -> Result<T, ServiceError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let st = state.clone();
    let caller = signed.0.caller.clone();
    super::run_db(state, move |conn| {
        let actor = caller.actor();
        let ctx = crate::context::WriteContext {
            account: &caller.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        f(conn, &ctx, &st)
    })
    .await
}

/// The message a person can act on for a refused write (the domain's own `detail`), or the error
/// itself when it is not the client's to correct.
pub fn refusal_detail(e: ServiceError) -> Result<String, ConsoleError> {
    let failure = Failure::Service(e);
    let answer = failure.answer();
    if answer.status.is_server_error() {
        return Err(ConsoleError::Service(ServiceError::Internal(
            "a console write failed".to_owned(),
        )));
    }
    Ok(answer.detail)
}
