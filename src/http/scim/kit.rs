//! The SCIM endpoint kit: what every resource endpoint shares, so that `/Users` and `/Groups` are
//! two values of one [`Endpoint`] and a future `/Bulk` runs the same steps per operation. It holds
//! the routes of a resource type (with the 405 of a method a route lacks, and the 404 of no route),
//! the projection (`attributes`/`excludedAttributes`), the representation, single-resource answers
//! with `ETag` and `Location`, `If-Match`/`If-None-Match`, and the handlers themselves: create
//! (201), read (200, or 304 when `If-None-Match` names the current version), replace, patch,
//! delete (204), list and search ([`super::search`]).

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::{ScimCaller, ScimInput, run_scim};
use super::super::error::{Failure, ScimError};
use super::super::{SCIM_JSON, scim_base, with_etag};
use crate::audit;
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::error::InputError;
use crate::scim::etag::{self, Precondition};
use crate::scim::list::{ListRequest, Listed};
use crate::scim::projection::Projection;
use crate::scim::schema::{Registry, ResourceTypeDef};
use crate::state::AppState;

/// A SCIM resource type as the kit serves it: its names, and the domain call behind each
/// operation (each one call, or two where the answer needs a fresh read). Users and Groups are
/// each one value of it ([`super::users::USERS`], [`super::groups::GROUPS`]).
#[derive(Debug)]
pub struct Endpoint<R> {
    /// The resource type's name in the schema registry (`User`).
    pub resource_type: &'static str,
    /// The endpoint below the base URL (`/Users`).
    pub path: &'static str,
    /// The resource's id and the opaque part of its `ETag` (a group's version; a user's covers
    /// its stores and groups too, [`crate::users::etag`]).
    pub meta: fn(&R) -> (&str, String),
    /// The whole SCIM representation, before projection.
    pub to_resource: fn(&R, &str) -> Value,
    /// One resource of the account; the [`Wanted`] says which costly parts are needed.
    pub get: fn(&mut DbConn, &str, &str, &Wanted) -> Result<R, ServiceError>,
    /// A page of the account's resources matching the request (by index or cursor), how many
    /// match, and the filter's dialect rewrites; the projection says which costly parts are needed.
    pub list: ListFn<R>,
    /// Creates a resource from a SCIM body.
    pub create: fn(&mut DbConn, &WriteContext<'_>, &Value) -> Result<R, ServiceError>,
    /// Replaces a resource with a SCIM body (PUT).
    pub replace: ReplaceFn<R>,
    /// Applies a PATCH request: the resource after it, and the dialect rewrites it needed.
    pub patch: PatchFn<R>,
    /// Deletes a resource.
    pub delete: fn(&mut DbConn, &WriteContext<'_>, &str, &Precondition) -> Result<(), ServiceError>,
    /// Whether a PATCH answers 200 with the resource (else 204 with its `ETag`).
    pub patch_shows_resource: fn(&Wanted) -> bool,
    /// The attributes that identify a resource in the identity provider (`externalId`,
    /// `userName`), recorded as sent when a write is refused.
    pub identifiers: &'static [&'static str],
}

/// [`Endpoint::list`].
pub type ListFn<R> =
    fn(&mut DbConn, &Registry, &str, &ListRequest, &Projection) -> Result<Listed<R>, ServiceError>;
/// [`Endpoint::replace`].
pub type ReplaceFn<R> =
    fn(&mut DbConn, &WriteContext<'_>, &str, &Value, &Precondition) -> Result<R, ServiceError>;
/// [`Endpoint::patch`].
pub type PatchFn<R> = fn(
    &mut DbConn,
    &WriteContext<'_>,
    &str,
    &Value,
    &Precondition,
    &Wanted,
) -> Result<(R, Vec<Rewrite>), ServiceError>;

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

impl<R: Send + 'static> Endpoint<R> {
    /// The registry's definition of the resource type.
    pub fn definition<'r>(&self, registry: &'r Registry) -> &'r ResourceTypeDef {
        registry
            .resource_type(self.resource_type)
            .expect("every resource type the kit serves is in the registry")
    }

    /// Reads the projection of a response.
    pub fn projection(
        &self,
        state: &AppState,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Projection, InputError> {
        let definition = self.definition(&state.registry);
        Projection::parse(&state.registry, definition, attributes, excluded)
    }

    /// What the request's query string asks to see.
    fn wanted(&self, state: &AppState, input: &ScimInput) -> Result<Wanted, Failure> {
        let params: ProjectionParams = input.query()?;
        Ok(Wanted {
            projection: self.projection(
                state,
                params.attributes(),
                params.excluded_attributes(),
            )?,
            asked: params.attributes().is_some(),
        })
    }

    /// A resource's representation, projected.
    pub fn representation(
        &self,
        state: &AppState,
        rec: &R,
        base: &str,
        projection: &Projection,
    ) -> Value {
        let resource = (self.to_resource)(rec, base);
        if projection.is_identity() {
            return resource;
        }
        projection.apply(&state.registry, self.definition(&state.registry), resource)
    }

    /// A single resource: its projected representation with its `ETag`, and its `Location`
    /// when it was created.
    fn single(
        &self,
        state: &AppState,
        status: StatusCode,
        rec: &R,
        projection: &Projection,
    ) -> ScimReply {
        let base = scim_base(state);
        let (id, tag) = (self.meta)(rec);
        let reply = ScimReply::json(status, &self.representation(state, rec, &base, projection))
            .tagged(tag);
        if status == StatusCode::CREATED {
            return reply.located(format!("{base}{}/{id}", self.path));
        }
        reply
    }

    /// Registers the resource type's routes: the collection, its `.search`, and one resource
    /// by id; any other method on them is a 405.
    pub fn routes(&'static self, cfg: &mut web::ServiceConfig) {
        let collection = |op: Op| {
            web::to(move |state: web::Data<AppState>, input: ScimInput| {
                self.on_collection(op, state, input)
            })
        };
        let resource = |op: Op| {
            web::to(
                move |state: web::Data<AppState>,
                      input: ScimInput,
                      req: HttpRequest,
                      id: web::Path<String>| {
                    self.on_resource(op, state, input, req, id.into_inner())
                },
            )
        };
        cfg.service(
            web::resource(self.path)
                .route(collection(Op::List).method(Method::GET))
                .route(collection(Op::Create).method(Method::POST))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(format!("{}/.search", self.path))
                .route(collection(Op::Search).method(Method::POST))
                .default_service(web::to(method_not_allowed)),
        )
        .service(
            web::resource(format!("{}/{{id}}", self.path))
                .route(resource(Op::Read).method(Method::GET))
                .route(resource(Op::Replace).method(Method::PUT))
                .route(resource(Op::Patch).method(Method::PATCH))
                .route(resource(Op::Delete).method(Method::DELETE))
                .default_service(web::to(method_not_allowed)),
        );
    }

    /// Answers an operation on the collection: a list, a search, a create.
    async fn on_collection(
        &'static self,
        op: Op,
        state: web::Data<AppState>,
        input: ScimInput,
    ) -> Result<HttpResponse, ScimError> {
        match op {
            Op::List => {
                super::search::list(self, &state, input, super::search::Source::Query).await
            }
            Op::Search => {
                super::search::list(self, &state, input, super::search::Source::Body).await
            }
            _ => {
                respond(&state, input, move |st, conn, caller, input| {
                    self.http_write(st, conn, &caller, &input, op, None, &Precondition::None)
                })
                .await
            }
        }
    }

    /// Answers an operation on one resource: read (or 304), replace, patch, delete.
    async fn on_resource(
        &'static self,
        op: Op,
        state: web::Data<AppState>,
        input: ScimInput,
        req: HttpRequest,
        id: String,
    ) -> Result<HttpResponse, ScimError> {
        let precondition = if_match(&req);
        let none_match = if_none_match(&req);
        respond(&state, input, move |st, conn, caller, input| {
            if op == Op::Read {
                let wanted = self.wanted(st, &input)?;
                let rec = (self.get)(conn, &caller.0.account.id, &id, &wanted)?;
                let (_, tag) = (self.meta)(&rec);
                if none_match_holds(none_match.as_deref(), &tag) {
                    return Ok(ScimReply::empty(StatusCode::NOT_MODIFIED).tagged(tag));
                }
                return Ok(self.single(st, StatusCode::OK, &rec, &wanted.projection));
            }
            self.http_write(st, conn, &caller, &input, op, Some(&id), &precondition)
        })
        .await
    }

    /// A write sent as its own HTTP request: the projection from its query string, the body
    /// parsed (a DELETE reads neither), then [`Endpoint::execute`].
    #[expect(clippy::too_many_arguments, reason = "the parts of one HTTP request")]
    fn http_write(
        &self,
        st: &AppState,
        conn: &mut DbConn,
        caller: &ScimCaller,
        input: &ScimInput,
        op: Op,
        id: Option<&str>,
        precondition: &Precondition,
    ) -> Result<ScimReply, Failure> {
        let parsed = (|| {
            if op == Op::Delete {
                return Ok((self.plain(st), None));
            }
            Ok((self.wanted(st, input)?, Some(input.json()?)))
        })();
        let outcome = parsed.and_then(|(wanted, body)| {
            let write = Write {
                op,
                id,
                body: body.as_ref(),
                wanted: &wanted,
                precondition,
            };
            self.perform(st, conn, caller, &write)
        });
        self.noting_refusal(st, conn, caller, op, id, || input.json().ok(), outcome)
    }

    /// What an answer without `attributes` or `excludedAttributes` shows: the whole resource.
    pub fn plain(&self, st: &AppState) -> Wanted {
        Wanted {
            projection: self
                .projection(st, None, None)
                .expect("no projection always parses"),
            asked: false,
        }
    }

    /// Runs one write (create, replace, patch, delete) with every rule of the endpoint, and records
    /// a refusal in the provisioning log: the one path of a single-resource request and of each
    /// Bulk operation alike.
    pub fn execute(
        &self,
        st: &AppState,
        conn: &mut DbConn,
        caller: &ScimCaller,
        write: &Write<'_>,
    ) -> Result<ScimReply, Failure> {
        let outcome = self.perform(st, conn, caller, write);
        self.refused(st, conn, caller, write.op, write.id, write.body, outcome)
    }

    /// Records `outcome` in the provisioning log when it refuses operation `op` (see
    /// [`Endpoint::noting_refusal`]), for a write stopped before [`Endpoint::execute`] (a Bulk
    /// operation whose `bulkId` reference cannot be resolved).
    #[expect(clippy::too_many_arguments, reason = "the parts of one refused write")]
    pub fn refused(
        &self,
        st: &AppState,
        conn: &mut DbConn,
        caller: &ScimCaller,
        op: Op,
        id: Option<&str>,
        body: Option<&Value>,
        outcome: Result<ScimReply, Failure>,
    ) -> Result<ScimReply, Failure> {
        self.noting_refusal(st, conn, caller, op, id, || body.cloned(), outcome)
    }

    /// Creates, replaces, patches or deletes one resource.
    fn perform(
        &self,
        st: &AppState,
        conn: &mut DbConn,
        caller: &ScimCaller,
        write: &Write<'_>,
    ) -> Result<ScimReply, Failure> {
        let Write {
            op,
            id,
            body,
            wanted,
            precondition,
        } = *write;
        let missing = || -> Failure {
            InputError::invalid_syntax("the request needs a body (a JSON object)").into()
        };
        match (op, id) {
            (Op::Create, _) => {
                let body = body.ok_or_else(missing)?;
                write_ctx!(st, caller, actor, ctx);
                let rec = (self.create)(conn, &ctx, body)?;
                Ok(self.single(st, StatusCode::CREATED, &rec, &wanted.projection))
            }
            (Op::Delete, Some(id)) => {
                write_ctx!(st, caller, actor, ctx);
                (self.delete)(conn, &ctx, id, precondition)?;
                Ok(ScimReply::empty(StatusCode::NO_CONTENT))
            }
            (Op::Replace, Some(id)) => {
                let body = body.ok_or_else(missing)?;
                write_ctx!(st, caller, actor, ctx);
                let rec = (self.replace)(conn, &ctx, id, body, precondition)?;
                Ok(self.single(st, StatusCode::OK, &rec, &wanted.projection))
            }
            (Op::Patch, Some(id)) => {
                let body = body.ok_or_else(missing)?;
                write_ctx!(st, caller, actor, ctx);
                let (rec, rewrites) = (self.patch)(conn, &ctx, id, body, precondition, wanted)?;
                st.dialects.record(&rewrites);
                if !(self.patch_shows_resource)(wanted) {
                    let (_, tag) = (self.meta)(&rec);
                    return Ok(ScimReply::empty(StatusCode::NO_CONTENT).tagged(tag));
                }
                Ok(self.single(st, StatusCode::OK, &rec, &wanted.projection))
            }
            _ => Err(Failure::MethodNotAllowed),
        }
    }

    /// Passes a write's outcome on, recording it in the provisioning log first when it is a
    /// refusal (a 4xx: a broken rule, a conflict, a failed precondition, an unknown id), in a
    /// transaction of its own, with the resource's identifiers as sent (`sent`, read only then;
    /// [`audit::refused`]). A record that cannot be written is logged and never changes the answer.
    #[expect(clippy::too_many_arguments, reason = "the parts of one refused write")]
    fn noting_refusal(
        &self,
        st: &AppState,
        conn: &mut DbConn,
        caller: &ScimCaller,
        op: Op,
        id: Option<&str>,
        sent: impl FnOnce() -> Option<Value>,
        outcome: Result<ScimReply, Failure>,
    ) -> Result<ScimReply, Failure> {
        let Err(failure) = &outcome else {
            return outcome;
        };
        let answer = failure.described();
        if !answer.status.is_client_error() {
            return outcome;
        }
        let sent = sent()
            .as_ref()
            .map(|b| sent_identifiers(b, self.identifiers))
            .unwrap_or_default();
        let refusal = audit::refused::Refusal {
            method: op.method(),
            resource_type: self.resource_type,
            resource_id: id,
            status: answer.status.as_u16(),
            scim_type: answer.scim_type.map(|t| t.as_str()),
            detail: &answer.detail,
            sent: sent.iter().map(|(k, v)| (*k, v.as_str())).collect(),
        };
        let actor = caller.0.actor();
        let now = st.clock.now_naive();
        if let Err(e) = audit::refused::record(conn, &caller.0.account.id, &actor, &refusal, now) {
            tracing::error!(error = %e, account.id = %caller.0.account.id,
                            "could not record a refused request in the provisioning log");
        }
        outcome
    }
}

/// The identifiers among `names` that a write's body carries, as sent: top-level string values,
/// and in a PATCH request the string values its operations set for them (by path, or inside a
/// path-less value). The first of each name counts.
fn sent_identifiers(body: &Value, names: &[&'static str]) -> Vec<(&'static str, String)> {
    let find = |name: &str| -> Option<String> {
        let pick = |obj: &Value| {
            obj.as_object()?
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_owned))
        };
        if let Some(v) = pick(body) {
            return Some(v);
        }
        let ops = body.as_object()?.iter().find_map(|(k, v)| {
            k.eq_ignore_ascii_case("Operations")
                .then_some(v.as_array())
                .flatten()
        })?;
        ops.iter().find_map(|op| {
            let path = op.get("path").and_then(Value::as_str);
            let value = op.get("value")?;
            match path {
                Some(p) if p.eq_ignore_ascii_case(name) => value.as_str().map(str::to_owned),
                Some(_) => None,
                None => pick(value),
            }
        })
    };
    names
        .iter()
        .filter_map(|name| find(name).map(|v| (*name, v)))
        .collect()
}

/// One write as the kit performs it, whether it came as its own HTTP request or as an operation
/// of a Bulk request.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// Create, replace, patch or delete.
    pub op: Op,
    /// The resource the path names (none for a create).
    pub id: Option<&'a str>,
    /// The request body (none for a delete).
    pub body: Option<&'a Value>,
    /// What the answer shows.
    pub wanted: &'a Wanted,
    /// The `If-Match` condition (a Bulk operation's `version`).
    pub precondition: &'a Precondition,
}

/// The operations of a resource type's routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `GET` on the collection.
    List,
    /// `POST …/.search`.
    Search,
    /// `POST` on the collection.
    Create,
    /// `GET` of one resource.
    Read,
    /// `PUT` of one resource.
    Replace,
    /// `PATCH` of one resource.
    Patch,
    /// `DELETE` of one resource.
    Delete,
}

impl Op {
    /// The HTTP method of the operation.
    pub fn method(self) -> &'static str {
        match self {
            Op::List | Op::Read => "GET",
            Op::Search | Op::Create => "POST",
            Op::Replace => "PUT",
            Op::Patch => "PATCH",
            Op::Delete => "DELETE",
        }
    }
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

/// Whether an `If-None-Match` header names the current tag (weak comparison, or `*`).
pub fn none_match_holds(header: Option<&str>, current: &str) -> bool {
    let Some(header) = header else {
        return false;
    };
    header.trim() == "*" || header.split(',').any(|t| etag::opaque_tag(t) == current)
}

/// A SCIM answer built on the blocking pool, with the resource serialised there too (an
/// `HttpResponse` cannot cross threads); [`ScimReply::into_response`] finishes it on the worker.
#[derive(Debug)]
pub struct ScimReply {
    status: StatusCode,
    body: Option<String>,
    tag: Option<String>,
    location: Option<String>,
}

impl ScimReply {
    /// A JSON document.
    pub fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            body: Some(body.to_string()),
            tag: None,
            location: None,
        }
    }

    /// An answer without a body (`204`, `304`).
    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            body: None,
            tag: None,
            location: None,
        }
    }

    /// With the `ETag` whose opaque part is `tag`.
    pub fn tagged(mut self, tag: String) -> Self {
        self.tag = Some(tag);
        self
    }

    /// With a `Location`.
    pub fn located(mut self, url: String) -> Self {
        self.location = Some(url);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The opaque part of the `ETag`, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The `Location`, if any.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
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
        match self.tag {
            Some(tag) => with_etag(response, &tag),
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
