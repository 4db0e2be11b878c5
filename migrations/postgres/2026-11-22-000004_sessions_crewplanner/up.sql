-- App sign-in: one-time codes that hand a signed-in user to the app, the app's sessions, the app's
-- onboarding state of a user, the CrewPlanner integration of an account and the CrewPlanner token ids
-- (jti) already used. Codes and session tokens are stored as SHA-256 only.

CREATE TABLE sign_in_codes (
    code_hash TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    via TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_codes_user_id_idx ON sign_in_codes (user_id);
CREATE INDEX sign_in_codes_expires_at_idx ON sign_in_codes (expires_at);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    via TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sessions_token_hash_key ON sessions (token_hash);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE app_profiles (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    language TEXT,
    terms_accepted_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL
);

-- key_kind: platform (the server's CrewPlanner keys), jwks, pem or hs256 (an account's own key);
-- key_material holds the public JWKS or PEM as given, or the HS256 secret encrypted with the
-- server key (never in clear).
CREATE TABLE crewplanner_links (
    account_id TEXT PRIMARY KEY NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    slug TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    key_kind TEXT NOT NULL,
    key_material TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE used_jtis (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, jti)
);
CREATE INDEX used_jtis_account_id_expires_at_idx ON used_jtis (account_id, expires_at);
