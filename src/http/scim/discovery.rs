//! Discovery (RFC 7644 §4): `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas`, served from the
//! embedded schema registry and telling the truth about what this server supports. Filters on these
//! endpoints are refused with 403, as §4 says.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::auth::ScimCaller;
use super::super::error::{Failure, ScimError};
use super::super::scim_base;
use super::kit::scim_response;
use crate::error::ServiceError;
use crate::scim::list::{Page, list_response};
use crate::scim::urn;
use crate::state::AppState;

/// Registers the discovery routes; other methods are 405 with a SCIM error (RFC 7644 §3.12).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let not_allowed =
        || web::to(|| async { Err::<HttpResponse, _>(ScimError(Failure::MethodNotAllowed)) });
    cfg.service(
        web::resource("/ServiceProviderConfig")
            .get(service_provider_config)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/ResourceTypes")
            .get(resource_types)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/ResourceTypes/{id}")
            .get(resource_type)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Schemas")
            .get(schemas)
            .default_service(not_allowed()),
    )
    .service(
        web::resource("/Schemas/{id}")
            .get(schema)
            .default_service(not_allowed()),
    );
}

/// Refuses a `filter` parameter (read only after the token was checked, by the handler).
fn refuse_filter(req: &HttpRequest) -> Result<(), ScimError> {
    let names_filter = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .is_ok_and(|q| q.iter().any(|(k, _)| k.eq_ignore_ascii_case("filter")));
    match names_filter {
        true => Err(ScimError(Failure::Forbidden(
            "discovery endpoints take no filter (RFC 7644 §4); read the whole list",
        ))),
        false => Ok(()),
    }
}

/// Makes `meta.location` absolute.
fn located(mut document: Value, base: &str) -> Value {
    if let Some(location) = document.pointer("/meta/location").and_then(Value::as_str) {
        let absolute = format!("{base}{location}");
        document["meta"]["location"] = json!(absolute);
    }
    document
}

fn whole_list(documents: Vec<Value>) -> Value {
    let total = documents.len() as u64;
    list_response(
        total,
        Page {
            start_index: 1,
            count: total,
        },
        documents,
    )
}

async fn service_provider_config(state: web::Data<AppState>, _caller: ScimCaller) -> HttpResponse {
    let base = scim_base(&state);
    let body = json!({
        "schemas": [urn::SERVICE_PROVIDER_CONFIG],
        "patch": {"supported": true},
        "bulk": {
            "supported": true,
            "maxOperations": state.settings.bulk_max_operations,
            "maxPayloadSize": state.settings.bulk_max_payload_bytes,
        },
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": state.settings.max_results,
            "maxPageSize": state.settings.max_results,
            "cursorTimeout": state.settings.cursor_timeout.as_secs(),
        },
        "filter": {"supported": true, "maxResults": state.settings.max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "A long-lived token issued per MobieTrain account, sent as \"Authorization: Bearer <token>\"",
            "primary": true,
        }, {
            "type": "oauthbearertoken",
            "name": "OAuth 2.0 access token",
            "description": "An access token of the OAuth 2.0 token endpoint (client credentials, \
                            client secret or signed client assertion per RFC 7523; scopes scim and \
                            scim.read), sent as \"Authorization: Bearer <access_token>\"",
            "specUri": "https://www.rfc-editor.org/rfc/rfc6749",
            "documentationUri": format!("{}/.well-known/oauth-authorization-server", state.settings.public_url.trim_end_matches('/')),
            "primary": false,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    });
    scim_response(StatusCode::OK, &body)
}

/// A whole list of registry documents (no paging, no filter), located.
fn list_of<'d>(
    state: &AppState,
    req: &HttpRequest,
    documents: impl Iterator<Item = &'d Value>,
) -> Result<HttpResponse, ScimError> {
    refuse_filter(req)?;
    let base = scim_base(state);
    let documents = documents.map(|d| located(d.clone(), &base)).collect();
    Ok(scim_response(StatusCode::OK, &whole_list(documents)))
}

/// One registry document, located, or the 404 of `what`.
fn one_of(
    state: &AppState,
    document: Option<&Value>,
    what: &'static str,
) -> Result<HttpResponse, ScimError> {
    let document = document.ok_or(ServiceError::NotFound(what))?;
    Ok(scim_response(
        StatusCode::OK,
        &located(document.clone(), &scim_base(state)),
    ))
}

async fn resource_types(
    state: web::Data<AppState>,
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let types = state.registry.resource_types();
    list_of(&state, &req, types.iter().map(|rt| &rt.document))
}

async fn resource_type(
    state: web::Data<AppState>,
    _caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let rt = state.registry.resource_type(&id);
    one_of(&state, rt.map(|rt| &rt.document), "resource type")
}

async fn schemas(
    state: web::Data<AppState>,
    _caller: ScimCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ScimError> {
    let schemas = state.registry.schemas();
    list_of(&state, &req, schemas.iter().map(|s| &s.document))
}

async fn schema(
    state: web::Data<AppState>,
    _caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let schema = state.registry.schema(&id);
    one_of(&state, schema.map(|s| &s.document), "schema")
}
