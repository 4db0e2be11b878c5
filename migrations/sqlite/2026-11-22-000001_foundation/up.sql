-- Accounts (tenants), their API tokens, users with their multi-valued attributes, stores,
-- and the provisioning log. Ids are UUIDv7 text; timestamps are UTC.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    require_external_id BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    scope TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX api_tokens_token_hash_key ON api_tokens (token_hash);
CREATE INDEX api_tokens_account_id_idx ON api_tokens (account_id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_name TEXT NOT NULL,
    user_name_ci TEXT NOT NULL,
    external_id TEXT,
    name_formatted TEXT,
    family_name TEXT,
    given_name TEXT,
    middle_name TEXT,
    honorific_prefix TEXT,
    honorific_suffix TEXT,
    display_name TEXT,
    nick_name TEXT,
    profile_url TEXT,
    title TEXT,
    user_type TEXT,
    preferred_language TEXT,
    locale TEXT,
    timezone TEXT,
    active BOOLEAN NOT NULL,
    employee_number TEXT,
    cost_center TEXT,
    organization TEXT,
    division TEXT,
    department TEXT,
    manager_value TEXT,
    manager_ref TEXT,
    company_id TEXT,
    origin TEXT NOT NULL,
    sign_in TEXT NOT NULL,
    registration TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX users_account_id_user_name_ci_key ON users (account_id, user_name_ci);
CREATE UNIQUE INDEX users_account_id_external_id_key ON users (account_id, external_id);
CREATE INDEX users_account_id_id_idx ON users (account_id, id);

CREATE TABLE user_emails (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    value TEXT NOT NULL,
    value_ci TEXT NOT NULL,
    display TEXT,
    kind TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_account_id_value_ci_idx ON user_emails (account_id, value_ci);

CREATE TABLE user_phone_numbers (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account_id TEXT NOT NULL,
    value TEXT NOT NULL,
    value_e164 TEXT,
    display TEXT,
    kind TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_phone_numbers_account_id_value_e164_idx ON user_phone_numbers (account_id, value_e164);

CREATE TABLE user_addresses (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    formatted TEXT,
    street_address TEXT,
    locality TEXT,
    region TEXT,
    postal_code TEXT,
    country TEXT,
    kind TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    display TEXT,
    kind TEXT,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);

CREATE TABLE stores (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    ref_id TEXT NOT NULL,
    name TEXT,
    country_calling_code TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX stores_account_id_ref_id_key ON stores (account_id, ref_id);

CREATE TABLE user_stores (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    store_id TEXT NOT NULL REFERENCES stores (id) ON DELETE CASCADE,
    is_primary BOOLEAN,
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_stores_store_id_idx ON user_stores (store_id);

CREATE TABLE audit_events (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    occurred_at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    token_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT,
    code TEXT NOT NULL,
    detail TEXT
);
CREATE INDEX audit_events_account_id_id_idx ON audit_events (account_id, id);
CREATE INDEX audit_events_account_id_resource_idx ON audit_events (account_id, resource_type, resource_id);
CREATE INDEX audit_events_account_id_code_idx ON audit_events (account_id, code);
