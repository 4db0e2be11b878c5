//! The admin API (`/admin/v1`, admin-scope tokens, `application/problem+json` errors): the
//! provisioning log ([`audit`]), the account's background jobs ([`jobs`]), its group rules
//! ([`catalog`]), stores ([`stores`]), groups ([`groups`]), invitations ([`invitations`]), users
//! ([`users`]), settings ([`account`]) and API tokens ([`tokens`]). Handlers call the domain,
//! which returns data; [`views`] and [`directory_views`] shape it for the wire.

pub mod account;
pub mod audit;
pub mod catalog;
pub mod directory_views;
pub mod groups;
pub mod invitation_form;
pub mod invitations;
pub mod jobs;
pub mod oauth_clients;
pub mod stores;
pub mod tokens;
pub mod users;
pub mod views;

use actix_web::web;
use serde::Deserialize;

use super::auth::AdminCaller;
use super::error::ProblemError;
use super::run_db;
use crate::context::WriteContext;
use crate::db::DbConn;
use crate::error::ServiceError;
use crate::scim::list::Page;
use crate::state::AppState;

/// Registers the admin routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(audit::routes)
        .configure(jobs::routes)
        .configure(catalog::routes)
        .configure(invitations::routes)
        .configure(users::routes)
        .configure(oauth_clients::routes)
        .configure(account::routes)
        .configure(stores::routes)
        .configure(groups::routes)
        .configure(tokens::routes);
}

/// Paging parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageParams {
    /// 1-based index of the first result.
    pub start_index: Option<String>,
    /// How many results at most.
    pub count: Option<String>,
}

impl PageParams {
    /// The page these parameters ask for, at most `max_results` long.
    pub fn page(&self, max_results: u64) -> Result<Page, ProblemError> {
        Ok(Page::from_params(
            self.start_index.as_deref(),
            self.count.as_deref(),
            max_results,
        )?)
    }
}

/// Runs an admin write on the blocking pool, with the write context of the caller (the admin
/// token's holder is the actor in the provisioning log).
pub async fn write<T, F>(
    state: &web::Data<AppState>,
    caller: AdminCaller,
    f: F,
) -> Result<T, ProblemError>
where
    F: FnOnce(&mut DbConn, &WriteContext<'_>, &AppState) -> Result<T, ServiceError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let st = state.clone();
    Ok(run_db(state, move |conn| {
        write_ctx!(st, caller, actor, ctx);
        f(conn, &ctx, &st)
    })
    .await?)
}
