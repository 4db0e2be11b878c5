-- Forgets who made each group and every token's expiry (tokens then never expire).
ALTER TABLE groups DROP COLUMN origin;
ALTER TABLE api_tokens DROP COLUMN expires_at;
