-- Passkeys (issue 18): each user's WebAuthn credentials. The credential id is unique within a
-- pool, so one user's credential can be neither used nor deleted by another; `data` holds the
-- verified public key and sign counter. Rows go with their user and pool.
-- Lockstep with the PostgreSQL 0021.
CREATE TABLE webauthn_credentials (
    pool_id       TEXT   NOT NULL,
    credential_id TEXT   NOT NULL,
    sub           TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    data          TEXT   NOT NULL,
    PRIMARY KEY (pool_id, credential_id),
    FOREIGN KEY (pool_id, sub) REFERENCES users (pool_id, sub) ON DELETE CASCADE
);
CREATE INDEX webauthn_credentials_by_user ON webauthn_credentials (pool_id, sub, created_at, credential_id);
