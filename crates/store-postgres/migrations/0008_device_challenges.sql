-- A second way to find a pending device challenge (DEVICE_SRP_AUTH, DEVICE_PASSWORD_VERIFIER):
-- by pool, client, user and device key, for clients that answer those steps without the Session
-- (pycognito, older amazon-cognito-identity-js). The row only points at the auth session, which
-- stays the one piece of state: consuming, expiring or sweeping the session removes the row with
-- it, so the pending state is used once however it is found. Lockstep with the SQLite 0008.
CREATE TABLE device_challenges (
    pool_id      TEXT   NOT NULL,
    client_id    TEXT   NOT NULL,
    sub          TEXT   NOT NULL,
    device_key   TEXT   NOT NULL,
    session_hash BYTEA   NOT NULL UNIQUE REFERENCES auth_sessions (hash) ON DELETE CASCADE,
    PRIMARY KEY (pool_id, client_id, sub, device_key)
);
