//! The account's groups as the admin API lists them (`groups::admin`): by name, searchable, each
//! with its type, member count and origin; creating a group with a type and renaming one go
//! through the same domain functions as the admin API, so a group an identity provider manages
//! (made over SCIM) is shown but not renamed here (its provider would undo it).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{ConsoleError, Signed, refusal_detail, see_other, view, write};
use crate::groups::AttributeChanges;
use crate::groups::admin::{self, GroupQuery, NewGroup};
use crate::http::run_db;
use crate::state::AppState;

/// Groups per page.
const PAGE_SIZE: u64 = 50;
/// The notices a redirect may name.
const NOTICES: &[&str] = &["group_created", "group_renamed"];

/// Registers the group pages.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/groups", web::get().to(list))
        .route("/groups", web::post().to(create))
        .route("/groups/{id}/rename", web::post().to(rename));
}

/// The list's query string.
#[derive(Debug, Deserialize)]
pub struct ListParams {
    q: Option<String>,
    page: Option<String>,
    notice: Option<String>,
}

/// One group as the page shows it.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: String,
    name: String,
    group_type: Option<String>,
    external_id: Option<String>,
    member_count: i64,
    /// The catalog key of its origin.
    origin: String,
    managed: bool,
}

async fn page(
    state: &web::Data<AppState>,
    signed: &Signed,
    page: u64,
    q: Option<String>,
    notice: Option<String>,
    error: Option<String>,
    entered: serde_json::Value,
) -> Result<HttpResponse, ConsoleError> {
    let account_id = signed.0.caller.account.id.clone();
    let query = GroupQuery {
        search: q.clone(),
        offset: super::page_offset(page, PAGE_SIZE),
        limit: PAGE_SIZE as i64,
    };
    let (total, listed) = run_db(state, move |conn| admin::list(conn, &account_id, &query)).await?;
    let rows: Vec<Row> = listed
        .into_iter()
        .map(|g| Row {
            managed: g.managed_by_identity_provider(),
            member_count: g.member_count,
            origin: format!("origin.{}", g.row.origin),
            id: g.row.id,
            name: g.row.display_name,
            group_type: g.row.group_type,
            external_id: g.row.external_id,
        })
        .map(|mut r| {
            if super::texts::text(&r.origin).is_none() {
                r.origin = "origin.other".to_owned();
            }
            r
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let pages = super::page_count(total, PAGE_SIZE);
    let pager = super::pager(
        "/console/groups",
        page.min(pages),
        pages,
        &[("q", q.as_deref())],
    );
    Ok(view::page(
        status,
        "groups.html",
        context! {
            session => signed.layout(),
            nav => "groups",
            rows => minijinja::value::Serde(&rows),
            total => total,
            q => q,
            notice => notice,
            error => error,
            v => minijinja::value::Serde(&entered),
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
    let q =
        p.q.map(|q| {
            q.trim()
                .chars()
                .take(admin::MAX_SEARCH_LEN)
                .collect::<String>()
        })
        .filter(|q| !q.is_empty());
    page(
        &state,
        &signed,
        super::page_number(p.page.as_deref()),
        q,
        notice,
        None,
        json!({}),
    )
    .await
}

async fn create(
    state: web::Data<AppState>,
    signed: Signed,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = signed.form(&body)?;
    let new = NewGroup {
        display_name: form.get("displayName").unwrap_or_default(),
        group_type: form.get("groupType"),
    };
    let entered = json!({
        "displayName": form.get("displayName"),
        "groupType": form.get("groupType"),
    });
    match write(&state, &signed, move |conn, ctx, _| {
        admin::create(conn, ctx, &new)
    })
    .await
    {
        Ok(_) => Ok(see_other("/console/groups?notice=group_created")),
        Err(e) => {
            let detail = refusal_detail(e)?;
            page(&state, &signed, 1, None, None, Some(detail), entered).await
        }
    }
}

async fn rename(
    state: web::Data<AppState>,
    signed: Signed,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ConsoleError> {
    let form = signed.form(&body)?;
    let changes = AttributeChanges {
        display_name: Some(form.get("displayName").unwrap_or_default()),
        ..AttributeChanges::default()
    };
    let id = id.into_inner();
    match write(&state, &signed, move |conn, ctx, _| {
        admin::edit(conn, ctx, &id, &changes)
    })
    .await
    {
        Ok(_) => Ok(see_other("/console/groups?notice=group_renamed")),
        Err(crate::error::ServiceError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => {
            let detail = refusal_detail(e)?;
            page(&state, &signed, 1, None, None, Some(detail), json!({})).await
        }
    }
}
