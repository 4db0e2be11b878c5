//! The SCIM protocol, storage-agnostic and pure: the schema registry, input canonicalisation,
//! filters, list and error types, entity tags. Nothing here touches the database or actix.

pub mod bulk;
pub mod cursor;
pub mod dialect;
pub mod error;
pub mod etag;
pub mod filter;
pub mod limits;
pub mod list;
pub mod patch;
pub mod path;
pub mod projection;
pub mod resource;
pub mod schema;
pub mod syntax;
pub mod urn;
