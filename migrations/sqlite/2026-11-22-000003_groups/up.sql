-- SCIM Groups, their members, and the account's group rules (rules keep a user's membership of a
-- typed group in step with one of the user's attributes).

CREATE TABLE groups (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    display_name_ci TEXT NOT NULL,
    external_id TEXT,
    group_type TEXT,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX groups_account_id_display_name_ci_key ON groups (account_id, display_name_ci);
CREATE UNIQUE INDEX groups_account_id_external_id_key ON groups (account_id, external_id);
CREATE INDEX groups_account_id_id_idx ON groups (account_id, id);

CREATE TABLE group_rules (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    attribute TEXT NOT NULL,
    group_type TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX group_rules_account_id_attribute_group_type_key
    ON group_rules (account_id, attribute, group_type);

-- rule_id marks a membership a group rule made (and may take away); NULL for memberships made over
-- SCIM. Deleting a rule keeps its memberships as plain ones.
CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL,
    rule_id TEXT REFERENCES group_rules (id) ON DELETE SET NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_id_idx ON group_members (user_id);
