-- Invitations (DESIGN 6) and the account settings they need. Only pending invitations are rows:
-- accepting, withdrawing or expiring one deletes it, and with it every link to it (a link is an
-- HMAC of the id and the nonce under the server key: nothing here is usable as a link). Names and
-- addresses stay on the user; the provisioning log keeps what happened without them.

ALTER TABLE accounts ADD COLUMN invite_on_provision BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE accounts ADD COLUMN default_language TEXT NOT NULL DEFAULT 'en';
-- When the account's admin accepted the user agreement for invitations sent on provisioning.
ALTER TABLE accounts ADD COLUMN invite_agreement_accepted_at TIMESTAMP;

CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- Whether the invitation created the user (then expiry and withdrawal delete the user too).
    created_user BOOLEAN NOT NULL,
    -- admin (the CMS form) or provisioning (inviteOnProvision).
    source TEXT NOT NULL,
    nonce TEXT NOT NULL,
    language TEXT NOT NULL,
    agreement_accepted_at TIMESTAMP,
    -- Sends an admin caused (the invitation and each resend); names the Message-ID of each.
    sends INTEGER NOT NULL,
    first_sent_at TIMESTAMP NOT NULL,
    last_sent_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    reminders_sent INTEGER NOT NULL DEFAULT 0,
    -- The number (1-based) of the last reminder sent, so none is sent twice.
    last_reminder INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX invitations_user_id_key ON invitations (user_id);
CREATE INDEX invitations_account_id_expires_at_idx ON invitations (account_id, expires_at, id);
CREATE INDEX invitations_expires_at_idx ON invitations (expires_at);
