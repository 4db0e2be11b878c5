//! `/Users`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3-§3.6), with
//! `attributes`/`excludedAttributes` on every response and ETags (`If-Match`, `If-None-Match`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::{ScimInput, run_scim};
use super::super::error::{Failure, ScimError};
use super::super::{ScimReply, scim_base};
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
) -> ScimReply {
    let reply = ScimReply::json(status, &representation(state, rec, base, projection))
        .tagged(rec.row.version);
    if status == StatusCode::CREATED {
        return reply.located(format!("{base}/Users/{}", rec.row.id));
    }
    reply
}

/// The projection a request's query string asks for.
fn projection_of(state: &AppState, input: &ScimInput) -> Result<Projection, Failure> {
    let params: ProjectionParams = input.query()?;
    Ok(user_projection(
        state,
        params.attributes(),
        params.excluded_attributes(),
    )?)
}

async fn create(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let projection = projection_of(&st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = users::create(conn, &ctx, &body)?;
        Ok(single(
            &st,
            StatusCode::CREATED,
            &rec,
            &scim_base(&st),
            &projection,
        ))
    })
    .await?;
    Ok(reply.into_response())
}

async fn read(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let none_match = super::super::if_none_match(&req);
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let projection = projection_of(&st, &input)?;
        let rec = users::get(conn, &caller.0.account.id, &id)?;
        if super::super::none_match_holds(none_match.as_deref(), rec.row.version) {
            return Ok(ScimReply::empty(StatusCode::NOT_MODIFIED).tagged(rec.row.version));
        }
        Ok(single(
            &st,
            StatusCode::OK,
            &rec,
            &scim_base(&st),
            &projection,
        ))
    })
    .await?;
    Ok(reply.into_response())
}

async fn replace(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = super::super::if_match(&req);
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let projection = projection_of(&st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = users::replace(conn, &ctx, &id, &body, &precondition)?;
        Ok(single(
            &st,
            StatusCode::OK,
            &rec,
            &scim_base(&st),
            &projection,
        ))
    })
    .await?;
    Ok(reply.into_response())
}

async fn patch(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = super::super::if_match(&req);
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let projection = projection_of(&st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let (rec, rewrites) = users::patch(conn, &ctx, &id, &body, &precondition)?;
        st.dialects.record(&rewrites);
        Ok(single(
            &st,
            StatusCode::OK,
            &rec,
            &scim_base(&st),
            &projection,
        ))
    })
    .await?;
    Ok(reply.into_response())
}

async fn delete(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = super::super::if_match(&req);
    let st = state.clone();
    run_scim(&state, input, move |conn, caller, _| {
        write_ctx!(st, caller, actor, ctx);
        Ok(users::delete(conn, &ctx, &id, &precondition)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    super::search::users(&state, input, super::search::Source::Query).await
}

async fn search(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    super::search::users(&state, input, super::search::Source::Body).await
}
