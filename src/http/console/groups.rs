//! The account's groups: the list with each group's type, creating a group with a type (through
//! the same domain function as a SCIM create), and renaming one (the domain's attribute change).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use minijinja::context;
use serde::Deserialize;
use serde_json::json;

use super::{ConsoleError, Signed, refusal_detail, see_other, view, write};
use crate::groups::{self, AttributeChanges};
use crate::http::run_db;
use crate::scim::list::{ListRequest, Page};
use crate::scim::urn;
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
}

async fn page(
    state: &web::Data<AppState>,
    signed: &Signed,
    page: u64,
    notice: Option<String>,
    error: Option<String>,
    entered: serde_json::Value,
) -> Result<HttpResponse, ConsoleError> {
    let st = state.clone();
    let account_id = signed.0.caller.account.id.clone();
    let (total, records) = run_db(state, move |conn| {
        let request = ListRequest {
            filter: None,
            sort: None,
            page: Page {
                start_index: (page - 1) * PAGE_SIZE + 1,
                count: PAGE_SIZE,
            },
            paging: crate::scim::cursor::Paging::Index,
        };
        groups::list(conn, &st.registry, &account_id, &request, false)
            .map(|listed| (listed.total, listed.records))
    })
    .await?;
    let rows: Vec<Row> = records
        .into_iter()
        .map(|g| Row {
            id: g.row.id,
            name: g.row.display_name,
            group_type: g.row.group_type,
            external_id: g.row.external_id,
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(view::page(
        status,
        "groups.html",
        context! {
            session => signed.layout(),
            nav => "groups",
            rows => minijinja::value::Serde(&rows),
            total => total,
            page => page,
            pages => total.div_ceil(PAGE_SIZE).max(1),
            notice => notice,
            error => error,
            v => minijinja::value::Serde(&entered),
        },
    ))
}

async fn list(
    state: web::Data<AppState>,
    signed: Signed,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ConsoleError> {
    let p = params.into_inner();
    let notice = p
        .notice
        .filter(|n| NOTICES.contains(&n.as_str()))
        .map(|n| format!("notice.{n}"));
    page(
        &state,
        &signed,
        super::page_number(p.page.as_deref()),
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
    let mut resource = json!({
        "schemas": [urn::GROUP, urn::MOBIETRAIN_GROUP],
        "displayName": form.get("displayName").unwrap_or_default(),
    });
    if let Some(external_id) = form.get("externalId") {
        resource["externalId"] = json!(external_id);
    }
    if let Some(group_type) = form.get("groupType") {
        resource[urn::MOBIETRAIN_GROUP] = json!({ "groupType": group_type });
    }
    let entered = json!({
        "displayName": form.get("displayName"),
        "groupType": form.get("groupType"),
        "externalId": form.get("externalId"),
    });
    match write(&state, &signed, move |conn, ctx, _| {
        groups::create(conn, ctx, &resource)
    })
    .await
    {
        Ok(_) => Ok(see_other("/console/groups?notice=group_created")),
        Err(e) => {
            let detail = refusal_detail(e)?;
            page(&state, &signed, 1, None, Some(detail), entered).await
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
        groups::set_attributes(conn, ctx, &id, &changes)
    })
    .await
    {
        Ok(_) => Ok(see_other("/console/groups?notice=group_renamed")),
        Err(crate::error::ServiceError::NotFound(_)) => Err(ConsoleError::NotFound),
        Err(e) => {
            let detail = refusal_detail(e)?;
            page(&state, &signed, 1, None, Some(detail), json!({})).await
        }
    }
}
