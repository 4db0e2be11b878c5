//! `/Users` (RFC 7644 §3.3-§3.6): create, read, replace, patch, delete, list and search, served by
//! the endpoint kit. A PATCH answers 200 with the user.

use actix_web::web;

use super::kit::Endpoint;
use crate::users::{self, UserInput, UserRecord};

/// The User resource type: each operation is one call of [`crate::users`].
pub static USERS: Endpoint<UserRecord> = Endpoint {
    resource_type: "User",
    path: "/Users",
    meta: |rec| (&rec.row.id, rec.tag()),
    to_resource: users::to_resource,
    get: |conn, account_id, id, _| users::get(conn, account_id, id),
    list: |conn, registry, account_id, request, _| users::list(conn, registry, account_id, request),
    create: |conn, ctx, body| users::create(conn, ctx, &UserInput::from_scim(body, ctx.registry)?),
    replace: |conn, ctx, id, body, precondition| {
        users::replace(
            conn,
            ctx,
            id,
            &UserInput::from_scim(body, ctx.registry)?,
            precondition,
        )
    },
    patch: |conn, ctx, id, body, precondition, _| users::patch(conn, ctx, id, body, precondition),
    delete: users::delete,
    identifiers: &["externalId", "userName"],
    patch_shows_resource: |_| true,
};

/// Registers the `/Users` routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    USERS.routes(cfg);
}
