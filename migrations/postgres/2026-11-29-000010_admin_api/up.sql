-- The admin API (issue 20).
-- A token may carry an expiry: from then on it is refused like a revoked one. NULL: it never expires.
ALTER TABLE api_tokens ADD COLUMN expires_at TIMESTAMP;
-- Who made a group: `scim` (its identity provider manages it; the admin API leaves it alone),
-- `admin` (the admin API), `rule` (a group rule) or `crewplanner` (a CrewPlanner department).
-- Groups made before this column existed are taken as made over SCIM, the safe side: the admin API
-- refuses to rename or delete them.
ALTER TABLE groups ADD COLUMN origin TEXT NOT NULL DEFAULT 'scim';
