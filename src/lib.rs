//! mobietrain-scim: the provisioning server of MobieTrain. A SCIM 2.0 server (RFC 7643/7644) that
//! keeps each MobieTrain account's users, groups and stores in step with its identity provider.
//!
//! Layers, each importing only those below it (DESIGN §2):
//!
//! ```text
//! main → cli → bench → app → http → state → {invitations, crewplanner, oauth, refold, search} → users
//!      → {groups, stores} → {audit, sessions, console_sessions} → accounts → foundation
//! ```
//!
//! - [`cli`] parses the command line into one validated [`config::Config`]; [`app`] is the one
//!   composition root (the request handlers' [`state::AppState`], the job handlers' context, the
//!   job registry and schedules) for `serve`, `worker`, [`bench`] and the tests.
//! - [`http`] routes, auth, the one error policy; no SQL.
//! - The domain: [`users`] (with its rules, group rules and the provisioning job type),
//!   [`groups`], [`stores`], [`invitations`], [`crewplanner`], [`oauth`] (OAuth clients and
//!   their access tokens), [`accounts`] (with the account
//!   settings), [`audit`] (the provisioning log), [`sessions`], [`console_sessions`], [`search`] (one search over
//!   every resource type); [`refold`] re-folds stored identifiers once after the schema
//!   migrations. Each table has one owning module; others ask it.
//! - The foundation, which imports no domain or HTTP module: [`scim`] (the protocol, pure: entity
//!   tags, list requests), [`db`] (diesel over SQLite and PostgreSQL, the filter compiler and its
//!   attribute tables; the only place backend-specific SQL lives, beside `*/storage.rs`),
//!   [`context`] (the write context, actor, ids), [`jobs`] (the queue), [`email`], [`text`],
//!   [`phone`], [`crypto`], [`clock`], [`error`], [`jwks`], [`jwt`], [`metrics`] (the Prometheus registry the
//!   app holds).

pub mod accounts;
pub mod app;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod console_sessions;
pub mod context;
pub mod crewplanner;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod groups;
pub mod http;
pub mod i18n;
pub mod invitations;
pub mod jobs;
pub mod jwks;
pub mod jwt;
pub mod metrics;
pub mod oauth;
pub mod phone;
pub mod refold;
pub mod scim;
pub mod search;
pub mod sessions;
pub mod signin;
pub mod sms;
pub mod state;
pub mod stores;
pub mod text;
pub mod users;
