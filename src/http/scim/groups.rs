//! `/Groups`: create, read, replace, patch, delete, list and search (RFC 7644 §3.3-§3.6), with
//! projection and ETags as on Users. `excludedAttributes=members` (or `attributes` without members)
//! reads no membership row. A PATCH answers 204 with the ETag, or 200 with the group when
//! `attributes` asks for it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::super::auth::{ScimInput, run_scim};
use super::super::error::{Failure, ScimError};
use super::users::ProjectionParams;
use super::super::{ScimReply, scim_base};
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
) -> ScimReply {
    let reply = ScimReply::json(status, &representation(state, rec, base, projection))
        .tagged(rec.row.version);
    if status == StatusCode::CREATED {
        return reply.located(format!("{base}/Groups/{}", rec.row.id));
    }
    reply
}

/// The projection a request's query string asks for, and whether it named `attributes`.
fn projection_of(state: &AppState, input: &ScimInput) -> Result<(Projection, bool), Failure> {
    let params: ProjectionParams = input.query()?;
    let projection = group_projection(state, params.attributes(), params.excluded_attributes())?;
    Ok((projection, params.attributes().is_some()))
}

async fn create(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let (projection, _) = projection_of(&st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = groups::create(conn, &ctx, &body)?;
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
        let (projection, _) = projection_of(&st, &input)?;
        let include = projection.wants("members");
        let rec = groups::get(conn, &caller.0.account.id, &id, include)?;
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
        let (projection, _) = projection_of(&st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = groups::replace(conn, &ctx, &id, &body, &precondition)?;
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
        let (projection, asked) = projection_of(&st, &input)?;
        let include = asked && projection.wants("members");
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rewrites = groups::patch::patch(conn, &ctx, &id, &body, &precondition)?;
        st.dialects.record(&rewrites);
        let rec = groups::get(conn, &ctx.account.id, &id, include)?;
        if asked {
            return Ok(single(
                &st,
                StatusCode::OK,
                &rec,
                &scim_base(&st),
                &projection,
            ));
        }
        Ok(ScimReply::empty(StatusCode::NO_CONTENT).tagged(rec.row.version))
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
        Ok(groups::delete(conn, &ctx, &id, &precondition)?)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    super::search::groups(&state, input, super::search::Source::Query).await
}

async fn search(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    super::search::groups(&state, input, super::search::Source::Body).await
}
