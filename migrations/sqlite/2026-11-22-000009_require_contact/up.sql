-- Whether a SCIM user without a contact (no e-mail and no phone number with its country code) is
-- refused (400) rather than warned about (`user.no_contact`).
ALTER TABLE accounts ADD COLUMN require_contact BOOLEAN NOT NULL DEFAULT FALSE;
