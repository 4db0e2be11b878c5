//! `GET /crewplanner/{account_id}/launch?jwt=…`: the CrewPlanner link. Open to the internet; every
//! answer is `Cache-Control: no-store` and `Referrer-Policy: no-referrer`. The whole launch is one
//! domain call ([`crewplanner::launch`]); success is a 303 to the app with the one-time code, and a
//! failure is answered by the one error mapping ([`Failure::answer`]) as a short page, or as
//! `application/problem+json` when the client asks for JSON, naming the reason class (never the
//! token).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde_json::json;

use super::error::{Answer, Failure};
use crate::crewplanner::launch::{Blocking, Link, Server};
use crate::crewplanner::{self, refusal::Reason};
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::state::AppState;

/// The routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/crewplanner/{account_id}/launch").get(launch));
}

/// The launch's database work runs on the blocking pool, as every handler's does.
struct OnPool<'a>(&'a AppState);

impl Blocking for OnPool<'_> {
    async fn run<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        F: FnOnce(&mut DbConn) -> T + Send + 'static,
        T: Send + 'static,
    {
        super::run_db(self.0, move |conn| Ok(f(conn))).await
    }
}

async fn launch(
    req: HttpRequest,
    state: web::Data<AppState>,
    account_id: web::Path<String>,
) -> HttpResponse {
    let query = req.query_string();
    let link = Link {
        account_id: account_id.into_inner(),
        jwt: web::Query::<HashMap<String, String>>::from_query(query)
            .ok()
            .and_then(|q| q.into_inner().remove("jwt")),
        query_len: query.len(),
    };
    let server = Server {
        crewplanner: &state.crewplanner,
        server_key: &state.server_key,
        registry: &state.registry,
        now: state.clock.now_naive(),
    };
    match crewplanner::launch(&OnPool(&state), server, link).await {
        Ok(launched) => {
            let location = format!("{}?code={}", state.app.app_url, launched.code);
            guarded(HttpResponse::SeeOther())
                .insert_header((header::LOCATION, location))
                .finish()
        }
        Err(e) => {
            let failure = Failure::from(e);
            let reason = match &failure {
                Failure::Refused(refusal) => Some(refusal.reason),
                _ => None,
            };
            page_or_problem(&req, &failure.answer(), reason)
        }
    }
}

fn guarded(mut builder: HttpResponseBuilder) -> HttpResponseBuilder {
    builder
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("Referrer-Policy", "no-referrer"));
    builder
}

/// A short HTML page for a browser, or a problem document for a client that asks for JSON.
fn page_or_problem(req: &HttpRequest, answer: &Answer, reason: Option<Reason>) -> HttpResponse {
    let wants_json = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    // The page speaks the browser's language (Accept-Language, q-values honoured).
    let language = crate::i18n::negotiate(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let text = |key: &str| crate::i18n::text(language, key);
    let title = reason.map_or_else(|| text("crewplanner.internal"), |r| r.title_in(language));
    let mut builder = guarded(HttpResponse::build(answer.status));
    builder
        .insert_header((header::CONTENT_LANGUAGE, language.as_str()))
        .insert_header((header::VARY, "Accept, Accept-Language"));
    if wants_json {
        let body = json!({
            "type": "about:blank",
            "title": title,
            "status": answer.status.as_u16(),
            "detail": answer.detail,
            "reason": reason.map(Reason::code),
        });
        builder
            .content_type("application/problem+json")
            .body(body.to_string())
    } else {
        // Only fixed texts reach the page: nothing of the request is echoed.
        let code = reason.map(Reason::code).unwrap_or("internal");
        builder
            .content_type("text/html; charset=utf-8")
            .insert_header(("Content-Security-Policy", "default-src 'none'"))
            .body(format!(
                "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
                 <meta name=\"viewport\" content=\"width=device-width\"><title>MobieTrain</title></head>\
                 <body><h1>{heading}</h1><p>{title}</p>\
                 <p><small>{label}: {code}</small></p></body></html>",
                lang = language.as_str(),
                heading = text("crewplanner.heading"),
                label = text("crewplanner.reason"),
            ))
    }
}
