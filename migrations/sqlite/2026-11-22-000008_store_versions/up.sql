-- A store's version: it moves on whenever what a user shows of the store (its name, its calling
-- code) changes, and a user's ETag covers the versions of the stores it shows (DESIGN 5), so a
-- rename is one write and still makes every cached copy of its users stale.

ALTER TABLE stores ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
