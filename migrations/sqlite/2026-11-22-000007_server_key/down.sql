-- Forgets the server key's fingerprint: the next start stores the fingerprint of its own key.
DROP TABLE server_key;
