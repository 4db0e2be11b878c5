//! mobietrain-scim: the provisioning server of MobieTrain. A SCIM 2.0 server (RFC 7643/7644) that
//! keeps each MobieTrain account's users, groups and stores in step with its identity provider.
//!
//! Layers, each depending only on those below (a module imports only lower ranks):
//!
//! ```text
//! main → cli → bench → app → http → state → {invitations, crewplanner, refold} → users
//!      → {groups, stores} → {audit, sessions} → accounts → foundation
//! ```
//!
//! - [`cli`] parses the command line into one validated [`config::Config`]; [`app`] is the one
//!   composition root (the request handlers' [`state::AppState`], the job handlers' context, the
//!   job registry and schedules) for `serve`, `worker`, [`bench`] and the tests.
//! - [`http`] (routes, auth, the error policy) over the domain modules ([`invitations`],
//!   [`crewplanner`], [`users`], [`groups`], [`group_rules`], [`stores`], [`audit`],
//!   [`sessions`], [`accounts`]); [`refold`] re-folds stored identifiers once after the schema
//!   migrations.
//! - The foundation imports no domain or HTTP module: [`scim`] (the protocol, pure), [`db`]
//!   (diesel over SQLite and PostgreSQL), [`jobs`] (a generic queue: the application registers
//!   its job types), [`email`] (the mailer, SMTP, templates and the generic `send_email` job),
//!   [`config`], [`context`], and small kernels ([`text`], [`crypto`], [`clock`], [`error`],
//!   [`jwt`]).

pub mod accounts;
pub mod app;
pub mod audit;
pub mod bench;
pub mod cli;
pub mod clock;
pub mod config;
pub mod context;
pub mod crewplanner;
pub mod crypto;
pub mod db;
pub mod email;
pub mod error;
pub mod group_rules;
pub mod groups;
pub mod http;
pub mod invitations;
pub mod jobs;
pub mod jwt;
pub mod refold;
pub mod scim;
pub mod sessions;
pub mod state;
pub mod stores;
pub mod text;
pub mod users;
