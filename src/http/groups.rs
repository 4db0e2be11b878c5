//! `/Groups`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3-§3.6), with
//! projection and ETags as on Users. `excludedAttributes=members` (or `attributes` without members)
//! reads no membership row. A PATCH answers 204 with the ETag, or 200 with the group when
//! `attributes` asks for it.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::{ScimToken, run_scim};
use super::error::{Failure, ScimError};
use super::search::ListParams;
use super::users::ProjectionParams;
use super::{scim_base, scim_response};
use crate::groups::{self, GroupRecord};
use crate::scim::error::InputError;
use crate::scim::projection::Projection;
use crate::state::AppState;

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
            .patch(patch)
            .delete(delete)
            .default_service(not_allowed()),
    );
}

/// Reads the projection of a Group response.
pub fn group_projection(
    state: &AppState,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<Projection, InputError> {
    let rt = state
        .registry
        .resource_type("Group")
        .expect("the Group resource type is served");
    Projection::parse(&state.registry, rt, attributes, excluded)
}

/// A group's representation, projected.
pub fn representation(
    state: &AppState,
    rec: &GroupRecord,
    base: &str,
    projection: &Projection,
) -> Value {
    let resource = groups::to_resource(rec, base);
    if projection.is_identity() {
        return resource;
    }
    let rt = state
        .registry
        .resource_type("Group")
        .expect("the Group resource type is served");
    projection.apply(&state.registry, rt, resource)
}

fn single(
    state: &AppState,
    status: StatusCode,
    rec: &GroupRecord,
    base: &str,
    projection: &Projection,
) -> HttpResponse {
    let mut response = scim_response(status, &representation(state, rec, base, projection));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/Groups/{}", rec.row.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    super::with_etag(response, rec.row.version)
}

async fn create(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    params: web::Query<ProjectionParams>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let projection = group_projection(&state, params.attributes(), params.excluded_attributes())?;
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        groups::create(conn, &ctx, &body)
    })
    .await?;
    Ok(single(
        &state,
        StatusCode::CREATED,
        &rec,
        &base,
        &projection,
    ))
}

async fn read(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ProjectionParams>,
) -> Result<HttpResponse, ScimError> {
    let projection = group_projection(&state, params.attributes(), params.excluded_attributes())?;
    let base = scim_base(&req, &state);
    let include = projection.wants("members");
    let rec = run_scim(&state, token, move |conn, caller| {
        groups::get(conn, &caller.0.account.id, &id, include)
    })
    .await?;
    if let Some(response) = super::not_modified(&req, rec.row.version) {
        return Ok(response);
    }
    Ok(single(&state, StatusCode::OK, &rec, &base, &projection))
}

async fn replace(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ProjectionParams>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let projection = group_projection(&state, params.attributes(), params.excluded_attributes())?;
    let base = scim_base(&req, &state);
    let precondition = super::if_match(&req);
    let st = state.clone();
    let rec = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        groups::replace(conn, &ctx, &id, &body, &precondition)
    })
    .await?;
    Ok(single(&state, StatusCode::OK, &rec, &base, &projection))
}

async fn patch(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    id: web::Path<String>,
    params: web::Query<ProjectionParams>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let projection = group_projection(&state, params.attributes(), params.excluded_attributes())?;
    let asked = params.attributes().is_some();
    let include = asked && projection.wants("members");
    let base = scim_base(&req, &state);
    let precondition = super::if_match(&req);
    let st = state.clone();
    let (rec, rewrites) = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        let rewrites = groups::patch::patch(conn, &ctx, &id, &body, &precondition)?;
        Ok((groups::get(conn, &ctx.account.id, &id, include)?, rewrites))
    })
    .await?;
    state.dialects.record(&rewrites);
    if asked {
        return Ok(single(&state, StatusCode::OK, &rec, &base, &projection));
    }
    Ok(super::with_etag(
        HttpResponse::NoContent().finish(),
        rec.row.version,
    ))
}

async fn delete(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = super::if_match(&req);
    let st = state.clone();
    run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        groups::delete(conn, &ctx, &id, &precondition)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    super::search::groups(&state, token, &req, params.into_inner()).await
}

async fn search(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_body(&body)?;
    super::search::groups(&state, token, &req, params).await
}
