//! The account's stores, as the admin API lists them (`stores::list`: by ref id, each with its user
//! count), 50 a page, each renamed in place through `stores::rename`, the only way a store is
//! renamed (a user write never does). A refused name comes back beside its store, nothing changed.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;

use super::{ConsoleError, Signed, refusal_detail, see_other, view, write};
use crate::error::ServiceError;
use crate::http::run_db;
use crate::state::AppState;
use crate::stores;

/// Stores per page.
const PAGE_SIZE: u64 = 50;
/// The notices a redirect may name.
const NOTICES: &[&str] = &["store_renamed"];

/// Registers the store pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stores", web::get().to(list))
        .route("/stores/{id}/rename", web::post().to(rename));
}

/// The list's query string.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    page: Option<String>,
    notice: Option<String>,
}

/// One store as the page shows it.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    ref_id: String,
    name: Option<String>,
    calling_code: String,
    user_count: i64,
    /// The users page filtered to this store.
    users_href: String,
}

/// A refused rename: which store, what was typed, and why.
struct Refused {
    id: String,
    entered: String,
    detail: String,
}

async fn page(
    state: &web::Data<AppState>,
    signed: &Signed,
    page: u64,
    notice: Option<String>,
    refused: Option<Refused>,
) -> Result<HttpResponse, ConsoleError> {
    let account_id = signed.0.caller.account.id.clone();
    let offset = super::page_offset(page, PAGE_SIZE);
    let (total, listed) = run_db(state, move |conn| {
        Ok(stores::list(conn, &account_id, offset, PAGE_SIZE as i64)?)
    })
    .await?;
    let rows: Vec<Row> = listed
        .into_iter()
        .map(|s| Row {
            users_href: format!(
                "/console/users?{}",
                url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("store", &s.store.ref_id)
                    .finish()
            ),
            id: s.store.id,
            ref_id: s.store.ref_id,
            name: s.store.name,
            calling_code: s.store.country_calling_code,
            user_count: s.user_count,
        })
        .collect();
    let pages = super::page_count(total, PAGE_SIZE);
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let (error_id, entered, error) = match refused {
        Some(r) => (Some(r.id), Some(r.entered), Some(r.detail)),
        None => (None, None, None),
    };
    let pager = super::pager("/console/stores", page.min(pages), pages, &[]);
    Ok(view::page(
        status,
        "stores.html",
        context! {
            session => signed.layout(),
            nav => "stores",
            rows => minijinja::value::Serde(&rows),
            total => total,
            notice => notice,
            error_id => error_id,
            entered => entered,
            error => error,
            pager => pager,
        },
    ))
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let p = params.into_inner();
    let notice = super::notice(p.notice, NOTICES);
    page(
        &state,
        &signed,
        super::page_number(p.page.as_deref()),
        notice,
        None,
    )
    .await
}

async fn rename(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = signed.form(&body)?;
    let name = form.get("name").unwrap_or_default();
    // The page to come back to: the one the form was on.
    let back = super::page_number(form.get("page").as_deref());
    let id = id.into_inner();
    let target = id.clone();
    let entered = name.clone();
    match write(&state, &signed, move |conn, ctx, _| {
        stores::rename(conn, ctx, &target, &name)
    })
    .await
    {
        Ok(_) => Ok(see_other(&format!(
            "/console/stores?page={back}&notice=store_renamed"
        ))),
        Err(ServiceError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => {
            let detail = refusal_detail(e)?;
            let refused = Refused {
                id,
                entered,
                detail,
            };
            page(&state, &signed, back, None, Some(refused)).await
        }
    }
}
