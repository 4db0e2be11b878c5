//! The SCIM API (`/scim/v2`): Users, Groups, searching and discovery.

pub mod discovery;
pub mod groups;
pub mod search;
pub mod users;
