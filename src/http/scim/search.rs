//! Listing and searching (RFC 7644 §3.4.2, §3.4.3): query parameters of `GET /Users` and
//! `GET /Groups` and the SearchRequest bodies of `POST /Users/.search`, `POST /Groups/.search` and
//! `POST /.search` become one request type, answered the same way: one resource type through the
//! kit's [`Endpoint`], every type at once through [`crate::search`]. One resource type also pages
//! by cursor (RFC 9865): `cursor` (empty for the first page) and `count` give a keyset page and
//! a `nextCursor`, sealed with the server key and bound to the account and the query.

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
use crate::scim::cursor::{self, Paging, Position, Resume};
use crate::scim::error::InputError;
use crate::scim::filter;
use crate::scim::list::{ListRequest, Sort};
use crate::scim::list::{Page, cursor_response, list_response};
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
    cursor: Option<Value>,
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

/// What a cursor is bound to besides its account: the resource type and the query (filter and
/// sort as sent; `attributes` do not matter).
struct CursorScope<'a> {
    account_id: &'a str,
    resource_type: &'a str,
}

impl ListParams {
    /// The parts of the query a cursor is bound to, each length-prefixed by the digest.
    fn cursor_binding<'a>(&'a self, scope: &'a CursorScope<'a>) -> [&'a [u8]; 5] {
        let descending = self
            .sort_order
            .as_deref()
            .is_some_and(|o| o.eq_ignore_ascii_case("descending"));
        [
            scope.account_id.as_bytes(),
            scope.resource_type.as_bytes(),
            self.filter.as_deref().unwrap_or_default().as_bytes(),
            self.sort_by.as_deref().unwrap_or_default().as_bytes(),
            if descending { b"d" } else { b"a" },
        ]
    }

    /// Reads the paging of a list of one resource type: `cursor` (RFC 9865; empty for the first
    /// page) and its `count`, or else `startIndex` and `count`.
    fn paging(
        &self,
        state: &AppState,
        scope: Option<&CursorScope<'_>>,
    ) -> Result<(Page, Paging), InputError> {
        let Some(cursor) = &self.cursor else {
            let page = Page::from_params(
                as_text(&self.start_index).as_deref(),
                as_text(&self.count).as_deref(),
                state.settings.max_results,
            )?;
            return Ok((page, Paging::Index));
        };
        let Some(scope) = scope else {
            return Err(InputError::invalid_value(
                "cursor paging is served by /Users, /Groups and their /.search, not across \
                 resource types; page this search with startIndex",
            ));
        };
        if self.start_index.is_some() {
            return Err(InputError::invalid_value(
                "send either \"cursor\" or \"startIndex\", not both",
            ));
        }
        let max = state.settings.max_results;
        let count = match as_text(&self.count) {
            None => max,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if n >= 0 && n.unsigned_abs() <= max => n.unsigned_abs(),
                _ => {
                    return Err(InputError::invalid_count(format!(
                        "\"count\" is a whole number from 0 to maxPageSize ({max}), not {raw:?}"
                    )));
                }
            },
        };
        let cursor = as_text(&Some(cursor.clone())).unwrap_or_default();
        let resume = if cursor.trim().is_empty() {
            None
        } else {
            let binding = self.cursor_binding(scope);
            let now = state.clock.now_naive().and_utc().timestamp();
            let timeout = state.settings.cursor_timeout.as_secs();
            Some(cursor::open(&cursor, now, timeout, |payload, digest| {
                let parts = with_payload(&binding, payload);
                state.server_key.verify_mac(CURSOR_PURPOSE, &parts, digest)
            })?)
        };
        Ok((
            Page {
                start_index: 1,
                count,
            },
            Paging::Cursor(resume),
        ))
    }

    /// The cursor of the page after (`backward`: before) `position` in a walk of `total` results,
    /// sealed for this query.
    fn cursor(
        &self,
        state: &AppState,
        scope: &CursorScope<'_>,
        position: &Position,
        backward: bool,
        total: u64,
    ) -> String {
        let binding = self.cursor_binding(scope);
        let now = state.clock.now_naive().and_utc().timestamp();
        let resume = Resume {
            position: position.clone(),
            backward,
            total: Some(total),
        };
        cursor::seal(&resume, now, |payload| {
            state
                .server_key
                .mac(CURSOR_PURPOSE, &with_payload(&binding, payload))
        })
    }

    /// Parses the parameters into a request; counts the dialect rewrites of the filter.
    fn into_request(
        self,
        state: &AppState,
        scope: Option<&CursorScope<'_>>,
    ) -> Result<ListRequest, InputError> {
        let (page, paging) = self.paging(state, scope)?;
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
        Ok(ListRequest {
            filter,
            sort,
            page,
            paging,
        })
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

/// The purpose label of a cursor's keyed digest.
const CURSOR_PURPOSE: &str = "mobietrain-scim/cursor/v1";

/// The bound parts of a cursor and its payload, as the digest covers them.
fn with_payload<'a>(binding: &[&'a [u8]; 5], payload: &'a [u8]) -> [&'a [u8]; 6] {
    [
        binding[0], binding[1], binding[2], binding[3], binding[4], payload,
    ]
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
        let scope = CursorScope {
            account_id: &caller.0.account.id,
            resource_type: endpoint.resource_type,
        };
        let binding = ListParams {
            filter: params.filter.clone(),
            sort_by: params.sort_by.clone(),
            sort_order: params.sort_order.clone(),
            ..ListParams::default()
        };
        let request = params.into_request(st, Some(&scope))?;
        let listed = (endpoint.list)(
            conn,
            &st.registry,
            &caller.0.account.id,
            &request,
            &projection,
        )?;
        st.dialects.record(&listed.rewrites);
        let base = scim_base(st);
        let resources = listed
            .records
            .iter()
            .map(|r| endpoint.representation(st, r, &base, &projection))
            .collect();
        let body = match request.paging {
            Paging::Index => list_response(listed.total, request.page, resources),
            Paging::Cursor(_) => {
                let seal = |position: &Option<Position>, backward| {
                    position
                        .as_ref()
                        .map(|p| binding.cursor(st, &scope, p, backward, listed.total))
                };
                let (next, previous) = (seal(&listed.next, false), seal(&listed.previous, true));
                cursor_response(listed.total, resources, next, previous)
            }
        };
        Ok(ScimReply::json(StatusCode::OK, &body))
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
        let request = params.into_request(st, None)?;
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
