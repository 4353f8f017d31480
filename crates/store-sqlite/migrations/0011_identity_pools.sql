-- Identity pools (cognito-identity), their identities with the logins linked to them, and the
-- temporary credentials (STS sessions) issued to identities. Lockstep with the PostgreSQL 0011.
--
-- A login (provider, subject) is linked to at most one identity of a pool: the primary key of
-- identity_logins. An identity's row carries its logins too (data), the table is the index.
-- Credentials keep only the hash of their session token and the secret sealed with the master
-- key; deleting an identity or its pool deletes them (the store does it explicitly as well).
CREATE TABLE identity_pools (
    id          TEXT   NOT NULL PRIMARY KEY,
    name        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    config      TEXT   NOT NULL
);

CREATE TABLE identities (
    identity_id TEXT   NOT NULL PRIMARY KEY,
    pool_id     TEXT   NOT NULL REFERENCES identity_pools (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    data        TEXT   NOT NULL
);
CREATE INDEX identities_by_pool ON identities (pool_id, identity_id);

CREATE TABLE identity_logins (
    pool_id     TEXT NOT NULL REFERENCES identity_pools (id) ON DELETE CASCADE,
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    identity_id TEXT NOT NULL REFERENCES identities (identity_id) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, provider, subject)
);
CREATE INDEX identity_logins_by_identity ON identity_logins (identity_id);

CREATE TABLE sts_sessions (
    access_key_id TEXT   NOT NULL PRIMARY KEY,
    identity_id   TEXT   NOT NULL REFERENCES identities (identity_id) ON DELETE CASCADE,
    pool_id       TEXT   NOT NULL REFERENCES identity_pools (id) ON DELETE CASCADE,
    issued_at     BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    token_hash    BLOB  NOT NULL,
    sealed_secret BLOB  NOT NULL,
    data          TEXT   NOT NULL
);
CREATE INDEX sts_sessions_by_identity ON sts_sessions (identity_id);
CREATE INDEX sts_sessions_by_expiry ON sts_sessions (expires_at);

-- The key identity pools sign their OpenID tokens with (GetOpenIdToken…), one issuer for the
-- deployment. Sealed with the master key; the oldest key signs, every stored key verifies, so
-- nodes that both created one at first use agree.
CREATE TABLE identity_signing_keys (
    kid            TEXT   NOT NULL PRIMARY KEY,
    sealed_private BLOB  NOT NULL,
    public_jwk     TEXT   NOT NULL,
    created_at     BIGINT NOT NULL
);
