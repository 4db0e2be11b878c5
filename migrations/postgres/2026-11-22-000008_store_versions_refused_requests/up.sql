-- A store's version: it moves on whenever what a user shows of the store (its name, its calling
-- code) changes, and a user's ETag covers the versions of the stores it shows (DESIGN 5), so a
-- rename is one write and still makes every cached copy of its users stale.

ALTER TABLE stores ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- Refused provisioning requests are kept a number of days (REFUSED_REQUEST_RETENTION_DAYS); the
-- scheduled purge finds the old ones of every account by code and time.
CREATE INDEX audit_events_code_occurred_at_idx ON audit_events (code, occurred_at);
