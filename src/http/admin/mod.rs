//! The admin API (`/admin/v1`).

pub mod account;
pub mod audit;
pub mod catalog;
pub mod invitations;
pub mod jobs;
pub mod users;

pub use audit::routes;
