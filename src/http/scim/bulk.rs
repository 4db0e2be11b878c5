//! `POST /Bulk` (RFC 7644 §3.7): many writes on `/Users` and `/Groups` in one request. The limits
//! come first (the body's size before it is parsed, then the number of operations), each a 413
//! `tooLarge` before any work; the rate limit already charged the request its operation count.
//! The operations run in the order [`crate::scim::bulk::plan`] gives (after the operations whose
//! `bulkId`s they reference), each one through the endpoint kit's own write path
//! ([`Endpoint::execute`]: the rules, dialects, `version` as `If-Match`, provisioning log and
//! tenancy of the single-resource request), on the request's one connection, each committed on
//! its own. `failOnErrors` stops the run after that many failed operations. The results come in
//! the order the operations were sent.
//!
//! At most [`crate::state::bulk_slots`] Bulk requests run at once; the others wait for a slot
//! (holding no database connection) up to `HttpSettings::bulk_slot_wait`, then get a 429 with
//! `Retry-After`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::super::auth::{ScimCaller, ScimInput};
use super::super::error::{Failure, ScimError};
use super::super::scim_base;
use super::groups::GROUPS;
use super::kit::{self, Endpoint, Op, ScimReply, Write};
use super::users::USERS;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::bulk::{Blocked, BulkRequest, Collection, Entry, Method, Operation, Refusal};
use crate::scim::etag::{self, Precondition};
use crate::scim::urn;
use crate::state::AppState;

/// Registers `POST /Bulk`; any other method is a 405.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Bulk")
            .route(web::post().to(bulk))
            .default_service(web::to(kit::method_not_allowed)),
    );
}

/// Seconds a refused Bulk request is told to wait.
const RETRY_AFTER_SECS: i64 = 5;

async fn bulk(state: web::Data<AppState>, input: ScimInput) -> Result<HttpResponse, ScimError> {
    let slots = state.bulk_slots.clone();
    let wait = state.settings.bulk_slot_wait;
    let Ok(Ok(_slot)) = actix_web::rt::time::timeout(wait, slots.acquire_owned()).await else {
        let running = crate::state::bulk_slots(state.pool.max_size());
        return Err(ScimError::from(ServiceError::TooSoon {
            detail: format!(
                "this server runs {running} Bulk request(s) at once and they stayed busy for \
                 {wait:?}; retry in a few seconds, or send fewer operations per request"
            ),
            retry_after_secs: RETRY_AFTER_SECS,
        }));
    };
    kit::respond(&state, input, move |st, conn, caller, input| {
        let limit = st.settings.bulk_max_payload_bytes;
        let size = input.body_len();
        if size > limit {
            return Err(Failure::BulkTooLarge(format!(
                "the Bulk request is {size} bytes, more than maxPayloadSize ({limit}); \
                 split it into several requests"
            )));
        }
        let request = BulkRequest::parse(&input.json()?, st.settings.bulk_max_operations).map_err(
            |refusal| match refusal {
                Refusal::TooMany { sent, max } => Failure::BulkTooLarge(format!(
                    "the Bulk request has {sent} operations, more than maxOperations ({max}); \
                     split it into several requests"
                )),
                Refusal::Input(e) => e.into(),
            },
        )?;
        let results = run(st, conn, &caller, request);
        Ok(ScimReply::json(
            StatusCode::OK,
            &json!({"schemas": [urn::BULK_RESPONSE], "Operations": results}),
        ))
    })
    .await
}

/// Runs the operations of `request` and answers each one that ran, in the order sent.
fn run(st: &AppState, conn: &mut DbConn, caller: &ScimCaller, request: BulkRequest) -> Vec<Value> {
    let plan = crate::scim::bulk::plan(&request.entries);
    let base = scim_base(st);
    let mut created: HashMap<String, String> = HashMap::new();
    let mut results: Vec<(usize, Value)> = Vec::new();
    let mut errors = 0u64;
    for index in plan.order {
        let entry = &request.entries[index];
        let outcome = match &entry.operation {
            Err(e) => Err(Failure::from(e.clone())),
            Ok(op) => {
                let blocked = plan.blocked.get(&index);
                perform(st, conn, caller, op.clone(), blocked, &created)
            }
        };
        let result = match outcome {
            Ok((collection, id, reply)) => {
                if let (Some(bulk_id), StatusCode::CREATED) = (&entry.bulk_id, reply.status()) {
                    created.insert(bulk_id.clone(), id.clone());
                }
                succeeded(entry, &format!("{base}{}/{id}", collection.path()), &reply)
            }
            Err(failure) => {
                errors += 1;
                failed(entry, &failure)
            }
        };
        results.push((index, result));
        if request.fail_on_errors.is_some_and(|limit| errors >= limit) {
            break;
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// One operation: its `bulkId` references resolved, then the kit's write. Gives the collection,
/// the resource's id and the kit's reply.
fn perform(
    st: &AppState,
    conn: &mut DbConn,
    caller: &ScimCaller,
    mut op: Operation,
    blocked: Option<&Blocked>,
    created: &HashMap<String, String>,
) -> Result<(Collection, String, ScimReply), Failure> {
    let unresolved = match blocked {
        Some(Blocked::Unknown(id)) => Some(Failure::BulkReference(format!(
            "\"bulkId:{id}\" names no operation of this request: send the POST with \
             \"bulkId\": \"{id}\" in the same request, or use the resource's id"
        ))),
        Some(Blocked::Circular(chain)) => Some(Failure::BulkReference(format!(
            "the operations with bulkIds {} reference each other in a circle, so none can be \
             created first: create one without the reference and add it with a PATCH",
            chain.join(", ")
        ))),
        None => op.resolve(created).err().map(|id| {
            Failure::BulkReference(format!(
                "\"bulkId:{id}\" cannot be resolved: its operation failed or did not run"
            ))
        }),
    };
    match op.collection {
        Collection::Users => write(&USERS, st, conn, caller, &op, unresolved),
        Collection::Groups => write(&GROUPS, st, conn, caller, &op, unresolved),
    }
    .map(|(id, reply)| (op.collection, id, reply))
}

/// Runs a resolved operation through `endpoint`'s write path (or records why it could not run).
fn write<R: Send + 'static>(
    endpoint: &Endpoint<R>,
    st: &AppState,
    conn: &mut DbConn,
    caller: &ScimCaller,
    op: &Operation,
    unresolved: Option<Failure>,
) -> Result<(String, ScimReply), Failure> {
    let kind = match op.method {
        Method::Post => Op::Create,
        Method::Put => Op::Replace,
        Method::Patch => Op::Patch,
        Method::Delete => Op::Delete,
    };
    let id = op.target.as_deref();
    if let Some(failure) = unresolved {
        let outcome = endpoint.refused(st, conn, caller, kind, id, op.data.as_ref(), Err(failure));
        return outcome.map(|reply| (String::new(), reply));
    }
    let wanted = endpoint.plain(st);
    let precondition = Precondition::if_match(op.version.as_deref());
    let write = Write {
        op: kind,
        id,
        body: op.data.as_ref(),
        wanted: &wanted,
        precondition: &precondition,
    };
    let reply = endpoint.execute(st, conn, caller, &write)?;
    let id = match (id, reply.location()) {
        (Some(id), _) => id.to_owned(),
        (None, Some(location)) => location.rsplit('/').next().unwrap_or_default().to_owned(),
        (None, None) => String::new(),
    };
    Ok((id, reply))
}

/// The result of an operation that succeeded: its resource's location and version, no body.
fn succeeded(entry: &Entry, location: &str, reply: &ScimReply) -> Value {
    let mut result = json!({
        "method": entry.method,
        "location": location,
        "status": reply.status().as_u16().to_string(),
    });
    if let Some(bulk_id) = &entry.bulk_id {
        result["bulkId"] = json!(bulk_id);
    }
    if let Some(tag) = reply.tag() {
        result["version"] = json!(etag::weak(tag));
    }
    result
}

/// The result of an operation that failed: its status, and the SCIM error as its `response`.
fn failed(entry: &Entry, failure: &Failure) -> Value {
    let answer = failure.answer();
    let mut result = json!({
        "method": entry.method,
        "status": answer.status.as_u16().to_string(),
        "response": answer.scim_body(),
    });
    if let Some(bulk_id) = &entry.bulk_id {
        result["bulkId"] = json!(bulk_id);
    }
    result
}
