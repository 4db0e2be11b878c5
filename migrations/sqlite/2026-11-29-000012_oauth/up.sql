-- OAuth 2.0 for provisioning clients (DESIGN §4a): per-account clients that authenticate with one
-- of several expiring secrets or, with a JWKS (a document given as a file, or an https URL), by
-- signed assertion (RFC 7523); the access tokens they are issued; and the assertion ids (jti)
-- already used, per client. Secrets and access tokens are stored as SHA-256 only.

CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    jwks_url TEXT,
    jwks_document TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth_clients_account_id_label_key ON oauth_clients (account_id, label);

CREATE TABLE oauth_client_secrets (
    id TEXT PRIMARY KEY NOT NULL,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    prefix TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE UNIQUE INDEX oauth_client_secrets_secret_hash_key ON oauth_client_secrets (secret_hash);
CREATE INDEX oauth_client_secrets_client_id_idx ON oauth_client_secrets (client_id);
CREATE INDEX oauth_client_secrets_expires_at_idx ON oauth_client_secrets (expires_at);

-- secret_id: the secret the token was issued against (none for a signed assertion); revoking the
-- client or that secret ends the token, checked by the lookup's join.
CREATE TABLE oauth_access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    secret_id TEXT REFERENCES oauth_client_secrets (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX oauth_access_tokens_token_hash_key ON oauth_access_tokens (token_hash);
CREATE INDEX oauth_access_tokens_client_id_expires_at_idx ON oauth_access_tokens (client_id, expires_at);
CREATE INDEX oauth_access_tokens_secret_id_idx ON oauth_access_tokens (secret_id);

CREATE TABLE oauth_used_jtis (
    client_id TEXT NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    jti TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX oauth_used_jtis_client_id_expires_at_idx ON oauth_used_jtis (client_id, expires_at);
