//! `/Users`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3-§3.6), with
//! `attributes`/`excludedAttributes` on every response and ETags (`If-Match`, `If-None-Match`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::auth::{ScimToken, run_scim};
use super::error::{Failure, ScimError};
use super::search::ListParams;
use super::{scim_base, scim_response};
use crate::scim::error::InputError;
use crate::scim::projection::Projection;
use crate::state::AppState;
use crate::users::{self, UserRecord};

/// Registers the `/Users` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    let not_allowed =
        || web::to(|| async { Err::<HttpResponse, _>(ScimError(Failure::MethodNotAllowed)) });
    cfg.service(
        web::resource("/Users")
            .get(list)
            .post(create)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Users/.search")
            .post(search)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Users/{id}")
            .get(read)
            .put(replace)
            .patch(patch)
            .delete(delete)
            .default_service(not_allowed()),
    );
}

/// `attributes` and `excludedAttributes` as query parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectionParams {
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ProjectionParams {
    /// `attributes`, when given and not empty.
    pub fn attributes(&self) -> Option<&str> {
        self.attributes.as_deref().filter(|a| !a.trim().is_empty())
    }

    /// `excludedAttributes`, when given.
    pub fn excluded_attributes(&self) -> Option<&str> {
        self.excluded_attributes.as_deref()
    }
}

/// Reads the projection of a User response.
pub fn user_projection(
    state: &AppState,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<Projection, InputError> {
    let rt = state
        .registry
        .resource_type("User")
        .expect("the User resource type is served");
    Projection::parse(&state.registry, rt, attributes, excluded)
}

/// A user's representation, projected.
pub fn representation(
    state: &AppState,
    rec: &UserRecord,
    base: &str,
    projection: &Projection,
) -> Value {
    let resource = users::to_resource(rec, base);
    if projection.is_identity() {
        return resource;
    }
    let rt = state
        .registry
        .resource_type("User")
        .expect("the User resource type is served");
    projection.apply(&state.registry, rt, resource)
}

fn single(
    state: &AppState,
    status: StatusCode,
    rec: &UserRecord,
    base: &str,
    projection: &Projection,
) -> HttpResponse {
    let mut response = scim_response(status, &representation(state, rec, base, projection));
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/Users/{}", rec.row.id))
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
    let projection = user_projection(
        &state,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?;
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        users::create(conn, &ctx, &body)
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
    let projection = user_projection(
        &state,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?;
    let base = scim_base(&req, &state);
    let rec = run_scim(&state, token, move |conn, caller| {
        users::get(conn, &caller.0.account.id, &id)
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
    let projection = user_projection(
        &state,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?;
    let base = scim_base(&req, &state);
    let precondition = super::if_match(&req);
    let st = state.clone();
    let rec = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        users::replace(conn, &ctx, &id, &body, &precondition)
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
    let projection = user_projection(
        &state,
        params.attributes.as_deref(),
        params.excluded_attributes.as_deref(),
    )?;
    let base = scim_base(&req, &state);
    let precondition = super::if_match(&req);
    let st = state.clone();
    let (rec, rewrites) = run_scim(&state, token, move |conn, caller| {
        write_ctx!(st, caller, actor, ctx);
        users::patch(conn, &ctx, &id, &body, &precondition)
    })
    .await?;
    state.dialects.record(&rewrites);
    Ok(single(&state, StatusCode::OK, &rec, &base, &projection))
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
        users::delete(conn, &ctx, &id, &precondition)
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
    super::search::users(&state, token, &req, params.into_inner()).await
}

async fn search(
    state: web::Data<AppState>,
    token: ScimToken,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_body(&body)?;
    super::search::users(&state, token, &req, params).await
}
