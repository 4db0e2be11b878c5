-- How an invitation's delivery went (DESIGN 6), recorded by the send job of any channel through
-- `invitations::delivery::record`; and the tombstones that let a used, withdrawn or expired link say
-- so. Columns on `invitations` rather than a table of their own: an invitation has exactly one
-- delivery status (that of its latest send an admin caused), read with every row of the list and
-- filtered on (`?delivery=`), so a join would buy nothing.

-- queued | sent | failing (a retry is scheduled) | failed (retries exhausted).
ALTER TABLE invitations ADD COLUMN delivery_status TEXT NOT NULL DEFAULT 'queued';
-- Delivery attempts of the latest send (a resend starts again at 0).
ALTER TABLE invitations ADD COLUMN delivery_attempts INTEGER NOT NULL DEFAULT 0;
-- The last failure, without personal data (the server's reply code and class, or our own words).
ALTER TABLE invitations ADD COLUMN delivery_error TEXT;
-- When the first send that went out went out (the 60-day clock starts then), and the latest.
ALTER TABLE invitations ADD COLUMN first_delivered_at TIMESTAMP;
ALTER TABLE invitations ADD COLUMN last_delivered_at TIMESTAMP;

-- Invitations made before this migration: sent, unless their latest send is still waiting
-- (queued) or failed for good.
UPDATE invitations SET delivery_status = 'failed'
 WHERE EXISTS (SELECT 1 FROM jobs WHERE jobs.name = 'invitations.email' AND jobs.state = 'failed'
                  AND jobs.dedup_key = 'invitation:' || invitations.id || ':send:' || invitations.sends);
UPDATE invitations
   SET delivery_status = 'sent', delivery_attempts = 1,
       first_delivered_at = first_sent_at, last_delivered_at = last_sent_at
 WHERE delivery_status = 'queued'
   AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.name = 'invitations.email'
                      AND jobs.state IN ('queued', 'running')
                      AND jobs.dedup_key = 'invitation:' || invitations.id || ':send:' || invitations.sends);

CREATE INDEX invitations_account_id_delivery_idx ON invitations (account_id, delivery_status, expires_at);

-- What became of an invitation that is no longer a row: its id, how it ended and when, kept until
-- `keep_until` (the invitation's original expiry, at least 30 days after it ended) and then purged.
-- No personal data. The nonce lets the link's MAC be checked, so only the link's holder learns it.
CREATE TABLE invitation_tombstones (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    nonce TEXT NOT NULL,
    -- accepted | withdrawn | expired
    outcome TEXT NOT NULL,
    ended_at TIMESTAMP NOT NULL,
    keep_until TIMESTAMP NOT NULL
);
CREATE INDEX invitation_tombstones_keep_until_idx ON invitation_tombstones (keep_until);
