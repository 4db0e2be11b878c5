-- Forgets the requireContact setting: a user without a contact is a warning again.
ALTER TABLE accounts DROP COLUMN require_contact;
