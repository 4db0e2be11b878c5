//! `/Users`: create, read, replace, delete and list (RFC 7644 §3.3, §3.4, §3.5.1, §3.6).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::auth::ScimCaller;
use super::error::{Failure, ScimError};
use super::search::ListParams;
use super::{run_db, scim_base, scim_response};
use crate::state::AppState;
use crate::users::{self, UserRecord, WriteContext};

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
            .delete(delete)
            .default_service(not_allowed()),
    );
}

fn single(status: StatusCode, rec: &UserRecord, base: &str) -> HttpResponse {
    let mut response = scim_response(status, &users::to_resource(rec, base));
    if let Ok(tag) = HeaderValue::from_str(&users::etag(rec.row.version)) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    if status == StatusCode::CREATED
        && let Ok(location) = HeaderValue::from_str(&format!("{base}/Users/{}", rec.row.id))
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn create(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        users::create(conn, &ctx, &body)
    })
    .await?;
    Ok(single(StatusCode::CREATED, &rec, &base))
}

async fn read(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let rec = run_db(&state, move |conn| {
        users::get(conn, &caller.0.account.id, &id)
    })
    .await?;
    Ok(single(StatusCode::OK, &rec, &base))
}

async fn replace(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    id: web::Path<String>,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let base = scim_base(&req, &state);
    let st = state.clone();
    let rec = run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        users::replace(conn, &ctx, &id, &body)
    })
    .await?;
    Ok(single(StatusCode::OK, &rec, &base))
}

async fn delete(
    state: web::Data<AppState>,
    caller: ScimCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ScimError> {
    let st = state.clone();
    run_db(&state, move |conn| {
        let actor = caller.0.actor();
        let ctx = WriteContext {
            account: &caller.0.account,
            actor: &actor,
            registry: &st.registry,
            now: st.clock.now_naive(),
        };
        users::delete(conn, &ctx, &id)
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn list(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ScimError> {
    super::search::users(&state, caller, &req, params.into_inner()).await
}

async fn search(
    state: web::Data<AppState>,
    caller: ScimCaller,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ScimError> {
    let params = ListParams::from_body(&body)?;
    super::search::users(&state, caller, &req, params).await
}
