-- One-time data migrations: work on existing rows that the server runs after the schema
-- migrations, under the same lock, recording each here by name once it completed so it runs once.
-- The first re-folds the identity shadow columns (users.user_name_ci, user_emails.value_ci,
-- groups.display_name_ci) to NFKC_Casefold (src/refold.rs).

CREATE TABLE data_migrations (
    name TEXT PRIMARY KEY NOT NULL,
    completed_at TIMESTAMP NOT NULL
);
