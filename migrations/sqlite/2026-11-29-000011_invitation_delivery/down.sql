DROP TABLE invitation_tombstones;
DROP INDEX invitations_account_id_delivery_idx;
ALTER TABLE invitations DROP COLUMN last_delivered_at;
ALTER TABLE invitations DROP COLUMN first_delivered_at;
ALTER TABLE invitations DROP COLUMN delivery_error;
ALTER TABLE invitations DROP COLUMN delivery_attempts;
ALTER TABLE invitations DROP COLUMN delivery_status;
