//! `/Groups` (RFC 7644 §3.3-§3.6): create, read, replace, patch, delete, list and search, served by
//! the endpoint kit. `excludedAttributes=members` (or `attributes` without members) reads no
//! membership row. A PATCH answers 204 with the ETag, or 200 with the group when `attributes` asks
//! for it.

use actix_web::web;
use serde_json::Value;

use super::kit::{Endpoint, Wanted};
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::groups::{self, GroupRecord};
use crate::scim::dialect::Rewrite;
use crate::scim::etag::Precondition;

/// The Group resource type: each operation is one call of [`crate::groups`] (a PATCH, two).
pub static GROUPS: Endpoint<GroupRecord> = Endpoint {
    resource_type: "Group",
    path: "/Groups",
    meta: |rec| (&rec.row.id, rec.row.version.to_string()),
    to_resource: groups::to_resource,
    get: |conn, account_id, id, wanted| {
        groups::get(conn, account_id, id, wanted.projection.wants("members"))
    },
    list: |conn, registry, account_id, request, projection| {
        let include = projection.wants("members");
        groups::list(conn, registry, account_id, request, include)
    },
    create: groups::create,
    replace: groups::replace,
    patch,
    delete: groups::delete,
    identifiers: &["externalId", "displayName"],
    patch_shows_resource: |wanted| wanted.asked,
};

/// Registers the `/Groups` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    GROUPS.routes(cfg);
}

/// Patches a group. The answer is built from the row the patch wrote (a 204 needs only its
/// version); the group is read again only when `attributes` asks for its members (the patch itself
/// never loads the member list).
fn patch(
    conn: &mut DbConn,
    ctx: &WriteContext<'_>,
    id: &str,
    body: &Value,
    precondition: &Precondition,
    wanted: &Wanted,
) -> Result<(GroupRecord, Vec<Rewrite>), ServiceError> {
    let (row, rewrites) = groups::patch::patch(conn, ctx, id, body, precondition)?;
    if wanted.asked && wanted.projection.wants("members") {
        return Ok((groups::get(conn, &ctx.account.id, id, true)?, rewrites));
    }
    Ok((GroupRecord { row, members: None }, rewrites))
}
