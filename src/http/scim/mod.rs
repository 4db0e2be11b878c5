//! The SCIM API (`/scim/v2`, scim-scope tokens, SCIM error bodies): Users and Groups as instances
//! of one endpoint kit ([`kit`]), listing and searching ([`search`], `POST /.search` across both), `POST /Bulk` ([`bulk`]),
//! and discovery ([`discovery`]).

pub mod bulk;
pub mod discovery;
pub mod groups;
pub mod kit;
pub mod search;
pub mod users;

use actix_web::web;

/// Registers every SCIM route (the scope, its intake and its 404 are `http::configure`'s).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(users::routes)
        .configure(groups::routes)
        .configure(discovery::routes)
        .configure(search::routes)
        .configure(bulk::routes);
}
