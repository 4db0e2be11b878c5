//! The integration tests: one binary, driving the real HTTP app against a real database per test.
//! SQLite by default; PostgreSQL when `TEST_DATABASE_URL` points at a server.

mod harness;

mod account_settings;
mod admin_users;
mod audit;
mod auth;
mod backend;
mod bench_smoke;
mod bulk;
mod cli;
mod client_lookups;
mod concurrency;
mod conformance;
mod cors;
mod crewplanner;
mod cursors;
mod discovery;
mod etags;
mod filter_property;
mod group_patch;
mod group_rules;
mod groups;
mod hardening;
mod hardening_claims;
mod identity_fold;
mod invitations;
mod invitations_jobs;
mod invitations_smtp;
mod jobs;
mod layering;
mod listing;
mod mailer;
mod operating;
mod parser_property;
mod patch;
mod patch_semantics;
mod query_plans;
mod refused;
mod rules;
mod safe_start;
mod secrets;
mod stores;
mod tenancy;
mod users_crud;
