-- Cursor paging sorted by meta.created: each page is a range of (account, created_at, id).
CREATE INDEX users_account_id_created_at_id_idx ON users (account_id, created_at, id);
-- Sorting compares the folded names bytewise (COLLATE "C", as SQLite does), which the unique
-- indexes in the database's own collation cannot serve: these can, so a sorted page (cursor or
-- index) is a range of an index instead of a sort of the whole tenant.
CREATE INDEX users_account_id_user_name_ci_c_idx ON users (account_id, user_name_ci COLLATE "C", id);
CREATE INDEX groups_account_id_display_name_ci_c_idx ON groups (account_id, display_name_ci COLLATE "C", id);
