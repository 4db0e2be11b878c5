//! `/Groups` (RFC 7644 §3.3-§3.6): create, read, replace, patch, delete, list and search, served by
//! the endpoint kit. `excludedAttributes=members` (or `attributes` without members) reads no
//! membership row. A PATCH answers 204 with the ETag, or 200 with the group when `attributes` asks
//! for it.

use actix_web::web;
use serde_json::Value;

use super::kit::{self, Resource, Wanted};
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::groups::{self, GroupRecord};
use crate::scim::dialect::Rewrite;
use crate::scim::etag::Precondition;
use crate::scim::list::ListRequest;
use crate::scim::projection::Projection;
use crate::scim::schema::Registry;

/// The Group resource type.
#[derive(Debug)]
pub struct Groups;

/// Registers the `/Groups` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    kit::routes::<Groups>(cfg);
}

impl Resource for Groups {
    type Record = GroupRecord;
    const TYPE: &'static str = "Group";
    const ENDPOINT: &'static str = "/Groups";

    fn id(rec: &GroupRecord) -> &str {
        &rec.row.id
    }

    fn version(rec: &GroupRecord) -> i64 {
        rec.row.version
    }

    fn to_resource(rec: &GroupRecord, base: &str) -> Value {
        groups::to_resource(rec, base)
    }

    fn get(
        conn: &mut DbConn,
        account_id: &str,
        id: &str,
        wanted: &Wanted,
    ) -> Result<GroupRecord, ServiceError> {
        groups::get(conn, account_id, id, wanted.projection.wants("members"))
    }

    fn list(
        conn: &mut DbConn,
        registry: &Registry,
        account_id: &str,
        request: &ListRequest,
        projection: &Projection,
    ) -> Result<(u64, Vec<GroupRecord>, Vec<Rewrite>), ServiceError> {
        let include = projection.wants("members");
        groups::list(conn, registry, account_id, request, include)
    }

    fn create(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        body: &Value,
    ) -> Result<GroupRecord, ServiceError> {
        groups::create(conn, ctx, body)
    }

    fn replace(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
    ) -> Result<GroupRecord, ServiceError> {
        groups::replace(conn, ctx, id, body, precondition)
    }

    /// The group is read again after the patch, with its members only when `attributes` asks for
    /// them (the patch itself never loads the member list).
    fn patch(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        body: &Value,
        precondition: &Precondition,
        wanted: &Wanted,
    ) -> Result<(GroupRecord, Vec<Rewrite>), ServiceError> {
        let rewrites = groups::patch::patch(conn, ctx, id, body, precondition)?;
        let include = wanted.asked && wanted.projection.wants("members");
        let rec = groups::get(conn, &ctx.account.id, id, include)?;
        Ok((rec, rewrites))
    }

    fn delete(
        conn: &mut DbConn,
        ctx: &WriteContext<'_>,
        id: &str,
        precondition: &Precondition,
    ) -> Result<(), ServiceError> {
        groups::delete(conn, ctx, id, precondition)
    }

    fn patch_shows_resource(wanted: &Wanted) -> bool {
        wanted.asked
    }
}
