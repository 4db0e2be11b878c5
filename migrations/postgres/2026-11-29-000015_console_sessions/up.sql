-- Console sessions (`/console`): an admin token exchanged for a browser session. Only the SHA-256 of
-- the session cookie is stored; the session belongs to the token it was opened with and ends with it
-- (revoking or deleting the token ends it). The CSRF secret is the synchronizer token of its forms.
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_id TEXT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    csrf_secret TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX console_sessions_token_id_idx ON console_sessions (token_id);
CREATE INDEX console_sessions_account_id_idx ON console_sessions (account_id);
