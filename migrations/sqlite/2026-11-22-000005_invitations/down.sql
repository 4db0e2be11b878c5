DROP TABLE invitations;
ALTER TABLE accounts DROP COLUMN invite_agreement_accepted_at;
ALTER TABLE accounts DROP COLUMN default_language;
ALTER TABLE accounts DROP COLUMN invite_on_provision;
