-- Forgets OAuth clients, their secrets, access tokens and used assertion ids.
DROP TABLE oauth_used_jtis;
DROP TABLE oauth_access_tokens;
DROP TABLE oauth_client_secrets;
DROP TABLE oauth_clients;
