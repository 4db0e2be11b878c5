//! `/Groups`: create, read, replace, delete and list (RFC 7644 §3.3, §3.4, §3.5.1, §3.6). PATCH is
//! served by the PATCH engine over `groups::{add,remove,replace}_members` and `set_attributes`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::auth::ScimCaller;
use super::error::{Failure, ScimError};
use super::search::ListParams;
use super::{run_db, scim_base, scim_response};
use crate::groups::{self, GroupRecord};
use crate::state::AppState;
use crate::users::{WriteContext, etag};

/// Registers the `/Groups` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let not_allowed =
        || web::to(|| async { Err::<HttpResponse, _>(ScimError(Failure::MethodNotAllowed)) });
    cfg.service(
        web::resource("/Groups")
            .get(list)
            .post(create)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Groups/.search")
            .post(search)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Groups/{id}")
            .get(read)
            .put(replace)
            .delete(delete)
            .default_service(not_allowed()),
    );
}

/// The projection parameters of a single-resource read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionParams {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

fn single(status: StatusCode, rec: &GroupRecord, base: &str) -> HttpResponse {
    let mut response = scim_response(status, &groups::to_resource(rec, base));
    if let Ok(tag) = HeaderValue::from_str(&etag(rec.row.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/Groups/{}", rec.row.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn create(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        groups::create(conn, &ctx, &body)
    })
    .await?;
    Ok(single(StatusCode::CREATED, &rec, &base))
}

async fn read(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ProjectionParams>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let include = groups::wants_members(
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    );
    let rec = run_db(&state, move |conn| {
        groups::get(conn, &caller.0.account.id, &id, include)
    })
    .await?;
    Ok(single(StatusCode::OK, &rec, &base))
}

async fn replace(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        groups::replace(conn, &ctx, &id, &body)
    })
    .await?;
    Ok(single(StatusCode::OK, &rec, &base))
}

async fn delete(
    state: web::Data<AppState>,
    caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        groups::delete(conn, &ctx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    super::search::groups(&state, caller, &req, params.into_inner()).await
}

async fn search(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_body(&body)?;
    super::search::groups(&state, caller, &req, params).await
}
