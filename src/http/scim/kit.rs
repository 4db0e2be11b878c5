//! The SCIM endpoint kit: what every resource endpoint shares, so that `/Users` and `/Groups` are
//! instances of it ([`Resource`]) and a future `/Bulk` runs the same steps per operation. It holds
//! the routes of a resource type (with the 405 of a method a route lacks, and the 404 of no route),
//! the projection (`attributes`/`excludedAttributes`), the representation, single-resource answers
//! with `ETag` and `Location`, `If-Match`/`If-None-Match`, and the handlers themselves: create
//! (201), read (200, or 304 when `If-None-Match` names the current version), replace, patch,
//! delete (204), list and search ([`super::search`]).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::{ScimCaller, ScimInput, run_scim};
use super::super::error::{Failure, ScimError};
use super::super::{SCIM_JSON, scim_base, with_etag};
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::error::InputError;
use crate::scim::etag::{self, Precondition};
use crate::scim::list::ListRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::{Registry, ResourceTypeDef};
use crate::state::AppState;

/// A SCIM resource type served by the kit: its names and the domain calls behind each operation.
/// Every method is one domain call (or two, where the answer needs a fresh read).
pub trait Resource: 'static {
    /// What the domain returns for one resource.
    type Record: Send + 'static;
    /// The resource type's name in the schema registry (`User`).
    const TYPE: &'static str;
    /// The endpoint below the base URL (`/Users`).
    const ENDPOINT: &'static str;

    /// The resource's id.
    fn id(rec: &Self::Record) -> &str;
    /// The resource's version (its `ETag`).
    fn version(rec: &Self::Record) -> i64;
    /// The whole SCIM representation, before projection.
    fn to_resource(rec: &Self::Record, base: &str) -> Value;
    /// One resource of the account; `wanted` says which costly parts are needed.
    fn get(
        conn: &mut DbConn,
        account_id: &str,
        id: &str,
        wanted: &Wanted,
    ) -> Result<Self::Record, ServiceError>;
    /// A page of the account's resources matching `request`, how many match, and the filter's
    /// dialect rewrites.
    fn list(
        conn: &mut DbConn,
        registry: &Registry,
        account_id: &str,
        request: &ListRequest,
        projection: &Projection,
    ) -> Result<(u64, Vec<Self::Record>, Vec<Rewrite>), ServiceError>;
    /// Creates a resource from a SCIM body.
    fn create(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        body: &Value,
    ) -> Result<Self::Record, ServiceError>;
    /// Replaces a resource with a SCIM body (PUT).
    fn replace(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<Self::Record, ServiceError>;
    /// Applies a PATCH request; the resource after it, and the dialect rewrites it needed.
    fn patch(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
        wanted: &Wanted,
    ) -> Result<(Self::Record, Vec<Rewrite>), ServiceError>;
    /// Deletes a resource.
    fn delete(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        precondition: &Precondition,
    ) -> Result<(), ServiceError>;
    /// Whether a PATCH answers 200 with the resource (else 204 with its `ETag`).
    fn patch_shows_resource(_wanted: &Wanted) -> bool {
        true
    }
}

/// What a request wants to see of a resource: the projection, and whether it named `attributes`
/// at all.
#[derive(Debug)]
pub struct Wanted {
    /// The projection of the answer.
    pub projection: Projection,
    /// Whether the request named `attributes`.
    pub asked: bool,
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

/// The registry's definition of `R`'s resource type.
pub fn resource_type<R: Resource>(registry: &Registry) -> &ResourceTypeDef {
    registry
        .resource_type(R::TYPE)
        .expect("every resource type the kit serves is in the registry")
}

/// Reads the projection of an `R` response.
pub fn projection<R: Resource>(
    state: &AppState,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<Projection, InputError> {
    Projection::parse(
        &state.registry,
        resource_type::<R>(&state.registry),
        attributes,
        excluded,
    )
}

/// What the request's query string asks to see.
fn wanted<R: Resource>(state: &AppState, input: &ScimInput) -> Result<Wanted, Failure> {
    let params: ProjectionParams = input.query()?;
    Ok(Wanted {
        projection: projection::<R>(
            state,
            params.attributes(),
            params.excluded_attributes(),
        )?,
        asked: params.attributes().is_some(),
    })
}

/// An `R`'s representation, projected.
pub fn representation<R: Resource>(
    state: &AppState,
    rec: &R::Record,
    base: &str,
    projection: &Projection,
) -> Value {
    let resource = R::to_resource(rec, base);
    if projection.is_identity() {
        return resource;
    }
    projection.apply(
        &state.registry,
        resource_type::<R>(&state.registry),
        resource,
    )
}

/// A single resource: its projected representation with its `ETag`, and its `Location` when it
/// was created.
fn single<R: Resource>(
    state: &AppState,
    status: StatusCode,
    rec: &R::Record,
    projection: &Projection,
) -> ScimReply {
    let base = scim_base(state);
    let reply = ScimReply::json(status, &representation::<R>(state, rec, &base, projection))
        .tagged(R::version(rec));
    if status == StatusCode::CREATED {
        return reply.located(format!("{base}{}/{}", R::ENDPOINT, R::id(rec)));
    }
    reply
}

/// Registers `R`'s routes: the collection, its `.search`, and one resource by id; any other
/// method on them is a 405.
pub fn routes<R: Resource>(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource(R::ENDPOINT)
            .get(list::<R>)
            .post(create::<R>)
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(format!("{}/.search", R::ENDPOINT))
            .post(search::<R>)
            .default_service(web::to(method_not_allowed)),
    )
    .service(
        web::resource(format!("{}/{{id}}", R::ENDPOINT))
            .get(read::<R>)
            .put(replace::<R>)
            .patch(patch::<R>)
            .delete(delete::<R>)
            .default_service(web::to(method_not_allowed)),
    );
}

/// The 405 of a method a SCIM route does not serve.
pub async fn method_not_allowed() -> Result<HttpResponse, ScimError> {
    Err(ScimError(Failure::MethodNotAllowed))
}

/// The 404 of a path no SCIM route serves.
pub async fn no_route() -> Result<HttpResponse, ScimError> {
    Err(ScimError(Failure::NoRoute))
}

/// Answers a SCIM request: `f` runs on the blocking pool after the token was checked, with the
/// state, a connection, the caller and the request to parse.
pub async fn respond<F>(
    state: &web::Data<AppState>,
    input: ScimInput,
    f: F,
) -> Result<HttpResponse, ScimError>
where
    F: FnOnce(&AppState, &mut DbConn, ScimCaller, ScimInput) -> Result<ScimReply, Failure>
        + Send
        + 'static,
{
    let st = state.clone();
    let reply = run_scim(state, input, move |conn, caller, input| {
        f(&st, conn, caller, input)
    })
    .await?;
    Ok(reply.into_response())
}

async fn create<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
) -> Result<HttpResponse, ScimError> {
    respond(&state, input, |st, conn, caller, input| {
        let wanted = wanted::<R>(st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = R::create(conn, &ctx, &body)?;
        Ok(single::<R>(
            st,
            StatusCode::CREATED,
            &rec,
            &wanted.projection,
        ))
    })
    .await
}

async fn read<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let none_match = if_none_match(&req);
    respond(&state, input, move |st, conn, caller, input| {
        let wanted = wanted::<R>(st, &input)?;
        let rec = R::get(conn, &caller.0.account.id, &id, &wanted)?;
        if none_match_holds(none_match.as_deref(), R::version(&rec)) {
            return Ok(ScimReply::empty(StatusCode::NOT_MODIFIED).tagged(R::version(&rec)));
        }
        Ok(single::<R>(st, StatusCode::OK, &rec, &wanted.projection))
    })
    .await
}

async fn replace<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = if_match(&req);
    respond(&state, input, move |st, conn, caller, input| {
        let wanted = wanted::<R>(st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let rec = R::replace(conn, &ctx, &id, &body, &precondition)?;
        Ok(single::<R>(st, StatusCode::OK, &rec, &wanted.projection))
    })
    .await
}

async fn patch<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = if_match(&req);
    respond(&state, input, move |st, conn, caller, input| {
        let wanted = wanted::<R>(st, &input)?;
        let body = input.json()?;
        write_ctx!(st, caller, actor, ctx);
        let (rec, rewrites) = R::patch(conn, &ctx, &id, &body, &precondition, &wanted)?;
        st.dialects.record(&rewrites);
        if R::patch_shows_resource(&wanted) {
            return Ok(single::<R>(st, StatusCode::OK, &rec, &wanted.projection));
        }
        Ok(ScimReply::empty(StatusCode::NO_CONTENT).tagged(R::version(&rec)))
    })
    .await
}

async fn delete<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let precondition = if_match(&req);
    respond(&state, input, move |st, conn, caller, _| {
        write_ctx!(st, caller, actor, ctx);
        R::delete(conn, &ctx, &id, &precondition)?;
        Ok(ScimReply::empty(StatusCode::NO_CONTENT))
    })
    .await
}

async fn list<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
) -> Result<HttpResponse, ScimError> {
    super::search::list::<R>(&state, input, super::search::Source::Query).await
}

async fn search<R: Resource>(
    state: web::Data<AppState>,
    input: ScimInput,
) -> Result<HttpResponse, ScimError> {
    super::search::list::<R>(&state, input, super::search::Source::Body).await
}

/// The client's `If-Match` precondition.
pub fn if_match(req: &HttpRequest) -> Precondition {
    Precondition::if_match(
        req.headers()
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The client's `If-None-Match`, as sent.
pub fn if_none_match(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::IF_NONE_MATCH)?
        .to_str()
        .ok()
        .map(str::to_owned)
}

/// Whether an `If-None-Match` header names the current version (weak comparison, or `*`).
pub fn none_match_holds(header: Option<&str>, version: i64) -> bool {
    let Some(header) = header else {
        return false;
    };
    let current = version.to_string();
    header.trim() == "*"
        || header
            .split(',')
            .any(|t| etag::opaque_tag(t) == current)
}

/// A SCIM answer built on the blocking pool, with the resource serialised there too (an
/// `HttpResponse` cannot cross threads); [`ScimReply::into_response`] finishes it on the worker.
#[derive(Debug)]
pub struct ScimReply {
    status: StatusCode,
    body: Option<String>,
    version: Option<i64>,
    location: Option<String>,
}

impl ScimReply {
    /// A JSON document.
    pub fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            body: Some(body.to_string()),
            version: None,
            location: None,
        }
    }

    /// An answer without a body (`204`, `304`).
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            version: None,
            location: None,
        }
    }

    /// With the `ETag` of `version`.
    pub fn tagged(mut self, version: i64) -> Self {
        self.version = Some(version);
        self
    }

    /// With a `Location`.
    pub fn located(mut self, url: String) -> Self {
        self.location = Some(url);
        self
    }

    /// The response.
    pub fn into_response(self) -> HttpResponse {
        let mut builder = HttpResponse::build(self.status);
        if let Some(location) = self.location
            && let Ok(value) = HeaderValue::from_str(&location)
        {
            builder.insert_header((header::LOCATION, value));
        }
        let response = match self.body {
            Some(body) => builder.content_type(SCIM_JSON).body(body),
            None => builder.finish(),
        };
        match self.version {
            Some(version) => with_etag(response, version),
            None => response,
        }
    }
}

/// A SCIM JSON response.
pub fn scim_response(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(SCIM_JSON)
        .body(body.to_string())
}
