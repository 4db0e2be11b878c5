//! `/Users` (RFC 7644 §3.3-§3.6): create, read, replace, patch, delete, list and search, served by
//! the endpoint kit. A PATCH answers 200 with the user.

use actix_web::web;
use serde_json::Value;

use super::kit::{self, Resource, Wanted};
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::dialect::Rewrite;
use crate::scim::etag::Precondition;
use crate::scim::list::ListRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;
use crate::users::{self, UserRecord};

/// The User resource type.
#[derive(Debug)]
pub struct Users;

/// Registers the `/Users` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    kit::routes::<Users>(cfg);
}

impl Resource for Users {
    type Record = UserRecord;
    const TYPE: &'static str = "User";
    const ENDPOINT: &'static str = "/Users";

    fn id(rec: &UserRecord) -> &str {
        &rec.row.id
    }

    fn version(rec: &UserRecord) -> i64 {
        rec.row.version
    }

    fn to_resource(rec: &UserRecord, base: &str) -> Value {
        users::to_resource(rec, base)
    }

    fn get(
        conn: &mut DbConn,
        account_id: &str,
        id: &str,
        _: &Wanted,
    ) -> Result<UserRecord, ServiceError> {
        users::get(conn, account_id, id)
    }

    fn list(
        conn: &mut DbConn,
        registry: &Registry,
        account_id: &str,
        request: &ListRequest,
        _: &Projection,
    ) -> Result<(u64, Vec<UserRecord>, Vec<Rewrite>), ServiceError> {
        users::list(conn, registry, account_id, request)
    }

    fn create(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        body: &Value,
    ) -> Result<UserRecord, ServiceError> {
        users::create(conn, ctx, body)
    }

    fn replace(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<UserRecord, ServiceError> {
        users::replace(conn, ctx, id, body, precondition)
    }

    fn patch(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
        _: &Wanted,
    ) -> Result<(UserRecord, Vec<Rewrite>), ServiceError> {
        users::patch(conn, ctx, id, body, precondition)
    }

    fn delete(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        precondition: &Precondition,
    ) -> Result<(), ServiceError> {
        users::delete(conn, ctx, id, precondition)
    }
}
