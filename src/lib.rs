//! mobietrain-scim: the provisioning server of MobieTrain. A SCIM 2.0 server (RFC 7643/7644) that
//! keeps each MobieTrain account's users, groups and stores in step with its identity provider.
//!
//! Layers, each depending only on those below: [`http`] (routes, auth, the error policy), [`scim`]
//! (the protocol, pure), the domain modules ([`accounts`], [`users`], [`groups`], [`group_rules`],
//! [`stores`], [`invitations`], [`audit`]), and [`db`] (diesel over SQLite and PostgreSQL);
//! [`refold`] re-folds stored identifiers once after the schema migrations. Side effects go through
//! the job queue ([`jobs`]); e-mail through [`email`].

pub mod accounts;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod context;
pub mod crewplanner;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod groups;
pub mod http;
pub mod invitations;
pub mod jobs;
pub mod jwt;
pub mod phone;
pub mod refold;
pub mod scim;
pub mod sessions;
pub mod state;
pub mod stores;
pub mod text;
pub mod users;
