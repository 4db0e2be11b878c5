//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): query parameters of `GET /Users` and
//! `GET /Groups` and the SearchRequest bodies of `POST /Users/.search`, `POST /Groups/.search` and
//! `POST /.search` become one request type, answered the same way: one resource type through the
//! kit's [`Endpoint`], every type at once through [`crate::search`].

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::ScimInput;
use super::super::error::{Failure, ScimError};
use super::super::scim_base;
use super::groups::GROUPS;
use super::kit::{self, Endpoint, ScimReply};
use super::users::USERS;
use crate::scim::error::InputError;
use crate::scim::filter;
use crate::scim::list::{ListRequest, Sort};
use crate::scim::list::{Page, list_response};
use crate::scim::projection::Projection;
use crate::scim::urn;
use crate::search;
use crate::state::AppState;

/// Registers `POST /.search` (every resource type).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.search", web::post().to(search_root));
}

/// The list parameters, from a query string or a SearchRequest body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    filter: Option<String>,
    start_index: Option<Value>,
    count: Option<Value>,
    sort_by: Option<String>,
    sort_order: Option<String>,
    attributes: Option<Value>,
    excluded_attributes: Option<Value>,
    #[serde(default)]
    schemas: Option<Value>,
}

/// A list of attribute paths: a comma-separated string (query) or an array of strings (body).
fn path_list(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        other => as_text(other),
    }
}

fn as_text(v: &Option<Value>) -> Option<String> {
    match v {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(other) if !other.is_null() => Some(other.to_string()),
        _ => None,
    }
}

impl ListParams {
    /// Parses the parameters into a request; counts the dialect rewrites of the filter.
    pub fn into_request(self, state: &AppState) -> Result<ListRequest, InputError> {
        let page = Page::from_params(
            as_text(&self.start_index).as_deref(),
            as_text(&self.count).as_deref(),
            state.settings.max_results,
        )?;
        let filter = match self.filter.as_deref() {
            Some(raw) => {
                let parsed = filter::parse(raw)?;
                state.dialects.record(&parsed.rewrites);
                Some(parsed.filter)
            }
            None => None,
        };
        let descending = match self
            .sort_order
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                return Err(InputError::invalid_value(format!(
                    "\"sortOrder\" is \"ascending\" or \"descending\", not {other:?}"
                )));
            }
        };
        let sort = self.sort_by.map(|by| Sort { by, descending });
        Ok(ListRequest { filter, sort, page })
    }

    /// Reads a SearchRequest body (RFC 7644 §3.4.3).
    pub fn from_body(body: &Value) -> Result<Self, InputError> {
        let params: ListParams = serde_json::from_value(body.clone()).map_err(|e| {
            InputError::invalid_syntax(format!("the SearchRequest cannot be read: {e}"))
        })?;
        if let Some(schemas) = &params.schemas {
            let named = schemas
                .as_array()
                .is_some_and(|s| s.iter().any(|u| u.as_str() == Some(urn::SEARCH_REQUEST)));
            if !named {
                return Err(InputError::invalid_syntax(format!(
                    "a search body's \"schemas\" must be [\"{}\"]",
                    urn::SEARCH_REQUEST
                )));
            }
        }
        Ok(params)
    }
}

/// Where a list request's parameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The query string (`GET /Users?filter=…`).
    Query,
    /// A SearchRequest body (`POST /Users/.search`).
    Body,
}

impl Source {
    /// The parameters of `input`, read after its token was checked.
    fn params(self, input: &ScimInput) -> Result<ListParams, Failure> {
        match self {
            Source::Query => input.query(),
            Source::Body => Ok(ListParams::from_body(&input.json()?)?),
        }
    }
}

/// Answers a list or search of one resource type.
pub async fn list<R: Send + 'static>(
    endpoint: &'static Endpoint<R>,
    state: &web::Data<AppState>,
    input: ScimInput,
    source: Source,
) -> Result<HttpResponse, ScimError> {
    kit::respond(state, input, move |st, conn, caller, input| {
        let params = source.params(&input)?;
        let projection = endpoint.projection(
            st,
            path_list(&params.attributes).as_deref(),
            path_list(&params.excluded_attributes).as_deref(),
        )?;
        let request = params.into_request(st)?;
        let (total, records, rewrites) = (endpoint.list)(
            conn,
            &st.registry,
            &caller.0.account.id,
            &request,
            &projection,
        )?;
        st.dialects.record(&rewrites);
        let base = scim_base(st);
        let resources = records
            .iter()
            .map(|r| endpoint.representation(st, r, &base, &projection))
            .collect();
        Ok(ScimReply::json(
            StatusCode::OK,
            &list_response(total, request.page, resources),
        ))
    })
    .await
}

/// `POST /.search`: Users and Groups (RFC 7644 §3.4.3), one page over the matching users, then
/// the matching groups ([`search::all_types`]).
async fn search_root(
    state: web::Data<AppState>,
    input: ScimInput,
) -> Result<HttpResponse, ScimError> {
    kit::respond(&state, input, move |st, conn, caller, input| {
        let params = Source::Body.params(&input)?;
        // Across resource types, a name one type does not have is no error for it (RFC 7644 §3.4.3).
        let (attributes, excluded) = (
            path_list(&params.attributes),
            path_list(&params.excluded_attributes),
        );
        let lenient = |rt| {
            Projection::parse_lenient(&st.registry, rt, attributes.as_deref(), excluded.as_deref())
        };
        let user_projection = lenient(USERS.definition(&st.registry))?;
        let group_projection = lenient(GROUPS.definition(&st.registry))?;
        let request = params.into_request(st)?;
        let found = search::all_types(
            conn,
            &st.registry,
            &caller.0.account.id,
            &request,
            group_projection.wants("members"),
        )?;
        st.dialects.record(&found.rewrites);
        let base = scim_base(st);
        let resources = found
            .users
            .iter()
            .map(|r| USERS.representation(st, r, &base, &user_projection))
            .chain(
                found
                    .groups
                    .iter()
                    .map(|r| GROUPS.representation(st, r, &base, &group_projection)),
            )
            .collect();
        Ok(ScimReply::json(
            StatusCode::OK,
            &list_response(found.total, request.page, resources),
        ))
    })
    .await
}
