ALTER TABLE stores DROP COLUMN version;
