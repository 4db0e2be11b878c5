//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): query parameters of `GET /Users` and
//! `GET /Groups` and the SearchRequest bodies of `POST /Users/.search`, `POST /Groups/.search` and
//! `POST /.search` become one request type, answered the same way.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::super::auth::{ScimInput, run_scim};
use super::super::error::{Failure, ScimError};
use super::super::{ScimReply, scim_base};
use crate::error::ServiceError;
use crate::groups;
use crate::scim::error::InputError;
use crate::scim::filter;
use crate::scim::list::{ListRequest, Sort};
use crate::scim::list::{Page, list_response};
use crate::scim::projection::Projection;
use crate::scim::urn;
use crate::state::AppState;
use crate::users;

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

/// Answers a user list or search.
pub async fn users(
    state: &web::Data<AppState>,
    input: ScimInput,
    source: Source,
) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    let reply = run_scim(state, input, move |conn, caller, input| {
        let params = source.params(&input)?;
        let projection = super::users::user_projection(
            &st,
            path_list(&params.attributes).as_deref(),
            path_list(&params.excluded_attributes).as_deref(),
        )?;
        let request = params.into_request(&st)?;
        let page = request.page;
        let (total, records, rewrites) =
            users::list(conn, &st.registry, &caller.0.account.id, &request)?;
        st.dialects.record(&rewrites);
        let base = scim_base(&st);
        let resources = records
            .iter()
            .map(|r| super::users::representation(&st, r, &base, &projection))
            .collect();
        Ok(ScimReply::json(
            StatusCode::OK,
            &list_response(total, page, resources),
        ))
    })
    .await?;
    Ok(reply.into_response())
}

/// Answers a group list or search.
pub async fn groups(
    state: &web::Data<AppState>,
    input: ScimInput,
    source: Source,
) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    let reply = run_scim(state, input, move |conn, caller, input| {
        let params = source.params(&input)?;
        let projection = super::groups::group_projection(
            &st,
            path_list(&params.attributes).as_deref(),
            path_list(&params.excluded_attributes).as_deref(),
        )?;
        let include = projection.wants("members");
        let request = params.into_request(&st)?;
        let page = request.page;
        let (total, records, rewrites) =
            groups::list(conn, &st.registry, &caller.0.account.id, &request, include)?;
        st.dialects.record(&rewrites);
        let base = scim_base(&st);
        let resources = records
            .iter()
            .map(|r| super::groups::representation(&st, r, &base, &projection))
            .collect();
        Ok(ScimReply::json(
            StatusCode::OK,
            &list_response(total, page, resources),
        ))
    })
    .await?;
    Ok(reply.into_response())
}

/// `POST /.search`: Users and Groups (RFC 7644 §3.4.3). `totalResults` is the sum; pages run over
/// the concatenation of the matching users, then the matching groups, each in its own order.
async fn search_root(
    state: web::Data<AppState>,
    input: ScimInput,
) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    let reply = run_scim(&state, input, move |conn, caller, input| {
        let params = Source::Body.params(&input)?;
        // Across resource types, a name one type does not have is no error for it (RFC 7644 §3.4.3).
        let (attributes, excluded) = (
            path_list(&params.attributes),
            path_list(&params.excluded_attributes),
        );
        let user_rt = st.registry.resource_type("User").expect("served");
        let group_rt = st.registry.resource_type("Group").expect("served");
        let user_projection = Projection::parse_lenient(
            &st.registry,
            user_rt,
            attributes.as_deref(),
            excluded.as_deref(),
        )?;
        let group_projection = Projection::parse_lenient(
            &st.registry,
            group_rt,
            attributes.as_deref(),
            excluded.as_deref(),
        )?;
        let include = group_projection.wants("members");
        let request = params.into_request(&st)?;
        let page = request.page;
        let account = &caller.0.account.id;
        // A filter naming attributes of one resource type only matches no resource of the
        // other: an input error on one side is that side's empty result, unless both fail.
        let mut user_error = None;
        let (user_total, user_records, mut rewrites) =
            match users::list(conn, &st.registry, account, &request) {
                Ok(found) => found,
                Err(ServiceError::Input(e)) => {
                    user_error = Some(e);
                    Default::default()
                }
                Err(other) => return Err(other.into()),
            };
        let group_request = ListRequest {
            page: Page {
                start_index: page.offset().saturating_sub(user_total) + 1,
                count: page.count.saturating_sub(user_records.len() as u64),
            },
            ..request.clone()
        };
        let (group_total, group_records, group_rewrites) = match (
            groups::list(conn, &st.registry, account, &group_request, include),
            user_error,
        ) {
            (Ok(found), _) => found,
            (Err(ServiceError::Input(_)), None) => Default::default(),
            (Err(ServiceError::Input(_)), Some(e)) => return Err(ServiceError::Input(e).into()),
            (Err(other), _) => return Err(other.into()),
        };
        rewrites.extend(group_rewrites);
        st.dialects.record(&rewrites);
        let base = scim_base(&st);
        let resources = user_records
            .iter()
            .map(|r| super::users::representation(&st, r, &base, &user_projection))
            .chain(
                group_records
                    .iter()
                    .map(|r| super::groups::representation(&st, r, &base, &group_projection)),
            )
            .collect();
        Ok(ScimReply::json(
            StatusCode::OK,
            &list_response(user_total + group_total, page, resources),
        ))
    })
    .await?;
    Ok(reply.into_response())
}
