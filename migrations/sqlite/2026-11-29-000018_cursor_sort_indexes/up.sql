-- Cursor paging sorted by meta.created: each page is a range of (account, created_at, id).
-- (userName and group displayName are served by their unique indexes already.)
CREATE INDEX users_account_id_created_at_id_idx ON users (account_id, created_at, id);
