DROP INDEX audit_events_code_occurred_at_idx;
ALTER TABLE stores DROP COLUMN version;
