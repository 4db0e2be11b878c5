-- The server key's fingerprint (never the key): an HMAC under the key of a fixed label
-- (crypto::ServerKey::fingerprint). Stored by the first start that uses a key on this database;
-- an instance started with another key refuses to start, so instances sharing the database
-- cannot seal secrets or mint invitation links the others cannot open. One row at most.

CREATE TABLE server_key (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
