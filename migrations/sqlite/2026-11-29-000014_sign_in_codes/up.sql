-- One-time codes a registered user signs in with again, sent by e-mail or text message. The code
-- itself is stored nowhere: it is derived from the server key, the row's id and nonce when it is
-- sent and when it is checked (as invitation links are), so neither this table nor the job queue
-- holds a usable code. `contact_mac` is a keyed digest of the contact the code was asked for
-- (a folded e-mail or an E.164 number): the sign-in must name the same contact, and a text goes to
-- the user's number that has this digest.
CREATE TABLE sign_in_passcodes (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    contact_mac TEXT NOT NULL,
    nonce TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sign_in_passcodes_user_id_idx ON sign_in_passcodes (user_id);
CREATE INDEX sign_in_passcodes_expires_at_idx ON sign_in_passcodes (expires_at);

-- A code is asked for by contact, possibly without the account: these find the contact in every
-- account with one index lookup.
CREATE INDEX user_emails_value_ci_idx ON user_emails (value_ci);
CREATE INDEX user_phone_numbers_value_e164_idx ON user_phone_numbers (value_e164);
