-- Signing-key rotation, and a check that the master key is the one the store was sealed with.
-- Lockstep with the PostgreSQL 0018.
--
-- A key's life: created (published in the JWKS as the next key, not signing), activated (the
-- newest activated key of its use signs), retired (no longer signs; still published until the
-- tokens it signed have expired), revoked (withdrawn at once: neither published nor accepted).
-- Keys from before this migration have been signing since they were created.
ALTER TABLE signing_keys ADD COLUMN activated_at BIGINT;
ALTER TABLE signing_keys ADD COLUMN revoked_at BIGINT;
UPDATE signing_keys SET activated_at = created_at;

-- Deployment-wide values, e.g. a value sealed with the master key at first start, which a node
-- opens at start to refuse a master key that doesn't match the store.
CREATE TABLE deployment_meta (
    name  TEXT  NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
);
