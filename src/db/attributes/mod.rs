//! The attribute tables of the filter compiler ([`super::filter`]): where each SCIM attribute of a
//! resource type is stored, as the SQL text (columns, child-table selects, conditions) the compiler
//! splices into a query. They live beside the compiler so that SQL text stays in `db/`.

pub mod groups;
pub mod users;

pub use groups::GROUP_ATTRIBUTES;
pub use users::USER_ATTRIBUTES;
